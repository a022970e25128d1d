"""Running and sweeping scenarios: batched rows against one-by-one runs, recording and reading
back, sweeps with a random control, statistics, coherence, exports and the CLI.

Most tests use the shared tiny random Llama of tests/conftest.py (emotions joy, fear, rage); the CLI test uses the
embedded model, from the user cache, with a few tokens."""
from __future__ import annotations

import json
import math
import os
import textwrap

import pytest
import torch
from matplotlib.colors import to_hex

from lab.cli.main import main
from lab.common.palette import emotion_color
from lab.common.text_coherence import distinct_2, repetition_rate
from lab.scenarios.perplexity import reply_perplexities
from lab.runtime.engine import Engine
from lab.common.errors import LabError
from lab.common.events import SamplingSettings
from lab.scenarios.runner import CONTROL, RowSpec, run_from_session, run_rows, run_scenario, with_control
from lab.runtime.generator import generate
from lab.runtime.generator import generate_rows
from lab.common.paths import cache_dir
from lab.common.progress import Cancelled, SilentProgress
from lab.scenarios.scenario import expand
from lab.scenarios.files import parse_scenario
from lab.common.stats import mean_interval, wilson
from lab.runtime.steering import SteeringState
from lab.store.lab_file import open_store
from lab.scenarios.sweep import SweepPlan, load_sweep, sweep
from lab.scenarios.sweep_report import export_sweep, to_csv, turn_figure

SCENARIO = textwrap.dedent("""\
    title: Tiny
    system: "You are {name}."
    variables: {name: Tiny}
    temperature: 0
    steps:
      - user: hello there
      - model: {max_tokens: 6}
      - repeat:
          count: 2
          vary: {word: [again, more]}
          steps:
            - user: "attempt {i}: {word}"
            - model: {max_tokens: 5}
    checks:
      - name: has a letter
        any: [{regex: "[a-z]"}]
      - name: says zzz
        any: [zzz]
    """)


pytestmark = pytest.mark.usefixtures("torch_one_thread")  # small models gain nothing from threads


@pytest.fixture(scope="module")
def real_cache() -> str:
    """The user cache with the converted embedded model and its directions (read before any test moves the home)."""
    return str(cache_dir())


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTION_LAB_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def engine_tiny(tiny_lm_float32, tiny_directions) -> Engine:
    """The shared tiny model (tests/conftest.py) with its three synthetic emotions: joy, fear, rage; in
    float32 whatever the default precision, since batched rows are checked equal to single runs."""
    return Engine(tiny_lm_float32, tiny_directions)


@pytest.fixture
def scenario():
    return parse_scenario(SCENARIO)


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "lab.db") as opened:
        yield opened


def replies(run) -> list[str]:
    return [t.text for t in run.replies()]


class CancelAfter(SilentProgress):
    """Cancels once `statuses` batches have started."""

    def __init__(self, statuses: int) -> None:
        self.statuses = 0
        self.limit = statuses

    def set_status(self, text: str) -> None:
        self.statuses += 1

    def cancelled(self) -> bool:
        return self.statuses > self.limit


# ---- batching -------------------------------------------------------------------------------------


def test_rows_with_different_prompts_equal_each_prompt_run_alone(engine_tiny):
    lm, directions = engine_tiny.lm, engine_tiny.directions
    prompts = [lm.chat_ids([{"role": "user", "content": text}]) for text in ("hi", "hello there, friend", "a much longer message")]
    steers = [{}, {"joy": 0.5}, {"fear": -0.5, "rage": 0.5}]
    state = SteeringState(directions, rows=3)
    for row, steer in enumerate(steers):
        state.set_all(steer, row=row)
    batched = list(generate_rows(lm, directions, prompts, state, SamplingSettings(max_new_tokens=10)))
    for row, (prompt, steer) in enumerate(zip(prompts, steers)):
        alone_state = SteeringState(directions)
        alone_state.set_all(steer)
        alone = list(generate(lm, directions, prompt, alone_state, SamplingSettings(max_new_tokens=10)))
        mine = [e for e in batched if e.row == row]
        assert [(e.position, e.token_id, e.is_prompt, e.text) for e in mine] == [(e.position, e.token_id, e.is_prompt, e.text) for e in alone]
        for a, b in zip(mine, alone):
            assert a.readings == pytest.approx(b.readings, abs=1e-3)
            assert a.strengths == pytest.approx(b.strengths)


