"""The validation report's plain answer, first on its page: does this lab work on this model? One
sentence per part a 15-year-old understands (recognising emotions, telling neutral text apart,
steering, lessons); the tables with counts and 95% intervals follow below it."""
from __future__ import annotations

from collections import Counter
from typing import Any

from lab.common.stats import wilson


def plain_answer(report: dict[str, Any]) -> list[str]:
    """Sentences for the parts the report holds (none for a part not measured)."""
    return [s for s in (_recognition(report), _neutral(report), _steering(report), _lessons(report)) if s]


def _recognition(report: dict[str, Any]) -> str:
    counts = (report.get("totals") or {}).get("held_out")
    emotions = len([e for e in report.get("emotions") or [] if e.get("kind") == "built-in"]) or len(report.get("emotions") or [])
    if not counts or not counts[1] or not emotions:
        return ""
    k, n = int(counts[0]), int(counts[1])
    low, chance = wilson(k, n).low, 1 / emotions
    if low > 0.5:
        answer = "Yes, it recognises emotions well"
    elif low > chance:
        answer = "Partly: it recognises emotions better than guessing, but often mixes them up"
    else:
        answer = "No: it recognises emotions no better than guessing"
    return (f"{answer}. Shown example texts it had never seen, it named the right one of {emotions} emotions "
            f"{k} times out of {n}; guessing would get about {round(n * chance)} right.")


def _neutral(report: dict[str, Any]) -> str:
    counts = (report.get("neutral") or {}).get("held_out")
    if not counts or not counts[1]:
        return ""
    k, n = int(counts[0]), int(counts[1])
    how = "usually tells" if wilson(k, n).low > 0.5 else "does not reliably tell"
    return f"It {how} plain, unemotional text apart: {k} of {n} neutral texts read as \"no clear emotion\"."


def _steering(report: dict[str, Any]) -> str:
    rows = report.get("steering_efficacy")
    if not rows or not all("raised" in r and "prompts" in r for r in rows):
        return ""
    raised, prompts = sum(r["raised"] for r in rows), sum(r["prompts"] for r in rows)
    if not prompts:
        return ""
    how = "Steering works" if wilson(raised, prompts).low > 0.5 else "Steering works only sometimes"
    return (f"{how}: pushing an emotion made the reply read more of it on {raised} of {prompts} prompts "
            f"({len(rows)} emotions).")


def _lessons(report: dict[str, Any]) -> str:
    verdicts = [v.get("verdict") for v in report.get("lessons") or report.get("known_lessons") or []]
    if not verdicts:
        return ""
    counts = Counter(verdicts)
    shows = counts.get("shows", 0)
    return (f"Lessons: {shows} of {len(verdicts)} measured so far show on this model "
            f"({counts.get('does not show on this model', 0)} do not, the rest cannot tell yet); "
            "Help → Lessons says each in one sentence.")
