"""One steering slider per emotion, with a number box, reset buttons and a 'plot it' checkbox.

The sliders are a view of the app's SteeringModel: moving one writes to the model, and any change
to the model (a preset, Reset all) moves the slider."""
from __future__ import annotations

from html import escape

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lab.emotions.directions import DirectionSet
from ui.palette import emotion_color
from ui.steering_model import SteeringModel

MAX_STRENGTH = 0.2
STEP = 0.005
TICKS = round(MAX_STRENGTH / STEP)


class _FittingScrollArea(QScrollArea):
    """A scroll area that asks for the height of all its rows (and scrolls only when squeezed)."""

    def sizeHint(self) -> QSize:
        inner = self.widget().sizeHint()
        return QSize(inner.width() + self.verticalScrollBar().sizeHint().width(), inner.height() + 2 * self.frameWidth())


class EmotionRow:
    """The widgets of one emotion: plot checkbox, slider, number box, reset button."""

    def __init__(self, panel: EmotionPanel, name: str, color: str, tooltip: str) -> None:
        self.name = name
        self.color = color
        self.check = QCheckBox(name)
        self._steered: bool | None = None
        self.mark_steered(False)
        self.check.setToolTip(tooltip + "<br><i>Tick to show this emotion in the plot.</i>")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(-TICKS, TICKS)
        self.slider.setPageStep(4)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(TICKS)
        self.slider.setToolTip(tooltip)
        self.slider.setAccessibleName(f"{name} steering strength")
        self.spin = QDoubleSpinBox()
        self.spin.setRange(-MAX_STRENGTH, MAX_STRENGTH)
        self.spin.setSingleStep(STEP)
        self.spin.setDecimals(3)
        self.spin.setToolTip(tooltip)
        self.spin.setAccessibleName(f"{name} strength value")
        self.reset = QToolButton(text="↺", toolTip=f"Set {name} back to 0 (no steering)")
        self.slider.valueChanged.connect(lambda ticks: panel._changed(self, ticks * STEP, from_slider=True))
        self.spin.valueChanged.connect(lambda value: panel._changed(self, value, from_slider=False))
        self.reset.clicked.connect(lambda: self.set_value(0.0))

    def mark_steered(self, steered: bool) -> None:
        """Underline the name while this emotion is being steered."""
        if steered == self._steered:
            return
        self._steered = steered
        decoration = "underline" if steered else "none"
        self.check.setStyleSheet(f"QCheckBox {{ color: {self.color}; font-weight: 600; text-decoration: {decoration}; }}")

    def value(self) -> float:
        return round(self.spin.value(), 4)

    def set_value(self, value: float) -> None:
        self.spin.setValue(max(-MAX_STRENGTH, min(MAX_STRENGTH, value)))


class EmotionPanel(QWidget):
    """Sliders for the loaded direction set, showing and editing `steering`."""

    plotted_changed = Signal(list)

    def __init__(self, steering: SteeringModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.steering = steering
        self.rows: dict[str, EmotionRow] = {}
        steering.changed.connect(self._show)
        intro = QLabel("Move a slider right to push the model toward an emotion, left to push it away. "
                       "Around ±0.05 is already strong.")
        intro.setWordWrap(True)
        self.reset_all_button = QPushButton("Reset all")
        self.reset_all_button.setToolTip("Set every slider back to 0 (no steering)")
        self.reset_all_button.clicked.connect(self.reset_all)
        self.save_button = QPushButton("Save preset…")
        self.load_button = QPushButton("Load preset…")
        buttons = QHBoxLayout()
        for button in (self.reset_all_button, self.save_button, self.load_button):
            buttons.addWidget(button)
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setColumnStretch(1, 1)
        self._placeholder = QLabel("Loading the model…")
        self._grid.addWidget(self._placeholder, 0, 0)
        self._scroll = _FittingScrollArea(widgetResizable=True)
        self._scroll.setWidget(self._grid_host)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(buttons)
        layout.addWidget(self._scroll, 1)
        self.setEnabled(False)

    def set_directions(self, directions: DirectionSet, plotted: list[str]) -> None:
        """Rebuild the rows for `directions`, showing the model's strengths and the given plot choices."""
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.rows = {}
        layer = directions.reading_layer
        for index, name in enumerate(directions.emotions):
            accuracy = float(directions.accuracy[layer, index])
            tooltip = (
                f"<b>{escape(name)}</b><br>{escape(directions.descriptions.get(name, ''))}<br>"
                f"Held-out accuracy at the reading layer ({layer}): {accuracy:.0%} "
                "(how often this direction recognised example texts it had not seen)."
            )
            row = EmotionRow(self, name, emotion_color(index), tooltip)
            row.set_value(self.steering.strength(name))
            row.check.setChecked(name in plotted)
            row.check.toggled.connect(lambda _on: self.plotted_changed.emit(self.plotted()))
            for column, widget in enumerate((row.check, row.slider, row.spin, row.reset)):
                self._grid.addWidget(widget, index, column)
            self.rows[name] = row
        self._grid.setRowStretch(len(self.rows), 1)
        self._scroll.updateGeometry()
        self.setEnabled(True)

    def reset_all(self) -> None:
        self.steering.reset()

    def plotted(self) -> list[str]:
        return [name for name, row in self.rows.items() if row.check.isChecked()]

    def _changed(self, row: EmotionRow, value: float, from_slider: bool) -> None:
        """Keep slider and number box in step, then write the new strength to the model."""
        if from_slider:
            if abs(row.spin.value() - value) < STEP / 2:
                return
            row.spin.blockSignals(True)
            row.spin.setValue(value)
            row.spin.blockSignals(False)
        else:
            row.slider.blockSignals(True)
            row.slider.setValue(round(value / STEP))
            row.slider.blockSignals(False)
        row.mark_steered(row.value() != 0)
        self.steering.set(row.name, row.value())

    def _show(self, emotion: str, strength: float) -> None:
        """The model changed (a slider, a preset, Reset all): show it."""
        row = self.rows.get(emotion)
        if row is None or row.value() == round(strength, 4):
            return
        row.set_value(strength)
        if row.value() != round(strength, 4):  # out of range or too precise: the model holds what is shown
            self.steering.set(emotion, row.value())
