"""A lesson's result in words: one plain sentence a 15-year-old understands first, the statistics
on demand. Works on the JSON form of a result (LessonVerdict / CausalVerdict .to_json()), so shipped
and cached results read the same as fresh ones."""
from __future__ import annotations

from typing import Any

SHOWS = "shows"
NOT_SHOWN = "does not show on this model"
INCONCLUSIVE = "inconclusive"
UNRELIABLE = "the check is unreliable here"
NOT_MEASURED = "not measured on this model yet"


def plain(result: dict[str, Any] | None, says: str = "") -> str:
    """The verdict as one sentence, e.g. 'On this model we did not see that ...; researchers saw it in much larger models.'"""
    if result is None:
        return f"Not measured on this model yet: press \"Run this lesson\" to find out whether {says}." if says else NOT_MEASURED
    says = result.get("says") or says or "the claim holds"
    verdict = result.get("verdict")
    if verdict == SHOWS:
        return f"On this model the lab saw it: {says}."
    if verdict == NOT_SHOWN:
        return f"On this model we did not see that {says}; researchers saw it in much larger models."
    if verdict == UNRELIABLE:
        return (f"We cannot tell on this model whether {says}: the lab's test for \"{result.get('check')}\" misreads "
                "this model's replies too often to count on it.")
    return f"We cannot tell yet whether {says}: the runs lean that way but not clearly; more seeds may tell."


def not_measured(says: str, minutes: int) -> str:
    """The Run page's line for a lesson with no verdict on the loaded model yet."""
    return (f"Not measured on this model yet whether {says}: Help → Lessons can measure it "
            f"(about {minutes} minute{'s' if minutes != 1 else ''}).")


def suppression_says(emotion: str) -> str:
    """The suppression experiment's claim in plain words."""
    return f"training the model not to show it is {emotion} hides the feeling in its replies but not inside"


def suppression_stamp(data: dict[str, Any]) -> str:
    """'measured 2026-12-05 in float32, 20 held-out prompts, 162 s'."""
    runtime = data.get("runtime") if isinstance(data.get("runtime"), dict) else {}
    seconds = f", {data['seconds']:.0f} s" if isinstance(data.get("seconds"), (int, float)) else ""
    return (f"measured {str(data.get('date') or 'on an unknown date')[:10]} in {runtime.get('dtype', 'an unknown precision')}, "
            f"{len(data.get('held_out') or [])} held-out prompts{seconds}")


def suppression_numbers(data: dict[str, Any]) -> str:
    """The statistics behind a suppression verdict (its saved JSON form), several lines."""
    steps = next((a.get("steps") for a in data.get("adapters") or [] if isinstance(a, dict)), None)
    return "\n".join([
        f"Verdict: {data.get('verdict')}. {data.get('reason', '')}",
        f"Claim: {data.get('claim')}",
        "Falls from before training to after (before minus after, 95% intervals over held-out prompts):",
        f"  expression (the reply re-read fresh), suppression adapter: {_estimate(data.get('expression_fall'))}",
        f"  expression, control adapter: {_estimate(data.get('control_expression_fall'))}",
        f"  internal reading while writing, suppression adapter: {_estimate(data.get('representation_fall'))}",
        f"  internal reading, control adapter: {_estimate(data.get('control_representation_fall'))}",
        f"  the emotion's words per 100 words, suppression adapter: {_estimate(data.get('words_fall'))}",
        "Beyond the control (suppression fall minus control fall, paired by prompt):",
        f"  expression: {_estimate(data.get('expression_beyond_control'))}",
        f"  internal reading: {_estimate(data.get('representation_beyond_control'))}",
        suppression_stamp(data).capitalize() + (f", {steps} training steps per adapter." if steps else "."),
    ])


