"""Causal lessons: does steering an emotion change what the model *does*?

A causal claim (scenario.Claim with statistic steered_rate) says: steering `emotion` by +s moves
the rate of `check` in `variant` up (or down). Each seed runs four rows of one batch, the same
sampling seed in every row: unsteered, +s, -s, and a random direction of the same norm at +s.
A row counts when every reply in it is coherent (COHERENCE below), so a broken reply is never
read as a behaviour; a row counts as "fired" when the check fired on any of its replies.

Effects are rate differences paired by seed (pairs with an incoherent row are left out):
+s minus unsteered and +s minus random, with t intervals at 95%, Bonferroni-corrected when the
claim says several measurement places were tried (`places`). Verdict, for the claimed direction:
"shows" when both intervals lie on the claimed side of zero; "does not show on this model" when
either estimate is zero or on the wrong side; else "inconclusive". A check whose precision or
recall on hand-labelled replies (lab.scenarios.check_quality) is under 0.8 gives no verdict:
"the check is unreliable here".
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import date
from typing import Any

from lab.common.errors import LabError
from lab.common.progress import Progress, SilentProgress
from lab.common.stats import Estimate, estimate_json, estimate_text, mean_interval_at, wilson
from lab.runtime.engine import Engine
from lab.scenarios.check_quality import CheckQuality, check_quality
from lab.common.text_coherence import distinct_2, repetition_rate
from lab.scenarios.runner import (
    CONTROL,
    RowSpec,
    RunResult,
    cap_tokens,
    run_rows,
    with_control,
)
from lab.scenarios.scenario import Claim, Scenario, expand
from lab.runtime.strength_range import (
    DISTINCT_DROP,
    FALLBACK_CLIFF,
    REPEAT_LIMIT,
    cached_range,
)

SHOWS = "shows"
NOT_SHOWN = "does not show on this model"
INCONCLUSIVE = "inconclusive"
UNRELIABLE = "the check is unreliable here"
CONDITIONS = ("unsteered", "+s", "-s", "random +s")
BATCH_ROWS = 32  # rows per batch: 8 seeds x 4 conditions
COHERENCE = (f"a reply is incoherent when it is empty, repeats more than {REPEAT_LIMIT:.0%} of its word triples, or its "
             f"distinct word pairs fall under {DISTINCT_DROP:.0%} of the unsteered replies' median (the rule that "
             "calibrates the sliders' range); a reply that drifts off the task but stays fluent is coherent")
EXAMPLES = 3  # replies per condition kept in the result


@dataclass(frozen=True)
class Row:
    """One run of the claim: its condition, seed, whether the check fired, whether it stayed coherent."""

    condition: str
    seed: int
    fired: bool
    coherent: bool
    texts: tuple[str, ...]


@dataclass(frozen=True)
class CausalVerdict:
    scenario: str
    title: str
    claim: Claim
    variant: str
    seeds: tuple[int, ...]
    rows: tuple[Row, ...]
    rates: dict[str, Estimate]  # condition -> the check's rate over its coherent rows (Wilson 95%)
    effect: Estimate  # +s minus unsteered, paired by seed
    vs_random: Estimate  # +s minus random, paired by seed
    minus_effect: Estimate  # -s minus unsteered, paired by seed (reported, not judged)
    confidence: float
    quality: CheckQuality
    verdict: str
    measured_verdict: str  # what the rates alone would say (the verdict unless the check is unreliable)
    model: str = ""
    dtype: str = ""

    @property
    def lesson(self) -> str:
        return self.claim.lesson_id(self.scenario)

    def excluded(self) -> dict[str, int]:
        return {c: sum(1 for r in self.rows if r.condition == c and not r.coherent) for c in CONDITIONS}

    def summary(self) -> str:
        c, q = self.claim, self.quality
        rates = ", ".join(f"{k} {_rate(v)}" for k, v in self.rates.items())
        return (f"{self.lesson}: {self.verdict}. '{c.check}' rate with {c.emotion} at s={c.strength:g}: {rates}; "
                f"+s - unsteered {estimate_text(self.effect)}, +s - random {estimate_text(self.vs_random)}, -s - unsteered "
                f"{estimate_text(self.minus_effect)} ({self.confidence:.1%} intervals, {len(self.seeds)} seeds; incoherent rows left out: "
                f"{sum(self.excluded().values())}); check precision {_fraction(q.precision)}, recall {_fraction(q.recall)} "
                f"on {q.labelled} labelled replies")

    def to_json(self) -> dict[str, Any]:
        c = self.claim
        examples = {cond: [{"seed": r.seed, "fired": r.fired, "coherent": r.coherent, "text": " / ".join(r.texts)[:300]}
                           for r in self.rows if r.condition == cond][:EXAMPLES] for cond in CONDITIONS}
        return {
            "lesson": self.lesson, "scenario": self.scenario, "title": self.title, "claim": c.text, "says": c.plain_claim(),
            "statistic": c.statistic, "emotion": c.emotion, "strength": c.strength, "check": c.check,
            "direction": c.direction, "variant": self.variant, "seeds": list(self.seeds), "places": c.places,
            "confidence": self.confidence, "rates": {k: estimate_json(v) for k, v in self.rates.items()},
            "effect": estimate_json(self.effect), "vs_random": estimate_json(self.vs_random),
            "minus_effect": estimate_json(self.minus_effect), "excluded": self.excluded(), "coherence": COHERENCE,
            "check_quality": self.quality.to_json(), "verdict": self.verdict, "measured_verdict": self.measured_verdict,
            "examples": examples, "model": self.model, "dtype": self.dtype, "date": date.today().isoformat(),
        }


def causal_verdict(engine: Engine, scenario: Scenario, name: str, claim: Claim, seeds: int | None = None,
                   max_tokens: int | None = None, progress: Progress | None = None, batch_rows: int = BATCH_ROWS) -> CausalVerdict:
    """Run the claim's four conditions over the seeds (batched) and judge it."""
    if not claim.causal:
        raise LabError(f"The claim '{claim.text[:60]}' is not a causal claim.")
    count = claim.seeds if seeds is None else seeds
    if count < 2:
        raise LabError("Testing a lesson needs at least 2 seeds.")
    engine.directions.index(claim.emotion)
    cliff = (cached_range(engine.lm.identity) or _Fallback()).cliff
    if claim.strength > cliff + 1e-9:
        raise LabError(f"The claim steers at {claim.strength:g}, past this model's coherent range (±{cliff:g}); "
                       "a broken reply would be read as a behaviour.")
    check = next((c for c in scenario.checks if c.name == claim.check), None)
    if check is None:
        raise LabError(f"'{scenario.title}' has no check called '{claim.check}'.")
    progress = progress or SilentProgress()
    variant = claim.variant or scenario.default_variant() or ""
    caps = [m for m in (claim.max_tokens, max_tokens) if m is not None]
    script = cap_tokens(expand(scenario, variant or None), min(caps) if caps else None)
    steering = with_control(engine.directions, 0)
    s = claim.strength
    steer = {"unsteered": {}, "+s": {claim.emotion: s}, "-s": {claim.emotion: -s}, "random +s": {CONTROL: s}}
    specs = [(cond, seed) for seed in range(count) for cond in CONDITIONS]
    runs: list[RunResult] = []
    for start in range(0, len(specs), batch_rows):
        part = specs[start : start + batch_rows]
        progress.set_status(f"{scenario.title}: {claim.check} with {claim.emotion} ±{s:g}, rows {start + 1}-{start + len(part)} of {len(specs)}")
        runs += run_rows(engine, script, [RowSpec(dict(steer[c]), seed) for c, seed in part], temperature=scenario.temperature,
                         top_p=scenario.top_p, steering_set=steering, progress=progress)
    rows = judge_rows(specs, runs, claim.check)
    quality = check_quality(name, check)
    return verdict_from_rows(name, scenario.title, claim, variant, tuple(range(count)), rows, quality,
                             model=engine.lm.spec, dtype=str(getattr(engine.lm, "dtype", "")).removeprefix("torch."))


