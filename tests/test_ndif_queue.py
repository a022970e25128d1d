"""A remote reply that waits: its state is reported while it waits, and a job left in NDIF's queue
too long ends with one line. The server is a stand-in: it accepts the request, says QUEUED, then
stays silent (websocket timeouts), so no network is needed."""
from __future__ import annotations

import json
import time

import pytest

from lab.common.errors import LabError

HOST = "http://ndif.example.edu:5001"
KEY = "secret-queue-key"
MODEL = "meta-llama/Llama-3.1-8B"


@pytest.fixture(scope="module")
def fresh_lm(tiny_model_dir):
    from lab.model.loader import load_model

    return load_model(str(tiny_model_dir))


def queued_server(monkeypatch) -> None:
    import httpx
    import websocket

    class Socket:
        def __init__(self) -> None:
            self.messages = [json.dumps({"session_id": "s"}), json.dumps({"id": "job-1", "status": "QUEUED"})]

        def recv(self):
            if self.messages:
                return self.messages.pop(0)
            time.sleep(0.02)
            raise websocket.WebSocketTimeoutException("no news")

        def settimeout(self, _seconds):
            pass

        def close(self):
            pass

    def post(_client, url, **_kwargs):
        return httpx.Response(200, text=json.dumps({"id": "job-1", "status": "RECEIVED"}), request=httpx.Request("POST", url))

    monkeypatch.setattr(websocket, "create_connection", lambda url, header=None, **_kwargs: Socket())
    monkeypatch.setattr(httpx.Client, "post", post)


def test_a_job_left_in_the_queue_is_reported_while_waiting_then_given_up_in_one_line(fresh_lm, tiny_directions, monkeypatch):
    import lab.runtime.ndif as ndif
    from lab.runtime.engine import Engine
    from lab.common.events import SamplingSettings
    from lab.runtime.steering import SteeringState

    queued_server(monkeypatch)
    monkeypatch.setattr(ndif, "QUEUE_TIMEOUT_S", 1.5)
    shown: list[str] = []
    engine = Engine(fresh_lm, tiny_directions, backend="nnsight", remote=ndif.RemoteTarget(MODEL, HOST, KEY), status=shown.append)
    with pytest.raises(LabError) as given_up:
        list(engine.generate(engine.chat_ids([{"role": "user", "content": "hi"}]), SteeringState(tiny_directions), SamplingSettings(max_new_tokens=2)))
    message = str(given_up.value)
    assert "still waiting in the queue after" in message and HOST in message and MODEL in message
    assert "\n" not in message and KEY not in message
    assert shown[0].startswith("NDIF: received") and "NDIF: waiting in the queue (1 s)" in shown
