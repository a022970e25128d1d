"""A matplotlib figure in a Qt widget (no pyplot), styled for normal or presentation mode."""
from __future__ import annotations

import textwrap

from matplotlib.axes import Axes
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

LIGHT = {"face": "#ffffff", "ink": "#222222", "grid": "#dddddd"}
DARK = {"face": "#000000", "ink": "#ffffff", "grid": "#555555"}
NORMAL_POINTS = 8.5  # chart type in normal mode; presentation mode uses the theme's pixel size


class Chart(QWidget):
    """Owns one Figure and its canvas; subclasses draw, this class applies the theme."""

    def __init__(self, parent: QWidget | None = None, size: tuple[float, float] = (5, 2.5)) -> None:
        super().__init__(parent)
        self.figure = Figure(figsize=size, dpi=100)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.canvas.setMinimumHeight(120)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        self.presentation = False
        self.pixels = 18  # presentation type size in screen pixels (ui.widgets.theme.presentation_pixels)
        self._stale = False

    def redraw(self) -> None:
        """Rebuild the whole figure (subclasses draw here, then call finish)."""
        self.finish()

    def finish(self) -> None:
        """Theme, lay out and schedule the drawing of a freshly built figure."""
        self.restyle()
        self.wrap_labels()
        self.figure.tight_layout()
        self.canvas.draw_idle()

    def wrap_labels(self) -> None:
        """Break titles and axis labels into lines that fit the figure (a narrow chart on a projector)."""
        width, height = self.figure.get_size_inches() * self.figure.dpi
        char = self.font_size * self.figure.dpi / 72 * 0.62  # a generous average character width, in pixels
        for ax in self.figure.axes:
            for text, room in ((ax.title, width), (ax.xaxis.label, width), (ax.yaxis.label, height)):
                words = text.get_text().replace("\n", " ")
                if words:
                    text.set_text(textwrap.fill(words, max(8, int(0.9 * room / char)), break_on_hyphens=False, break_long_words=False))

    def request_redraw(self) -> None:
        """Redraw now if visible, else when next shown (keeps hidden tabs from costing GUI time)."""
        if self.isVisible():
            self._stale = False
            self.redraw()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.redraw()

    @property
    def colors(self) -> dict[str, str]:
        return DARK if self.presentation else LIGHT

    @property
    def font_size(self) -> float:
        """Points at the figure's dpi: the theme's pixel size in presentation mode."""
        return self.pixels * 72 / self.figure.dpi if self.presentation else NORMAL_POINTS

    @property
    def scale(self) -> float:
        """How much larger than normal type, for margins, markers and line widths."""
        return self.font_size / NORMAL_POINTS

    def set_presentation(self, on: bool, pixels: int = 18) -> None:
        self.presentation, self.pixels = on, pixels
        self.request_redraw()  # sizes of markers and labels depend on the mode, not only colours

    def restyle(self) -> None:
        """Apply the theme to the figure and every axes (call after (re)building them)."""
        c, size = self.colors, self.font_size
        self.figure.patch.set_facecolor(c["face"])
        for ax in self.figure.axes:
            self._style(ax, c, size)

    @staticmethod
    def _style(ax: Axes, c: dict[str, str], size: float) -> None:
        ax.set_facecolor(c["face"])
        ax.tick_params(colors=c["ink"], labelsize=size)
        for spine in ax.spines.values():
            spine.set_color(c["ink"])
        for text in (ax.title, ax.xaxis.label, ax.yaxis.label):
            text.set_color(c["ink"])
            text.set_fontsize(size + 1)
        ax.grid(True, color=c["grid"], linewidth=0.6)
        legend = ax.get_legend()
        if legend is not None:
            legend.get_frame().set_facecolor(c["face"])
            legend.get_frame().set_edgecolor(c["grid"])
            for text in legend.get_texts():
                text.set_color(c["ink"])
                text.set_fontsize(size)
