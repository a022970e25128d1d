"""The one source of steering truth in the app: the strength of each emotion.

The sliders, Chat, Compare, Scenarios and Experiments are views of it: they write to it with
`set`/`set_all` and read it with `strengths()`; nothing keeps a copy. The SteeringState of the
generation running now (if any) follows every change from its next token on.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from lab.emotions.direction_set import DirectionSet
from lab.runtime.steering import SteeringState


class SteeringModel(QObject):
    """Per-emotion strengths (0: not steered) on the GUI thread; `changed` names each change."""

    changed = Signal(str, float)  # emotion, new strength

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._strengths: dict[str, float] = {}
        self._emotions: tuple[str, ...] = ()
        self._active: SteeringState | None = None
        self._active_row: int | None = None

    def strengths(self) -> dict[str, float]:
        """The non-zero strengths (a fresh dict)."""
        return dict(self._strengths)

    def strength(self, emotion: str) -> float:
        return self._strengths.get(emotion, 0.0)

    def set_emotions(self, emotions: list[str]) -> None:
        """A new direction set: emotions it lacks go to 0."""
        self._emotions = tuple(emotions)
        for name in [n for n in self._strengths if n not in self._emotions]:
            self.set(name, 0.0)

    def set(self, emotion: str, strength: float) -> None:
        """Set one strength; the running generation gets it at its next token."""
        strength = float(strength)
        if strength == self.strength(emotion):
            return
        if strength == 0:
            self._strengths.pop(emotion, None)
        else:
            self._strengths[emotion] = strength
        if self._active is not None and emotion in self._emotions:
            self._active.set(emotion, strength, row=self._active_row)  # thread-safe (locked)
        self.changed.emit(emotion, strength)

    def set_all(self, strengths: dict[str, float]) -> list[str]:
        """Set every known emotion (missing ones go to 0); returns the names not in the direction set."""
        for name in self._emotions:
            self.set(name, strengths.get(name, 0.0))
        return [name for name in strengths if name not in self._emotions]

    def reset(self) -> None:
        self.set_all({})

    def live_state(self, directions: DirectionSet, rows: int = 1, steered_row: int | None = None) -> SteeringState:
        """A SteeringState for a new generation that follows this model until `release`.

        rows=1: the strengths steer the only row. rows=2 (Compare): row 0 stays unsteered and the
        strengths steer `steered_row`.
        """
        state = SteeringState(directions, rows=rows)
        state.set_all(self._strengths, row=steered_row)
        self._active, self._active_row = state, steered_row
        return state

    def release(self, state: SteeringState) -> None:
        """The generation using `state` ended: changes no longer reach it."""
        if self._active is state:
            self._active, self._active_row = None, None
