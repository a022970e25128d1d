"""Downloading a model from the Hugging Face hub (or a mirror): separate from building it (loader.py).

One folder per repository in the user cache (`cache/hub/<org>--<name>`), holding only what the lab
loads (top-level safetensors, JSON, tokenizer and template files); a model run on NDIF needs only its
shape, so `weights=False` fetches the same files but no weights, into `cache/hub-shapes/<org>--<name>`.
Before the first byte the file list, sizes and hashes come from the hub's model info, and the free
disk space is checked. Each file is written to `<name>.part` and renamed only after its hash matched
the hub's (sha256 for LFS files, the git blob sha1 for the rest); a damaged file is removed with a
one-line message. A `.part` left by a dropped connection, a cancel or a closed app is resumed with an
HTTP Range request; a connection dropped mid-file is retried RETRIES times at once. The folder is
complete when its marker is written (with the commit its files came from).

The hub is HF_ENDPOINT (a mirror) or https://huggingface.co; HF_HUB_OFFLINE refuses the network. Gated
models (Llama, Gemma) need a hub token: HF_TOKEN, or one entered once (lab.common.secrets: the OS
keyring, else this run), or the huggingface_hub login's token.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from urllib.parse import quote

import httpx

from lab.common.errors import LabError, first_line
from lab.common.paths import cache_dir
from lab.common.progress import Progress, SilentProgress, TransferMeter, check_cancelled, size_text
from lab.common.secrets import find_secret, remember_secret

DEFAULT_ENDPOINT = "https://huggingface.co"
PATTERNS = ("*.json", "*.safetensors", "tokenizer.model", "*.jinja", "*.txt")
MARKER = "emotion-lab-download.marker"
TOKEN_NAME = "hub-token"  # the keyring entry (service "emotion-lab")
RETRIES = 3  # a connection dropped mid-file is resumed this many times before the download stops
DISK_MARGIN = 200 * 10**6  # kept free beyond the download itself
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class _CutShort(Exception):
    """A response that ended before the whole file arrived (resumed like a dropped connection)."""


@dataclass(frozen=True)
class HubFile:
    """One file to fetch, with the hub's size and hash."""

    name: str
    size: int
    sha256: str | None  # LFS files
    git_sha1: str | None  # other files: the git blob id


@dataclass(frozen=True)
class HubModel:
    """What the hub says about a repository at one commit."""

    repo_id: str
    commit: str
    files: tuple[HubFile, ...]
    gated: bool

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def hub_endpoint() -> str:
    """HF_ENDPOINT (a mirror), else the hub itself."""
    return (os.environ.get("HF_ENDPOINT", "").strip() or DEFAULT_ENDPOINT).rstrip("/")


def hub_token() -> str | None:
    """HF_TOKEN, else a token entered once (keyring or this run), else huggingface_hub's stored login."""
    token = find_secret(TOKEN_NAME, "HF_TOKEN")
    if token:
        return token
    try:
        from huggingface_hub import get_token

        return get_token()
    except Exception:  # no stored login, or an unreadable one
        return None


def remember_hub_token(token: str) -> bool:
    """Keep a hub token: OS keyring when it works here (True), else this run only (False)."""
    return remember_secret(TOKEN_NAME, token, "hub token")


def model_folder(repo_id: str, weights: bool = True) -> Path:
    return cache_dir() / ("hub" if weights else "hub-shapes") / repo_id.replace("/", "--")


