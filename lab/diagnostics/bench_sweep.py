"""Benchmark of batched sweeps: the time of an 8-strength sweep run as one batch, divided by the
time of the same 8 runs one after another (target: at most 0.4). Variants alternate round by
round; the best round of each counts."""
from __future__ import annotations

import time

from lab.runtime.engine import Engine, open_engine
from lab.scenarios.runner import RowSpec, run_rows
from lab.scenarios.scenario import Script, ScriptStep

PROMPT = "Write a long story about a lighthouse keeper and a storm."
STRENGTHS = (-0.06, -0.04, -0.02, -0.01, 0.01, 0.02, 0.04, 0.06)


def sweep_ratio(engine: Engine | None = None, rounds: int = 3, tokens: int = 32) -> float:
    """Batched / one-by-one wall time for the same 8 greedy runs of a one-turn scenario."""
    engine = engine or open_engine()
    emotions = engine.directions.emotions
    emotion = "desperate" if "desperate" in emotions else emotions[0]
    script = Script("sweep benchmark", None, "", (ScriptStep("user", PROMPT), ScriptStep("model", max_tokens=tokens)), ())
    rows = [RowSpec({emotion: s}) for s in STRENGTHS]
    run_rows(engine, script, rows[:1])  # warm-up
    batched, one_by_one = [], []
    for _ in range(rounds):
        batched.append(_timed(lambda: run_rows(engine, script, rows)))
        one_by_one.append(_timed(lambda: [run_rows(engine, script, [row]) for row in rows]))
    return round(min(batched) / min(one_by_one), 3)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