def stamp(result: dict[str, Any]) -> str:
    """When and how it was measured: 'measured 2026-12-05 on embedded (float32), 16 seeds'; the check's precision."""
    seeds = len(result.get("seeds") or [])
    model = result.get("model") or "this model"
    dtype = f" ({result['dtype']})" if result.get("dtype") else ""
    text = f"measured {result.get('date', 'on an unknown date')} on {model}{dtype}, {seeds} seeds"
    quality = result.get("check_quality")
    if quality:
        text += (f"; the check \"{quality['check']}\" scored precision {_num(quality.get('precision'))} and recall "
                 f"{_num(quality.get('recall'))} on {quality.get('labelled', 0)} hand-labelled replies")
    return text


def numbers(result: dict[str, Any]) -> str:
    """The statistics behind the verdict, several lines."""
    if "rates" in result:
        return _causal_numbers(result)
    if result.get("from_register"):
        verdict = (f"Verdict: {result.get('verdict')} (from the register of measured claims; the full numbers "
                   "were not kept as a file then).")
        note = [f"Note: {result['note']}"] if result.get("note") else []
        return "\n".join([verdict, f"Claim: {result.get('claim')}",
                          f"Difference from the control: {_estimate(result.get('contrast'))}", *note, stamp(result) + "."])
    what = {"rise": "Spearman rise over turns", "difference": "mean reading", "reread_gap": "writing minus re-read"}.get(
        result.get("statistic"), result.get("statistic"))
    return "\n".join([
        f"Verdict: {result.get('verdict')}. Claim: {result.get('claim')}",
        f"{result.get('emotion')} at {result.get('measure')}, {what}:",
        f"  '{result.get('variant')}': {_estimate(result.get('value'))}",
        f"  '{result.get('control')}' (control): {_estimate(result.get('control_value'))}",
        f"  difference: {_estimate(result.get('contrast'))} (95% intervals over seeds)",
        stamp(result) + ".",
    ])


def _causal_numbers(result: dict[str, Any]) -> str:
    s = result.get("strength")
    confidence = result.get("confidence", 0.95)
    lines = [f"Verdict: {result.get('verdict')}" + (f" (the rates alone: {result['measured_verdict']})"
                                                     if result.get("measured_verdict") not in (None, result.get("verdict")) else "") + ".",
             f"Claim: {result.get('claim')}",
             f"Rate of \"{result.get('check')}\" in '{result.get('variant')}', {result.get('emotion')} steered at s = {s}:"]
    excluded = result.get("excluded") or {}
    for condition, rate in (result.get("rates") or {}).items():
        n = rate.get("n") or 0
        fired = round((rate.get("value") or 0) * n)
        interval = f", 95% interval {_pct(rate.get('low'))}-{_pct(rate.get('high'))}" if n else ""
        lines.append(f"  {condition}: {fired} of {n} coherent runs{interval}" + (
            f" ({excluded[condition]} incoherent left out)" if excluded.get(condition) else ""))
    corrected = f", Bonferroni-corrected for {result.get('places')} measurement places" if (result.get("places") or 1) > 1 else ""
    lines += [f"Differences paired by seed ({confidence:.1%} intervals{corrected}):",
              f"  +s minus unsteered: {_estimate(result.get('effect'))}",
              f"  +s minus random direction: {_estimate(result.get('vs_random'))}",
              f"  -s minus unsteered: {_estimate(result.get('minus_effect'))} (reported, not judged)",
              f"Coherence: {result.get('coherence', '')}.", stamp(result) + "."]
    return "\n".join(lines)


def _estimate(e: dict[str, Any] | None) -> str:
    if not e or e.get("value") is None:
        return "n/a"
    if e.get("low") is None or e.get("high") is None:
        return f"{e['value']:+.2f} (no interval)"
    return f"{e['value']:+.2f}, interval {e['low']:+.2f} to {e['high']:+.2f} (n = {e.get('n')})"


def _pct(v: float | None) -> str:
    return "?" if v is None else f"{v:.0%}"


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"