def downloaded_folder(repo_id: str, weights: bool = True) -> Path | None:
    """The repository's folder when a download of it completed (marker present, every file its size)."""
    folder = model_folder(repo_id, weights)
    try:
        files = json.loads((folder / MARKER).read_text())["files"]
        complete = all((folder / name).stat().st_size == int(size) for name, size in files.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return folder if complete else None


def downloaded_commit(folder: Path) -> str | None:
    """The hub commit a completed download in `folder` came from (None when unknown)."""
    try:
        return str(json.loads((folder / MARKER).read_text())["commit"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def model_info(repo_id: str, client: httpx.Client, revision: str = "main", weights: bool = True) -> HubModel:
    """The files the lab needs from `repo_id` (without weight files when `weights` is False), with sizes
    and hashes, from the hub's model info."""
    url = f"{hub_endpoint()}/api/models/{repo_id}/revision/{quote(revision, safe='')}"
    response = _request(client, "GET", url, repo_id, params={"blobs": "true"})
    try:
        data = response.json()
        files = tuple(
            HubFile(s["rfilename"], int(s.get("lfs", {}).get("size", s.get("size", 0))),
                    (s.get("lfs") or {}).get("sha256"), None if s.get("lfs") else s.get("blobId"))
            for s in data["siblings"] if _wanted(s["rfilename"], weights)
        )
        commit, gated = str(data["sha"]), bool(data.get("gated"))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise LabError(f"The hub at {hub_endpoint()} sent an unreadable description of '{repo_id}' ({first_line(error)}). Try again later.") from error
    if weights and not any(f.name.endswith(".safetensors") for f in files):
        raise LabError(f"'{repo_id}' has no .safetensors weights on the hub. Emotion Lab only loads safetensors or GGUF weights.")
    if not any(f.name == "config.json" for f in files):
        raise LabError(f"'{repo_id}' has no config.json on the hub, so it is not a model Emotion Lab can open.")
    return HubModel(repo_id, commit, files, gated)


def fetch_model(repo_id: str, progress: Progress | None = None, weights: bool = True) -> Path:
    """The local folder of `repo_id`, downloading (or resuming) what is missing; LabError on any problem.
    `weights=False`: only its config and tokenizer files (a model that runs on NDIF)."""
    progress = progress or SilentProgress()
    if os.environ.get("HF_HUB_OFFLINE", "").strip() not in ("", "0"):
        raise LabError(f"Cannot download '{repo_id}': offline mode is on (HF_HUB_OFFLINE). Unset it, or use a model already on this computer.")
    folder = model_folder(repo_id, weights)
    with httpx.Client(timeout=TIMEOUT, follow_redirects=True, headers=_headers()) as client:
        progress.set_status(f"Asking the hub about {repo_id}")
        info = model_info(repo_id, client, weights=weights)
        if info.gated and "authorization" not in client.headers:
            raise needs_token(repo_id)  # before the disk check and the first file
        before = _marker_hashes(folder)
        (folder / MARKER).unlink(missing_ok=True)
        todo = [f for f in info.files if not _have(folder / f.name, f, before)]
        kept = sum(_part(folder, f).stat().st_size for f in todo if _part(folder, f).is_file())
        check_disk_space(folder, sum(f.size for f in todo) - kept, repo_id)
        meter = TransferMeter(f"Downloading {repo_id}", sum(f.size for f in todo), done=kept)
        started = time.monotonic()
        for item in todo:
            _fetch_file(client, info, item, folder, meter, progress)
        meter.report(progress, force=True)
        progress.set_status(f"Downloaded {repo_id}: {size_text(meter.done - kept)} in {time.monotonic() - started:.0f} s, every file checked")
    marker = {"repo": repo_id, "commit": info.commit, "files": {f.name: f.size for f in info.files},
              "hashes": {f.name: f.sha256 or f.git_sha1 for f in info.files}}
    tmp = folder / f"{MARKER}.tmp"
    tmp.write_text(json.dumps(marker))
    tmp.replace(folder / MARKER)
    return folder


def check_disk_space(folder: Path, needed: int, repo_id: str) -> None:
    """Refuse before the first byte when the download will not fit on the disk (with a margin)."""
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if needed + DISK_MARGIN > free:
        raise LabError(f"Not enough disk space for {repo_id}: it needs {size_text(needed)} more, but only {size_text(free)} "
                       f"is free in {folder.parent}. Free some space (or set EMOTION_LAB_HOME to a larger disk) and try again.")


def _wanted(name: str, weights: bool = True) -> bool:
    return "/" not in name and any(fnmatch(name, pattern) for pattern in PATTERNS) and (weights or not name.endswith(".safetensors"))


def _headers() -> dict[str, str]:
    token = hub_token()
    return {"user-agent": "emotion-lab", **({"authorization": f"Bearer {token}"} if token else {})}


def _part(folder: Path, item: HubFile) -> Path:
    return folder / f"{item.name}.part"


def _marker_hashes(folder: Path) -> dict[str, str]:
    """The hashes a completed download of this folder recorded (empty when there is none)."""
    try:
        return dict(json.loads((folder / MARKER).read_text()).get("hashes", {}))
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def _have(path: Path, item: HubFile, before: dict[str, str]) -> bool:
    """Already downloaded and verified (a file is only ever renamed into place after its check), and not
    changed on the hub since (when an earlier complete download recorded its hash)."""
    known = before.get(item.name)
    return path.is_file() and path.stat().st_size == item.size and known in (None, item.sha256 or item.git_sha1)


def _fetch_file(client: httpx.Client, info: HubModel, item: HubFile, folder: Path, meter: TransferMeter, progress: Progress) -> None:
    """Download one file into `<name>.part` (resuming it), check its hash, then rename it into place."""
    part = _part(folder, item)
    url = f"{hub_endpoint()}/{info.repo_id}/resolve/{info.commit}/{quote(item.name)}"
    for attempt in range(RETRIES + 1):
        try:
            _stream(client, url, info.repo_id, part, item, meter, progress)
            break
        except (httpx.TransportError, _CutShort) as error:
            if isinstance(error, httpx.ConnectError) or attempt == RETRIES:
                kept = size_text(part.stat().st_size) if part.is_file() else "nothing"
                raise LabError(f"The download of {info.repo_id} was interrupted ({first_line(error)}); {kept} of {item.name} is kept "
                               "and the next try resumes from there. Check the connection and try again.") from error
            time.sleep(min(2**attempt, 4) * 0.25)
        except OSError as error:  # writing, not the network: a full or read-only disk
            raise LabError(f"Could not write {part}: {first_line(error)}. Check the free space and permissions there and try again.") from error
    progress.set_status(f"Checking {item.name}")
    if not _hash_matches(part, item):
        part.unlink(missing_ok=True)
        raise LabError(f"{item.name} of {info.repo_id} arrived damaged: its checksum does not match the hub's, so it was removed. "
                       "Try again (a mirror or proxy may be altering files).")
    part.replace(folder / item.name)


def _stream(client: httpx.Client, url: str, repo_id: str, part: Path, item: HubFile, meter: TransferMeter, progress: Progress) -> None:
    """Append the rest of `item` to `part` with a Range request (the whole file when the server ignores it)."""
    start = part.stat().st_size if part.is_file() else 0
    if start > item.size:  # a stale part of another version
        part.unlink()
        meter.add(-start)
        start = 0
    if start == item.size:
        return
    headers = {"range": f"bytes={start}-"} if start else {}
    with client.stream("GET", url, headers=headers) as response:
        _raise_for_status(response, repo_id)
        if start and response.status_code != 206:  # the server sent the whole file: start again
            meter.add(-start)
            start = 0
        with part.open("ab" if start else "wb") as handle:
            for chunk in response.iter_bytes():  # as it arrives: a cut connection loses nothing already received
                check_cancelled(progress)
                handle.write(chunk)
                meter.add(len(chunk))
                meter.report(progress)
            handle.flush()
            os.fsync(handle.fileno())
    if part.stat().st_size != item.size:
        raise _CutShort(f"{item.name} ended after {part.stat().st_size} of {item.size} bytes")


def _hash_matches(path: Path, item: HubFile) -> bool:
    """sha256 for LFS files; the git blob sha1 ("blob <size>\\0" + content) for the others."""
    if item.sha256:
        digest, expected = hashlib.sha256(), item.sha256
    elif item.git_sha1:
        digest, expected = hashlib.sha1(f"blob {item.size}\0".encode()), item.git_sha1
    else:
        return path.stat().st_size == item.size
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest() == expected.lower()


def _request(client: httpx.Client, method: str, url: str, repo_id: str, **kwargs) -> httpx.Response:
    try:
        response = client.request(method, url, **kwargs)
    except httpx.TransportError as error:
        raise LabError(f"Cannot reach the hub at {hub_endpoint()} ({first_line(error)}): this computer may be offline. "
                       "Use a model already on this computer, or set HF_ENDPOINT to a mirror you can reach.") from error
    _raise_for_status(response, repo_id)
    return response


def needs_token(repo_id: str) -> LabError:
    return LabError(f"'{repo_id}' needs a hub token: accept its licence at {hub_endpoint()}/{repo_id}, create a read token at "
                    f"{hub_endpoint()}/settings/tokens, then enter it once (Model → Get a larger model…, or "
                    "`python -m lab models token`) or set HF_TOKEN.")


def _raise_for_status(response: httpx.Response, repo_id: str) -> None:
    """The hub's refusals as one line each: gated (401/403), not found, any other failure."""
    code = response.status_code
    if code < 400:
        return
    page = f"{hub_endpoint()}/{repo_id}"
    if code == 401:
        raise needs_token(repo_id)
    if code == 403:
        raise LabError(f"Your hub token has no access to '{repo_id}': accept its licence at {page} with the same account, then try again.")
    if code == 404:
        raise LabError(f"'{repo_id}' was not found on the hub at {hub_endpoint()}. Check the name (organisation/name).")
    raise LabError(f"The hub at {hub_endpoint()} refused the download of '{repo_id}' (HTTP {code}). Try again later.")
