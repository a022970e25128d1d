"""The scenario builder's Run page: a built-in scenario's lesson and verdict on the loaded model
(ui.tabs.scenarios.scenario_lesson), run the scenario with the current steering, watch its turns and reply-start
readings arrive, and label model turns of the recorded run."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6 import QtGui
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lab.common.errors import LabError
from lab.scenarios.checks import fired_text, run_sentence
from lab.scenarios.runner import RunResult, TurnResult
from lab.scenarios.scenario import Scenario
from ui.services.errors import ErrorFunnel
from ui.services.recorder import Recorder
from ui.widgets.run_controls import RunControls
from ui.tabs.scenarios.scenario_lesson import LessonBox
from ui.widgets.scenario_list import TurnChart
from ui.services.state import LabState
from ui.services.workers import Job, JobContext, ModelRunner


def checks_item(turn: TurnResult) -> QTableWidgetItem:
    """The checks and labels of a model turn ('none fired' when none did); blank for other turns."""
    return QTableWidgetItem(fired_text(turn.checks) if turn.generated else "")


class ScenarioRunPanel(QWidget):
    """Variant and token cap, Run/Cancel, the turns table, the reply-start chart and labels."""

    def __init__(self, state: LabState, runner: ModelRunner, recorder: Recorder, errors: ErrorFunnel,
                 plotted: Callable[[], list[str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.recorder, self.errors, self.plotted = state, recorder, errors, plotted
        self.result: RunResult | None = None
        self.turns: list[TurnResult] = []
        self.variant = QComboBox()
        self.max_tokens = QSpinBox(minimum=0, maximum=2048, value=0, specialValueText="as written")
        self.max_tokens.setToolTip("Cap every model turn at this many tokens (as written: the scenario's own)")
        self.controls = RunControls(runner, "Run with current sliders",
                                    "Run this scenario with the steering set on the sliders; recorded as a session")
        self.run_button, self.cancel_button, self.progress = (
            self.controls.run_button, self.controls.cancel_button, self.controls.progress)
        self.lesson = LessonBox(state, self)
        self.steer_label = QLabel(wordWrap=True, visible=False)  # shown once a run starts: the lesson gets the room before
        self.turn_table = QTableWidget(0, 3)
        self.turn_table.setHorizontalHeaderLabels(("Role", "Text", "Checks / labels"))
        header = self.turn_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.turn_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.turn_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.turn_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.turn_table.setWordWrap(True)
        self.chart = TurnChart()
        self.chart.setMinimumHeight(160)  # room for the Lesson and Results tabs at 1280x720 in presentation type
        self.label_edit = QLineEdit(placeholderText="label for the selected model turn, e.g. threatens")
        self.label_button = QPushButton("Add label")
        self.label_button.clicked.connect(lambda: self.add_label(self.turn_table.currentRow(), self.label_edit.text()))
        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(self.turn_table, 3)
        results_layout.addWidget(self.chart, 2)
        self.views = QTabWidget()  # the lesson before a run, its turns and readings once it runs
        self.views.addTab(self.lesson.page, "Lesson")
        self.views.addTab(results, "Results")
        self.lesson.shown_changed.connect(lambda on: (self.views.setTabVisible(0, on),
                                                      self.views.setCurrentIndex(0 if on and not self.turns else 1)))
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Variant:"))
        top.addWidget(self.variant, 1)
        top.addWidget(QLabel("Max tokens per turn:"))
        top.addWidget(self.max_tokens)
        layout.addLayout(top)
        layout.addLayout(self.controls.layout)
        layout.addWidget(self.steer_label)
        layout.addWidget(self.views, 1)
        labels = QHBoxLayout()
        labels.addWidget(self.label_edit, 1)
        labels.addWidget(self.label_button)
        layout.addLayout(labels)

    @property
    def running(self) -> bool:
        return self.controls.running

    def set_variants(self, data: dict[str, Any]) -> None:
        """Offer the variants of the scenario being edited (keeping the choice where it still exists)."""
        variants = data.get("variants") if isinstance(data.get("variants"), dict) else {}
        current = self.variant.currentText()
        self.variant.clear()
        names = [str(v) for v in variants] or ["(none)"]
        self.variant.addItems(names)
        if current in names:
            self.variant.setCurrentText(current)

    def run(self, scenario: Scenario) -> bool:
        """Run `scenario` with the current steering in the worker; False if it did not start."""
        engine = self.state.engine
        if engine is None:
            self.errors.report("The model is still loading; run the scenario when it is ready.")
            return False
        options = {"variant": self.variant.currentText() if scenario.variants else None,
                   "steer": self.state.strengths, "max_tokens": self.max_tokens.value() or None}
        self.steer_label.setVisible(True)
        self.steer_label.setText("Steering: " + (", ".join(f"{k} {v:+.3f}" for k, v in options["steer"].items())
                                                 or "none (all sliders at 0)"))

        def work(ctx: JobContext) -> RunResult:
            return self.recorder.scenario_run(engine, scenario, progress=ctx,
                                              on_turn=lambda _row, turn: ctx.emit(turn), **options)

        self.turns, self.result = [], None
        self.views.setCurrentIndex(1)
        self.turn_table.setRowCount(0)
        self.chart.set_emotions(self.state.emotions, self.plotted())
        self.chart.set_turns([])
        return self.controls.start(Job(f"running the scenario '{scenario.title}'", work, on_items=self._add_turns,
                                       on_done=self._done))

    def _add_turns(self, turns: list[TurnResult]) -> None:
        for turn in turns:
            self.turns.append(turn)
            row = self.turn_table.rowCount()
            self.turn_table.insertRow(row)
            self.turn_table.setItem(row, 0, QTableWidgetItem("model" if turn.generated else turn.role))
            text = QTableWidgetItem(turn.text.strip() if turn.role != "reset" else "— new conversation —")
            text.setToolTip(QtGui.Qt.convertFromPlainText(turn.text))
            self.turn_table.setItem(row, 1, text)
            self.turn_table.setItem(row, 2, checks_item(turn))
        self.turn_table.resizeRowsToContents()
        self.turn_table.scrollToBottom()
        self.chart.set_turns(self.turns)

    def _done(self, result: RunResult) -> None:
        self.result = result
        self.progress.setValue(self.progress.maximum())
        self.steer_label.setText(f"{self.steer_label.text()}\n{run_sentence([t.checks for t in result.replies()])}")

    def add_label(self, row: int, label: str) -> None:
        """Label the model turn in table row `row` of the last finished run."""
        if self.result is None or self.result.session_id is None:
            self.errors.report("Run the scenario (recorded) first; labels go on its model turns.")
            return
        if not 0 <= row < len(self.turns) or not self.turns[row].generated:
            self.errors.report("Select a model turn (role 'model') in the table to label it.")
            return
        turn = self.turns[row]
        try:
            self.recorder.add_label(self.result.session_id, turn.turn, label)
        except LabError as error:
            self.errors.report(error)
            return
        self.turns[row] = replace(turn, checks=(*turn.checks, label.strip()))
        self.turn_table.setItem(row, 2, checks_item(self.turns[row]))
        self.label_edit.clear()
