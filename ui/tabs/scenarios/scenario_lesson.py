"""The Run page's lesson for a built-in scenario (`page`, its Lesson tab): what the lab measured on the
loaded model, one plain sentence per claim in bold (shipped verdicts for the embedded model, saved
ones for any model measured here), "Numbers…" beside them, then what to look for (the scenario's
lesson), wrapped in the page's type. A claim with no verdict yet says so and how long Help → Lessons
takes to measure it. The statistics open in a window of their own, so the Run page keeps its room."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from lab.common.errors import LabError
from lab.scenarios.files import load_scenario
from lab.scenarios.lesson_store import load_results
from lab.scenarios.lesson_time import lesson_minutes
from lab.scenarios.lesson_words import not_measured, numbers, plain
from lab.scenarios.scenario import Claim, Scenario
from ui.services.state import LabState

MARKS = {"shows": "✔", "does not show on this model": "✘", "inconclusive": "?", "the check is unreliable here": "⚠"}


def _label(name: str) -> QLabel:
    return QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText, objectName=name)


class LessonBox(QObject):
    """Knows the built-in scenario shown and the loaded model and fills `page` (no lesson for user scenarios)."""

    shown_changed = Signal(bool)  # a built-in scenario's lesson is shown (True) or none (False)

    def __init__(self, state: LabState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.name: str | None = None
        self.scenario: Scenario | None = None
        self.results: dict[str, dict[str, Any]] = {}
        self.verdicts = _label("lesson-verdicts")
        self.verdicts.setStyleSheet("font-weight: bold;")
        self.numbers_button = QPushButton("Numbers…", toolTip="The statistics behind each verdict")
        self.numbers_button.clicked.connect(self.show_numbers)
        self.numbers_dialog: QDialog | None = None
        self.lesson = _label("lesson-text")
        body = QWidget()
        column = QVBoxLayout(body)
        row = QHBoxLayout()
        row.addWidget(self.verdicts, 1)
        row.addWidget(self.numbers_button, 0, Qt.AlignmentFlag.AlignTop)
        column.addLayout(row)
        column.addWidget(QLabel("<b>What to look for</b>"))
        column.addWidget(self.lesson)
        column.addStretch(1)
        self.page = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)  # scrolls only when a lesson outgrows a small screen
        self.page.setWidget(body)
        state.engine_changed.connect(self.refresh)

    @property
    def shown(self) -> bool:
        """A built-in scenario with a lesson is shown."""
        return self.scenario is not None and self.name is not None

    def show_file(self, path: Path | None) -> None:
        """Show the lesson of the built-in scenario at `path` (None, or a file that does not read: nothing)."""
        try:
            self.scenario = load_scenario(path) if path is not None else None
        except LabError:
            self.scenario = None
        self.name = path.stem if self.scenario is not None and path is not None else None
        self.refresh()

    def refresh(self) -> None:
        """Re-read the loaded model's verdicts (shipped and saved) and show them."""
        scenario, engine = self.scenario, self.state.engine
        self.shown_changed.emit(self.shown)
        if scenario is None or not self.shown:
            return
        self.results = load_results(engine.lm.identity) if engine is not None else {}
        lines = ([self.sentence(claim) for claim in scenario.claims] if engine is not None
                 else ["Load a model to see what the lab measured on it."])
        self.verdicts.setText("\n\n".join(lines) or "This lesson has no measured claim.")
        self.lesson.setText(scenario.lesson or "This scenario has no lesson text.")
        self.numbers_button.setEnabled(any(self.result(c) for c in scenario.claims))

    def result(self, claim: Claim) -> dict[str, Any] | None:
        return self.results.get(claim.lesson_id(self.name or ""))

    def sentence(self, claim: Claim) -> str:
        """One plain sentence for `claim` on the loaded model, marked ✔ ✘ ? ⚠ when measured."""
        result, says, engine = self.result(claim), claim.plain_claim(), self.state.engine
        if result is None:
            assert self.scenario is not None and engine is not None
            try:
                minutes = lesson_minutes(self.scenario, claim, engine.lm.depth, engine.lm.width)
            except LabError:
                minutes = 1
            return not_measured(says, minutes)
        return f"{MARKS.get(result.get('verdict'), '•')} " + plain({**result, "says": result.get("says") or says}, says)

    def numbers_text(self) -> str:
        """Every claim's statistics (or 'not measured'), one block each."""
        assert self.scenario is not None
        blocks = []
        for claim in self.scenario.claims:
            result = self.result(claim)
            blocks.append(f"{claim.lesson_id(self.name or '')}\n" + (numbers(result) if result else "Not measured on this model yet."))
        return "\n\n".join(blocks)

    def show_numbers(self) -> QDialog | None:
        """The statistics in a window of their own."""
        if self.scenario is None:
            return None
        if self.numbers_dialog is None:
            self.numbers_dialog = QDialog(self.page)
            self.numbers_dialog.resize(760, 520)
            QVBoxLayout(self.numbers_dialog).addWidget(QPlainTextEdit(readOnly=True, objectName="lesson-numbers"))
        self.numbers_dialog.setWindowTitle(f"The numbers behind the verdicts: {self.scenario.title}")
        self.numbers_dialog.findChild(QPlainTextEdit, "lesson-numbers").setPlainText(self.numbers_text())
        self.numbers_dialog.show()
        self.numbers_dialog.raise_()
        return self.numbers_dialog
