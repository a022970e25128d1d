"""A sweep's result in plain words, before its table: for each swept emotion and check, did pushing
the emotion change how often the check fired? The strongest push each way is compared with the
weakest (strength 0 when swept); "clearly" only when the two 95% intervals do not overlap."""
from __future__ import annotations

from lab.common.stats import TOO_FEW_RUNS, Estimate
from lab.common.steering_text import strength_text
from lab.scenarios.runner import CONTROL
from lab.scenarios.sweep import SweepPoint, SweepResult

MAX_SENTENCES = 4


def sweep_sentences(result: SweepResult) -> list[str]:
    """One sentence per swept emotion, check and direction of push (at most MAX_SENTENCES, then a pointer to the table)."""
    sentences: list[str] = []
    points = result.points()
    for series in result.plan.emotions:
        own = sorted((p for p in points if p.series == series), key=lambda p: p.strength)
        if len(own) < 2:
            continue
        base = min(own, key=lambda p: abs(p.strength))
        ends = [p for p in (own[-1], own[0]) if p.strength != base.strength]
        for check in result.check_names():
            for end in ends:
                sentences.append(_sentence(series, check, base, end))
    sentences = [s for s in sentences if s]
    if not sentences:
        return []
    if len(sentences) > MAX_SENTENCES:
        sentences = [*sentences[:MAX_SENTENCES], f"…and {len(sentences) - MAX_SENTENCES} more in the table below."]
    if CONTROL in result.plan.series():
        sentences.append("The random-direction rows show how much any push of the same size changes things.")
    return sentences


def _sentence(series: str, check: str, base: SweepPoint, end: SweepPoint) -> str:
    low, high = base.rates.get(check), end.rates.get(check)
    if low is None or high is None or not low.n or not high.n:
        return ""
    said = (f"Pushing {series} to {strength_text(end.strength)}: \"{check}\" fired in {_count(high)}, against "
            f"{_count(low)} at {strength_text(base.strength)}")
    if min(low.n, high.n) < TOO_FEW_RUNS:
        return f"{said}: too few runs to tell."
    if high.low > low.high:
        return f"{said}: clearly more often."
    if high.high < low.low:
        return f"{said}: clearly less often."
    return f"{said}: no clear difference (with this many runs it could be chance)."


def _count(e: Estimate) -> str:
    return f"{round(e.value * e.n)} of {e.n} run{'s' if e.n != 1 else ''}"
