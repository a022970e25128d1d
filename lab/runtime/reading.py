"""Per-token readings: calibrated projections onto every emotion direction at the reading layer."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from lab.emotions.directions import DirectionSet
from lab.model.hooks import residual_hooks
from lab.model.loader import LoadedModel


class ReadingTap:
    """The observe function for residual_hooks: keeps the last readings at the reading layer."""

    def __init__(self, directions: DirectionSet) -> None:
        self.directions = directions
        self.layer = directions.reading_layer
        self.last: torch.Tensor | None = None  # [rows, tokens, n_emotions]

    def __call__(self, layer: int, hidden: torch.Tensor) -> None:
        if layer == self.layer:
            self.last = self.directions.project(hidden).cpu()


def readings_dict(directions: DirectionSet, values: torch.Tensor) -> dict[str, float]:
    return {name: round(float(v), 4) for name, v in zip(directions.emotions, values.tolist())}


@dataclass(frozen=True)
class TextReading:
    text: str
    readings: dict[str, float]  # mean over the text's tokens (sink excluded)
    top: str
    token_ids: list[int]  # the text's tokens, sink excluded
    per_token: torch.Tensor  # [tokens, n_emotions]


def read_ids(lm: LoadedModel, directions: DirectionSet, ids: list[int]) -> torch.Tensor:
    """Readings of every token of `ids` in one unsteered forward pass: [len(ids), n_emotions]."""
    tap = ReadingTap(directions)
    with torch.inference_mode(), residual_hooks(lm.layers, [tap.layer], observe=tap):
        lm.model.base_model(input_ids=torch.tensor([ids], device=lm.device), use_cache=False)
    assert tap.last is not None
    return tap.last[0]


def read_text(lm: LoadedModel, directions: DirectionSet, text: str) -> TextReading:
    """How the model represents `text`, read as an observer (behind the sink token, no chat frame)."""
    ids = lm.text_ids(text)
    per_token = read_ids(lm, directions, ids)[1:]
    if len(per_token) == 0:
        per_token = torch.zeros(1, len(directions.emotions))
    mean = per_token.mean(0)
    return TextReading(text=text, readings=readings_dict(directions, mean), top=directions.top_emotion(mean), token_ids=ids[1:], per_token=per_token)
