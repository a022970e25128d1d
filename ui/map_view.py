"""Emotion map: the direction vectors at the reading layer, flattened to 2-D with PCA."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from lab.emotions.directions import DirectionSet
from ui.charts import Chart
from ui.palette import emotion_color


class MapChart(Chart):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, size=(5, 4))
        self._directions: DirectionSet | None = None
        self.points: np.ndarray | None = None

    def show_directions(self, directions: DirectionSet) -> None:
        self._directions = directions
        self.request_redraw()

    def redraw(self) -> None:
        self.figure.clear()
        d = self._directions
        if d is None:
            return
        self.points, share = d.map_coordinates()
        ax = self.figure.add_subplot()
        for i, (name, (x, y)) in enumerate(zip(d.emotions, self.points, strict=True)):
            ax.scatter([x], [y], s=90 if self.presentation else 50, color=emotion_color(i), zorder=3)
            ax.annotate(name, (x, y), xytext=(6, 4), textcoords="offset points", fontsize=self.font_size + 2,
                        color=self.colors["ink"])
        ax.axhline(0, color="#aaaaaa", linewidth=0.6)
        ax.axvline(0, color="#aaaaaa", linewidth=0.6)
        ax.set_xlabel("first principal component")
        ax.set_ylabel("second principal component")
        ax.set_title(f"Emotion directions at layer {d.reading_layer} ({share:.0%} of their spread shown)")
        ax.margins(0.15)
        self.finish()


class MapTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        note = QLabel("Each dot is one emotion's direction inside the model. Emotions the model treats as similar "
                      "sit close together; opposite ones end up far apart. Only the two most informative "
                      "dimensions of hundreds are shown, so treat distances as a rough picture.")
        note.setWordWrap(True)
        self.chart = MapChart()
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.chart, 1)
