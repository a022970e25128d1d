"""Where exports go and how saving them is confirmed: the user's Documents folder by default (the
home folder where there is none), then a message with the saved path and an Open button."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget


def export_folder() -> Path:
    """The Documents folder (made if the desktop names one that does not exist yet), else the home folder."""
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    if documents and Path(documents) != Path.home():
        try:
            Path(documents).mkdir(parents=True, exist_ok=True)
            return Path(documents)
        except OSError:
            pass
    return Path.home()


def default_export_path(name: str) -> str:
    """What a save dialog offers first: `name` in export_folder()."""
    return str(export_folder() / name)


def open_file(path: Path) -> bool:
    """Open `path` in the program the desktop uses for it."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def saved_message(parent: QWidget, path: Path) -> QMessageBox:
    """A message saying where `path` was saved, with Open (the file) and OK; built, not shown."""
    box = QMessageBox(QMessageBox.Icon.Information, "Saved", f"Saved to:\n{path}", QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("saved-message")
    opener = box.addButton("Open", QMessageBox.ButtonRole.ActionRole)
    opener.clicked.connect(lambda: open_file(path))
    box.setDefaultButton(QMessageBox.StandardButton.Ok)
    return box


def confirm_saved(parent: QWidget, path: Path) -> QMessageBox:
    """Show saved_message without blocking (the app goes on while it is open); the box shown."""
    box = saved_message(parent, path)
    box.setModal(False)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box