def test_batched_runs_give_the_same_greedy_tokens_as_runs_one_by_one(engine_tiny, scenario):
    script = expand(scenario)
    rows = [RowSpec({}), RowSpec({"joy": 0.5}), RowSpec({"fear": -0.5, "rage": 0.5})]
    batched = run_rows(engine_tiny, script, rows)
    alone = [run_rows(engine_tiny, script, [row])[0] for row in rows]
    assert [replies(r) for r in batched] == [replies(r) for r in alone]
    assert len({tuple(replies(r)) for r in batched}) == 3  # the steering really differs per row
    for b, a in zip(batched, alone):
        for tb, ta in zip(b.replies(), a.replies()):
            assert tb.reply_start_readings == pytest.approx(ta.reply_start_readings, abs=1e-3)


def test_seeded_sampled_runs_match_between_batch_and_alone(engine_tiny, scenario):
    script = expand(scenario)
    rows = [RowSpec({}, seed=1), RowSpec({}, seed=2), RowSpec({"joy": 0.3}, seed=1)]
    batched = run_rows(engine_tiny, script, rows, temperature=0.9, top_p=0.95)
    alone = [run_rows(engine_tiny, script, [row], temperature=0.9, top_p=0.95)[0] for row in rows]
    assert [replies(r) for r in batched] == [replies(r) for r in alone]
    assert replies(batched[0]) != replies(batched[1])


# ---- one run, recorded -----------------------------------------------------------------------------


def test_run_is_recorded_with_checks_and_reads_back(engine_tiny, scenario, store):
    seen = []
    result = run_scenario(engine_tiny, scenario, steer={"joy": 0.2}, store=store, on_turn=lambda row, turn: seen.append(turn))
    assert seen == list(result.turns)
    assert [t.role for t in result.turns] == ["system", "user", "assistant", "user", "assistant", "user", "assistant"]
    assert result.turns[3].text == "attempt 1: again" and result.turns[3].values["word"] == "again"
    for turn in result.turns:
        json_turn = turn.to_json()
        assert list(json_turn) == ["turn", "role", "text", "reply_start_readings", "checks"]
        assert bool(json_turn["reply_start_readings"]) == turn.generated
    assert all(t.checks == ("has a letter",) or not any(c.isalpha() for c in t.text) for t in result.replies())
    record = store.load_session(result.session_id)
    assert record.status == "complete"
    assert record.scenario["steer"] == {"joy": 0.2} and record.scenario["title"] == "Tiny"
    back = run_from_session(store, result.session_id)
    assert [(t.turn, t.role, t.text, t.checks, t.values) for t in back.turns] == [(t.turn, t.role, t.text, t.checks, t.values) for t in result.turns]
    for a, b in zip(back.turns, result.turns):
        assert a.reply_start_readings == pytest.approx(b.reply_start_readings)
        assert len(a.token_readings) == len(b.token_readings)
    prompt_tokens = [sum(1 for t in record.tokens if t.turn == turn.turn and t.event.is_prompt) for turn in result.replies()]
    assert prompt_tokens[1] < prompt_tokens[0] + 20  # later turns record only the new part of the prompt
    assert all(t.event.strengths == pytest.approx({"joy": 0.2}) for t in record.tokens)
    store.add_label(result.session_id, 4, "looks odd")
    assert "looks odd" in run_from_session(store, result.session_id).turns[4].checks
    store.remove_label(result.session_id, 4, "looks odd")
    assert "looks odd" not in run_from_session(store, result.session_id).turns[4].checks


