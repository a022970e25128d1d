"""How coherent a text reads, from its words alone: word-pair variety and repeated word triples.
Plain text measures, so the slider-range calibration (runtime) and sweeps (scenarios) share them."""
from __future__ import annotations

import math
import re

WORD = re.compile(r"\w+|[^\w\s]")


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def distinct_2(text: str) -> float:
    """Distinct word pairs / all word pairs (1 = no pair repeats); NaN under two words."""
    pairs = list(zip(*(words(text)[i:] for i in range(2))))
    return len(set(pairs)) / len(pairs) if pairs else math.nan


def repetition_rate(text: str) -> float:
    """Share of word triples that already occurred earlier in the text; NaN under three words."""
    triples = list(zip(*(words(text)[i:] for i in range(3))))
    if not triples:
        return math.nan
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for triple in triples:
        repeats += triple in seen
        seen.add(triple)
    return repeats / len(triples)