def judge_rows(specs: list[tuple[str, int]], runs: list[RunResult], check: str) -> tuple[Row, ...]:
    """Each run as a Row: fired (the check on any reply) and coherent (every reply, against the unsteered rows)."""
    baseline = [r for (cond, _), r in zip(specs, runs) if cond == "unsteered"]
    distinct = _median([distinct_2(t.text) for r in baseline for t in r.replies()], 1.0)
    return tuple(Row(cond, seed, any(check in t.checks for t in run.replies()),
                     all(coherent(t.text, distinct) for t in run.replies()),
                     tuple(t.text for t in run.replies()))
                 for (cond, seed), run in zip(specs, runs))


def coherent(text: str, baseline_distinct: float) -> bool:
    """The rule in COHERENCE; short replies ('No.') have no word pairs to judge and count as coherent."""
    if not text.strip():
        return False
    repeats, distinct = repetition_rate(text), distinct_2(text)
    if math.isfinite(repeats) and repeats > REPEAT_LIMIT:
        return False
    return not (math.isfinite(distinct) and distinct < DISTINCT_DROP * baseline_distinct)


def verdict_from_rows(scenario: str, title: str, claim: Claim, variant: str, seeds: tuple[int, ...], rows: tuple[Row, ...],
                      quality: CheckQuality, model: str = "", dtype: str = "") -> CausalVerdict:
    """The rates, the paired effects and the verdict from judged rows."""
    confidence = 1 - 0.05 / claim.places
    by = {(r.condition, r.seed): r for r in rows}
    rates = {}
    for cond in CONDITIONS:
        kept = [r for r in rows if r.condition == cond and r.coherent]
        rates[cond] = wilson(sum(r.fired for r in kept), len(kept))
    effect, vs_random, minus = (paired(by, seeds, a, b, confidence)
                                for a, b in (("+s", "unsteered"), ("+s", "random +s"), ("-s", "unsteered")))
    measured = judge(claim.direction, effect, vs_random)
    verdict = measured if quality.reliable else UNRELIABLE
    return CausalVerdict(scenario, title, claim, variant, seeds, rows, rates, effect, vs_random, minus, confidence,
                         quality, verdict, measured, model, dtype)


