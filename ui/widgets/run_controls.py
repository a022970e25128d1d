"""Run / Cancel buttons and a progress bar for the Scenarios and Experiments tabs.

One job at a time on the shared ModelRunner: `start` launches it, the buttons follow whether it
runs, and the bar follows the runner's progress while it does.
"""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton

from ui.services.workers import Job, ModelRunner


class RunControls:
    """The widgets and state of one tab's runs; `layout` holds them in a row."""

    def __init__(self, runner: ModelRunner, run_text: str, run_tip: str = "") -> None:
        self.runner = runner
        self.running = False
        self._ready = True
        self.run_button = QPushButton(run_text, toolTip=run_tip)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.clicked.connect(runner.stop)
        self.progress = QProgressBar()
        self.layout = QHBoxLayout()
        self.layout.addWidget(self.run_button)
        self.layout.addWidget(self.cancel_button)
        self.layout.addWidget(self.progress, 1)
        runner.progress.connect(self._progress)

    def set_ready(self, ready: bool) -> None:
        """Whether a run may start now (e.g. the scenario has no problems)."""
        self._ready = ready
        self._update()

    def start(self, job: Job) -> bool:
        """Run `job`; False (reported by the runner) if the model is busy."""
        def finished() -> None:
            self.running = False
            self._update()
            job.on_finally()

        if not self.runner.start(replace(job, on_finally=finished)):
            return False
        self.running = True
        self.progress.setValue(0)
        self._update()
        return True

    def _update(self) -> None:
        self.run_button.setEnabled(self._ready and not self.running)
        self.cancel_button.setEnabled(self.running)

    def _progress(self, done: int, total: int) -> None:
        if self.running:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
