"""A remote model, offline: open it, prepare it, generate, record, through the stand-in hub and the stand-in NDIF.

The hub serves the tiny model's files; the lab fetches only its config and tokenizer and builds it
empty. The stand-in NDIF (tests/ndif_standin.py) runs every received trace on its own copy of the
same tiny model. Extraction and replies must equal the same work done locally through nnsight on
that copy: identical tokens, readings within READING_TOL (as in tests/test_nnsight_engine.py).
"""
from __future__ import annotations

import json

import pytest
from lab.common.events import SamplingSettings

PROMPT = [{"role": "user", "content": "sun smile dark night"}]
READING_TOL = 1e-3
DIRECTION_TOL = 1e-5

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_a_remote_model_opens_prepares_generates_and_records_like_a_local_one(standin_ndif, standin_hub, tiny_model_dir, tiny_emotions, tmp_path, monkeypatch):
    import torch
    from hub_standin import REPO

    import lab.emotions.library as library
    from lab.emotions.definitions import NeutralTexts

    from lab.emotions.library import load_or_extract
    from lab.model.loader import load_model
    from lab.model.sources import hub_identity
    from lab.runtime.engine import Engine, open_engine
    from lab.runtime.nnsight_engine import NnsightRunner
    from lab.runtime.nnsight_reader import NnsightReader
    from lab.runtime.steering import SteeringState
    from lab.store.lab_file import open_store
    from lab.sessions.recording import recorded, start_recording

    emotions, neutral = tiny_emotions  # the built-in emotions take minutes: the same path with fewer texts
    monkeypatch.setattr(library, "load_emotions", lambda include_user=True: emotions)
    monkeypatch.setattr(library, "load_neutral", lambda: NeutralTexts(neutral))
    shown: list[str] = []
    engine = open_engine(REPO, engine="nnsight", remote=True)
    engine.status = shown.append

    lm, commit = engine.lm, standin_hub.repos[REPO].commit
    assert {p.device.type for p in lm.model.parameters()} == {"meta"}  # built empty
    assert not standin_hub.downloads("model.safetensors") and standin_hub.downloads("config.json")
    assert engine.remote.commit == commit and engine.runtime["hub_commit"] == commit
    assert lm.identity == hub_identity(REPO, commit) and lm.runtime["device"] == "remote"
    jobs = [entry for entry in standin_ndif.log if entry["method"] == "POST"]
    assert jobs and all(entry["key"] == standin_ndif.key for entry in jobs)
    assert json.loads(jobs[0]["model_key"].split(":", 1)[1]) == {"repo_id": REPO, "revision": None, "task": "text-generation"}
    assert all(standin_ndif.statuses[entry["job"]] == ["QUEUED", "RUNNING", "COMPLETED"] for entry in jobs)

    reference_lm = load_model(str(tiny_model_dir), dtype="float32")
    local = Engine(reference_lm, load_or_extract(reference_lm, reader=NnsightReader(NnsightRunner(reference_lm))), backend="nnsight")
    assert engine.directions.emotions == local.directions.emotions
    assert engine.directions.reading_layer == local.directions.reading_layer
    assert torch.allclose(engine.directions.vectors, local.directions.vectors, atol=DIRECTION_TOL)

    steering = SteeringState(engine.directions, rows=1)
    steering.set_all({engine.directions.emotions[0]: 1.5})
    sampling = SamplingSettings(max_new_tokens=6)
    before = len(jobs)
    standin_ndif.hold_s = 1.2  # the reply's job waits in the queue first
    with open_store(tmp_path / "lab.db") as store:
        with start_recording(store, engine, "remote", sampling) as recorder:
            recorder.begin_turn("user", PROMPT[0]["content"])
            recorder.begin_turn("assistant")
            events = list(recorded(recorder, engine.generate(engine.chat_ids(PROMPT), steering, sampling), steering.layers))
            recorder.end_turn("".join(e.text for e in events if not e.is_prompt))
            recorder.finish()
        record = store.load_session(recorder.session_id)

    assert len([e for e in standin_ndif.log if e["method"] == "POST"]) == before + 1  # one reply, one job
    assert "NDIF: waiting in the queue (1 s)" in shown and any(text.startswith("NDIF: running") for text in shown)
    local_steering = SteeringState(local.directions, rows=1)
    local_steering.set_all({local.directions.emotions[0]: 1.5})
    expected = list(local.generate(local.chat_ids(PROMPT), local_steering, sampling))
    assert [(e.position, e.token_id, e.is_prompt) for e in events] == [(e.position, e.token_id, e.is_prompt) for e in expected]
    assert any(not e.is_prompt for e in events)
    for got, want in zip(events, expected):
        assert got.strengths == want.strengths
        assert all(abs(got.readings[k] - want.readings[k]) <= READING_TOL for k in want.readings)
    assert [t.event.token_id for t in record.tokens] == [e.token_id for e in events]
    assert record.runtime["remote"] == "true" and record.runtime["model_id"] == REPO and record.runtime["hub_commit"] == commit
    assert standin_ndif.key not in json.dumps(record.runtime)

    sampled = SamplingSettings(max_new_tokens=5, temperature=0.9, top_p=0.9)  # the seeded sampler runs on the server
    rows = [engine.chat_ids(PROMPT)] * 2
    remote_rows = list(engine.generate_rows(rows, SteeringState(engine.directions, rows=2), sampled, seeds=[5, 6]))
    local_rows = list(local.generate_rows(rows, SteeringState(local.directions, rows=2), sampled, seeds=[5, 6]))
    assert [(e.row, e.token_id) for e in remote_rows] == [(e.row, e.token_id) for e in local_rows]


def test_the_cli_generates_on_a_remote_model(standin_ndif, standin_hub, tiny_emotions, tmp_path, monkeypatch, capsys):
    """`python -m lab generate --engine nnsight --remote --model ORG/NAME`, in process against the stand-ins."""
    from hub_standin import REPO

    import lab.emotions.library as library
    from lab.cli.main import main
    from lab.emotions.definitions import NeutralTexts
    from lab.store.lab_file import open_store

    emotions, neutral = tiny_emotions
    monkeypatch.setattr(library, "load_emotions", lambda include_user=True: emotions)
    monkeypatch.setattr(library, "load_neutral", lambda: NeutralTexts(neutral))
    db = tmp_path / "lab.db"
    code = main(["generate", "sun smile", "--engine", "nnsight", "--remote", "--model", REPO, "--json", "--max-new-tokens", "4",
                 "--steer", f"{emotions[0].name}=1.0", "--db", str(db)])
    out = capsys.readouterr()
    assert code == 0, out.err
    rows = [json.loads(line) for line in out.out.splitlines()]
    assert rows[-1]["steering"] == {emotions[0].name: 1.0} and all(set(row["readings"]) == {e.name for e in emotions} for row in rows[:-1])
    with open_store(db) as store:
        (session,) = store.list_sessions()
        record = store.load_session(session.id)
    assert record.runtime["remote"] == "true" and record.runtime["ndif_host"] == standin_ndif.url
    assert record.model.spec == REPO and len(record.tokens) > 0