def test_step_steering_adds_to_the_run_steering(engine_tiny, store):
    scenario = parse_scenario("title: s\ntemperature: 0\nsteps:\n  - user: hi\n  - model: {max_tokens: 3, steer: {joy: 0.25}}\n  - user: again\n  - model: 3\n")
    result = run_scenario(engine_tiny, scenario, steer={"joy": 0.5, "fear": 0.1}, store=store)
    record = store.load_session(result.session_id)
    first, second = (turn.turn for turn in result.replies())
    assert {tuple(sorted(t.event.strengths.items())) for t in record.tokens if t.turn == first} == {(("fear", 0.1), ("joy", 0.75))}
    assert {tuple(sorted(t.event.strengths.items())) for t in record.tokens if t.turn == second} == {(("fear", 0.1), ("joy", 0.5))}


def test_unknown_emotions_and_cancelling_are_handled_before_and_during_a_run(engine_tiny, scenario, store):
    with pytest.raises(LabError, match="Unknown emotion 'calm'"):
        run_scenario(engine_tiny, scenario, steer={"calm": 0.1}, store=store)
    assert store.list_sessions() == []
    with pytest.raises(Cancelled):
        run_scenario(engine_tiny, scenario, store=store, progress=CancelAfter(-1))
    assert [s.status for s in store.list_sessions()] == ["interrupted"]


def test_random_control_direction_has_the_norm_of_an_emotion(engine_tiny):
    directions = engine_tiny.directions
    control = with_control(directions, seed=3)
    assert control.emotions == [*directions.emotions, CONTROL]
    assert torch.allclose(control.vectors.norm(dim=-1), torch.ones(control.depth, len(control.emotions)))
    for layer in control.steering_layers:
        basis = control.steering_basis(layer)
        assert torch.allclose(basis[-1].norm(), basis[0].norm())
    assert torch.equal(with_control(directions, seed=3).vectors, control.vectors)
    assert not torch.equal(with_control(directions, seed=4).vectors, control.vectors)
    cosine = (control.vectors[:, -1] * control.vectors[:, 0]).sum(-1).abs()
    assert float(cosine.max()) < 0.9


# ---- sweeps --------------------------------------------------------------------------------------


