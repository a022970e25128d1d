"""The Experiments tab's results: what the sweep found in plain words (lab.scenarios.sweep_words),
then the per-strength table with 95% intervals, the runs (each opens its recorded session), and the
exports."""
from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from lab.common.errors import LabError
from lab.common.stats import Estimate, mean_text, rate_sentence, rate_text
from lab.common.steering_text import strength_text
from lab.scenarios.checks import fired_text
from lab.scenarios.runner import CONTROL
from lab.scenarios.sweep import SweepResult, SweepRun
from lab.scenarios.sweep_report import RATE_NOTE, export_sweep
from lab.scenarios.sweep_words import sweep_sentences
from ui.services.errors import ErrorFunnel
from ui.widgets.exports import confirm_saved, default_export_path

EXPORT_SUFFIXES = ("csv", "png", "html")


def rate_item(e: Estimate) -> QTableWidgetItem:
    """A check's rate as a count of runs, its 95% interval in a sentence in the tooltip."""
    item = QTableWidgetItem(rate_text(e))
    item.setToolTip(rate_sentence(e))
    return item


class SweepResultsView(QWidget):
    """Shows one SweepResult (or none) as tables; exports it on request."""

    def __init__(self, errors: ErrorFunnel, open_session: Callable[[int], None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.errors, self.open_session = errors, open_session
        self.result: SweepResult | None = None
        self.saved_box: QMessageBox | None = None  # the last "Saved to …" message
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setToolTip(RATE_NOTE + " Hover a rate for its interval.")
        self.runs = QTableWidget(0, 6)
        self.runs.setHorizontalHeaderLabels(("Series", "Strength", "Seed", "Session", "Checks fired", "First reply"))
        self.runs.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        self.runs.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.runs.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.runs.setToolTip("Double-click a run to open its recorded session")
        self.runs.cellDoubleClicked.connect(lambda row, _col: self.open_run(row))
        self.export_buttons: list[QPushButton] = []
        export_row = QHBoxLayout()
        export_row.addWidget(QLabel("Export results:"))
        for suffix in EXPORT_SUFFIXES:
            button = QPushButton(suffix.upper(), enabled=False)
            button.clicked.connect(lambda _=False, s=suffix: self.export_dialog(s))
            self.export_buttons.append(button)
            export_row.addWidget(button)
        export_row.addStretch(1)
        self.summary = QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText, objectName="sweep-summary")
        self.summary.setVisible(False)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.table, "Per strength (95% intervals)")
        self.tabs.addTab(self.runs, "Runs (double-click to open the session)")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(export_row)

    def show_result(self, result: SweepResult | None) -> None:
        self.result = result
        for button in self.export_buttons:
            button.setEnabled(result is not None and bool(result.runs))
        self.table.clear()
        self.runs.setRowCount(0)
        sentences = sweep_sentences(result) if result is not None else []
        self.summary.setText("\n".join(sentences))
        self.summary.setVisible(bool(sentences))
        if result is None:
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            return
        self._fill_points(result)
        self._fill_runs(result)

    def _fill_points(self, result: SweepResult) -> None:
        checks = result.check_names()
        head = ["Series", "Strength", "Runs", *[f"{c}: fired in" for c in checks], "Mean reading",
                "Distinct-2", "Repetition", "Perplexity"]
        points = result.points()
        self.table.setColumnCount(len(head))
        self.table.setHorizontalHeaderLabels(head)
        self.table.setRowCount(len(points))
        for r, p in enumerate(points):
            if p.series == CONTROL:
                reading = "; ".join(f"{e} {mean_text(p.readings[e])}" for e in result.plan.emotions)
            else:
                reading = mean_text(p.readings[p.series])
            cells = [QTableWidgetItem(p.series), QTableWidgetItem(strength_text(p.strength)), QTableWidgetItem(str(p.runs)),
                     *[rate_item(p.rates[c]) for c in checks],
                     *[QTableWidgetItem(text) for text in (reading, mean_text(p.distinct2), mean_text(p.repetition), mean_text(p.perplexity))]]
            for c, item in enumerate(cells):
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()

    def _fill_runs(self, result: SweepResult) -> None:
        self.runs.setRowCount(len(result.runs))
        for r, item in enumerate(result.runs):
            replies = item.run.replies()
            first = replies[0].text.strip().replace("\n", " ") if replies else ""
            cells = [item.series, strength_text(item.strength), str(item.seed), str(item.run.session_id or ""),
                     fired_text(sorted(item.run.fired())), first]
            for c, text in enumerate(cells):
                self.runs.setItem(r, c, QTableWidgetItem(text))

    def open_run(self, row: int) -> None:
        """Hand the run's session to the Sessions tab (or show its transcript in a dialog)."""
        if self.result is None or not 0 <= row < len(self.result.runs):
            return
        item = self.result.runs[row]
        if item.run.session_id is not None and self.open_session is not None:
            self.open_session(item.run.session_id)
        else:
            self.show_transcript(item)

    def show_transcript(self, item: SweepRun) -> QDialog:
        dialog = QDialog(self)
        dialog.setWindowTitle(f"{item.series} {strength_text(item.strength)}, seed {item.seed}")
        view = QTextBrowser()
        parts = []
        for turn in item.run.turns:
            if turn.role == "reset":
                parts.append("<hr>")
                continue
            checks = f" <i>({escape(', '.join(turn.checks))})</i>" if turn.checks else ""
            parts.append(f"<p><b>{escape(turn.role)}</b>{checks}: {escape(turn.text)}</p>")
        view.setHtml("".join(parts))
        QVBoxLayout(dialog).addWidget(view)
        dialog.resize(600, 500)
        dialog.show()
        return dialog

    def export_dialog(self, suffix: str) -> None:
        if self.result is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export sweep", default_export_path(f"sweep.{suffix}"),
                                              f"{suffix.upper()} (*.{suffix})")
        if path and self.export(Path(path)):
            self.saved_box = confirm_saved(self, Path(path))

    def export(self, path: Path) -> bool:
        if self.result is None:
            self.errors.report("Run a sweep first.")
            return False
        try:
            export_sweep(self.result, path)
        except LabError as error:
            self.errors.report(error)
            return False
        return True
