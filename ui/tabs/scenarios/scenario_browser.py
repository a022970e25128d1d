"""The scenario builder's list: built-in and user scenarios, their file buttons, and the unsaved
drafts kept per user file while browsing other scenarios."""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtGui
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from ui.widgets.scenario_list import ScenarioEntry, list_scenarios


class ScenarioBrowser(QWidget):
    """Emits `chosen` with the ScenarioEntry picked in the list."""

    chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[ScenarioEntry] = []
        self.drafts: dict[Path, str] = {}  # unsaved edits per user file
        self.list = QListWidget()
        self.list.setWordWrap(True)  # long titles wrap onto a second line instead of being cut
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.currentRowChanged.connect(self._row_changed)
        self.new_button = QPushButton("New")
        self.duplicate_button = QPushButton("Duplicate", toolTip="Make an editable copy in your scenarios folder")
        self.save_button = QPushButton("Save")
        self.save_as_button = QPushButton("Save as…")
        self.revert_button = QPushButton("Revert", toolTip="Forget the unsaved changes and show the file as saved",
                                         enabled=False)
        self.path_label = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Scenarios</b>"))
        layout.addWidget(self.list, 1)
        for pair in ((self.new_button, self.duplicate_button), (self.save_button, self.save_as_button)):
            row = QHBoxLayout()
            for button in pair:
                row.addWidget(button)
            layout.addLayout(row)
        layout.addWidget(self.revert_button)
        layout.addWidget(self.path_label)

    def refresh(self, select: Path | None, current: Path | None) -> None:
        """Re-read the scenarios; choose `select` if listed, else the first one when `current` is gone."""
        self.entries = list_scenarios()
        self.list.blockSignals(True)
        self.list.clear()
        for entry in self.entries:
            item = QListWidgetItem(self._label(entry))
            item.setToolTip(QtGui.Qt.convertFromPlainText(str(entry.path)))
            if entry.builtin:  # marked in italics (and "(built-in)"), never greyed out like a disabled item
                font = item.font()
                font.setItalic(True)
                item.setFont(font)
            self.list.addItem(item)
        self.list.blockSignals(False)
        rows = [i for i, e in enumerate(self.entries) if select is not None and e.path == select]
        if rows:
            self.list.setCurrentRow(rows[0])
        elif self.entries and (current is None or not current.exists()):
            self.list.setCurrentRow(0)

    def select_path(self, path: Path) -> bool:
        """Choose `path` if it is listed."""
        for i, entry in enumerate(self.entries):
            if entry.path == path:
                self.list.setCurrentRow(i)
                return True
        return False

    def show_file(self, path: Path | None, builtin: bool) -> None:
        """The scenario shown now: its path, and the buttons that apply to it."""
        self.path_label.setText(("Built-in (read-only): duplicate it to edit. " if builtin else "")
                                + (str(path) if path else "Not saved yet"))
        self.save_button.setEnabled(not builtin)
        self.revert_button.setEnabled(path in self.drafts)

    def keep_draft(self, path: Path, text: str) -> None:
        self.drafts[path] = text
        self.revert_button.setEnabled(True)
        self._relabel(path)

    def drop_draft(self, path: Path) -> None:
        self.drafts.pop(path, None)
        self.revert_button.setEnabled(False)
        self._relabel(path)

    def reselect(self) -> None:
        """Choose the current row again (e.g. after its draft was dropped)."""
        self._row_changed(self.list.currentRow())

    def _relabel(self, path: Path) -> None:
        for i, entry in enumerate(self.entries):
            if entry.path == path and self.list.item(i) is not None:
                self.list.item(i).setText(self._label(entry))

    def _label(self, entry: ScenarioEntry) -> str:
        return entry.label + ("  • unsaved" if entry.path in self.drafts else "")

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(self.entries):
            self.chosen.emit(self.entries[row])
