"""Sampling settings: temperature, top-p, seed and the number of new tokens."""
from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QAbstractSpinBox, QFormLayout, QGroupBox, QWidget

from lab.common.events import SamplingSettings
from ui.widgets.fields import CheckedDoubleSpinBox, CheckedSpinBox


class SamplingPanel(QGroupBox):
    """Edits a SamplingSettings; seed 'random' means a new seed every time. Typed values out of
    range are clamped and unreadable ones refused, each with a `message`."""

    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Sampling", parent)
        self.temperature = CheckedDoubleSpinBox("Temperature", minimum=0.0, maximum=2.0, singleStep=0.1, value=0.7, decimals=2)
        self.temperature.setToolTip("How adventurous the word choice is, 0 to 2. 0 always picks the most likely next token.")
        self.top_p = CheckedDoubleSpinBox("Top-p", minimum=0.05, maximum=1.0, singleStep=0.05, value=0.9, decimals=2)
        self.top_p.setToolTip("0.05 to 1: only sample from the most likely tokens that together cover this share of probability.")
        self.seed = CheckedSpinBox("Seed", minimum=-1, maximum=2**31 - 1, value=-1)
        self.seed.setSpecialValueText("random")
        self.seed.setToolTip("Same seed + same settings = same answer. 'random' picks a new one each time.")
        self.max_tokens = CheckedSpinBox("Max tokens", minimum=1, maximum=2048, value=64)
        self.max_tokens.setToolTip("The longest answer, in tokens (pieces of words), 1 to 2048.")
        form = QFormLayout(self)
        for label, box in (("Temperature", self.temperature), ("Top-p", self.top_p), ("Seed", self.seed),
                           ("Max tokens", self.max_tokens)):
            box.message.connect(self.message)
            box.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
            form.addRow(label, box)

    def settings(self, seed: int | None = None) -> SamplingSettings:
        """The current settings; `seed` fills in when the seed box says 'random'."""
        for box in self._boxes():
            box.check_typed()
        chosen = self.seed.value()
        return SamplingSettings(
            temperature=self.temperature.value(),
            top_p=self.top_p.value(),
            seed=chosen if chosen >= 0 else seed,
            max_new_tokens=self.max_tokens.value(),
        )

    def _boxes(self) -> tuple[CheckedDoubleSpinBox | CheckedSpinBox, ...]:
        return self.temperature, self.top_p, self.seed, self.max_tokens

    def save(self, store: QSettings) -> None:
        store.setValue("sampling/temperature", self.temperature.value())
        store.setValue("sampling/top_p", self.top_p.value())
        store.setValue("sampling/seed", self.seed.value())
        store.setValue("sampling/max_tokens", self.max_tokens.value())

    def restore(self, store: QSettings) -> None:
        """Stored values that are unreadable or out of range are ignored (the defaults stay)."""
        for key, box in (("temperature", self.temperature), ("top_p", self.top_p), ("seed", self.seed),
                         ("max_tokens", self.max_tokens)):
            try:
                value = float(store.value(f"sampling/{key}", box.value()))
            except (TypeError, ValueError):
                continue
            if box.minimum() <= value <= box.maximum():
                box.setValue(value if isinstance(box, CheckedDoubleSpinBox) else round(value))