def test_sweep_is_recorded_as_an_experiment_and_reloads(engine_tiny, scenario, store, tmp_path):
    plan = SweepPlan(("joy",), (-0.5, 0.0, 0.5), seeds=(1, 2), batch_rows=4, temperature=0.8)
    updates = []
    result = sweep(engine_tiny, scenario, plan, store=store, on_update=updates.append)
    assert not result.cancelled and len(updates) == 3  # 10 distinct runs in batches of 4
    assert len(result.runs) == 12 and len(store.list_sessions()) == 10  # strength 0 is shared by both series
    points = result.points()
    assert [(p.series, p.strength, p.runs) for p in points] == [
        ("joy", -0.5, 2), ("joy", 0.0, 2), ("joy", 0.5, 2), (CONTROL, -0.5, 2), (CONTROL, 0.0, 2), (CONTROL, 0.5, 2)]
    for p in points:
        assert set(p.rates) == {"has a letter", "says zzz"}
        assert all(0 <= r.low <= r.value <= r.high <= 1 for r in p.rates.values())
        assert set(p.readings) == {"joy"} and math.isfinite(p.readings["joy"].value)
        assert p.perplexity.value > 1
    zero = [r.run.session_id for r in result.runs if r.strength == 0]
    assert len(set(zero)) == 2
    control_runs = [r for r in result.runs if r.series == CONTROL and r.strength]
    assert all(r.run.steer == {CONTROL: r.strength} for r in control_runs)
    [summary] = store.list_experiments()
    assert summary.id == result.experiment_id and summary.runs == 12
    again = load_sweep(store, result.experiment_id)
    assert to_csv(again) == to_csv(result)
    assert not again.cancelled and again.plan == plan
    for suffix in (".csv", ".png", ".html"):
        export_sweep(result, tmp_path / f"sweep{suffix}")
        assert (tmp_path / f"sweep{suffix}").stat().st_size > 100
    assert (tmp_path / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert "random control" in (tmp_path / "sweep.html").read_text(encoding="utf-8")
    store.add_label(zero[0], 2, "odd")
    assert "odd" in load_sweep(store, result.experiment_id).check_names()
    store.delete_session(zero[0])
    assert len(load_sweep(store, result.experiment_id).runs) == 10


def test_cancelled_sweep_keeps_the_finished_batches(engine_tiny, scenario, store):
    plan = SweepPlan(("joy",), (-0.5, 0.5), seeds=(1,), control=False, batch_rows=1, perplexity=False)
    result = sweep(engine_tiny, scenario, plan, store=store, progress=CancelAfter(1))
    assert result.cancelled
    assert [(r.series, r.strength) for r in result.runs] == [("joy", -0.5)]
    assert sorted(s.status for s in store.list_sessions()) == ["complete", "interrupted"]
    assert load_sweep(store, result.experiment_id).cancelled


def test_sweep_plans_are_checked(engine_tiny, scenario):
    with pytest.raises(LabError, match="at least one emotion"):
        sweep(engine_tiny, scenario, SweepPlan((), (0.1,)))
    with pytest.raises(LabError, match="from -1 to 1"):
        sweep(engine_tiny, scenario, SweepPlan(("joy",), (math.nan,)))
    with pytest.raises(LabError, match="Unknown emotion"):
        sweep(engine_tiny, scenario, SweepPlan(("calm",), (0.1,)))


# ---- statistics, coherence, views ------------------------------------------------------------------


def test_wilson_and_t_intervals():
    assert wilson(5, 10).low == pytest.approx(0.2366, abs=1e-4) and wilson(5, 10).high == pytest.approx(0.7634, abs=1e-4)
    assert wilson(0, 10).low == 0 and wilson(0, 10).high == pytest.approx(0.2775, abs=1e-4)
    assert math.isnan(wilson(0, 0).value)
    estimate = mean_interval([1.0, 2.0, 3.0, math.nan])
    assert (estimate.value, estimate.n) == (2.0, 3)
    assert estimate.high - 2.0 == pytest.approx(4.303 / math.sqrt(3), abs=1e-3)
    assert math.isnan(mean_interval([1.0]).low)


def test_coherence_measures(engine_tiny):
    lm = engine_tiny.lm
    assert distinct_2("a b a b") == pytest.approx(2 / 3)
    assert repetition_rate("a b c a b c") == pytest.approx(1 / 4)
    assert repetition_rate("one two three four") == 0 and math.isnan(distinct_2("one"))
    prompts = [lm.chat_ids([{"role": "user", "content": t}]) for t in ("hi", "a longer message")]
    replies_ids = [lm.text_ids("ok then")[1:], lm.text_ids("fine")[1:]]
    batched = reply_perplexities(lm, prompts, replies_ids)
    alone = [reply_perplexities(lm, [p], [r])[0] for p, r in zip(prompts, replies_ids)]
    assert batched == pytest.approx(alone, rel=1e-4)
    assert math.isnan(reply_perplexities(lm, prompts[:1], [[]])[0])


def test_turn_view_plots_reply_start_readings(engine_tiny, scenario):
    runs = run_rows(engine_tiny, expand(scenario), [RowSpec({}), RowSpec({"joy": 0.5})])
    [ax] = turn_figure(runs, ["joy", "fear"]).axes
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label() for line in lines] == ["joy (unsteered)", "fear (unsteered)", "joy (joy +0.5)", "fear (joy +0.5)"]
    for line, (run, emotion) in zip(lines, [(r, e) for r in runs for e in ("joy", "fear")]):
        assert list(line.get_ydata()) == [t.reply_start_readings[emotion] for t in run.replies()]
        assert to_hex(line.get_color()) == emotion_color(emotion, ["joy", "fear"])  # the app's colour for it
    [ax] = turn_figure(runs[:1], ["joy"], x_variable="i").axes
    [line] = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    replies = runs[0].replies()
    assert line.get_label() == "joy" and list(line.get_xdata()) == [1.0] + [float(t.values["i"]) for t in replies[1:]]


