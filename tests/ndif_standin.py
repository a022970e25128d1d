"""A stand-in NDIF server on 127.0.0.1 that runs received traces on a tiny local model (tests only).

It speaks nnsight 0.8.1's remote protocol as its RemoteBackend expects it: a websocket at `/subscribe`
whose first message is `{"session_id": ...}`; `POST /request` (form field `data`: the RequestModel
envelope, file `blob`: the serialized trace, header `ndif-api-key`) answered with a RECEIVED
ResponseModel, or 401 `{"detail": ...}` for a wrong key and 400 for a model it does not serve; then,
on the websocket, QUEUED, RUNNING and COMPLETED (`data`: the URL of the result, `GET /results/<id>`:
the saved values, torch.save'd and zstd-compressed when the request was) or ERROR (`description`).

The trace runs as NDIF runs it: RequestModel.deserialize against the served model's persistent objects
(its modules, never shipped), then the tracer executes its own code and the values it saved are the
result. Executing what a client sent is acceptable here only, in a test, on a model the test built;
the lab never does it. The unpickler refuses the lab's own modules (`lab`, `tests`): as on a real
server, where the lab is not installed, code the lab uses inside a trace must travel by value.
`hold_s` keeps a job QUEUED that long first. Every request and every job's statuses are logged.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import linecache
import queue
import re
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hub_standin import serve

KEY = "standin-ndif-key"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SERVER_ABSENT = ("lab", "tests", "conftest", "hub_standin", "ndif_standin")  # not installed on the server


@dataclass
class Job:
    id: str
    session: str
    blob: bytes
    compress: bool
    model: str


@dataclass
class StandInNdif:
    models: dict[str, object] = field(default_factory=dict)  # hub id -> nnsight TransformersModel (the served model)
    key: str = KEY
    hold_s: float = 0.0
    log: list[dict] = field(default_factory=list)
    statuses: dict[str, list[str]] = field(default_factory=dict)  # job id -> statuses sent
    results: dict[str, bytes] = field(default_factory=dict)
    sessions: dict[str, queue.Queue] = field(default_factory=dict)
    url: str = ""

    def serve(self, repo_id: str, module, tokenizer) -> None:
        """Serve `module` (a causal LM) under `repo_id`, wrapped as NDIF wraps it."""
        from nnsight.modeling.transformers import TransformersModel

        self.models[repo_id] = TransformersModel(module, tokenizer=copy.deepcopy(tokenizer))

    def submit(self, job: Job) -> None:
        threading.Thread(target=self._run, args=(job,), name=f"stand-in-ndif-{job.id}", daemon=True).start()

    def _send(self, job: Job, status: str, **fields) -> None:
        from nnsight.schema.response import ResponseModel

        self.statuses.setdefault(job.id, []).append(status)
        self.sessions[job.session].put(ResponseModel(id=job.id, status=status, **fields).model_dump_json())

    def _run(self, job: Job) -> None:
        self._send(job, "QUEUED", description="Your job is waiting in the queue.")
        time.sleep(self.hold_s)
        self._send(job, "RUNNING", description="Your job has started running.")
        try:
            saves = execute(self.models[job.model], job.blob, job.compress)
        except Exception as error:  # the job's failure goes back to the client, as NDIF sends it
            self._send(job, "ERROR", description=f"{type(error).__name__}: {error}")
            return
        self.results[job.id] = result_bytes(saves, job.compress)
        self._send(job, "COMPLETED", description="Your job has been completed.", data=f"{self.url}/results/{job.id}")


def server_unpickler(file, persistent_objects):
    """nnsight's unpickler, refusing the modules a server without the lab does not have."""
    from nnsight.intervention.serialization import CustomCloudUnpickler

    class Refusing(CustomCloudUnpickler):
        def find_class(self, module: str, name: str):
            if module.split(".")[0] in SERVER_ABSENT:
                raise ModuleNotFoundError(f"No module named '{module}' on the server")
            found = super().find_class(module, name)
            if module.startswith("cloudpickle") and name == "subimport":
                return _refusing_subimport(found)
            return found

    return Refusing(file, persistent_objects)


def _refusing_subimport(subimport):
    def guarded(name: str):
        if name.split(".")[0] in SERVER_ABSENT:
            raise ModuleNotFoundError(f"No module named '{name}' on the server")
        return subimport(name)

    return guarded


