"""Plain data passed from the generator to its consumers (views, the session store). It lives in
lab.common so that the store and the runtime share it without depending on each other."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SamplingSettings:
    """How the next token is chosen. temperature 0 means greedy."""

    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    max_new_tokens: int = 64


@dataclass(frozen=True)
class SteeringChange:
    """Strengths in force from absolute token position `position` on (one batch row)."""

    position: int
    strengths: dict[str, float]
    layers: tuple[int, ...]


@dataclass(frozen=True)
class TokenEvent:
    """One token of one batch row, prompt or generated.

    readings: push-free calibrated z-score per emotion at the reading layer (0 = as on neutral
        text): what the hooks added while steering is subtracted before projecting, so a reading
        shows the model's own state, not the slider.
    strengths: the steering strengths in force when this token's forward pass ran.
    push: per emotion, how much the steering itself added to the reading (empty when unsteered);
        the raw reading, push included, is readings + push (`raw_readings`).
    """

    row: int
    position: int
    token_id: int
    text: str
    is_prompt: bool
    readings: dict[str, float]
    strengths: dict[str, float] = field(default_factory=dict)
    push: dict[str, float] = field(default_factory=dict)

    def raw_readings(self) -> dict[str, float]:
        """Readings with the steering push left in (what a plain projection of the residual shows)."""
        return {name: value + self.push.get(name, 0.0) for name, value in self.readings.items()}

    def shown_readings(self, raw: bool = False) -> dict[str, float]:
        """The push-free readings, or the raw ones when asked for."""
        return self.raw_readings() if raw else self.readings
