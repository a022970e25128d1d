"""The Experiments tab's set-up: which scenario and variant, which emotions, strengths and seeds."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, QSize, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QWidget,
)

from lab.common.errors import LabError
from lab.scenarios.files import load_scenario
from lab.scenarios.scenario import Scenario
from lab.scenarios.sweep import SweepPlan
from ui.widgets.scenario_list import ScenarioEntry, list_scenarios

DEFAULT_STRENGTHS = "-0.04,-0.02,0,0.02,0.04"  # inside the typical coherence cliff (the sliders' ±0.04)


def strengths_within(cliff: float) -> str:
    """Five strengths from -cliff to +cliff: the default sweep stays where the text holds together."""
    return ",".join(f"{v:g}" for v in (-cliff, -cliff / 2, 0, cliff / 2, cliff))
DEFAULT_EMOTIONS = ("desperate", "calm")


def parse_strengths(text: str) -> tuple[float, ...]:
    """'-0.06, 0, 0.06' -> (-0.06, 0.0, 0.06); LabError naming the bad part."""
    values = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        if not part.strip():
            continue
        try:
            values.append(float(part))
        except ValueError:
            raise LabError(f"'{part.strip()}' is not a number. Write strengths like {DEFAULT_STRENGTHS}.") from None
    if not values:
        raise LabError(f"Give at least one strength, e.g. {DEFAULT_STRENGTHS}.")
    return tuple(dict.fromkeys(values))


class _WholeRowsList(QListWidget):
    """A wrapping list exactly VISIBLE_ROWS rows of names high at any type size (no half-cut row)."""

    VISIBLE_ROWS = 3

    def __init__(self, **properties) -> None:
        super().__init__(**properties)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        row = max(self.fontMetrics().height(), self.style().pixelMetric(QStyle.PixelMetric.PM_IndicatorHeight)) + 2 * self.spacing() + 4
        return QSize(super().sizeHint().width(), self.VISIBLE_ROWS * row + 2 * self.frameWidth())

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.updateGeometry()


class SweepSetup(QWidget):
    """The choices of a sweep; `scenario()` and `plan()` turn them into what lab.scenarios.sweep runs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[ScenarioEntry] = []
        self._remembered_emotions: list[str] = []
        self.scenario_box = QComboBox(minimumContentsLength=14)  # long titles elide in the box, not widen the page
        self.scenario_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.scenario_box.currentIndexChanged.connect(self._scenario_changed)
        refresh = QPushButton("↻", toolTip="Re-read the scenario files")
        refresh.clicked.connect(self.refresh_scenarios)
        self.variant = QComboBox()
        self.emotion_list = _WholeRowsList(toolTip="Tick the emotions to sweep")
        self.emotion_list.setFlow(QListView.Flow.LeftToRight)
        self.emotion_list.setWrapping(True)
        self.emotion_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.emotion_list.setSpacing(2)
        self.strengths = QLineEdit(DEFAULT_STRENGTHS, toolTip="Steering strengths, separated by commas")
        self.cliff: float | None = None  # the loaded model's coherence cliff (the sliders' range)
        self.warning = QLabel(wordWrap=True)
        self.warning.setStyleSheet("QLabel { color: #d55e00; font-weight: bold; }")
        self.warning.hide()
        self.strengths.textChanged.connect(self._check_strengths)
        self.seeds = QSpinBox(minimum=1, maximum=100, value=2, toolTip="Runs per strength (seeds 0..N-1)")
        self.control = QCheckBox("Random-direction control series", checked=True)
        self.control.setToolTip("Also steer along a random direction of the same size, "
                                "to tell emotion effects from mere disruption")
        self.max_tokens = QSpinBox(minimum=0, maximum=2048, value=0, specialValueText="as written")
        self.max_tokens.setToolTip("Cap every model turn at this many tokens (as written: the scenario's own)")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Scenario:"), 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.scenario_box, 1)
        row.addWidget(refresh)
        grid.addLayout(row, 0, 1)
        grid.addWidget(QLabel("Variant:"), 0, 2)
        grid.addWidget(self.variant, 0, 3)
        grid.addWidget(QLabel("Emotions:"), 1, 0)
        grid.addWidget(self.emotion_list, 1, 1, 1, 3)
        grid.addWidget(QLabel("Strengths:"), 2, 0)
        grid.addWidget(self.strengths, 2, 1)
        grid.addWidget(QLabel("Seeds per strength:"), 2, 2)
        grid.addWidget(self.seeds, 2, 3)
        grid.addWidget(self.control, 3, 1)
        grid.addWidget(QLabel("Max tokens per turn:"), 3, 2)
        grid.addWidget(self.max_tokens, 3, 3)
        grid.addWidget(self.warning, 4, 1, 1, 3)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(3, 1)
        self.refresh_scenarios()

    # --- scenario --------------------------------------------------------------------------------

    def refresh_scenarios(self) -> None:
        current = self.scenario_box.currentData()  # paths are kept as text: QVariant compares Python objects by identity
        self.entries = list_scenarios()
        self.scenario_box.blockSignals(True)
        self.scenario_box.clear()
        for entry in self.entries:
            self.scenario_box.addItem(entry.label, str(entry.path))
        self.scenario_box.blockSignals(False)
        index = self.scenario_box.findData(current) if current is not None else 0
        self.scenario_box.setCurrentIndex(max(index, 0))
        self._scenario_changed()

    def select_scenario(self, path: Path) -> None:
        index = self.scenario_box.findData(str(path))
        if index < 0:
            self.refresh_scenarios()
            index = self.scenario_box.findData(str(path))
        self.scenario_box.setCurrentIndex(index)

    def scenario(self) -> Scenario:
        """The chosen scenario, loaded; LabError if none is chosen or it has problems."""
        path = self.scenario_box.currentData()
        if path is None:
            raise LabError("Choose a scenario first.")
        return load_scenario(Path(path))

    def _scenario_changed(self, *_: object) -> None:
        self.variant.clear()
        if self.scenario_box.currentData() is None:
            return
        try:
            scenario = self.scenario()
        except LabError:
            self.variant.addItem("(scenario has problems)")
            return
        self.variant.addItems(list(scenario.variants) or ["(none)"])

    # --- strengths and remembered settings ------------------------------------------------------

    def set_cliff(self, cliff: float) -> None:
        """The model's coherence cliff: untouched default strengths move inside it; beyond it, a warning."""
        if self.strengths.text() in (DEFAULT_STRENGTHS, strengths_within(self.cliff or 0.0)):
            self.strengths.setText(strengths_within(cliff))
        self.cliff = cliff
        self._check_strengths()

    def _check_strengths(self, *_: object) -> None:
        try:
            beyond = [v for v in parse_strengths(self.strengths.text()) if self.cliff and abs(v) > self.cliff + 1e-9]
        except LabError:
            beyond = []
        if beyond:
            self.warning.setText(f"Beyond ±{self.cliff:g} this model's text falls apart: the runs at "
                                 f"{', '.join(f'{v:+g}' for v in beyond)} will mostly measure broken text.")
        self.warning.setVisible(bool(beyond))

    def save(self, store: QSettings) -> None:
        store.setValue("sweep/scenario", self.scenario_box.currentData() or "")
        store.setValue("sweep/variant", self.variant.currentText())
        store.setValue("sweep/emotions", self.emotions())
        store.setValue("sweep/strengths", self.strengths.text())
        store.setValue("sweep/seeds", self.seeds.value())
        store.setValue("sweep/control", self.control.isChecked())
        store.setValue("sweep/max_tokens", self.max_tokens.value())

    def restore(self, store: QSettings) -> None:
        """The last sweep's choices; values that no longer fit are left at their defaults."""
        scenario = str(store.value("sweep/scenario", "") or "")
        if scenario and self.scenario_box.findData(scenario) >= 0:
            self.scenario_box.setCurrentIndex(self.scenario_box.findData(scenario))
        variant = self.variant.findText(str(store.value("sweep/variant", "")))
        if variant >= 0:
            self.variant.setCurrentIndex(variant)
        self._remembered_emotions = [str(e) for e in (store.value("sweep/emotions", [], type=list) or [])]
        self.set_emotions(self._remembered_emotions)
        self.strengths.setText(str(store.value("sweep/strengths", self.strengths.text())))
        for box, key in ((self.seeds, "sweep/seeds"), (self.max_tokens, "sweep/max_tokens")):
            try:
                value = int(store.value(key, box.value()))
            except (TypeError, ValueError):
                continue
            if box.minimum() <= value <= box.maximum():
                box.setValue(value)
        self.control.setChecked(store.value("sweep/control", self.control.isChecked(), type=bool))

    # --- emotions and plan -----------------------------------------------------------------------

    def set_emotion_choices(self, names: list[str]) -> None:
        """The emotions of a new direction set; the ticks stay where the names do."""
        ticked = set(self.emotions()) or set(self._remembered_emotions) or set(DEFAULT_EMOTIONS)
        self.emotion_list.clear()
        for name in names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in ticked else Qt.CheckState.Unchecked)
            self.emotion_list.addItem(item)

    def emotions(self) -> list[str]:
        return [self.emotion_list.item(i).text() for i in range(self.emotion_list.count())
                if self.emotion_list.item(i).checkState() == Qt.CheckState.Checked]

    def set_emotions(self, names: list[str]) -> None:
        for i in range(self.emotion_list.count()):
            item = self.emotion_list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in names else Qt.CheckState.Unchecked)

    def plan(self, scenario: Scenario, batch_rows: int) -> SweepPlan:
        """The sweep the choices describe; LabError if they do not make one."""
        emotions = tuple(self.emotions())
        if not emotions:
            raise LabError("Tick at least one emotion to sweep.")
        variant = self.variant.currentText() if scenario.variants else None
        plan = SweepPlan(emotions, parse_strengths(self.strengths.text()), tuple(range(self.seeds.value())),
                         self.control.isChecked(), variant, self.max_tokens.value() or None, batch_rows=batch_rows)
        plan.check()
        return plan
