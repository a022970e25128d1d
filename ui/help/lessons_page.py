"""Help → Lessons: every lesson with its claim and the loaded model's verdict, in plain words first.

The verdicts come from lab.scenarios.lesson_store: shipped with the app for the embedded model,
and cached per model after any run here or with `python -m lab lessons`, so they are there after a
restart. "Run this lesson" measures it on the loaded model in the model thread (progress bar,
Cancel); "Run with more seeds" doubles the seeds; "Show the numbers" opens the statistics and the
plot behind the verdict. The suppression experiment ("Train the feeling away") is listed last, with
its shipped or saved result; its run button starts the Model menu's training job (`train_away`).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lab.common.errors import LabError
from lab.scenarios.files import load_scenario
from lab.scenarios.lesson_store import Lesson, all_lessons, load_results, save_results
from lab.scenarios.lesson_words import numbers, plain, stamp, suppression_numbers, suppression_says, suppression_stamp
from lab.scenarios.lessons import claim_verdict
from lab.scenarios.suppression import known_result
from lab.scenarios.suppression_data import suppression_emotions
from lab.scenarios.suppression_verdict import CLAIM as SUPPRESSION_CLAIM
from ui.services.errors import ErrorFunnel
from ui.help.lesson_chart import LessonChart
from ui.widgets.run_controls import RunControls
from ui.services.state import LabState
from ui.services.workers import Job, JobContext, ModelRunner

MARKS = {"shows": "✔ shows", "does not show on this model": "✘ does not show", "inconclusive": "? inconclusive",
         "the check is unreliable here": "⚠ check unreliable"}


class LessonsPage(QWidget):
    """A list of lessons on the left; the chosen one's claim, verdict and run buttons on the right."""

    def __init__(self, state: LabState, runner: ModelRunner, errors: ErrorFunnel,
                 train_away: Callable[[str], bool] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.errors, self.train_away = state, errors, train_away
        self.lessons: list[Lesson] = all_lessons()
        self.suppressions: list[str] = suppression_emotions()  # listed after the lessons
        self.suppression_results: dict[str, dict[str, Any] | None] = {}
        self.results: dict[str, dict[str, Any]] = {}
        self.identity: str | None = None
        self.list = QListWidget(wordWrap=True, horizontalScrollBarPolicy=Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.currentRowChanged.connect(self._show_current)
        self.title = QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.title.setStyleSheet("font-weight: bold;")  # no size of its own: presentation type reaches every label
        self.claim = QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.verdict = QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.verdict.setStyleSheet("font-weight: bold;")
        self.stamp = QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.numbers_button = QPushButton("Show the numbers", checkable=True)
        self.numbers_button.toggled.connect(self._toggle_numbers)
        self.numbers = QPlainTextEdit(readOnly=True)
        self.numbers.setVisible(False)
        self.chart = LessonChart()
        self.chart.setVisible(False)
        self.controls = RunControls(runner, "Run this lesson", "Measure this lesson on the loaded model with its declared seeds")
        self.controls.run_button.clicked.connect(lambda: self.run(more_seeds=False))
        self.more_button = QPushButton("Run with more seeds", toolTip="Measure again with twice as many seeds (takes twice as long)")
        self.more_button.clicked.connect(lambda: self.run(more_seeds=True))
        self.controls.layout.insertWidget(1, self.more_button)
        self.note = QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        right = QWidget()
        column = QVBoxLayout(right)
        for widget in (self.title, self.verdict, self.claim, self.stamp):  # the plain sentence first
            column.addWidget(widget)
        buttons = QHBoxLayout()
        buttons.addWidget(self.numbers_button)
        buttons.addStretch(1)
        column.addLayout(buttons)
        column.addWidget(self.chart, 1)
        column.addWidget(self.numbers, 1)
        column.addLayout(self.controls.layout)
        column.addWidget(self.note)
        column.addStretch(0)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.list)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 2)
        self.list.setMinimumWidth(self.list.fontMetrics().horizontalAdvance("Shutdown with leverage (desperate-leverage)") + 40)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        state.engine_changed.connect(self._engine_changed)
        runner.busy_changed.connect(lambda busy: busy or not self.isVisible() or self.show_results_for(self.identity))
        self._engine_changed()

    # --- showing -----------------------------------------------------------------------------

    def show_results_for(self, identity: str | None) -> None:
        """Verdicts of the model with this identity (shipped and cached), listed beside every lesson."""
        self.identity = identity
        self.results = load_results(identity) if identity else {}
        self.suppression_results = {e: known_result(identity, e) if identity else None for e in self.suppressions}
        row = max(0, self.list.currentRow())
        self.list.blockSignals(True)
        self.list.clear()
        for lesson in self.lessons:
            result = self.results.get(lesson.id)
            mark = MARKS.get(result.get("verdict"), "?") if result else "not measured"
            name = f" ({lesson.claim.name})" if lesson.claim.name else ""
            item = QListWidgetItem(f"{lesson.title}{name}\n    {mark}")
            item.setToolTip(plain(result, lesson.claim.plain_claim()))
            self.list.addItem(item)
        for emotion, data in self.suppression_results.items():
            mark = MARKS.get(data.get("verdict"), "?") if data else "not measured"
            item = QListWidgetItem(f"Train the feeling away ({emotion})\n    {mark}")
            item.setToolTip(plain(data and {"verdict": data.get("verdict"), "says": suppression_says(emotion)}, suppression_says(emotion)))
            self.list.addItem(item)
        self.list.blockSignals(False)
        if self.list.count():
            self.list.setCurrentRow(min(row, self.list.count() - 1))
            self._show_current()
        self.controls.set_ready(self.state.engine is not None)
        self.more_button.setEnabled(self.state.engine is not None and not self.controls.running)

    def current(self) -> Lesson | None:
        row = self.list.currentRow()
        return self.lessons[row] if 0 <= row < len(self.lessons) else None

    def current_suppression(self) -> str | None:
        """The emotion of the chosen suppression row, if one is chosen."""
        row = self.list.currentRow() - len(self.lessons)
        return self.suppressions[row] if 0 <= row < len(self.suppressions) else None

    def _show_current(self) -> None:
        lesson = self.current()
        if lesson is None:
            self._show_suppression()
            return
        self.more_button.setVisible(True)
        result = self.results.get(lesson.id)
        self.title.setText(lesson.title + (f" — {lesson.claim.name}" if lesson.claim.name else ""))
        self.claim.setText(f"Claim, fixed before any run: {lesson.claim.text}")
        if result is not None and not result.get("says"):
            result = {**result, "says": lesson.claim.plain_claim()}
        self.verdict.setText(plain(result, lesson.claim.plain_claim()))
        self.stamp.setText(stamp(result).capitalize() + "." if result else
                           "No measurement for the loaded model yet." if self.identity else "Load a model to see its verdicts.")
        self.numbers.setPlainText(numbers(result) if result else "")
        self.chart.show_result(result)
        self.numbers_button.setEnabled(result is not None)

    def _show_suppression(self) -> None:
        """The suppression experiment: its claim, result in plain words, and the Model menu's training as the run."""
        emotion = self.current_suppression()
        if emotion is None:
            return
        data = self.suppression_results.get(emotion)
        says = suppression_says(emotion)
        self.title.setText(f"Train the feeling away ({emotion})")
        self.claim.setText(f"Claim, fixed before any run: {SUPPRESSION_CLAIM}")
        self.verdict.setText(plain(data and {"verdict": data.get("verdict"), "says": says}, says))
        self.stamp.setText(suppression_stamp(data).capitalize() + "." if data else
                           "Not measured on this model yet: training takes about 5 minutes on a laptop." if self.identity
                           else "Load a model to see its verdicts.")
        self.numbers.setPlainText(suppression_numbers(data) if data else "")
        self.chart.show_result(None)
        self.numbers_button.setEnabled(data is not None)
        self.more_button.setVisible(False)

    def _toggle_numbers(self, on: bool) -> None:
        self.numbers.setVisible(on)
        self.chart.setVisible(on)
        self.numbers_button.setText("Hide the numbers" if on else "Show the numbers")

    def _engine_changed(self) -> None:
        engine = self.state.engine
        self.show_results_for(engine.lm.identity if engine is not None else None)

    # --- running -----------------------------------------------------------------------------

    def run(self, more_seeds: bool = False) -> bool:
        """Measure the chosen lesson on the loaded model in the model thread; False if it cannot start."""
        engine, lesson = self.state.engine, self.current()
        emotion = self.current_suppression()
        if engine is not None and emotion is not None and self.train_away is not None:
            started = self.train_away(emotion)
            if started:
                self.note.setText(f"Training the feeling away ({emotion})… progress in the main window's status bar; "
                                  "its Stop ends it.")
            return started
        if engine is None or lesson is None:
            self.errors.report("Load a model and choose a lesson first.")
            return False
        try:
            scenario = load_scenario(lesson.path)
        except LabError as error:
            self.errors.report(f"The lesson's scenario cannot be read: {error}")
            return False
        previous = len((self.results.get(lesson.id) or {}).get("seeds") or []) or lesson.claim.seeds
        seeds = 2 * max(previous, lesson.claim.seeds) if more_seeds else lesson.claim.seeds
        identity = engine.lm.identity

        def work(ctx: JobContext) -> dict[str, Any]:
            return claim_verdict(engine, scenario, lesson.scenario, lesson.claim, seeds, progress=ctx).to_json()

        def done(result: dict[str, Any]) -> None:
            save_results(identity, [result])
            self.note.setText(f"Measured just now with {seeds} seeds; saved for this model.")
            if self.identity == identity:
                self.show_results_for(identity)

        started = self.controls.start(Job(f"running the lesson '{lesson.id}'", work, on_done=done,
                                           on_finally=lambda: self.more_button.setEnabled(True)))
        if started:
            self.more_button.setEnabled(False)
            self.note.setText(f"Running '{lesson.id}' with {seeds} seeds… (Cancel stops it)")
        return started


class LessonsDialog(QDialog):
    """The lessons page in its own window (Help → Lessons), kept while the app runs so a run goes on when it is closed."""

    def __init__(self, state: LabState, runner: ModelRunner, errors: ErrorFunnel,
                 train_away: Callable[[str], bool] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Lessons: what shows on this model?")
        self.resize(1000, 700)
        self.page = LessonsPage(state, runner, errors, train_away)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.page)

    def show_page(self) -> None:
        self.page.show_results_for(self.page.identity)  # results saved since it was last open (a training, the CLI)
        self.show()
        self.raise_()
        self.activateWindow()