def execute(model, blob: bytes, compress: bool) -> dict:
    """Rebuild the trace against `model` and run it; the values it saved, by name."""
    from nnsight.schema.request import RequestModel
    from nnsight.tracing.tracer import _saves, dec, inc

    persistent = model._remoteable_persistent_objects()
    snapshot = dict(linecache.cache)  # deserialize() registers the block's source under the client's file name
    try:
        tracer = RequestModel.deserialize(blob, persistent, compress, unpickler=server_unpickler)
    finally:
        linecache.cache.clear()
        linecache.cache.update(snapshot)
    inc()
    try:
        tracer.execute(tracer.info.code)
        saved = _saves()
        return {name: value for name, value in tracer.info.frame.f_locals.items() if id(value) in saved}
    finally:
        dec()


def result_bytes(saves: dict, compress: bool) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(saves, buffer, pickle_protocol=4)
    data = buffer.getvalue()
    if compress:
        import zstandard

        data = zstandard.ZstdCompressor(level=6).compress(data)
    return data


def ws_frame(text: str) -> bytes:
    payload = text.encode()
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x81, 126, size)
    else:
        head = struct.pack("!BBQ", 0x81, 127, size)
    return head + payload


def make_handler(ndif: StandInNdif) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 30
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:
            pass

        def do_GET(self) -> None:
            ndif.log.append({"method": "GET", "path": self.path, "key": self.headers.get("ndif-api-key")})
            if self.path == "/subscribe":
                return self._subscribe()
            if (match := re.match(r"^/results/([\w-]+)$", self.path)) and match.group(1) in ndif.results:
                data = ndif.results[match.group(1)]
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self._json(404, {"detail": "Not found"})

        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(size)
            ndif.log.append({"method": "POST", "path": self.path, "key": self.headers.get("ndif-api-key"), "size": size})
            if self.path != "/request":
                return self._json(404, {"detail": "Not found"})
            if self.headers.get("ndif-api-key") != ndif.key:
                return self._json(401, {"detail": "Invalid API key."})
            form = {}
            message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body)
            for part in message.iter_parts():
                form[part.get_param("name", header="content-disposition")] = part.get_payload(decode=True)
            envelope = json.loads(form["data"])
            model = json.loads(envelope["model_key"].split(":", 1)[1])["repo_id"]
            if model not in ndif.models:
                return self._json(400, {"detail": f"Model {model} is not deployed on this server."})
            job = Job(str(uuid.uuid4()), envelope["session_id"], form["blob"], bool(envelope["compress"]), model)
            ndif.log[-1].update(job=job.id, model_key=envelope["model_key"])
            self._json(200, {"id": job.id, "status": "RECEIVED", "description": "Your job has been received."})
            ndif.submit(job)

        def _json(self, code: int, data: dict) -> None:
            payload = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _subscribe(self) -> None:
            if self.headers.get("ndif-api-key") != ndif.key:
                return self._json(401, {"detail": "Invalid API key."})
            accept = base64.b64encode(hashlib.sha1((self.headers["Sec-WebSocket-Key"] + WS_GUID).encode()).digest()).decode()
            self.send_response(101, "Switching Protocols")
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept)
            self.end_headers()
            session = str(uuid.uuid4())
            outgoing = ndif.sessions[session] = queue.Queue()
            self.wfile.write(ws_frame(json.dumps({"session_id": session})))
            self.wfile.flush()
            while True:  # forward the session's statuses until its job ends (or nothing comes for a minute)
                try:
                    text = outgoing.get(timeout=60)
                except queue.Empty:
                    break
                self.wfile.write(ws_frame(text))
                self.wfile.flush()
                if json.loads(text)["status"] in ("COMPLETED", "ERROR"):
                    break
            self.close_connection = True

    return Handler


def start(ndif: StandInNdif) -> ThreadingHTTPServer:
    """Serve `ndif` on a free port of 127.0.0.1 in a daemon thread; `ndif.url` is set."""
    server, ndif.url = serve(make_handler(ndif), "stand-in-ndif")
    return server


@pytest.fixture
def standin_ndif(standin_hub, tiny_model_dir, monkeypatch):
    """The stand-in NDIF serving the tiny model as hub_standin.REPO (whose config and tokenizer the stand-in
    hub serves); NDIF_HOST and NDIF_API_KEY point the lab at it."""
    from hub_standin import REPO

    from lab.model.loader import load_model

    server_model = load_model(str(tiny_model_dir), dtype="float32")
    ndif = StandInNdif()
    ndif.serve(REPO, server_model.model, server_model.tokenizer)
    server = start(ndif)
    monkeypatch.setenv("NDIF_HOST", ndif.url)
    monkeypatch.setenv("NDIF_API_KEY", ndif.key)
    yield ndif
    server.shutdown()
    server.server_close()
