"""Number boxes that explain: a typed value out of range is clamped and an unreadable one kept,
each with a visible message (the plain Qt boxes silently refuse or change what was typed)."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QValidator, QWheelEvent
from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox, QWidget

_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class _Checked:
    """Mixin for QSpinBox/QDoubleSpinBox; `label` names the field in messages."""

    message = Signal(str)
    label = "This value"
    range_hint = ""  # added to the out-of-range message, e.g. how to reach further

    def validate(self, text: str, pos: int):  # let anything be typed; it is judged when editing ends
        state, text, pos = super().validate(text, pos)
        return (QValidator.State.Intermediate if state == QValidator.State.Invalid else state), text, pos

    def check_typed(self) -> None:
        """Judge the typed text: clamp a number out of range, keep the old value for anything else."""
        text = self.lineEdit().text().strip()
        if self.specialValueText() and text == self.specialValueText():
            return
        for affix in (self.prefix(), self.suffix()):
            text = text.replace(affix, "") if affix else text
        if super().validate(text, 0)[0] == QValidator.State.Acceptable:
            return
        try:
            typed = float(text.replace(",", "."))
        except ValueError:
            self.message.emit(f"{self.label}: '{text}' is not a number; kept {self.textFromValue(self.value())}.")
            self.setValue(self.value())
            return
        if typed != typed:  # NaN
            self.message.emit(f"{self.label}: '{text}' is not a number; kept {self.textFromValue(self.value())}.")
            self.setValue(self.value())
            return
        clamped = min(max(typed, self.minimum()), self.maximum())
        self.setValue(clamped)
        self.message.emit(f"{self.label}: {text} is outside {self.textFromValue(self.minimum())} to "
                          f"{self.textFromValue(self.maximum())}; set to {self.textFromValue(self.value())}.{self.range_hint}")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in _ENTER:
            self.check_typed()
        super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        self.check_typed()
        super().focusOutEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        """The wheel changes the value only after a click into the box; otherwise it scrolls the list around it."""
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class CheckedDoubleSpinBox(_Checked, QDoubleSpinBox):
    def __init__(self, label: str, parent: QWidget | None = None, **properties) -> None:
        super().__init__(parent, **properties)
        self.label = label
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # no focus (and no value change) from the wheel


class CheckedSpinBox(_Checked, QSpinBox):
    def __init__(self, label: str, parent: QWidget | None = None, **properties) -> None:
        super().__init__(parent, **properties)
        self.label = label
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # no focus (and no value change) from the wheel
