"""The one error funnel: every failure in the app ends up here as a human message with details."""
from __future__ import annotations

import sys
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from lab.common.errors import LabError


def human_message(error: BaseException, doing: str) -> str:
    """LabError messages are written for the user; anything else gets a plain explanation."""
    if isinstance(error, LabError):
        return str(error)
    return (
        f"Something unexpected went wrong while {doing}. The app is still running; "
        "you can try again. The details below help whoever maintains Emotion Lab."
    )


def details_of(error: BaseException) -> str:
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


class ErrorFunnel(QObject):
    """Shows failures in a non-blocking message box (message + expandable details)."""

    reported = Signal(str)  # the human message, for the status bar, tests and the benchmark

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self.messages: list[str] = []
        self._box: QMessageBox | None = None

    def report(self, error: BaseException | str, doing: str = "working", details: str | None = None) -> None:
        """Show `error` to the user; strings are taken as ready-made messages."""
        if isinstance(error, LabError):  # written for the user: nothing internal to add
            message, details = str(error), None
        elif isinstance(error, BaseException):
            message = human_message(error, doing)
            details = details if details is not None else details_of(error)
        else:
            message = error
        self.messages.append(message)
        self._show(message, details)
        self.reported.emit(message)

    def install_excepthook(self) -> None:
        """Route uncaught exceptions of the GUI thread here instead of killing the app."""

        def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
            if issubclass(kind, KeyboardInterrupt):
                sys.__excepthook__(kind, error, tb)
                return
            self.report(error, "handling that action", "".join(traceback.format_exception(kind, error, tb)))

        sys.excepthook = hook

    def _show(self, message: str, details: str | None) -> None:
        if self._box is None:
            self._box = QMessageBox(QMessageBox.Icon.Warning, "Emotion Lab", "", QMessageBox.StandardButton.Ok, self._parent)
            self._box.setWindowModality(Qt.WindowModality.NonModal)
        self._box.setText(message)
        self._box.setDetailedText(details or "")
        self._box.show()
        self._box.raise_()
