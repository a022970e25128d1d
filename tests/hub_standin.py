"""A stand-in Hugging Face hub on 127.0.0.1 for tests without network (tests/test_model_fetch.py).

It serves repositories made of real files with the two endpoints the lab's downloads use, as the hub
answers them: the model info (`/api/models/ORG/NAME/revision/REV?blobs=true`: commit, gated flag and
siblings with size, git blob id and, for LFS files, sha256) and `ORG/NAME/resolve/REV/FILE` (ETag,
X-Repo-Commit, Content-Length, HTTP Range -> 206). Faults on demand: slow bodies, connections dropped
mid-file (`drops`), corrupted bytes, and gated repositories (401 without a token, 403 with a wrong one).
Every request is logged. The server thread is a daemon, and each request times out. The `standin_hub`
fixture serves the tiny test model as REPO (open) and GATED (needs TOKEN) and points the lab at it.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = "emotion-lab-tests/tiny-llama"
GATED = "emotion-lab-tests/gated-llama"
TOKEN = "hf_test_token_123"

LFS_SUFFIXES = (".safetensors",)


@dataclass
class Repo:
    files: dict[str, bytes]
    commit: str = "0123456789abcdef0123456789abcdef01234567"
    token: str | None = None  # set: a gated repository that needs this token
    says_gated: bool = True  # False: the model info hides it (as a mirror might), only the files answer 401


@dataclass
class StandInHub:
    repos: dict[str, Repo] = field(default_factory=dict)
    drops: dict[str, int] = field(default_factory=dict)  # file name -> how many more responses to cut at half
    corrupt: set[str] = field(default_factory=set)  # file names served with one byte changed
    delay_s: float = 0.0  # pause between 4 KB pieces of a body
    log: list[dict] = field(default_factory=list)
    url: str = ""

    def add_folder(self, repo_id: str, folder: Path, token: str | None = None) -> None:
        self.repos[repo_id] = Repo({p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}, token=token)

    def downloads(self, name: str | None = None) -> list[dict]:
        """Logged file requests (of `name`, or of any file)."""
        return [e for e in self.log if "/resolve/" in e["path"] and (name is None or e["path"].endswith(f"/{name}"))]


def siblings(repo: Repo) -> list[dict]:
    rows = []
    for name, data in repo.files.items():
        row = {"rfilename": name, "size": len(data), "blobId": hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()}
        if name.endswith(LFS_SUFFIXES):
            row["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        rows.append(row)
    return rows


def make_handler(hub: StandInHub) -> type[BaseHTTPRequestHandler]:
    info_path = re.compile(r"^/api/models/([^/]+/[^/]+)/revision/([^/?]+)")
    resolve_path = re.compile(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")

    class Handler(BaseHTTPRequestHandler):
        timeout = 10
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:
            pass

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            path = self.path.split("?")[0]
            hub.log.append({"method": self.command, "path": path, "range": self.headers.get("Range"),
                            "auth": self.headers.get("Authorization")})
            if match := info_path.match(self.path):
                repo = hub.repos.get(match.group(1))
                if repo is None:
                    return self._json(404, {"error": "Repository not found"})
                return self._json(200, {"id": match.group(1), "sha": repo.commit, "gated": "manual" if repo.token and repo.says_gated else False,
                                        "siblings": siblings(repo)}, body)
            if match := resolve_path.match(path):
                repo = hub.repos.get(match.group(1))
                if repo is None or match.group(3) not in repo.files:
                    return self._json(404, {"error": "Entry not found"})
                if repo.token and self.headers.get("Authorization") != f"Bearer {repo.token}":
                    code = 403 if self.headers.get("Authorization") else 401
                    return self._json(code, {"error": "Access to this model is restricted."})
                return self._file(repo, match.group(3), body)
            self._json(404, {"error": "not found"})

        def _json(self, code: int, data: dict, body: bool = True) -> None:
            payload = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if body:
                self.wfile.write(payload)

        def _file(self, repo: Repo, name: str, body: bool) -> None:
            data = repo.files[name]
            etag = hashlib.sha256(data).hexdigest() if name.endswith(LFS_SUFFIXES) else "git"
            if name in hub.corrupt:
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            start = 0
            if (wanted := re.match(r"bytes=(\d+)-$", self.headers.get("Range") or "")) and int(wanted.group(1)) < len(data):
                start = int(wanted.group(1))
            self.send_response(206 if start else 200)
            self.send_header("ETag", f'"{etag}"')
            self.send_header("X-Repo-Commit", repo.commit)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(data) - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if not body:
                return
            rest = data[start:]
            if hub.drops.get(name, 0) > 0:  # cut the connection half way through this response
                hub.drops[name] -= 1
                self.wfile.write(rest[: len(rest) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.close()
                return
            for offset in range(0, len(rest), 4096):
                self.wfile.write(rest[offset: offset + 4096])
                if hub.delay_s:
                    self.wfile.flush()
                    time.sleep(hub.delay_s)

    return Handler


def serve(handler: type[BaseHTTPRequestHandler], name: str) -> tuple[ThreadingHTTPServer, str]:
    """Serve `handler` on a free port of 127.0.0.1 in a daemon thread; the server and its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def start(hub: StandInHub) -> ThreadingHTTPServer:
    """Serve `hub` (see `serve`); `hub.url` is set."""
    server, hub.url = serve(make_handler(hub), "stand-in-hub")
    return server


@pytest.fixture
def standin_hub(tiny_model_dir, lab_home, tmp_path, monkeypatch):
    """A stand-in hub serving the tiny model (open) and the same files gated; the lab points at it; no token anywhere."""
    import huggingface_hub.constants as hf_constants

    import lab.common.secrets as secrets

    hub = StandInHub()
    hub.add_folder(REPO, tiny_model_dir)
    hub.add_folder(GATED, tiny_model_dir, token=TOKEN)
    server = start(hub)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(hf_constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf-home" / "stored_tokens"))
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(sys.modules, "keyring", None)  # as if keyring were not installed
    monkeypatch.setattr(secrets, "_run_secrets", {})
    yield hub
    server.shutdown()
    server.server_close()
