"""Emotion map: the direction vectors at the reading layer on axes fitted to human valence/arousal
ratings or on the built-in emotions' two principal axes (lab.emotions.emotion_map); by default whichever
follows the ratings better, each axis labelled with its evidence."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget

from lab.emotions.definitions import load_norms
from lab.emotions.direction_set import DirectionSet
from lab.emotions.emotion_map import emotion_map
from ui.widgets.charts import Chart
from lab.common.palette import emotion_color


class MapChart(Chart):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, size=(5, 4))
        self._directions: DirectionSet | None = None
        self.points: np.ndarray | None = None
        self.picture: str | None = None  # "fitted", "principal", or None: chosen on evidence

    def show_directions(self, directions: DirectionSet) -> None:
        self._directions = directions
        self.request_redraw()

    def show_picture(self, picture: str | None) -> None:
        """Fitted axes, principal components, or (None) whichever follows the ratings better."""
        self.picture = picture
        self.request_redraw()

    def redraw(self) -> None:
        self.figure.clear()
        d = self._directions
        if d is None:
            return
        picture = emotion_map(d, load_norms(), picture=self.picture)
        self.points = picture.coordinates
        share = picture.axes[0].variance_share + picture.axes[1].variance_share
        ax = self.figure.add_subplot()
        labels = []
        for name, (x, y), placed in zip(d.emotions, self.points, picture.placed, strict=True):
            color = emotion_color(name, d.emotions)
            ax.scatter([x], [y], s=90 if self.presentation else 50, color=color, facecolors="none" if placed else color, zorder=3)
            right = x > float(np.median(self.points[:, 0]))  # names point inward: none runs off the edge
            labels.append(ax.annotate(name, (x, y), xytext=(-6 if right else 6, 4), textcoords="offset points",
                                      ha="right" if right else "left", fontsize=self.font_size + 2, color=color))
        ax.axhline(0, color="#aaaaaa", linewidth=0.6)
        ax.axvline(0, color="#aaaaaa", linewidth=0.6)
        ax.set_xlabel(picture.axes[0].label)
        ax.set_ylabel(picture.axes[1].label)
        ax.set_title(f"Emotion directions at layer {d.reading_layer} ({share:.0%} of the built-in emotions' spread shown)")
        ax.margins(0.15)
        self.finish()
        self._separate(labels)

    def _separate(self, labels: list) -> None:
        """A name that would overlap one placed before it goes below its dot, or above it further up."""
        renderer = self.figure.canvas.get_renderer()
        placed = []
        for label in labels:
            dx = label.xyann[0]
            for dy in (4, -4 - 1.3 * label.get_fontsize(), 6 + 1.3 * label.get_fontsize()):
                label.xyann = (dx, dy)
                box = label.get_window_extent(renderer)
                if not any(box.overlaps(other) for other in placed):
                    break
            placed.append(label.get_window_extent(renderer))
        self.canvas.draw_idle()


class MapTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        note = QLabel("Each dot is one emotion's direction inside the model. Emotions the model treats as similar "
                      "sit close together. The axes come from the built-in emotions only (rings: your own or imported "
                      "emotions, placed into that fixed picture). Fitted axes are the model's best guess at how pleasant "
                      "and how aroused people rate each emotion word (Warriner et al., 2013); held-out r says how well "
                      "that guess places an emotion it was not fitted on (1 = exactly, 0 = not at all). Principal "
                      "components are the two directions in which the emotions differ most. Two of hundreds of "
                      "dimensions are shown: treat distances as a rough picture.")
        note.setWordWrap(True)
        self.chart = MapChart()
        self.axes_choice = QComboBox()
        for text, picture in (("Axes: whichever follow human ratings better", None), ("Axes: fitted to human ratings", "fitted"),
                              ("Axes: principal components", "principal")):
            self.axes_choice.addItem(text, picture)
        self.axes_choice.currentIndexChanged.connect(lambda _index: self.chart.show_picture(self.axes_choice.currentData()))
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.axes_choice)
        layout.addWidget(self.chart, 1)
