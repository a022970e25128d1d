"""One steering slider per emotion, with a number box, reset buttons and a 'plot it' checkbox.

The sliders are a view of the app's SteeringModel: moving one writes to the model, and any change
to the model (a preset, Reset all) moves the slider."""
from __future__ import annotations

from html import escape

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lab.emotions.direction_set import DirectionSet
from lab.emotions.evaluation import accuracy_summary, recognition_words
from lab.runtime.strength_range import StrengthRange
from ui.widgets.fields import CheckedDoubleSpinBox
from lab.common.palette import emotion_color
from ui.services.steering_model import SteeringModel
from ui.widgets.strength_slider import STEP, StrengthSlider

MIN_ROWS = 6  # slider rows always in view


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
        self.slider = StrengthSlider()
        self.slider.setMinimumWidth(70)
        self.slider.setToolTip(tooltip)
        self.slider.setAccessibleName(f"{name} steering strength")
        self.spin = CheckedDoubleSpinBox(f"{name} strength")
        self.spin.message.connect(panel.message)
        self.set_limits(panel.limit(), panel.strength_range.cliff, panel.range_hint())
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

    def set_limits(self, limit: float, cliff: float, hint: str) -> None:
        """Slider and box end at ±limit; beyond ±cliff is the warning zone."""
        self.slider.set_limits(limit, cliff)
        self.spin.setRange(-limit, limit)
        self.spin.range_hint = hint

    def value(self) -> float:
        return round(self.spin.value(), 4)

    def set_value(self, value: float) -> None:
        self.spin.setValue(value)  # clamped to the range


class EmotionPanel(QWidget):
    """Sliders for the loaded direction set, showing and editing `steering`."""

    plotted_changed = Signal(list)
    message = Signal(str)  # a typed strength was clamped or refused

    def __init__(self, steering: SteeringModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.steering = steering
        self.rows: dict[str, EmotionRow] = {}
        self.strength_range = StrengthRange.fallback()
        self._range_known = False  # no number in the intro until the loaded model's range is known
        steering.changed.connect(self._show)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.expert = QCheckBox("Expert range")
        self.expert.setToolTip("Let the sliders go past the coherence cliff, where the text falls apart "
                               "(the shaded warning zone)")
        self.expert.toggled.connect(lambda _on: self._apply_range())
        self.reset_all_button = QPushButton("Reset all")
        self.reset_all_button.setToolTip("Set every slider back to 0 (no steering)")
        self.reset_all_button.clicked.connect(self.reset_all)
        self.save_button = QPushButton("Save preset…")
        self.load_button = QPushButton("Load preset…")
        buttons = QHBoxLayout()
        buttons.addWidget(self.reset_all_button)
        presets = QHBoxLayout()  # a second line: the dock stays narrow, the tabs keep their room
        for button in (self.save_button, self.load_button):
            presets.addWidget(button)
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setColumnStretch(1, 1)
        self._placeholder = QLabel("Loading the model…")
        self._grid.addWidget(self._placeholder, 0, 0)
        self._scroll = _FittingScrollArea(widgetResizable=True)
        self._scroll.setWidget(self._grid_host)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # rows are never cut sideways
        buttons.addWidget(self.expert)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(buttons)
        layout.addLayout(presets)
        layout.addWidget(self._scroll, 1)
        self._apply_range()
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
            tooltip = (
                f"<b>{escape(name)}</b><br>{escape(directions.descriptions.get(name, ''))}<br>"
                f"{escape(recognition_words(directions, name))}<br>"
                f"Recognised at the reading layer ({layer}): {escape(accuracy_summary(directions, name))} "
                "(texts it had not seen; 95% interval)."
            )
            row = EmotionRow(self, name, emotion_color(name, directions.emotions), tooltip)
            row.set_value(self.steering.strength(name))
            row.check.setChecked(name in plotted)
            row.check.toggled.connect(lambda _on: self.plotted_changed.emit(self.plotted()))
            for column, widget in enumerate((row.check, row.slider, row.spin, row.reset)):
                self._grid.addWidget(widget, index, column)
            self.rows[name] = row
        self._grid.setRowStretch(len(self.rows), 1)
        self._fit_rows()
        self.setEnabled(True)

    def _fit_rows(self) -> None:
        """At least MIN_ROWS rows in view, and one wheel notch scrolls one row."""
        first = next(iter(self.rows.values()), None)
        if first is None:
            return
        pitch = max(first.spin.sizeHint().height(), first.check.sizeHint().height()) + max(self._grid.verticalSpacing(), 0)
        self._scroll.setMinimumHeight(min(MIN_ROWS, len(self.rows)) * pitch + 2 * self._scroll.frameWidth())
        self._scroll.setMinimumWidth(self._grid_host.minimumSizeHint().width() + self._scroll.verticalScrollBar().sizeHint().width())
        self._scroll.verticalScrollBar().setSingleStep(max(1, pitch // max(1, QApplication.wheelScrollLines())))
        self._scroll.updateGeometry()

    def reset_all(self) -> None:
        self.steering.reset()

    def set_compact(self, on: bool) -> None:
        """Presentation mode: no intro text, no preset buttons (File menu, Ctrl+O/Ctrl+S) and tight rows."""
        self.intro.setVisible(not on)
        self.save_button.setVisible(not on)
        self.load_button.setVisible(not on)
        self._grid.setVerticalSpacing(1 if on else -1)
        self._fit_rows()

    def set_strength_range(self, strength_range: StrengthRange) -> None:
        """The model's calibrated range (lab.runtime.strength_range)."""
        self.strength_range = strength_range
        self._range_known = True
        self._apply_range()

    def limit(self) -> float:
        r = self.strength_range
        return r.expert if self.expert.isChecked() else r.cliff

    def range_hint(self) -> str:
        r = self.strength_range
        return "" if self.expert.isChecked() else f" Tick 'Expert range' to go up to ±{r.expert:.3f} (the text falls apart)."

    def _apply_range(self) -> None:
        r = self.strength_range
        source = "measured on this model" if r.measured else "typical; not yet measured on this model"
        limit = (f" Beyond ±{r.cliff:.3f} the text falls apart ({source})." if self._range_known
                 else " How far they go is shown when the model has loaded.")
        self.intro.setText("Move a slider right to push the model toward an emotion, left to push it away." + limit)
        for row in self.rows.values():
            row.set_limits(self.limit(), r.cliff, self.range_hint())

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
