"""Lessons that show what they promise, measured.

Each built-in scenario declares its lesson's claim in a `claim:` block (scenario.Claim), fixed in
the file before any run: the emotion, where it is read (`reply_start`: the token that opens the
model's turn; `reply_mean`: the mean over the reply's tokens), the statistic, the variant the claim
is about, a control variant, and the seeds (0..seeds-1). Every variant runs unsteered, once per
seed, as the rows of one batch. Statistics (95% intervals over seeds):

- rise: Spearman correlation of the per-turn mean over seeds with the turn order, bootstrap
  interval (seeds resampled); contrast = the variant's rise minus the control's (same resamples).
- difference: per seed, the variant's mean over its model turns; contrast = variant minus control
  (paired by seed), t interval.
- reread_gap: per seed, the reading while writing minus the same reply re-read fresh as an
  observer, averaged over model turns; contrast = the variant's gap minus the control's, t interval.

Verdict: "shows" when the contrast's whole interval is above zero (for rise, the variant's rise
too); "does not show on this model" when an estimate is zero or on the wrong side; otherwise
"inconclusive" (the right side, but the interval reaches zero).

    for v in lesson_verdicts(open_engine(), seeds=8): print(v.summary())

Causal claims (statistic steered_rate) are measured by lab.scenarios.causal; lesson_verdicts runs
every claim of every built-in scenario, reading and causal alike.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from lab.common.errors import LabError
from lab.common.progress import Progress, SilentProgress
from lab.common.stats import Estimate, estimate_json, estimate_text, finite_number, mean_interval, rank_correlation
from lab.runtime.engine import Engine
from lab.scenarios.files import builtin_scenarios, load_scenario
from lab.scenarios.runner import RowSpec, RunResult, cap_tokens, run_rows
from lab.scenarios.causal import CausalVerdict, causal_verdict
from lab.scenarios.scenario import Claim, Scenario, expand

SHOWS = "shows"
NOT_SHOWN = "does not show on this model"
INCONCLUSIVE = "inconclusive"
BOOTSTRAP = 2000  # resamples for the Spearman intervals (fixed generator seed: same data, same interval)


@dataclass(frozen=True)
class LessonVerdict:
    """One scenario's claim tested: the numbers behind the verdict, JSON-able via to_json()."""

    scenario: str  # the built-in name (file name without .yaml)
    title: str
    claim: Claim
    variant: str
    seeds: tuple[int, ...]
    value: Estimate  # the claimed variant: its Spearman rise, mean reading, or writing - re-read gap
    control_value: Estimate  # the same for the control variant
    contrast: Estimate  # variant minus control
    verdict: str
    per_turn: dict[str, list[float]]  # variant -> mean over seeds at each model turn
    model: str = ""
    dtype: str = ""

    @property
    def lesson(self) -> str:
        return self.claim.lesson_id(self.scenario)

    def summary(self) -> str:
        """One line: scenario, verdict and the numbers."""
        c = self.claim
        what = {"rise": "Spearman", "difference": "mean", "reread_gap": "writing - re-read"}[c.statistic]
        return (f"{self.lesson}: {self.verdict}. {c.emotion} at {c.measure}, {what} {estimate_text(self.value)} in '{self.variant}' "
                f"vs {estimate_text(self.control_value)} in '{c.control}'; difference {estimate_text(self.contrast)} ({len(self.seeds)} seeds)")

    def to_json(self) -> dict[str, Any]:
        c = self.claim
        return {
            "lesson": self.lesson, "scenario": self.scenario, "title": self.title, "claim": c.text, "says": c.plain_claim(),
            "emotion": c.emotion, "measure": c.measure,
            "statistic": c.statistic, "variant": self.variant, "control": c.control, "seeds": list(self.seeds),
            "value": estimate_json(self.value), "control_value": estimate_json(self.control_value),
            "contrast": estimate_json(self.contrast), "verdict": self.verdict,
            "per_turn": {k: [finite_number(v) for v in values] for k, values in self.per_turn.items()},
            "places": c.places, "model": self.model, "dtype": self.dtype, "date": date.today().isoformat(),
        }


def lesson_verdicts(engine: Engine, seeds: int | None = None, names: list[str] | None = None,
                    max_tokens: int | None = None, progress: Progress | None = None,
                    kind: str = "all") -> list[LessonVerdict | CausalVerdict]:
    """Test every claim of every built-in scenario (or of those named, or the lessons named
    'scenario/claim'); kind 'reading' or 'causal' keeps only those claims; seeds None: each claim's own count."""
    builtins = {b.name: b for b in builtin_scenarios()}
    unknown = [n for n in names or [] if n.split("/")[0] not in builtins]
    if unknown:
        raise LabError(f"No built-in scenario '{unknown[0]}'. Built-in scenarios: {', '.join(builtins)}.")
    wanted = names or list(builtins)
    verdicts: list[LessonVerdict | CausalVerdict] = []
    for item in builtins.values():
        scenario = load_scenario(item.path)
        for claim in scenario.claims:
            if kind != "all" and claim.causal != (kind == "causal"):
                continue
            if item.name in wanted or claim.lesson_id(item.name) in wanted:
                verdicts.append(claim_verdict(engine, scenario, item.name, claim, seeds, max_tokens, progress))
    missing = [n for n in wanted if "/" in n and n not in {v.lesson for v in verdicts}]
    if missing:
        raise LabError(f"No lesson '{missing[0]}'. Lessons are named by their scenario, or 'scenario/claim'.")
    return verdicts


