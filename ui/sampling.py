"""Sampling settings: temperature, top-p, seed and the number of new tokens."""
from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QGroupBox, QSpinBox, QWidget

from lab.runtime.events import SamplingSettings


class SamplingPanel(QGroupBox):
    """Edits a SamplingSettings; seed 'random' means a new seed every time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Sampling", parent)
        self.temperature = QDoubleSpinBox(minimum=0.0, maximum=2.0, singleStep=0.1, value=0.7, decimals=2)
        self.temperature.setToolTip("How adventurous the word choice is. 0 always picks the most likely next token.")
        self.top_p = QDoubleSpinBox(minimum=0.05, maximum=1.0, singleStep=0.05, value=0.9, decimals=2)
        self.top_p.setToolTip("Only sample from the most likely tokens that together cover this share of probability.")
        self.seed = QSpinBox(minimum=-1, maximum=2**31 - 1, value=-1)
        self.seed.setSpecialValueText("random")
        self.seed.setToolTip("Same seed + same settings = same answer. 'random' picks a new one each time.")
        self.max_tokens = QSpinBox(minimum=1, maximum=2048, value=64)
        self.max_tokens.setToolTip("The longest answer, in tokens (pieces of words).")
        form = QFormLayout(self)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-p", self.top_p)
        form.addRow("Seed", self.seed)
        form.addRow("Max tokens", self.max_tokens)

    def settings(self, seed: int | None = None) -> SamplingSettings:
        """The current settings; `seed` fills in when the seed box says 'random'."""
        chosen = self.seed.value()
        return SamplingSettings(
            temperature=self.temperature.value(),
            top_p=self.top_p.value(),
            seed=chosen if chosen >= 0 else seed,
            max_new_tokens=self.max_tokens.value(),
        )

    def save(self, store: QSettings) -> None:
        store.setValue("sampling/temperature", self.temperature.value())
        store.setValue("sampling/top_p", self.top_p.value())
        store.setValue("sampling/seed", self.seed.value())
        store.setValue("sampling/max_tokens", self.max_tokens.value())

    def restore(self, store: QSettings) -> None:
        self.temperature.setValue(float(store.value("sampling/temperature", self.temperature.value())))
        self.top_p.setValue(float(store.value("sampling/top_p", self.top_p.value())))
        self.seed.setValue(int(store.value("sampling/seed", self.seed.value())))
        self.max_tokens.setValue(int(store.value("sampling/max_tokens", self.max_tokens.value())))
