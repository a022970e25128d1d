"""What the Chat and Compare tabs share: one generation at a time, a button that turns into
Stop while it runs, and the same clean-up when a generation ends."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from lab.common.events import TokenEvent
from lab.runtime.steering import SteeringState
from ui.services.errors import ErrorFunnel
from ui.widgets.plot import ReadingsPlot
from ui.services.recorder import Recorder
from ui.widgets.sampling import SamplingPanel
from ui.services.state import LabState
from ui.services.workers import Job, ModelRunner


class GenerationTab(QWidget):
    """Subclasses build their widgets (including `self.plot`) and implement `_update_buttons`."""

    generation_finished = Signal()
    status_message = Signal(str)  # for the status bar: hints and the readings of a clicked token
    plot: ReadingsPlot

    def __init__(self, state: LabState, runner: ModelRunner, recorder: Recorder, sampling: SamplingPanel,
                 errors: ErrorFunnel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner, self.recorder, self.sampling, self.errors = state, runner, recorder, sampling, errors
        self.last_events: list[TokenEvent] = []
        self._running = False

    @property
    def generating(self) -> bool:
        return self._running

    def start_or_stop(self, start: Callable[[], None]) -> None:
        if self._running:
            self.runner.stop()
        else:
            start()

    def _launch(self, job: Job, steering: SteeringState) -> None:
        self._running = self.runner.start(job)
        if not self._running:
            self.state.steering.release(steering)
        self._update_buttons()

    def _finish(self, steering: SteeringState) -> None:
        """On the GUI thread when the job ends, however it ended."""
        self.state.steering.release(steering)
        self.plot.settle()
        self._running = False
        self._update_buttons()
        failure = self.recorder.take_failure()
        if failure is not None:
            self.errors.report(failure, "recording the session")
        self.generation_finished.emit()

    def _update_buttons(self) -> None:
        raise NotImplementedError