def paired(by: dict[tuple[str, int], Row], seeds: tuple[int, ...], a: str, b: str, confidence: float) -> Estimate:
    """Mean over seeds of fired(a) - fired(b), both rows coherent, with a t interval at `confidence`."""
    diffs = [float(by[a, s].fired) - float(by[b, s].fired) for s in seeds
             if (a, s) in by and (b, s) in by and by[a, s].coherent and by[b, s].coherent]
    return mean_interval_at(diffs, confidence)


def judge(direction: str, effect: Estimate, vs_random: Estimate) -> str:
    """The verdict rule (module docstring) for the claimed direction ('up' or 'down')."""
    sign = 1 if direction == "up" else -1
    low = [min(sign * e.low, sign * e.high) for e in (effect, vs_random)]
    value = [sign * e.value for e in (effect, vs_random)]
    if all(math.isfinite(x) and x > 0 for x in low):
        return SHOWS
    if any(v <= 0 for v in value):
        return NOT_SHOWN
    return INCONCLUSIVE


class _Fallback:
    cliff = FALLBACK_CLIFF


def _median(values: list[float], default: float) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.median(finite) if finite else default






def _rate(e: Estimate) -> str:
    return f"{round(e.value * e.n)}/{e.n}" if e.n else "0/0"


def _fraction(v: float) -> str:
    return f"{v:.2f}" if math.isfinite(v) else "n/a"


def rejudge(records: list[dict[str, Any]]) -> list[CausalVerdict]:
    """Verdicts again from recorded rows (`lab lessons --replies` lines) with today's labelled replies:
    the rows (fired, coherent) stay as measured; only the check's precision and recall are scored anew."""
    from lab.scenarios.files import builtin_scenarios, load_scenario
    from lab.scenarios.lesson_store import all_lessons

    lessons = {lesson.id: lesson for lesson in all_lessons()}
    paths = {b.name: b.path for b in builtin_scenarios()}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(str(record.get("lesson")), []).append(record)
    verdicts = []
    for lesson_id, items in grouped.items():
        lesson = lessons.get(lesson_id)
        if lesson is None or not lesson.claim.causal:
            raise LabError(f"The recorded replies name '{lesson_id}', which is not a causal lesson.")
        try:
            rows = tuple(Row(str(r["condition"]), int(r["seed"]), bool(r["fired"]), bool(r["coherent"]), tuple(r["texts"]))
                         for r in items)
        except (KeyError, TypeError, ValueError) as error:
            raise LabError(f"The recorded replies of '{lesson_id}' are incomplete ({error!r}).") from error
        scenario = load_scenario(paths[lesson.scenario])
        check = next(c for c in scenario.checks if c.name == lesson.claim.check)
        seeds = tuple(sorted({r.seed for r in rows}))
        verdicts.append(verdict_from_rows(lesson.scenario, lesson.title, lesson.claim, lesson.claim.variant or "", seeds, rows,
                                          check_quality(lesson.scenario, check), str(items[0].get("model", "")),
                                          str(items[0].get("dtype", ""))))
    return verdicts
