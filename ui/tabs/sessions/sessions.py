"""Sessions tab: the recorded sessions, listed and opened read-only (transcript, plot, export)."""
from __future__ import annotations

from datetime import datetime
from html import escape
from pathlib import Path

from PySide6 import QtGui
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lab.common.errors import LabError
from lab.store.export import export_session
from lab.store.records import SessionRecord
from lab.store.session_list import experiment_label, group_by_experiment, status_text
from ui.services.errors import ErrorFunnel
from ui.widgets.exports import confirm_saved, default_export_path
from ui.widgets.plot import ROW_NAMES, ReadingsPlot
from ui.services.recorder import Recorder
from ui.tabs.sessions.session_compare import SessionCompareDialog
from ui.widgets.transcript import TranscriptView

COLUMNS = ("#", "Title", "Experiment", "Created", "Status", "Turns", "Tokens")
TITLE = COLUMNS.index("Title")
TITLE_CHARS = (24, 70)  # the Title column's narrowest and widest width, in characters
TITLE_WIDTH_KEY = "sessions/title_width"


def local_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


class SessionsTab(QWidget):
    """Browse the lab file the app records into: open, export, compare, continue, re-run or delete sessions."""

    continue_requested = Signal(object)  # SessionRecord: load it into the chat to keep talking
    rerun_requested = Signal(object)  # SessionRecord: ask its first message again as a new session

    def __init__(self, recorder: Recorder, errors: ErrorFunnel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.recorder, self.errors = recorder, errors
        self.record: SessionRecord | None = None
        self.saved_box: QMessageBox | None = None  # the last "Saved to …" message
        self._title_width: int | None = None  # chosen by dragging, or restored
        self._plotted: list[str] = []
        self.search = QLineEdit(placeholderText="Search titles and notes")
        self.search.returnPressed.connect(self.refresh)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the open session as an HTML report, JSON, CSV or Markdown")
        self.export_button.clicked.connect(self.export)
        self.export_button.setEnabled(False)
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip("Load this conversation into the Chat tab, with its system prompt, to keep talking")
        self.continue_button.clicked.connect(lambda: self.record and self.continue_requested.emit(self.record))
        self.rerun_button = QPushButton("Re-run")
        self.rerun_button.setToolTip("Ask the first message again with the same system prompt, seed and sampling "
                                     "but the current sliders (a new session)")
        self.rerun_button.clicked.connect(lambda: self.record and self.rerun_requested.emit(self.record))
        self.compare_button = QPushButton("Compare two")
        self.compare_button.setToolTip("Select two sessions (Ctrl+click) to see their tokens and readings side by side")
        self.compare_button.clicked.connect(self.compare_selected)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setToolTip("Delete the selected sessions from the lab file (asks first)")
        self.delete_button.clicked.connect(self.delete_selected)
        self.compare_dialog: SessionCompareDialog | None = None
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().sectionResized.connect(self._section_resized)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setToolTip("Runs of one experiment (a sweep) are listed together, named in the Experiment column")
        self.table.itemSelectionChanged.connect(self._open_selected)
        self.title = QLabel("Choose a session to look at it.")
        self.title.setWordWrap(True)
        self.transcript = TranscriptView()
        self.plot = ReadingsPlot()
        self.plot.point_picked.connect(self.transcript.select_event)  # click a point: find its token
        location = QLabel(f"Recording to {recorder.store.path.name}" if recorder.store else "Sessions are not being recorded.")
        location.setToolTip(QtGui.Qt.convertFromPlainText(str(recorder.store.path)) if recorder.store else "")

        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(refresh)
        bar.addWidget(self.export_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(bar)
        left_layout.addWidget(self.table, 1)
        actions = QGridLayout()  # two by two: the list stays narrow, the plot keeps its room when Help opens
        for index, button in enumerate((self.continue_button, self.rerun_button, self.compare_button, self.delete_button)):
            actions.addWidget(button, index // 2, index % 2)
        left_layout.addLayout(actions)
        left_layout.addWidget(location)
        viewer = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.title)
        top_layout.addWidget(self.transcript, 1)
        viewer.addWidget(top)
        viewer.addWidget(self.plot)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(viewer)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([300, 700])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self._update_buttons()

    def refresh(self) -> None:
        """Reload the list of sessions from the lab file."""
        store = self.recorder.store
        if store is None:
            return
        try:
            sessions = store.list_sessions(self.search.text().strip() or None)
        except LabError as error:
            self.errors.report(error)
            return
        sessions = group_by_experiment(sessions)
        self.table.blockSignals(True)
        self.table.setRowCount(len(sessions))
        for row, s in enumerate(sessions):
            values = (s.id, s.title, experiment_label(s), local_time(s.created), status_text(s.status, s.stopped), s.turns, s.tokens)
            for column, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                item.setData(Qt.ItemDataRole.UserRole, s.id)
                if column in (TITLE, TITLE + 1):
                    item.setToolTip(QtGui.Qt.convertFromPlainText(str(value)))
                self.table.setItem(row, column, item)
        for column in range(len(COLUMNS)):
            if column != TITLE:
                self.table.resizeColumnToContents(column)
        self.set_title_width(self._title_width or self.table.sizeHintForColumn(TITLE))
        self.table.clearSelection()
        open_id = self.record.id if self.record is not None else None
        for row, summary in enumerate(sessions):
            if summary.id == open_id:
                self.table.selectRow(row)
        self.table.blockSignals(False)
        self._update_buttons()

    def open_session(self, session_id: int) -> None:
        """Show one session's transcript and readings."""
        assert self.recorder.store is not None
        try:
            record = self.recorder.store.load_session(session_id)
        except LabError as error:
            self.errors.report(error)
            return
        self.record = record
        self.export_button.setEnabled(True)
        sampling = record.sampling
        self.title.setText(
            f"<b>{escape(record.title)}</b> — {local_time(record.created)}, {escape(status_text(record.status, sum(t.stopped for t in record.turns)))}; "
            f"temperature {sampling.temperature:g}, top-p {sampling.top_p:g}, seed {sampling.seed}"
        )
        self.transcript.clear_all()
        self.plot.set_rows(2 if any(t.event.row for t in record.tokens) else 1)
        emotions = record.emotions()
        self.plot.set_emotions(emotions, self._plotted or emotions[:4])
        for turn in record.turns:
            if turn.role != "assistant":
                self.transcript.add_message(turn.role.capitalize(), record.turn_text(turn) or "")
                continue
            generated = [t.event for t in record.tokens if t.turn == turn.index and not t.event.is_prompt]
            rows = sorted({e.row for e in generated}) or [0]
            self.plot.mark_turn(len(generated), draw_now=False)
            for row in rows:
                label = "Assistant" if rows == [0] else f"Assistant ({ROW_NAMES[row] if row < 2 else row})"
                label += " (stopped before the end)" if turn.stopped else ""
                self.transcript.begin_answer(label)
                self.transcript.add_tokens([e for e in generated if e.row == row])
            self.plot.add([e for e in generated if e.row < self.plot.rows])
        self.plot.settle()

    def set_plotted(self, emotions: list[str]) -> None:
        self._plotted = list(emotions)

    def title_width_limits(self) -> tuple[int, int]:
        """The Title column's narrowest and widest width in pixels (TITLE_CHARS in this font)."""
        char = self.table.fontMetrics().averageCharWidth()
        return TITLE_CHARS[0] * char, TITLE_CHARS[1] * char

    def set_title_width(self, width: int) -> None:
        """Size the Title column, never narrower or wider than title_width_limits()."""
        low, high = self.title_width_limits()
        self.table.setColumnWidth(TITLE, max(low, min(high, width)))

    def save_columns(self, settings: QSettings) -> None:
        settings.setValue(TITLE_WIDTH_KEY, self.table.columnWidth(TITLE))

    def restore_columns(self, settings: QSettings) -> None:
        """The Title column as it was left, within title_width_limits() (never two characters wide)."""
        width = settings.value(TITLE_WIDTH_KEY, 0, type=int)
        if width > 0:
            self._title_width = width
            self.set_title_width(width)

    def export(self) -> None:
        if self.record is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export session", default_export_path(f"session-{self.record.id}.html"),
            "HTML report (*.html);;JSON (*.json);;CSV (*.csv);;Markdown (*.md)",
        )
        if path:
            try:
                export_session(self.record, Path(path), self.transcript.tint_emotion)
            except LabError as error:
                self.errors.report(error)
                return
            self.saved_box = confirm_saved(self, Path(path))

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [int(self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)) for row in rows]

    def compare_selected(self) -> None:
        """The two selected sessions side by side, with the tint emotion's readings."""
        ids = self.selected_ids()
        if len(ids) != 2 or self.recorder.store is None:
            self.errors.report("Select exactly two sessions to compare (Ctrl+click the second one).")
            return
        try:
            a, b = (self.recorder.store.load_session(i) for i in sorted(ids))  # A: the older one
        except LabError as error:
            self.errors.report(error)
            return
        self.compare_dialog = SessionCompareDialog(a, b, self.transcript.tint_emotion, self)
        self.compare_dialog.show()

    def delete_selected(self) -> None:
        """Delete the selected sessions after a confirmation."""
        ids = self.selected_ids()
        if not ids or self.recorder.store is None:
            return
        what = f"session {ids[0]}" if len(ids) == 1 else f"{len(ids)} sessions ({', '.join(map(str, ids))})"
        answer = QMessageBox.question(self, "Delete sessions", f"Delete {what} and everything recorded in it? "
                                      "This cannot be undone.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return
        if self.recorder.chat_session_id() in ids:
            self.recorder.new_chat()  # the chat being recorded: the next message starts a new session
        try:
            for session_id in ids:
                self.recorder.store.delete_session(session_id)
        except LabError as error:
            self.errors.report(error)
        if self.record is not None and self.record.id in ids:
            self.record = None
            self.transcript.clear_all()
            self.plot.clear()
            self.title.setText("Choose a session to look at it.")
            self.export_button.setEnabled(False)
        self.refresh()

    def _update_buttons(self) -> None:
        count = len(self.selected_ids())
        for button in (self.continue_button, self.rerun_button):
            button.setEnabled(count == 1 and self.record is not None)
        self.compare_button.setEnabled(count == 2)
        self.delete_button.setEnabled(count > 0)

    def _section_resized(self, column: int, _old: int, new: int) -> None:
        if column == TITLE:
            self._title_width = new

    def _open_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            self.open_session(ids[0])
        self._update_buttons()
