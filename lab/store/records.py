"""What a recorded session reads back as, and token-by-token comparison of two sessions."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lab.common.events import SamplingSettings, SteeringChange, TokenEvent


@dataclass(frozen=True)
class ModelInfo:
    spec: str
    identity: str
    family: str
    depth: int
    width: int


@dataclass(frozen=True)
class DirectionsInfo:
    method: str
    layers: tuple[int, ...]
    data_hash: str
    reading_layer: int
    calibration: dict[str, Any]
    emotions: tuple[str, ...]


@dataclass(frozen=True)
class TurnRecord:
    index: int
    role: str
    text: str | None  # None when the turn never ended (session interrupted)
    stopped: bool = False  # an answer cut off before the model finished it

    def label(self) -> str:
        """The role, marked when the answer was cut off: 'assistant (stopped)'."""
        return f"{self.role} (stopped)" if self.stopped else self.role


@dataclass(frozen=True, eq=False)
class TokenRecord:
    turn: int
    event: TokenEvent
    raw: dict[int, np.ndarray] = field(default_factory=dict, repr=False)  # layer -> residual vector


@dataclass(frozen=True)
class SteeringRecord:
    turn: int | None  # None when set before the first turn
    row: int
    change: SteeringChange


@dataclass(frozen=True)
class SessionSummary:
    id: int
    title: str
    created: str
    status: str
    model_spec: str
    turns: int
    tokens: int
    stopped: int = 0  # answers cut off before the model finished them
    experiment: int | None = None  # the experiment (e.g. a sweep) the session is a run of
    experiment_title: str | None = None


@dataclass(frozen=True, eq=False)
class SessionRecord:
    """Everything recorded for one session. Times are UTC ISO 8601 strings."""

    title: str
    created: str
    ended: str | None
    status: str
    app_version: str
    notes: str
    scenario: dict[str, Any] | None
    sampling: SamplingSettings
    model: ModelInfo
    directions: DirectionsInfo | None
    turns: list[TurnRecord]
    tokens: list[TokenRecord]
    steering: list[SteeringRecord]
    id: int | None = None  # row id in the store it was loaded from
    runtime: dict[str, str] = field(default_factory=dict)  # where and how the model ran: device, dtype, ...

    def emotions(self) -> list[str]:
        """The emotions read in this session, in the direction set's order."""
        if self.directions is not None:
            return list(self.directions.emotions)
        return list(dict.fromkeys(e for t in self.tokens for e in t.event.readings))

    def turn_text(self, turn: TurnRecord) -> str:
        """The turn's text, or for an unfinished turn the text of its generated tokens."""
        if turn.text is not None:
            return turn.text
        return "".join(
            t.event.text for t in self.tokens if t.turn == turn.index and not t.event.is_prompt
        )


@dataclass(frozen=True)
class TokenPair:
    """The index-th token of one turn and batch row in session a and in session b."""

    turn: int
    row: int
    index: int
    a: TokenEvent | None
    b: TokenEvent | None

    def difference(self, emotion: str) -> float | None:
        """b's reading minus a's, or None where either side lacks the token or the reading."""
        if self.a is None or self.b is None:
            return None
        if emotion not in self.a.readings or emotion not in self.b.readings:
            return None
        return self.b.readings[emotion] - self.a.readings[emotion]


def compare_sessions(a: SessionRecord, b: SessionRecord) -> list[TokenPair]:
    """Pair the tokens of two sessions by turn, batch row and order within them."""

    def grouped(record: SessionRecord) -> dict[tuple[int, int], list[TokenEvent]]:
        groups: dict[tuple[int, int], list[TokenEvent]] = {}
        for token in record.tokens:
            groups.setdefault((token.turn, token.event.row), []).append(token.event)
        return groups

    groups_a, groups_b = grouped(a), grouped(b)
    pairs = []
    for key in sorted(groups_a.keys() | groups_b.keys()):
        both = itertools.zip_longest(groups_a.get(key, []), groups_b.get(key, []))
        pairs += [TokenPair(key[0], key[1], i, ta, tb) for i, (ta, tb) in enumerate(both)]
    return pairs
