"""Results a teacher can read: "none fired" where no check fired, check rates as counts of runs
("0 of 3 runs (too few to tell)") with the 95% interval in words, and the same run count while a
sweep runs and after it. Runs on the tiny test model (tests/conftest.py)."""
from __future__ import annotations

import textwrap

import pytest

from lab.common.progress import SilentProgress
from lab.common.stats import TOO_FEW_RUNS, rate_interval, rate_sentence, rate_text, wilson
from lab.scenarios.checks import NONE_FIRED, fired_text
from lab.scenarios.files import parse_scenario
from lab.scenarios.sweep import SweepPlan, sweep

SCENARIO = textwrap.dedent("""\
    title: Tiny
    temperature: 0
    steps:
      - user: hello there
      - model: {max_tokens: 3}
    checks:
      - name: says zzz
        any: [zzz]
    """)


class Statuses(SilentProgress):
    def __init__(self) -> None:
        self.texts: list[str] = []

    def set_status(self, text: str) -> None:
        self.texts.append(text)


@pytest.fixture(scope="module")
def tiny_sweep(tiny_lm, tiny_directions):
    """A sweep over strength 0 and 0.5 with the random control: 4 conditions, 3 distinct runs."""
    from lab.runtime.engine import Engine

    statuses = Statuses()
    plan = SweepPlan(("joy",), (0.0, 0.5), seeds=(1,), perplexity=False)
    result = sweep(Engine(tiny_lm, tiny_directions), parse_scenario(SCENARIO), plan, progress=statuses)
    return plan, result, statuses.texts


def test_rates_read_as_counts_with_the_interval_in_words():
    assert TOO_FEW_RUNS == 5
    assert rate_text(wilson(0, 3)) == "0 of 3 runs (too few to tell)"
    assert rate_text(wilson(1, 1)) == "1 of 1 run (too few to tell)"
    assert rate_text(wilson(2, 10)) == "2 of 10 runs"
    assert rate_text(wilson(0, 0)) == "no runs"
    assert rate_interval(wilson(0, 3)) == "likely 0% to 56%"
    sentence = rate_sentence(wilson(2, 10))
    assert sentence.startswith("Fired in 2 of 10 runs (20%).") and "between 6% and 51% (95% interval)" in sentence
    assert "Too few runs to tell" in rate_sentence(wilson(0, 3)) and "Too few" not in sentence
    assert "[" not in rate_text(wilson(0, 3)) + sentence


def test_no_check_fired_says_none_fired():
    from lab.scenarios.checks import run_sentence

    assert run_sentence([(), ()]) == "In this run: no check fired in any of the 2 replies."
    assert run_sentence([()]) == "In this run: no check fired in the one reply."
    assert run_sentence([("cheats", "gives up"), ("gives up",), ()]) == (
        'In this run: "cheats" fired in 1 of 3 replies, "gives up" in 2 of 3.')
    assert fired_text([]) == NONE_FIRED == "none fired"
    assert fired_text(["threatens", "hedges"]) == "threatens, hedges"


def test_sweep_counts_the_same_runs_while_running_and_after(tiny_sweep):
    plan, result, statuses = tiny_sweep
    assert len(plan.conditions()) == 4 and plan.run_count() == 3  # strength 0: one unsteered run for both series
    assert statuses == ["Sweep batch 1 of 1 (3 runs)"]
    assert len(result.runs) == 4 and result.run_count() == 3


def test_sweep_table_and_export_show_counts_and_none_fired(qapp, tiny_sweep, tmp_path):
    from PySide6.QtWidgets import QWidget

    from ui.services.errors import ErrorFunnel
    from ui.tabs.experiments.experiments import runs_text
    from ui.tabs.experiments.sweep_results import SweepResultsView

    _, result, _ = tiny_sweep
    parent = QWidget()
    view = SweepResultsView(ErrorFunnel(parent), parent=parent)
    view.show_result(result)
    head = [view.table.horizontalHeaderItem(c).text() for c in range(view.table.columnCount())]
    assert head[3] == "says zzz: fired in"
    rate = view.table.item(0, 3)
    assert rate.text() == "0 of 1 run (too few to tell)"
    assert "between 0% and 79% (95% interval)" in rate.toolTip() and "%]" not in rate.text()
    assert {view.runs.item(r, 4).text() for r in range(view.runs.rowCount())} == {"none fired"}
    html = tmp_path / "sweep.html"
    assert view.export(html)
    page = html.read_text(encoding="utf-8")
    assert "0 of 1 run (too few to tell); likely 0% to 79%" in page and "none fired" in page
    assert runs_text(result.run_count()) == "3 runs" and runs_text(1) == "1 run"


def test_scenario_run_model_turns_say_none_fired(qapp):
    from lab.scenarios.runner import TurnResult
    from ui.tabs.scenarios.scenario_run import checks_item

    model = TurnResult(turn=2, role="assistant", text="Hi", generated=True)
    user = TurnResult(turn=1, role="user", text="Hello", generated=False)
    assert checks_item(model).text() == "none fired"
    assert checks_item(user).text() == ""
    assert checks_item(TurnResult(turn=2, role="assistant", text="Hi", generated=True, checks=("hedges",))).text() == "hedges"


def _sweep_of(fired: dict[float, int], runs: int = 10):
    """A made-up sweep of joy at the given strengths: at each, `fired[strength]` of `runs` runs fired "cheats"."""
    from lab.scenarios.runner import RunResult, TurnResult
    from lab.scenarios.sweep import SweepResult, SweepRun

    items = []
    for strength, count in fired.items():
        for seed in range(runs):
            turn = TurnResult(1, "assistant", "x", generated=True, token_readings=({"joy": strength},),
                              checks=("cheats",) if seed < count else ())
            items.append(SweepRun("joy", strength, seed, RunResult("t", None, {"joy": strength}, seed, (turn,))))
    plan = SweepPlan(("joy",), tuple(fired), seeds=tuple(range(runs)), control=False, perplexity=False)
    return SweepResult("t", plan, ("cheats",), tuple(items))


def test_sweep_results_open_on_a_plain_sentence(qapp, tiny_sweep):
    from PySide6.QtWidgets import QWidget

    from lab.scenarios.sweep_words import sweep_sentences
    from ui.services.errors import ErrorFunnel
    from ui.tabs.experiments.sweep_results import SweepResultsView

    assert sweep_sentences(_sweep_of({0.0: 1, 0.04: 9})) == [
        'Pushing joy to +0.04: "cheats" fired in 9 of 10 runs, against 1 of 10 runs at +0: clearly more often.']
    assert sweep_sentences(_sweep_of({-0.04: 2, 0.0: 3, 0.04: 4})) == [
        'Pushing joy to +0.04: "cheats" fired in 4 of 10 runs, against 3 of 10 runs at +0: no clear difference '
        '(with this many runs it could be chance).',
        'Pushing joy to -0.04: "cheats" fired in 2 of 10 runs, against 3 of 10 runs at +0: no clear difference '
        '(with this many runs it could be chance).']
    assert sweep_sentences(_sweep_of({0.0: 3})) == []  # one strength: nothing to compare
    _, result, _ = tiny_sweep
    parent = QWidget()
    view = SweepResultsView(ErrorFunnel(parent), parent=parent)
    view.show_result(result)
    assert view.summary.isVisibleTo(parent) and view.summary.text().startswith(
        'Pushing joy to +0.5: "says zzz" fired in 0 of 1 run, against 0 of 1 run at +0: too few runs to tell.')
    assert "random-direction" in view.summary.text()
    view.show_result(None)
    assert not view.summary.isVisibleTo(parent)
