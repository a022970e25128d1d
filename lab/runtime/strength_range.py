"""The model's useful steering range, calibrated from coherence measurements and cached per model.

A few prompts are answered greedily in one batch at rising strengths of a few emotions; the
coherence cliff is the smallest strength at which the text, on average over prompts and emotions,
loses coherence (distinct word pairs fall well below the unsteered answers', or word triples
repeat). The app's sliders end at the cliff; beyond it lies the warning zone (expert range).
"""
from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from lab.common.atomic import write_text
from lab.common.errors import LabError
from lab.common.events import SamplingSettings
from lab.common.limits import read_text
from lab.common.paths import asset_path, cache_dir
from lab.common.progress import Progress, SilentProgress, check_cancelled
from lab.common.text_coherence import distinct_2, repetition_rate
from lab.runtime.engine import Engine
from lab.runtime.generator import generate_rows
from lab.runtime.steering import SteeringState

FALLBACK_CLIFF = 0.06  # measured on the embedded model (docs/instrument.md); used until a model is calibrated
EXPERT_FACTOR = 2.5  # the expert range reaches this many times the cliff
STRENGTHS = (0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.13, 0.16, 0.2)
PROMPTS = ("How was your day?", "Tell me about your favourite place.")
EMOTIONS = ("happy", "sad", "angry")  # used when present; otherwise the set's first three
TOKENS = 32
DISTINCT_DROP = 0.75  # incoherent: distinct-2 below this share of the unsteered answers'
REPEAT_LIMIT = 0.25  # incoherent: more than this share of word triples repeat
VERSION = 1


@dataclass(frozen=True)
class StrengthRange:
    """cliff: the largest strength that keeps text coherent (the slider's normal end); expert: the
    end of the expert range; measured: False for the fallback (not calibrated on this model)."""

    cliff: float
    expert: float
    measured: bool

    @classmethod
    def fallback(cls) -> StrengthRange:
        return cls(FALLBACK_CLIFF, round(FALLBACK_CLIFF * EXPERT_FACTOR, 3), measured=False)


def file_name(model_identity: str) -> str:
    return f"{model_identity[:24]}-v{VERSION}.json"


def cache_path(model_identity: str) -> Path:
    return cache_dir() / "strength_range" / file_name(model_identity)


def shipped_path(model_identity: str) -> Path:
    """The embedded model's range, measured by `make directions` and shipped in assets/."""
    return asset_path("strength_range") / file_name(model_identity)


def cached_range(model_identity: str) -> StrengthRange | None:
    """The calibrated range of a model, if it was measured before (here, or shipped)."""
    for path in (cache_path(model_identity), shipped_path(model_identity)):
        try:
            data = json.loads(read_text(path, 100_000, "strength range"))
            return StrengthRange(float(data["cliff"]), float(data["expert"]), bool(data["measured"]))
        except (LabError, ValueError, KeyError, TypeError):
            continue
    return None


def save_range(strength_range: StrengthRange, path: Path) -> None:
    write_text(path, json.dumps(asdict(strength_range)))


def incoherent(text: str, baseline_distinct: float) -> bool:
    """Whether a steered answer has lost coherence compared with unsteered answers."""
    distinct, repeats = distinct_2(text), repetition_rate(text)
    if math.isnan(distinct):
        return True  # nothing but a word or two
    return distinct < DISTINCT_DROP * baseline_distinct or (not math.isnan(repeats) and repeats > REPEAT_LIMIT)


def cliff_from(broken: dict[float, float], strengths: tuple[float, ...] = STRENGTHS) -> float:
    """The largest strength below the first one at which at least half the answers broke."""
    last_good = strengths[0]
    for strength in strengths:
        if broken.get(strength, 0.0) >= 0.5:
            return last_good
        last_good = strength
    return last_good


def calibrate(engine: Engine, progress: Progress | None = None) -> StrengthRange:
    """Measure the coherence cliff of the engine's model (about a minute on 2 cores) and cache it."""
    progress = progress or SilentProgress()
    progress.set_status("Measuring where steering breaks the text (once per model)")
    directions, lm = engine.directions, engine.lm
    emotions = [e for e in EMOTIONS if e in directions.emotions] or list(directions.emotions[:3])
    conditions = [(None, 0.0)] + [(e, sign * s) for e in emotions for s in STRENGTHS for sign in (1, -1)]
    broken: dict[float, list[bool]] = {s: [] for s in STRENGTHS}
    baseline: list[float] = []
    for done, prompt in enumerate(PROMPTS):
        check_cancelled(progress)
        progress.set_progress(done, len(PROMPTS))
        ids = lm.chat_ids([{"role": "user", "content": prompt}])
        steering = SteeringState(directions, rows=len(conditions))
        for row, (emotion, strength) in enumerate(conditions):
            if emotion is not None:
                steering.set(emotion, strength, row=row)
        texts = [""] * len(conditions)
        settings = SamplingSettings(temperature=0.0, max_new_tokens=TOKENS)
        for event in generate_rows(lm, directions, [ids] * len(conditions), steering, settings):
            if not event.is_prompt:
                texts[event.row] += event.text
        reference = distinct_2(texts[0])
        baseline.append(reference if not math.isnan(reference) else 1.0)
        for (emotion, strength), text in zip(conditions[1:], texts[1:], strict=True):
            broken[abs(strength)].append(incoherent(text, baseline[-1]))
    progress.set_progress(len(PROMPTS), len(PROMPTS))
    cliff = cliff_from({s: statistics.fmean(flags) for s, flags in broken.items()})
    result = StrengthRange(cliff, round(cliff * EXPERT_FACTOR, 3), measured=True)
    save_range(result, cache_path(lm.identity))
    return result
