"""What the panels share: the loaded engine, the slider strengths and the steering being generated."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from lab.runtime.engine import Engine
from lab.runtime.steering import SteeringState


class LabState(QObject):
    """GUI-thread state. Slider changes reach the running generation through `steer`."""

    engine_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine: Engine | None = None
        self.strengths: dict[str, float] = {}
        self._active: SteeringState | None = None
        self._active_row: int | None = None

    @property
    def emotions(self) -> list[str]:
        return list(self.engine.directions.emotions) if self.engine else []

    def set_engine(self, engine: Engine) -> None:
        self.engine = engine
        self.strengths = {k: v for k, v in self.strengths.items() if k in engine.directions.emotions}
        self.engine_changed.emit()

    def steering_for(self, rows: int = 1, steered_row: int | None = None) -> SteeringState:
        """A SteeringState for a new generation, live-linked to the sliders.

        rows=1: the sliders steer the only row. rows=2 (Compare): row 0 stays unsteered and the
        sliders steer `steered_row`.
        """
        assert self.engine is not None
        state = SteeringState(self.engine.directions, rows=rows)
        state.set_all(self.strengths, row=steered_row)
        self._active, self._active_row = state, steered_row
        return state

    def release(self, state: SteeringState) -> None:
        """The generation using `state` ended: slider moves no longer reach it."""
        if self._active is state:
            self._active, self._active_row = None, None

    def steer(self, emotion: str, strength: float) -> None:
        """A slider moved: remember it and apply it to the running generation's next token."""
        if strength == 0:
            self.strengths.pop(emotion, None)
        else:
            self.strengths[emotion] = strength
        if self._active is not None:
            self._active.set(emotion, strength, row=self._active_row)  # thread-safe (locked)
