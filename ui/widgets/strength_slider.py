"""A steering-strength slider whose range ends at the model's coherence cliff, or, in the expert
range, goes beyond it with the region past the cliff drawn as a warning zone."""
from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QWheelEvent
from PySide6.QtWidgets import QSlider, QStyle, QStyleOptionSlider, QWidget

STEP = 0.005  # strength per slider tick
WARNING = QColor(213, 94, 0, 90)  # Okabe-Ito vermillion, translucent


class StrengthSlider(QSlider):
    """Horizontal slider in ticks of STEP; `set_limits(limit, cliff)`: ends at ±limit, warning beyond ±cliff."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.cliff = 0.0
        self.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.set_limits(0.06, 0.06)

    def wheelEvent(self, event: QWheelEvent) -> None:
        """The wheel steers only a slider clicked first; otherwise it scrolls the slider list."""
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()

    def set_limits(self, limit: float, cliff: float) -> None:
        ticks = round(limit / STEP)
        self.cliff = cliff
        self.setRange(-ticks, ticks)
        self.setPageStep(max(1, ticks // 8))
        self.setTickInterval(max(1, round(cliff / STEP)))
        self.update()

    def strength(self) -> float:
        return self.value() * STEP

    def in_warning_zone(self) -> bool:
        return abs(self.strength()) > self.cliff + STEP / 2

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        cliff_ticks = round(self.cliff / STEP)
        if self.maximum() <= cliff_ticks:
            return
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        groove = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                             QStyle.SubControl.SC_SliderGroove, self)
        handle = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                             QStyle.SubControl.SC_SliderHandle, self)
        span = groove.width() - handle.width()

        def x_of(ticks: int) -> int:
            return groove.x() + handle.width() // 2 + QStyle.sliderPositionFromValue(
                self.minimum(), self.maximum(), ticks, span)

        painter = QPainter(self)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(WARNING)
        top, height = groove.y(), max(groove.height(), 6)
        painter.drawRect(QRect(groove.x(), top, x_of(-cliff_ticks) - groove.x(), height))
        painter.drawRect(QRect(x_of(cliff_ticks), top, groove.right() - x_of(cliff_ticks), height))
        painter.end()
