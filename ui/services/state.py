"""What the panels share: the loaded engine, the steering strengths and the system prompt."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from lab.runtime.engine import Engine
from lab.runtime.steering import SteeringState
from ui.services.steering_model import SteeringModel


class LabState(QObject):
    """GUI-thread state: one engine, one SteeringModel, one system prompt for every tab."""

    engine_changed = Signal()
    system_prompt_changed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine: Engine | None = None
        self.steering = SteeringModel(self)
        self._system_prompt = ""

    @property
    def emotions(self) -> list[str]:
        return list(self.engine.directions.emotions) if self.engine else []

    @property
    def strengths(self) -> dict[str, float]:
        """The steering strengths now (a fresh dict; change them through `steering`)."""
        return self.steering.strengths()

    @property
    def system_prompt(self) -> str:
        return self._system_prompt

    def set_system_prompt(self, text: str) -> None:
        text = text.strip()
        if text != self._system_prompt:
            self._system_prompt = text
            self.system_prompt_changed.emit(text)

    def set_engine(self, engine: Engine) -> None:
        self.engine = engine
        self.steering.set_emotions(engine.directions.emotions)
        self.engine_changed.emit()

    def steering_for(self, rows: int = 1, steered_row: int | None = None) -> SteeringState:
        """A SteeringState for a new generation on the loaded engine, live-linked to the strengths."""
        assert self.engine is not None
        return self.steering.live_state(self.engine.directions, rows, steered_row)