def test_imported_agentic_scenario_runs(engine_tiny, tmp_path):
    from test_scenarios import write_framework

    from lab.scenarios.agentic_import import import_agentic

    scenario = import_agentic(write_framework(tmp_path / "framework"))
    result = run_scenario(engine_tiny, scenario, variant="blackmail_explicit-global_replacement", max_tokens=3, temperature=0)
    assert [t.role for t in result.turns] == ["system", "user", "assistant"]
    assert "Global vision" in result.turns[1].text


def test_sweep_ratio_times_one_batch_of_eight_against_the_same_eight_one_by_one(engine_tiny, monkeypatch):
    """The value is a benchmark (`lab bench` reports it), not judged here; what it times is."""
    from lab.diagnostics import bench_sweep

    calls: list[list[dict[str, float]]] = []
    real = bench_sweep.run_rows

    def counted(engine, script, rows):
        calls.append([row.steer for row in rows])
        return real(engine, script, rows)

    monkeypatch.setattr(bench_sweep, "run_rows", counted)
    ratio = bench_sweep.sweep_ratio(engine_tiny, rounds=1, tokens=4)
    assert math.isfinite(ratio) and ratio > 0
    rows = [{engine_tiny.directions.emotions[0]: s} for s in bench_sweep.STRENGTHS]
    assert len(rows) == 8 and calls == [rows[:1], rows, *[[row] for row in rows]]  # warm-up, batched, one by one


# ---- CLI on the embedded model -------------------------------------------------------------------


@pytest.mark.integration
def test_cli_run_json_on_a_builtin_scenario(real_cache, monkeypatch, tmp_path, capsys):
    home = tmp_path / "real-home"
    home.mkdir()
    os.symlink(real_cache, home / "cache", target_is_directory=True)  # fast: the model and directions are cached
    monkeypatch.setenv("EMOTION_LAB_HOME", str(home))
    db = tmp_path / "lab.db"
    code = main(["run", "test-or-real", "--variant", "real", "--max-tokens", "3", "--temperature", "0", "--json", "--db", str(db)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    turns = [json.loads(line) for line in captured.out.splitlines()]
    assert [t["role"] for t in turns] == ["system", "user", "assistant"]
    assert [t["turn"] for t in turns] == [0, 1, 2]
    assert all(list(t) == ["turn", "role", "text", "reply_start_readings", "checks"] for t in turns)
    assert turns[0]["reply_start_readings"] == {} and turns[1]["reply_start_readings"] == {}
    assert len(turns[2]["reply_start_readings"]) >= 12 and "desperate" in turns[2]["reply_start_readings"]
    assert "real conversation" in turns[0]["text"]
    assert "Recorded as session" in captured.err
    with open_store(db, read_only=True) as store:
        [summary] = store.list_sessions()
        assert summary.status == "complete" and "Test or real (real)" in summary.title
    assert main(["run", "test-or-real", "--steer", "nosuch=0.1", "--no-record"]) == 2
    assert "Unknown emotion 'nosuch'" in capsys.readouterr().err


def test_one_steering_change_tracker_reports_each_change_once_per_row():
    from lab.common.events import SteeringChange, TokenEvent
    from lab.runtime.steering_changes import SteeringChanges

    def event(row: int, position: int, strengths: dict[str, float]) -> TokenEvent:
        return TokenEvent(row=row, position=position, token_id=0, text="x", is_prompt=False, readings={}, strengths=strengths)

    changes = SteeringChanges((1, 2))
    seen = [changes.change(e) for e in (event(0, 0, {}), event(1, 0, {"joy": 0.1}), event(0, 1, {}),
                                        event(1, 1, {"joy": 0.1}), event(0, 2, {"fear": 0.2}), event(0, 3, {}))]
    assert seen == [None, SteeringChange(0, {"joy": 0.1}, (1, 2)), None, None,
                    SteeringChange(2, {"fear": 0.2}, (1, 2)), SteeringChange(3, {}, (1, 2))]
