"""Does steering toward an emotion make the model's text carry it? Measured on the text, not the push.

For each emotion and each of a fixed set of everyday prompts, the reply steered toward the emotion
(at a strength below the coherence cliff) and the unsteered reply are both re-read afresh as plain
text, unsteered; the emotion counts as steerable on a prompt when the steered reply's re-read
reading of it is higher. All replies of one emotion set run as the rows of one batch, greedy.
"""
from __future__ import annotations

from dataclasses import dataclass

from lab.common.progress import Progress, SilentProgress, check_cancelled
from lab.common.stats import Estimate, wilson
from lab.runtime.engine import Engine
from lab.common.events import SamplingSettings
from lab.runtime.reading import text_reading
from lab.runtime.steering import SteeringState

PROMPTS = (
    "How was your day?",
    "Tell me about your morning.",
    "What do you think about the weekend?",
    "Describe the room you are in.",
    "Write two sentences about the weather.",
    "What happened at work today?",
)
STRENGTH = 0.03  # below the embedded model's measured coherence cliff (0.04, assets/strength_range)
MAX_NEW_TOKENS = 40


@dataclass(frozen=True)
class Efficacy:
    emotion: str
    raised: int  # prompts where the steered reply re-reads higher on the emotion
    prompts: int
    mean_gain: float  # mean re-read difference (steered - unsteered)

    def rate(self) -> Estimate:
        return wilson(self.raised, self.prompts)


def steering_efficacy(engine: Engine, emotions: list[str] | None = None, strength: float = STRENGTH,
                      prompts: tuple[str, ...] = PROMPTS, max_new_tokens: int = MAX_NEW_TOKENS,
                      progress: Progress | None = None) -> list[Efficacy]:
    """Per emotion: on how many prompts steering at `strength` raises its fresh re-read reading."""
    progress = progress or SilentProgress()
    directions = engine.directions
    emotions = emotions or [e for e in directions.emotions if directions.kind(e) == "built-in"]
    baseline = _replies(engine, [{}], prompts, max_new_tokens)[0]
    base_readings = [text_reading(engine.lm, directions, reply).readings for reply in baseline]
    results = []
    for done, emotion in enumerate(emotions):
        check_cancelled(progress)
        steered = _replies(engine, [{emotion: strength}], prompts, max_new_tokens)[0]
        gains = [text_reading(engine.lm, directions, reply).readings[emotion] - base[emotion] for reply, base in zip(steered, base_readings)]
        results.append(Efficacy(emotion, sum(g > 0 for g in gains), len(gains), sum(gains) / len(gains)))
        progress.set_progress(done + 1, len(emotions))
    return results


def _replies(engine: Engine, strengths: list[dict[str, float]], prompts: tuple[str, ...], max_new_tokens: int) -> list[list[str]]:
    """Greedy replies [steering][prompt], every (steering, prompt) pair one row of one batch."""
    rows = [(s, p) for s in strengths for p in prompts]
    state = SteeringState(engine.directions, rows=len(rows))
    for row, (values, _) in enumerate(rows):
        state.set_all(values, row=row)
    prompt_ids = [engine.chat_ids([{"role": "user", "content": prompt}]) for _, prompt in rows]
    pieces: list[list[str]] = [[] for _ in rows]
    settings = SamplingSettings(temperature=0.0, max_new_tokens=max_new_tokens)
    for event in engine.generate_rows(prompt_ids, state, settings):
        if not event.is_prompt:
            pieces[event.row].append(event.text)
    texts = ["".join(p).strip() or "." for p in pieces]
    return [texts[i * len(prompts) : (i + 1) * len(prompts)] for i in range(len(strengths))]
