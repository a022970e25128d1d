"""The nnsight engine gives the local engine's tokens and readings (same seed), on the tiny model and the embedded one.

Tolerance: token ids identical; readings (z-scores, rounded to 4 decimals in events) within READING_TOL.
Both engines run the same weights with the same additions; only the order of floating-point work
inside transformers' generate loop may differ."""
from __future__ import annotations

import pytest

from lab.common.events import SamplingSettings

PROMPT = [{"role": "user", "content": "sun smile dark night"}]
READING_TOL = 1e-3

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def fresh_lm(tiny_model_dir):
    """Its own copy of the tiny model: nnsight wraps it, and the session's tiny_lm stays untouched."""
    from lab.model.loader import load_model

    return load_model(str(tiny_model_dir))


def run(engine, rows_strengths, prompts=None, seeds=None, **sampling):
    from lab.runtime.steering import SteeringState

    state = SteeringState(engine.directions, rows=len(rows_strengths))
    for row, strengths in enumerate(rows_strengths):
        state.set_all(strengths, row=row)
    prompts = prompts or [engine.chat_ids(PROMPT)] * len(rows_strengths)
    return list(engine.generate_rows(prompts, state, SamplingSettings(**sampling), seeds))


def assert_same(local_events, nnsight_events):
    assert [(e.row, e.position, e.token_id, e.is_prompt, e.text) for e in nnsight_events] == [
        (e.row, e.position, e.token_id, e.is_prompt, e.text) for e in local_events
    ]
    for a, b in zip(local_events, nnsight_events):
        assert a.strengths == b.strengths
        for table_a, table_b in ((a.readings, b.readings), (a.push, b.push)):
            assert table_a.keys() == table_b.keys()
            assert all(abs(table_a[k] - table_b[k]) <= READING_TOL for k in table_a), (a, b)


def engines(lm, directions):
    from lab.runtime.engine import Engine

    return Engine(lm, directions), Engine(lm, directions, backend="nnsight")


@pytest.mark.parametrize("rows", [[{}], [{"joy": 2.0}], [{"joy": 2.0}, {}, {"fear": -1.5, "rage": 1.0}]])
def test_greedy_tokens_and_readings_match_the_local_engine(fresh_lm, tiny_directions, rows):
    local, nnsight = engines(fresh_lm, tiny_directions)
    reference = run(local, rows, max_new_tokens=12)
    assert any(not e.is_prompt for e in reference)
    if len(rows) > 1:  # steering changes the reply, so matching tokens show the trace steered
        replies = [[e.token_id for e in reference if e.row == r and not e.is_prompt] for r in range(len(rows))]
        assert replies[0] != replies[1]
    assert_same(reference, run(nnsight, rows, max_new_tokens=12))


def test_seeded_sampling_matches_the_local_engine(fresh_lm, tiny_directions):
    local, nnsight = engines(fresh_lm, tiny_directions)
    rows = [{"joy": 1.0}, {}]
    settings = dict(max_new_tokens=10, temperature=0.9, top_p=0.9)
    assert_same(run(local, rows, seeds=[5, 6], **settings), run(nnsight, rows, seeds=[5, 6], **settings))


def test_left_padded_rows_of_different_prompts_match(fresh_lm, tiny_directions):
    local, nnsight = engines(fresh_lm, tiny_directions)
    prompts = [local.chat_ids(PROMPT), local.chat_ids([{"role": "user", "content": "a chair"}])]
    rows = [{"rage": 1.5}, {"joy": -1.0}]
    assert_same(run(local, rows, prompts, max_new_tokens=8), run(nnsight, rows, prompts, max_new_tokens=8))


def test_a_row_ending_early_stops_alone(fresh_lm, tiny_directions):
    """A stop token ends its own row's events only, in both engines (forced by declaring a frequent token a stop token)."""
    from dataclasses import replace

    local, _ = engines(fresh_lm, tiny_directions)
    rows = [{"joy": 2.0}, {}]
    first = [e.token_id for e in run(local, rows, max_new_tokens=12) if not e.is_prompt and e.row == 0]
    lm = replace(fresh_lm, stop_token_ids=(*fresh_lm.stop_token_ids, first[3]))
    local, nnsight = engines(lm, tiny_directions)
    reference = run(local, rows, max_new_tokens=12)
    assert_same(reference, run(nnsight, rows, max_new_tokens=12))


def test_nnsight_engine_refuses_what_the_local_one_refuses(fresh_lm, tiny_directions):
    from lab.common.errors import LabError

    _, nnsight = engines(fresh_lm, tiny_directions)
    with pytest.raises(LabError, match="empty"):
        list(nnsight.generate([], __import__("lab.runtime.steering", fromlist=["SteeringState"]).SteeringState(tiny_directions)))


def test_runtime_names_the_engine(fresh_lm, tiny_directions):
    local, nnsight = engines(fresh_lm, tiny_directions)
    assert "engine" not in local.runtime and nnsight.runtime == {**local.runtime, "engine": "nnsight"}
    assert "remote" not in nnsight.runtime


@pytest.mark.integration
def test_embedded_model_nnsight_matches_local_engine(engine):
    """The done-when check: steered calm=0.03 on the embedded model, same tokens and readings."""
    from lab.runtime.engine import Engine

    nnsight = Engine(engine.lm, engine.directions, backend="nnsight")
    rows = [{"calm": 0.03}]
    reference = run(engine, rows, max_new_tokens=16)
    assert_same(reference, run(nnsight, rows, max_new_tokens=16))