def claim_verdict(engine: Engine, scenario: Scenario, name: str, claim: Claim, seeds: int | None = None,
                  max_tokens: int | None = None, progress: Progress | None = None) -> LessonVerdict | CausalVerdict:
    """Measure one claim of a scenario, reading or causal."""
    if claim.causal:
        return causal_verdict(engine, scenario, name, claim, seeds, max_tokens, progress)
    return lesson_verdict(engine, scenario, name, seeds, max_tokens, progress, claim)


def lesson_verdict(engine: Engine, scenario: Scenario, name: str, seeds: int | None = None,
                   max_tokens: int | None = None, progress: Progress | None = None,
                   claim: Claim | None = None) -> LessonVerdict:
    """Run a reading claim's variant and control over the seeds and judge it (default: the first claim)."""
    claim = claim or scenario.claim
    if claim is None:
        raise LabError(f"'{scenario.title}' declares no claim to test.")
    if claim.causal:
        raise LabError(f"'{claim.lesson_id(name)}' is a causal claim: measure it with claim_verdict.")
    count = claim.seeds if seeds is None else seeds
    if count < 2:
        raise LabError("Testing a lesson needs at least 2 seeds.")
    engine.directions.index(claim.emotion)
    progress = progress or SilentProgress()
    variant = claim.variant or scenario.default_variant() or ""
    seed_list = tuple(range(count))
    values = {}
    for v in (variant, claim.control):
        progress.set_status(f"{scenario.title}: variant '{v}', {count} seeds")
        script = cap_tokens(expand(scenario, v), max_tokens)
        runs = run_rows(engine, script, [RowSpec({}, s) for s in seed_list], temperature=scenario.temperature,
                        top_p=scenario.top_p, reread=claim.statistic == "reread_gap", progress=progress)
        values[v] = turn_values(runs, claim)
    value, control_value, contrast = statistic(claim.statistic, values[variant], values[claim.control])
    per_turn = {v: [finite_number(x) for x in _nanmean(m, axis=0)] for v, m in values.items()}
    return LessonVerdict(name, scenario.title, claim, variant, seed_list, value, control_value, contrast,
                         judge(claim.statistic, value, contrast), per_turn, engine.lm.spec,
                         str(getattr(engine.lm, "dtype", "")).removeprefix("torch."))


def turn_values(runs: list[RunResult], claim: Claim) -> np.ndarray:
    """[seeds, model turns]: the claim's measure of its emotion at each model turn of each run."""
    rows = [[_measure(turn, claim) for turn in run.replies()] for run in runs]
    if not rows or not rows[0]:
        raise LabError("The scenario has no model turns to measure.")
    return np.array(rows, dtype=float)


def _measure(turn: Any, claim: Claim) -> float:
    e = claim.emotion
    writing = _mean([r[e] for r in turn.token_readings if e in r])
    if claim.statistic == "reread_gap":
        return writing - turn.reread_readings.get(e, math.nan)
    if claim.measure == "reply_start":
        return turn.reply_start_readings.get(e, math.nan)
    return writing


def statistic(kind: str, variant: np.ndarray, control: np.ndarray) -> tuple[Estimate, Estimate, Estimate]:
    """(variant, control, variant - control) for [seeds, turns] arrays paired by seed (row)."""
    if kind == "rise":
        return rise(variant, control)
    a, b = _nanmean(variant, axis=1), _nanmean(control, axis=1)
    return mean_interval(list(a)), mean_interval(list(b)), mean_interval(list(a - b))


def rise(variant: np.ndarray, control: np.ndarray, resamples: int = BOOTSTRAP) -> tuple[Estimate, Estimate, Estimate]:
    """Spearman of the per-turn means with turn order, for each array and their difference, with
    percentile bootstrap intervals over seeds (rows resampled together, so pairs stay paired)."""
    if variant.shape[1] < 3 or control.shape[1] < 3:
        raise LabError("A rise needs at least 3 model turns in both variants.")
    n = variant.shape[0]
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(resamples):
        rows = rng.integers(0, n, n)
        a, b = spearman(_nanmean(variant[rows], axis=0)), spearman(_nanmean(control[rows], axis=0))
        samples.append((a, b, a - b))
    point_a, point_b = spearman(_nanmean(variant, axis=0)), spearman(_nanmean(control, axis=0))
    table = np.array(samples)
    return tuple(_percentile(point, table[:, k], n) for k, point in enumerate((point_a, point_b, point_a - point_b)))  # type: ignore[return-value]


def spearman(values: np.ndarray) -> float:
    """Spearman correlation of `values` with their order 1..n (average ranks for ties; NaN if flat)."""
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)):
        return math.nan
    return rank_correlation(np.arange(len(values), dtype=float), values)


def judge(kind: str, value: Estimate, contrast: Estimate) -> str:
    """The verdict rule (module docstring); NaN bounds are never 'above zero'."""
    needed = [contrast, value] if kind == "rise" else [contrast]
    if all(e.low > 0 for e in needed):
        return SHOWS
    if any(e.value <= 0 for e in needed):
        return NOT_SHOWN
    return INCONCLUSIVE


def _percentile(point: float, samples: np.ndarray, n: int) -> Estimate:
    finite = samples[np.isfinite(samples)]
    if not math.isfinite(point) or len(finite) < len(samples) / 2:
        return Estimate(point, math.nan, math.nan, n)
    low, high = np.percentile(finite, [2.5, 97.5])
    return Estimate(point, float(low), float(high), n)


def _nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    """Mean ignoring NaN (an empty reply); NaN where nothing is left, without a warning."""
    finite = np.isfinite(values)
    total = np.where(finite, values, 0.0).sum(axis=axis)
    count = finite.sum(axis=axis)
    return np.where(count > 0, total / np.maximum(count, 1), math.nan)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan




