"""Per-token readings: calibrated projections onto every emotion direction at the reading layer."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from lab.emotions.direction_set import DirectionSet
from lab.model.hooks import residual_hooks
from lab.model.loader import LoadedModel
from lab.runtime.steering import Steerer


class ReadingTap:
    """The observe function for residual_hooks: keeps the last push-free readings at the reading layer.

    With a steerer, what its hooks added at the steering layers up to the reading layer is taken
    out of the reading (exactly: the push is a per-row vector, so its projection is a per-row
    offset), and kept in `last_push` so the raw reading stays derivable: raw = last + last_push.
    """

    def __init__(self, directions: DirectionSet, steerer: Steerer | None = None) -> None:
        self.directions = directions
        self.steerer = steerer
        self.layer = directions.reading_layer
        self.last: torch.Tensor | None = None  # [rows, tokens, n_emotions]
        self.last_push: torch.Tensor | None = None  # [rows, n_emotions], None when unsteered
        self._push_version = -1

    def __call__(self, layer: int, hidden: torch.Tensor) -> None:
        if layer != self.layer:
            return
        readings = self.directions.project(hidden)
        push = self._push_readings()
        if push is not None:
            readings = readings - push.to(readings.device)[:, None, :]
        self.last = readings.cpu()

    def _push_readings(self) -> torch.Tensor | None:
        if self.steerer is None:
            return None
        if self.steerer.push_version != self._push_version:
            self._push_version = self.steerer.push_version
            vector = self.steerer.push_up_to(self.layer)
            self.last_push = None if vector is None else self.directions.project_delta(vector).cpu()
        return self.last_push


def readings_dict(directions: DirectionSet, values: torch.Tensor) -> dict[str, float]:
    return {name: round(float(v), 4) for name, v in zip(directions.emotions, values.tolist())}


@dataclass(frozen=True)
class TextReading:
    text: str
    readings: dict[str, float]  # mean over the text's tokens (sink excluded)
    top: str  # the emotion the text shows, or "no clear emotion" (lab.emotions.direction_set.NEUTRAL_LABEL)
    token_ids: list[int]  # the text's tokens, sink excluded
    per_token: torch.Tensor  # [tokens, n_emotions]


def hidden_states(lm: LoadedModel, layer: int, ids: list[int]) -> torch.Tensor:
    """The residual stream at `layer` for every token of `ids`, one unsteered forward pass: [len(ids), width]."""
    captured: list[torch.Tensor] = []
    with torch.inference_mode(), residual_hooks(lm.layers, [layer], observe=lambda _layer, hidden: captured.append(hidden[0].float().cpu())):
        lm.model.base_model(input_ids=torch.tensor([ids], device=lm.device), use_cache=False)
    return captured[0]


def read_ids(lm: LoadedModel, directions: DirectionSet, ids: list[int]) -> torch.Tensor:
    """Readings of every token of `ids` in one unsteered forward pass: [len(ids), n_emotions]."""
    return directions.project(hidden_states(lm, directions.reading_layer, ids))


def text_reading(lm: LoadedModel, directions: DirectionSet, text: str) -> TextReading:
    """How the model represents `text`, read as an observer (behind the sink token, no chat frame)."""
    ids = lm.text_ids(text)
    hidden = hidden_states(lm, directions.reading_layer, ids)[1:]
    if len(hidden) == 0:
        hidden = torch.zeros(1, lm.width)
    per_token = directions.project(hidden)
    mean = per_token.mean(0)
    top = directions.classify(hidden.mean(0))
    return TextReading(text=text, readings=readings_dict(directions, mean), top=top, token_ids=ids[1:], per_token=per_token)
