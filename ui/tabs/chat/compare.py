"""Compare: one prompt, two rows in one batch with the same seed: unsteered vs the current sliders."""
from __future__ import annotations

import random
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lab.common.events import SamplingSettings, TokenEvent
from lab.store.lab_file import SessionRecorder
from ui.services.errors import ErrorFunnel
from ui.tabs.chat.generation import generation_job
from ui.tabs.chat.generation_tab import GenerationTab
from ui.widgets.plot import ROW_NAMES, ReadingsPlot
from ui.services.recorder import Recorder, TurnLog
from ui.widgets.sampling import SamplingPanel
from ui.services.state import LabState
from ui.widgets.transcript import LEGEND, TranscriptView
from ui.services.workers import ModelRunner


class CompareTab(GenerationTab):
    """Streams the unsteered and the steered answer to the same prompt side by side."""

    def __init__(self, state: LabState, runner: ModelRunner, recorder: Recorder, sampling: SamplingPanel,
                 errors: ErrorFunnel, parent: QWidget | None = None) -> None:
        super().__init__(state, runner, recorder, sampling, errors, parent)
        intro = QLabel("Both answers come from one batch with the same seed. The left one is never steered; "
                       "the right one follows the sliders, even while it is being written.")
        intro.setWordWrap(True)
        self.prompt = QPlainTextEdit(placeholderText="A prompt to answer twice…")
        self.prompt.setTabChangesFocus(True)
        self.prompt.setMaximumHeight(70)
        self.run_button = QPushButton("Compare")
        self.run_button.setToolTip("Generate both answers (Ctrl+Enter); press again to stop (Esc)")
        self.run_button.clicked.connect(lambda: self.start_or_stop(self.run))
        self.views = (TranscriptView(), TranscriptView())
        self.plot = ReadingsPlot(rows=2)
        panes = QWidget()
        grid = QGridLayout(panes)
        grid.setContentsMargins(0, 0, 0, 0)
        for row, view in enumerate(self.views):
            title = QLabel(f"<b>{ROW_NAMES[row].capitalize()}</b>" + (" (current sliders)" if row else " (all sliders at 0)"))
            grid.addWidget(title, 0, row)
            grid.addWidget(view, 1, row)
        legend = QLabel(LEGEND)
        legend.setWordWrap(True)
        grid.addWidget(legend, 2, 0, 1, 2)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(panes)
        splitter.addWidget(self.plot)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        entry = QHBoxLayout()
        entry.addWidget(self.prompt, 1)
        entry.addWidget(self.run_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(entry)
        layout.addWidget(splitter, 1)
        runner.busy_changed.connect(self._update_buttons)
        state.engine_changed.connect(self._update_buttons)
        self._update_buttons()

    def run(self, settings: SamplingSettings | None = None) -> None:
        """Run the prompt twice (unsteered, steered); `settings` (a Re-run) replaces the sampling panel's."""
        text = self.prompt.toPlainText().strip()
        if not text:
            self.status_message.emit("Type a prompt to compare first.")  # a hint, not a window to close
            self.prompt.setFocus()
            return
        engine = self.state.engine
        if engine is None or self.runner.busy:
            return
        system = self.state.system_prompt
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]
        settings = settings or self.sampling.settings(seed=random.randrange(2**31))
        strengths = self.state.strengths
        steering = self.state.steering_for(rows=2, steered_row=1)
        self.last_events = []
        self.plot.clear()
        self.plot.mark_turn(settings.max_new_tokens)
        for view in self.views:
            view.clear_all()
            view.begin_answer("Answer")
        session: list[SessionRecorder | None] = []

        def open_log() -> TurnLog:
            log, recorded = self.recorder.compare_run(engine, settings, system, text, strengths)
            session.append(recorded)
            return log

        job = generation_job(
            engine, messages, steering, settings, open_log=open_log, on_items=self._show, on_finally=lambda: self._finish(steering),
            answer_text=lambda answers: "\n\n".join(f"[{ROW_NAMES[r]}] {a}" for r, a in enumerate(answers)),
            after=lambda: self.recorder.finish(session[0] if session else None),
        )
        self._launch(job, steering)

    def _show(self, events: list[TokenEvent]) -> None:
        self.last_events.extend(events)
        generated = [e for e in events if not e.is_prompt]
        for row, view in enumerate(self.views):
            view.add_tokens([e for e in generated if e.row == row])
        self.plot.add(generated)

    def _update_buttons(self) -> None:
        self.run_button.setText("Stop" if self._running else "Compare")
        self.run_button.setEnabled(self.state.engine is not None and (self._running or not self.runner.busy))
