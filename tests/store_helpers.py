"""Synthetic sessions for the store and export tests (no model needed)."""
from __future__ import annotations

import math

import numpy as np

from lab.common.events import SamplingSettings, SteeringChange, TokenEvent
from lab.store.lab_file import SessionStore

EMOTIONS = ["happy", "afraid", "calm"]
SAMPLING = SamplingSettings(temperature=0.7, top_p=0.9, seed=42, max_new_tokens=32)


def event(position: int, text: str, *, prompt: bool = False, strengths: dict[str, float] | None = None) -> TokenEvent:
    readings = {name: math.sin(position * (k + 1)) * 2.5 + 1e-9 * k for k, name in enumerate(EMOTIONS)}
    return TokenEvent(0, position, 100 + position, text, prompt, readings, strengths or {})


def register(store: SessionStore) -> tuple[int, int]:
    model = store.register_model("embedded", "sha256:abc", "llama", 30, 8)
    directions = store.register_directions(
        model, "mean_diff", [10, 11], "data123", 12,
        {"mean": {"happy": 0.1}, "std": {"happy": 1.5}}, EMOTIONS,
    )
    return model, directions


def record_session(store: SessionStore, title: str = "a session", answer: list[str] | None = None,
                   raw: bool = True) -> tuple[int, list[TokenEvent]]:
    """A user turn, then an assistant turn with prompt tokens, steering mid-answer and a NaN reading."""
    model, directions = register(store)
    answer = answer if answer is not None else [" Once", " upon", " a", " <time>", "\n"]
    prompt = ["<|user|>", "Tell", " a", " story"]
    events = [event(i, t, prompt=True) for i, t in enumerate(prompt)]
    events += [event(len(prompt) + i, t, strengths={"happy": 2.0} if i >= 2 else {}) for i, t in enumerate(answer)]
    nan_event = events[-1]
    events[-1] = TokenEvent(0, nan_event.position, nan_event.token_id, nan_event.text, False,
                            {**nan_event.readings, "calm": math.nan}, nan_event.strengths)
    with store.start_session(title, model, directions, SAMPLING, scenario={"system": "be kind", "sliders": [1, 2]},
                             notes="first try", app_version="0.1-test") as rec:
        rec.begin_turn("user", "Tell a story")
        rec.end_turn()
        rec.begin_turn("assistant")
        for e in events:
            if e.position == len(prompt) + 2:
                rec.steering(SteeringChange(e.position, {"happy": 2.0}, (10, 11)))
            vectors = {12: np.linspace(-1, 1, 8, dtype=np.float32) * e.position} if raw else None
            rec.add_token(e, vectors)
        rec.end_turn("".join(answer))
    return rec.session_id, events
