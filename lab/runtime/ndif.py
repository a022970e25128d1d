"""Where and how the nnsight engine reaches NDIF: host, API key, the request backend, one-line failures.

The API key comes from NDIF_API_KEY, a key entered in the app for this run, or, where the `keyring`
package is installed, the OS keyring (service "emotion-lab", name "ndif-api-key"); it is only ever
sent to the NDIF host, never written to the lab file or settings, never printed. The host is https://api.ndif.us unless NDIF_HOST (or the
CLI's --ndif-host) names a self-hosted NDIF server.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lab.common.errors import LabError, first_line
from lab.common.secrets import KEYRING_SERVICE, find_secret, remember_secret

DEFAULT_HOST = "https://api.ndif.us"
KEYRING_NAME = "ndif-api-key"
CONNECT_TIMEOUT_S = 5.0
QUEUE_TIMEOUT_S = 600.0  # a job still waiting to start after this long is given up
STAGES = {  # NDIF's job states, in words
    "RECEIVED": "received", "QUEUED": "waiting in the queue", "PROVISIONING": "starting the model",
    "DEPLOYING": "starting the model", "DISPATCHED": "starting", "RUNNING": "running", "COMPLETED": "done",
}
WAITING = ("sent", "received", "waiting in the queue")
TASK = "text-generation"  # the pipeline task in nnsight's model key


@dataclass(frozen=True)
class RemoteTarget:
    """A model on an NDIF server, and the key to use it (kept out of repr and of every message)."""

    model_id: str
    host: str
    api_key: str = field(repr=False)
    revision: str | None = None  # the revision NDIF is asked for (None: the one it serves)
    commit: str | None = None  # the hub commit the lab read the model's config and tokenizer from

    @property
    def model_key(self) -> str:
        """The key NDIF knows the model by, as nnsight's TransformersModel(repo_id, task="text-generation")
        mints it: the class, the hub id, the revision and the task."""
        from nnsight.modeling.transformers import TransformersModel
        from nnsight.util import to_import_path

        key = {"repo_id": self.model_id, "revision": self.revision, "task": TASK}
        return f"{to_import_path(TransformersModel)}:{json.dumps(key)}"

    @property
    def runtime(self) -> dict[str, str]:
        """What a session records about where it ran (no key)."""
        return {"remote": "true", "ndif_host": self.host, "model_id": self.model_id, "revision": self.revision or "main",
                **({"hub_commit": self.commit} if self.commit else {})}


def ndif_host(explicit: str | None = None) -> str:
    """The NDIF server: `explicit`, else NDIF_HOST, else NDIF's own; an http(s) URL."""
    host = (explicit or os.environ.get("NDIF_HOST") or DEFAULT_HOST).strip().rstrip("/")
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LabError(f"'{host}' is not an NDIF server address. Write it as https://host[:port].")
    return host


def find_api_key() -> str | None:
    """NDIF_API_KEY, else a key kept for this run, else the OS keyring's entry; None when none has one."""
    return find_secret(KEYRING_NAME, "NDIF_API_KEY")


def remember_api_key(key: str) -> bool:
    """Keep `key` for NDIF: in the OS keyring when one works here (True), else for this run only (False)."""
    return remember_secret(KEYRING_NAME, key, "NDIF API key")


def remote_target(model_id: str, host: str | None = None) -> RemoteTarget:
    """The target for `model_id`, refusing at once without an API key."""
    host = ndif_host(host)
    key = find_api_key()
    if key is None:
        raise LabError(
            f"No NDIF API key for {host}: set NDIF_API_KEY (or store it in the OS keyring under "
            f"'{KEYRING_SERVICE}' / '{KEYRING_NAME}'). Get a key at https://login.ndif.us."
        )
    return RemoteTarget(model_id=model_id, host=host, api_key=key)


def check_reachable(host: str) -> None:
    """Refuse at once when the NDIF server cannot be reached (no network, or the server is down)."""
    parts = urlsplit(host)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_S):
            return
    except OSError:
        raise LabError(f"Cannot reach the NDIF server at {host}: no network connection, or the server is down.") from None


class JobStatus:
    """Stands in for nnsight's status display: tells `report` where the job is ("NDIF: waiting in the
    queue (12 s)", at most once a second) and gives up a job still waiting after QUEUE_TIMEOUT_S."""

    enabled = True  # nnsight then wakes its wait loop every 0.1 s to call refresh()

    def __init__(self, target: RemoteTarget, report: Callable[[str], None] | None = None) -> None:
        self.target, self.report = target, report
        self.stage, self.since, self.shown = "sent", time.monotonic(), ""

    def update(self, response) -> None:
        stage = STAGES.get(getattr(response.status, "value", ""))
        if stage is not None and stage != self.stage:
            self.stage, self.since = stage, time.monotonic()
        self.refresh()

    def refresh(self) -> None:
        waited = time.monotonic() - self.since
        if self.stage in WAITING and waited > QUEUE_TIMEOUT_S:
            raise LabError(f"NDIF ({self.target.host}, {self.target.model_id}): the job was still {self.stage} after "
                           f"{waited:.0f} s; the server is busy. Nothing was lost; try again later.")
        text = f"NDIF: {self.stage} ({waited:.0f} s)"
        if self.report is not None and text != self.shown:
            self.shown = text
            self.report(text)


def remote_backend(target: RemoteTarget, report: Callable[[str], None] | None = None):
    """nnsight's blocking remote backend for `target`, its status shown through `report` (JobStatus)."""
    from nnsight.intervention.backends.remote import RemoteBackend

    backend = RemoteBackend(target.model_key, host=target.host, api_key=target.api_key, blocking=True)
    backend.display = JobStatus(target, report)
    return backend


@contextlib.contextmanager
def remote_errors(target: RemoteTarget | None) -> Iterator[None]:
    """Turn a failed remote job (refused, unreachable, job error) into one LabError line without the key."""
    if target is None:
        yield
        return
    from nnsight.intervention.backends.remote import RemoteError
    from websocket import WebSocketException

    try:
        yield
    except (RemoteError, WebSocketException) as error:
        raise LabError(f"NDIF ({target.host}, {target.model_id}): {_quoted(error, target)}.") from None
    except OSError as error:  # no route, refused, timed out
        raise LabError(f"Cannot reach the NDIF server at {target.host}: {_quoted(error, target)}.") from None


def _quoted(error: BaseException, target: RemoteTarget) -> str:
    """The error's first line with the API key masked, at most 300 characters."""
    return first_line(error).replace(target.api_key, "***")[:300]
