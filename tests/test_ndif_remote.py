"""The remote switch without network: the request the nnsight engine would send to NDIF, and where host and key come from.

The network boundary (websocket subscribe, HTTP POST) is replaced by recorders; the server answers
the POST with a refusal, so nothing pretends a remote job ran."""
from __future__ import annotations

import json
import sys
import types

import pytest

from lab.common.errors import LabError

HOST = "http://ndif.example.edu:5001"
KEY = "secret-test-key"
MODEL = "meta-llama/Llama-3.1-8B"


@pytest.fixture
def no_ndif_env(monkeypatch):
    monkeypatch.delenv("NDIF_API_KEY", raising=False)
    monkeypatch.delenv("NDIF_HOST", raising=False)
    monkeypatch.setitem(sys.modules, "keyring", None)  # as if keyring were not installed


@pytest.fixture(scope="module")
def fresh_lm(tiny_model_dir):
    from lab.model.loader import load_model

    return load_model(str(tiny_model_dir))


class Boundary:
    """Records what would go over the network; the POST is refused the way NDIF refuses a bad key."""

    def __init__(self, monkeypatch) -> None:
        import httpx
        import websocket

        self.subscribed: list[tuple[str, dict]] = []
        self.posts: list[dict] = []
        boundary = self

        class Socket:
            def recv(self):
                return json.dumps({"session_id": "test-session"})

            def settimeout(self, _seconds):
                pass

            def close(self):
                pass

        def create_connection(url, header=None, **_kwargs):
            boundary.subscribed.append((url, dict(header or {})))
            return Socket()

        def post(_client, url, data=None, files=None, headers=None, **_kwargs):
            boundary.posts.append({"url": url, "data": data, "files": files, "headers": dict(headers or {})})
            return httpx.Response(401, json={"detail": "Invalid API key."}, request=httpx.Request("POST", url))

        monkeypatch.setattr(websocket, "create_connection", create_connection)
        monkeypatch.setattr(httpx.Client, "post", post)


def test_remote_generation_sends_host_model_and_key_and_reports_a_refusal_in_one_line(fresh_lm, tiny_directions, monkeypatch, no_ndif_env):
    from lab.runtime.engine import Engine
    from lab.common.events import SamplingSettings
    from lab.runtime.ndif import RemoteTarget
    from lab.runtime.steering import SteeringState

    boundary = Boundary(monkeypatch)
    target = RemoteTarget(model_id=MODEL, host=HOST, api_key=KEY)
    engine = Engine(fresh_lm, tiny_directions, backend="nnsight", remote=target)
    steering = SteeringState(tiny_directions, rows=2)
    steering.set("joy", 1.0, row=0)
    with pytest.raises(LabError) as refused:
        list(engine.generate(engine.chat_ids([{"role": "user", "content": "hi"}]), steering, SamplingSettings(max_new_tokens=4)))
    message = str(refused.value)
    assert "Invalid API key." in message and HOST in message and MODEL in message and KEY not in message
    assert "\n" not in message

    assert boundary.subscribed == [("ws://ndif.example.edu:5001/subscribe", {"ndif-api-key": KEY})]
    (sent,) = boundary.posts
    assert sent["url"] == f"{HOST}/request"
    assert sent["headers"]["ndif-api-key"] == KEY
    envelope = json.loads(sent["data"]["data"])
    assert envelope["session_id"] == "test-session"
    model_class, model_key = envelope["model_key"].split(":", 1)
    assert model_class.endswith("TransformersModel") and json.loads(model_key) == {"repo_id": MODEL, "revision": None, "task": "text-generation"}
    blob = sent["files"]["blob"][1]
    assert isinstance(blob, bytes) and 0 < len(blob) < 5_000_000  # the trace and its tensors, never the model


def test_remote_runtime_names_host_and_model_but_never_the_key(fresh_lm, tiny_directions):
    from lab.runtime.engine import Engine
    from lab.runtime.ndif import RemoteTarget

    engine = Engine(fresh_lm, tiny_directions, backend="nnsight", remote=RemoteTarget(MODEL, HOST, KEY))
    runtime = engine.runtime
    assert runtime["engine"] == "nnsight" and runtime["remote"] == "true"
    assert runtime["ndif_host"] == HOST and runtime["model_id"] == MODEL
    assert KEY not in json.dumps(runtime) and KEY not in repr(engine.remote)


def test_key_from_environment_first_then_the_os_keyring(monkeypatch, no_ndif_env):
    from lab.runtime.ndif import KEYRING_NAME, KEYRING_SERVICE, find_api_key, remote_target

    with pytest.raises(LabError, match="No NDIF API key"):
        remote_target(MODEL)
    stored = {(KEYRING_SERVICE, KEYRING_NAME): "from-keyring"}
    monkeypatch.setitem(sys.modules, "keyring", types.SimpleNamespace(get_password=lambda service, name: stored.get((service, name))))
    assert find_api_key() == "from-keyring"
    monkeypatch.setenv("NDIF_API_KEY", "from-env")
    assert remote_target(MODEL).api_key == "from-env"


def test_self_hosted_server_from_flag_or_environment(monkeypatch, no_ndif_env):
    from lab.runtime.ndif import DEFAULT_HOST, ndif_host

    assert ndif_host() == DEFAULT_HOST
    monkeypatch.setenv("NDIF_HOST", "https://ndif.university.edu/")
    assert ndif_host() == "https://ndif.university.edu"
    assert ndif_host("http://gpu-lab:5001") == "http://gpu-lab:5001"
    with pytest.raises(LabError, match="not an NDIF server address"):
        ndif_host("gpu-lab:5001")
