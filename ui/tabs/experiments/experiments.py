"""Experiments tab: sweep a scenario over emotions x strengths x seeds (plus a random-direction
control), watch the dose-response plot fill in batch by batch, read the table with 95% intervals,
export CSV/PNG/HTML, and open any run's recorded session.

The parts: set-up (ui.tabs.experiments.sweep_setup), chart (ui.tabs.experiments.sweep_chart), results (ui.tabs.experiments.sweep_results); this tab
runs the sweep through the app's recorder and shows its progress.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from lab.common.errors import LabError
from lab.scenarios.sweep import SweepResult
from ui.services.errors import ErrorFunnel
from ui.services.recorder import Recorder
from ui.widgets.run_controls import RunControls
from ui.services.state import LabState
from ui.tabs.experiments.sweep_chart import DoseResponseChart
from ui.tabs.experiments.sweep_results import SweepResultsView
from ui.tabs.experiments.sweep_setup import SweepSetup
from ui.services.workers import Job, JobContext, ModelRunner

BATCH_ROWS = 16  # runs per batch: the plot and table update after each batch


def runs_text(count: int) -> str:
    """'1 run', '5 runs': counted as lab.scenarios.sweep counts them while running (a shared unsteered run once)."""
    return f"{count} run{'s' if count != 1 else ''}"


class ExperimentsTab(QWidget):
    """Set up a sweep, run it in the worker, and explore and export the results."""

    session_requested = Signal(int)  # a run's recorded session, to open in the Sessions tab

    def __init__(self, state: LabState, runner: ModelRunner, recorder: Recorder, errors: ErrorFunnel,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.recorder, self.errors = state, recorder, errors
        self.batch_rows = BATCH_ROWS
        self.updates = 0  # partial results shown during the current sweep
        self.setup = SweepSetup()
        self.controls = RunControls(runner, "Start")
        self.start_button, self.cancel_button, self.progress = (
            self.controls.run_button, self.controls.cancel_button, self.controls.progress)
        self.start_button.clicked.connect(self.start)
        self.status = QLabel(wordWrap=True)
        self.chart = DoseResponseChart()
        self.chart.setMinimumHeight(160)
        self.results = SweepResultsView(errors, self.session_requested.emit)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.setup)
        top_layout.addLayout(self.controls.layout)
        top_layout.addWidget(self.status)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.chart)
        splitter.addWidget(self.results)
        splitter.setSizes([360, 220])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(top)
        layout.addWidget(splitter, 1)
        runner.status.connect(lambda text: self.status.setText(text) if self.running else None)
        state.engine_changed.connect(lambda: self.setup.set_emotion_choices(state.emotions))
        self.setup.set_emotion_choices(state.emotions)

    @property
    def running(self) -> bool:
        return self.controls.running

    @property
    def result(self) -> SweepResult | None:
        return self.results.result

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self.running:
            self.setup.refresh_scenarios()

    def start(self) -> None:
        engine = self.state.engine
        if engine is None:
            self.errors.report("The model is still loading; start the sweep when it is ready.")
            return
        try:
            scenario = self.setup.scenario()
            plan = self.setup.plan(scenario, self.batch_rows)
        except LabError as error:
            self.errors.report(error)
            return

        def work(ctx: JobContext) -> SweepResult:
            return self.recorder.sweep(engine, scenario, plan, progress=ctx, on_update=ctx.emit)

        self.show_result(None)
        self.updates = 0
        if self.controls.start(Job(f"sweeping '{scenario.title}'", work, on_items=self._partial, on_done=self._done)):
            self.status.setText(f"{runs_text(plan.run_count())} of '{scenario.title}'…")

    def show_result(self, result: SweepResult | None) -> None:
        self.chart.show_result(result)
        self.results.show_result(result)

    def _partial(self, results: list[SweepResult]) -> None:
        """Results so far (after each batch): only the newest matters."""
        self.updates += 1
        self.show_result(results[-1])

    def _done(self, result: SweepResult) -> None:
        self.show_result(result)
        runs = runs_text(result.run_count())
        recorded = f", recorded as experiment {result.experiment_id}" if result.experiment_id is not None else ""
        self.status.setText(f"Stopped early: {runs} finished (partial results{recorded})." if result.cancelled
                            else f"Finished: {runs}{recorded}.")
