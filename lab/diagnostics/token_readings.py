"""What per-token readings of emotion words show, against human ratings of those words.

Each word of assets/emotions/_word_valence.yaml (human valence ratings, with the built-in emotion the
word names where there is one) is read on its own and inside neutral carrier sentences, at the word's
last token, with the push-free calibrated readings the app shows. Measured:
  own_top        how often the word's own emotion is the highest reading at its token
  valence_rho    per emotion, the rank correlation of its reading with the words' valence ratings;
                 `agreeing` counts the emotions whose correlation has the sign of their own name's human
                 valence (assets/emotions/_norms.yaml): "happy" should rise with pleasantness, "sad" fall
  tint           under the tint rule (lab.common.tint_rule) and under tinting every reading: the share
                 of orange tint that falls on words whose valence contradicts the emotion (a "happy"
                 tint on "anxious"), and how much tint the carrier sentences' neutral words get
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lab.common.stats import estimate_json, finite_number, rank_correlation, wilson
from lab.common.palette import Z_LIMIT
from lab.common.tint_rule import tint_reading
from lab.emotions.definitions import Norm, RatedWord, load_norms, load_rated_words
from lab.emotions.direction_set import DirectionSet
from lab.emotions.evaluation import describe
from lab.model.loader import LoadedModel
from lab.runtime.reading import read_ids

CARRIERS = (
    "She said the word {} yesterday.",
    "The next word on the list was {} and then we stopped.",
    "He wrote {} on the board before lunch.",
    "In the spelling test, {} was word number seven.",
)
Rule = Callable[[dict[str, float], str], "float | None"]
RULES: dict[str, Rule] = {"every reading": lambda readings, emotion: readings.get(emotion), "clear readings only": tint_reading}


@dataclass(frozen=True)
class WordReading:
    word: RatedWord
    context: str  # "alone" or a carrier sentence
    at_word: np.ndarray  # [n_emotions] readings at the word's last token
    around: np.ndarray  # [tokens, n_emotions] readings at the carrier's other tokens (empty alone)


def read_word(lm: LoadedModel, directions: DirectionSet, word: RatedWord, carrier: str | None) -> WordReading:
    """Readings of `word` alone (carrier None) or inside `carrier`, one unsteered forward pass."""
    before, after = carrier.split("{}") if carrier else ("", "")
    ids = lm.text_ids(before + word.word + after)
    end = len(lm.text_ids(before + word.word))  # the word's last token is end - 1 (BPE keeps the prefix's tokens)
    start = _shared(ids, lm.text_ids(before))  # the carrier's tokens before the word (a space may join the word)
    per_token = read_ids(lm, directions, ids).double().numpy()
    around = np.concatenate([per_token[1:start], per_token[end:]]) if carrier else per_token[:0]
    return WordReading(word, carrier or "alone", per_token[end - 1], around)


def _shared(a: list[int], b: list[int]) -> int:
    """How many leading tokens two token lists share."""
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def read_words(lm: LoadedModel, directions: DirectionSet, words: list[RatedWord], carriers: tuple[str, ...] = CARRIERS) -> list[WordReading]:
    return [read_word(lm, directions, w, c) for w in words for c in (None, *carriers)]


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Rank correlation (ties get their mean rank); NaN with fewer than 3 pairs or a constant side."""
    return rank_correlation(x, y) if len(x) >= 3 else float("nan")


def summarise(readings: list[WordReading], directions: DirectionSet, norms: dict[str, Norm]) -> dict:
    """The measurements (JSON-able), alone and in sentences."""
    contexts = {"alone": [r for r in readings if r.context == "alone"], "in sentences": [r for r in readings if r.context != "alone"]}
    return {name: _context(chosen, directions, norms) for name, chosen in contexts.items() if chosen}


def _context(readings: list[WordReading], directions: DirectionSet, norms: dict[str, Norm]) -> dict:
    names = directions.emotions
    owned = [r for r in readings if r.word.emotion in names]
    top = sum(names[int(np.argmax(r.at_word))] == r.word.emotion for r in owned)
    valence = np.array([r.word.valence for r in readings])
    rho = {e: spearman(np.array([r.at_word[i] for r in readings]), valence) for i, e in enumerate(names)}
    expected = {e: np.sign(norms[e].valence - 5) for e in names if e in norms}
    agreeing = sum(np.sign(rho[e]) == s for e, s in expected.items() if np.isfinite(rho[e]))
    own = wilson(int(top), len(owned))
    return {
        "readings": len(readings),
        "own_top": estimate_json(own) | {"text": describe([int(top), len(owned)]), "chance": round(1 / len(names), 3)},
        "valence_rho": {e: finite_number(r) for e, r in rho.items()},
        "agreeing": {"emotions": int(agreeing), "of": len(expected)},
        "tint": {name: _tint(readings, names, expected, rule) for name, rule in RULES.items()},
    }


def _strength(rule: Rule, values: np.ndarray, names: list[str], emotion: str) -> float:
    shown = rule(dict(zip(names, values.tolist())), emotion)
    return 0.0 if shown is None else float(np.clip(shown / Z_LIMIT, -1.0, 1.0))


def _tint(readings: list[WordReading], names: list[str], expected: dict[str, float], rule: Rule) -> dict:
    """Where `rule` puts orange on the words, and how much tint the carriers' other tokens get."""
    orange = contradicted = 0.0
    for r in readings:
        for e, sign in expected.items():
            s = max(_strength(rule, r.at_word, names, e), 0.0)
            orange += s
            contradicted += s if np.sign(r.word.valence) == -sign else 0.0
    carrier = [abs(_strength(rule, v, names, e)) for r in readings for v in r.around for e in names]
    happy = sorted(((_strength(rule, r.at_word, names, "happy"), r.word.word) for r in readings if "happy" in names), reverse=True)
    seen: list[str] = []
    for s, word in happy:
        if s > 0 and word not in seen and len(seen) < 5:
            seen.append(word)
    return {
        "contradicted_share": round(contradicted / orange, 3) if orange else None,
        "word_tint": round(float(np.mean([abs(_strength(rule, r.at_word, names, e)) for r in readings for e in names])), 3),
        "carrier_tint": round(float(np.mean(carrier)), 3) if carrier else None,
        "most_orange_for_happy": seen,
    }


def measure(lm: LoadedModel, directions: DirectionSet) -> dict:
    """Read every rated word alone and in the carriers and summarise (a few hundred short forward passes)."""
    return summarise(read_words(lm, directions, load_rated_words()), directions, load_norms())


def report_lines(result: dict) -> list[str]:
    """The measurements in plain sentences."""
    lines = []
    for context, m in result.items():
        happy = m["valence_rho"].get("happy")
        lines.append(f"{context}: the word's own emotion is the top reading at its token for {m['own_top']['text']} "
                     f"(chance {m['own_top']['chance']:.0%}); {m['agreeing']['emotions']} of {m['agreeing']['of']} emotions rise "
                     f"and fall with the words' human valence as their own name's valence predicts"
                     + ("" if happy is None else f" (happy: rank r = {happy:+.2f})"))
        for rule, t in m["tint"].items():
            share = "n/a" if t["contradicted_share"] is None else f"{t['contradicted_share']:.0%}"
            carrier = "" if t["carrier_tint"] is None else f", mean tint on the carrier words {t['carrier_tint']:.2f}"
            lines.append(f"  tint by {rule}: {share} of orange on words of the opposite valence, mean tint on the word "
                         f"{t['word_tint']:.2f}{carrier}; most orange for happy: {', '.join(t['most_orange_for_happy']) or 'none'}")
    return lines
