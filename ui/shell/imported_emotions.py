"""The Model menu's "Imported emotions…" dialog: the loaded model's imported emotions (and files
set aside because they no longer read), each removable. The app side of `python -m lab import
--list / --remove NAME`: listing and removing are lab.emotions.imported's."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QMessageBox, QVBoxLayout, QWidget

from lab.common.errors import LabError
from lab.emotions.imported import list_imported, remove_imported
from ui.services.errors import ErrorFunnel


class ImportedEmotionsDialog(QDialog):
    """Lists one model's imported emotions; Remove deletes the selected one (after asking)."""

    removed = Signal(str)  # the name of an emotion removed

    def __init__(self, identity: str, model_name: str, errors: ErrorFunnel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.identity, self.errors = identity, errors
        self.setWindowTitle("Imported emotions")
        self.list = QListWidget()
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.note = QLabel(wordWrap=True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.remove_button = buttons.addButton("Remove…", QDialogButtonBox.ButtonRole.ActionRole)
        self.remove_button.setToolTip("Delete the selected imported emotion for this model (asks first)")
        self.remove_button.clicked.connect(self.remove_selected)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Emotions imported for {model_name} (with <code>python -m lab import</code>):"))
        layout.addWidget(self.list, 1)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        for entry in list_imported(self.identity):
            text = f"{entry.name} — set aside: it does not read; remove it" if entry.quarantined else entry.name
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, entry.name)
            self.list.addItem(item)
        self.note.setText("" if self.list.count() else "No emotions are imported for this model. Import one with "
                          "python -m lab import FILE (a direction file or a GGUF control vector).")
        self._update_buttons()

    def remove_selected(self) -> bool:
        """Remove the selected emotion after a confirmation; True if it was removed."""
        item = self.list.currentItem()
        if item is None:
            return False
        name = str(item.data(Qt.ItemDataRole.UserRole))
        answer = QMessageBox.question(self, "Remove imported emotion", f"Remove the imported emotion '{name}' for "
                                      "this model? Import its file again to get it back.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        try:
            remove_imported(name, self.identity)
        except LabError as error:
            self.errors.report(error)
            self.refresh()
            return False
        self.refresh()
        self.removed.emit(name)
        return True

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.list.currentItem() is not None)
