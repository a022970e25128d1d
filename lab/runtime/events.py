"""Plain data passed from the generator to its consumers (views, the session store)."""
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

    readings: calibrated z-score per emotion at the reading layer (0 = as on neutral text).
    strengths: the steering strengths in force when this token's forward pass ran.
    """

    row: int
    position: int
    token_id: int
    text: str
    is_prompt: bool
    readings: dict[str, float]
    strengths: dict[str, float] = field(default_factory=dict)
