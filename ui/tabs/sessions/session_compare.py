"""Two recorded sessions side by side: their tokens paired (lab.store.records.compare_sessions) with one
emotion's readings and the difference."""
from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lab.store.records import SessionRecord, TokenPair, compare_sessions
from ui.widgets.palette import tint

COLUMNS = ("Turn", "Row", "#", "Token A", "A", "Token B", "B", "B − A")


def _number(value: float | None) -> str:
    return "" if value is None or value != value else f"{value:+.2f}"


class SessionCompareDialog(QDialog):
    """A table of paired tokens; the emotion box picks which reading is shown."""

    def __init__(self, a: SessionRecord, b: SessionRecord, emotion: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.a, self.b = a, b
        self.pairs: list[TokenPair] = [p for p in compare_sessions(a, b)
                                       if not ((p.a is None or p.a.is_prompt) and (p.b is None or p.b.is_prompt))]
        self.setWindowTitle(f"Compare sessions {a.id} and {b.id}")
        emotions = list(dict.fromkeys(a.emotions() + b.emotions()))
        self.emotion = QComboBox()
        self.emotion.addItems(emotions)
        if emotion in emotions:
            self.emotion.setCurrentText(emotion)
        self.emotion.currentTextChanged.connect(self.fill)
        heading = QLabel(f"<b>A</b>: #{a.id} {escape(a.title)} (seed {a.sampling.seed}) &nbsp; "
                         f"<b>B</b>: #{b.id} {escape(b.title)} (seed {b.sampling.seed})")
        heading.setWordWrap(True)
        self.summary = QLabel()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(QLabel("Readings of:"))
        row.addWidget(self.emotion)
        row.addWidget(self.summary, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(660, 560)
        self.fill()

    def fill(self, *_: object) -> None:
        emotion = self.emotion.currentText()
        self.table.setRowCount(len(self.pairs))
        differences = []
        for r, pair in enumerate(self.pairs):
            a_value = pair.a.readings.get(emotion) if pair.a is not None else None
            b_value = pair.b.readings.get(emotion) if pair.b is not None else None
            difference = pair.difference(emotion)
            if difference is not None:
                differences.append(difference)
            values = (pair.turn, pair.row, pair.index, repr(pair.a.text) if pair.a else "—", _number(a_value),
                      repr(pair.b.text) if pair.b else "—", _number(b_value), _number(difference))
            for c, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                if c in (4, 6) and (a_value if c == 4 else b_value) is not None:
                    item.setBackground(tint(a_value if c == 4 else b_value))
                if c in (0, 1, 2, 4, 6, 7):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        mean = sum(differences) / len(differences) if differences else None
        self.summary.setText(f"{len(self.pairs)} token pairs; mean B − A for {emotion}: {_number(mean) or 'n/a'}")
