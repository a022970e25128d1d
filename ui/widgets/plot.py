"""Live plot of readings over generated tokens, redrawn on a timer (never per token).

Dashed grey lines mark the start of each answer; dotted lines mark where steering changed.
The y range follows the readings but ignores the single most extreme point (the view, not the
data, is robust to one outlier); a note says when points lie off the scale.
"""
from __future__ import annotations

import math
import textwrap

from matplotlib.lines import Line2D
from matplotlib.text import Text
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QWidget

from lab.common.events import TokenEvent
from ui.widgets.charts import Chart
from lab.common.palette import emotion_color, emotion_dash

REDRAW_MS = 100
PUSH_FREE_LABEL = "reading (0 = neutral, push removed)"
RAW_LABEL = "raw reading (0 = neutral, push included)"
MIN_SPAN = 64  # tokens on the x axis before any answer
Y_START = 8.0  # initial y range +-8 (z-scores); grows when readings go beyond it
ROW_LOOKS = ({"alpha": 0.5, "width": 1.2}, {"alpha": 1.0, "width": 2.4})  # Compare: unsteered thin and faint
ROW_NAMES = ("unsteered", "steered")
IGNORED_OUTLIERS = 1  # the y range leaves out this many most extreme points


class ReadingsPlot(Chart):
    """Readings (z-scores) of the chosen emotions for each batch row over its generated tokens.

    Axes limits only grow while tokens stream in, so most refreshes blit the lines onto a cached
    background (a few ms); the full figure is redrawn only when the limits or the theme change.
    Clicking the plot emits `point_picked` with the TokenEvent nearest the click.
    """

    point_picked = Signal(object)  # TokenEvent

    def __init__(self, parent: QWidget | None = None, rows: int = 1) -> None:
        super().__init__(parent, size=(6, 2.4))
        self.rows = rows
        self.raw = False
        self._off_scale: Text | None = None
        self._drawn_off = 0
        self._legend_ncols = 0
        self.ax = self.figure.add_subplot()
        self.ax.axhline(0, color="#888888", linewidth=0.8)
        self.ax.set_xlabel("generated token")
        self.ax.set_ylabel(PUSH_FREE_LABEL)
        self._all: list[str] = []
        self._shown: list[str] = []
        self._lines: dict[tuple[int, str], Line2D] = {}
        self._marks: list[Line2D] = []
        self._background = None
        self.canvas.mpl_connect("draw_event", self._on_draw)
        self.canvas.mpl_connect("resize_event", self._fit_margins)
        self.canvas.mpl_connect("button_press_event", self._on_click)
        self._timer = QTimer(self, interval=REDRAW_MS)
        self._timer.timeout.connect(self._refresh)
        self._timer.start()
        self.clear()

    # --- data --------------------------------------------------------------------------------

    def set_emotions(self, all_emotions: list[str], shown: list[str]) -> None:
        """Which emotions exist (for colours) and which to draw."""
        self._all, self._shown = list(all_emotions), [e for e in all_emotions if e in shown]
        self._recount_peaks()
        self._rebuild()

    def set_raw(self, raw: bool) -> None:
        """Plot the raw readings (steering push included) or the push-free ones (the default)."""
        self.raw = raw
        self.ax.set_ylabel(RAW_LABEL if raw else PUSH_FREE_LABEL)
        for row in range(self.rows):
            self._y[row] = {name: [e.shown_readings(raw).get(name, math.nan) for e in self._events[row]] for name in self._all}
        self._recount_peaks()
        self._rebuild()

    def _recount_peaks(self) -> None:
        self._peaks = []
        for row in self._y:
            for name in self._shown:
                for value in row.get(name, []):
                    self._note_peak(abs(value))

    def _note_peak(self, value: float) -> None:
        """Keep the largest few |readings| (sorted, largest first)."""
        if value != value or (len(self._peaks) > IGNORED_OUTLIERS and value <= self._peaks[-1]):
            return
        self._peaks.append(value)
        self._peaks.sort(reverse=True)
        del self._peaks[IGNORED_OUTLIERS + 1:]

    @property
    def _peak(self) -> float:
        """The largest |reading| once the outliers are left out."""
        return self._peaks[IGNORED_OUTLIERS] if len(self._peaks) > IGNORED_OUTLIERS else 0.0

    def set_rows(self, rows: int) -> None:
        """Show `rows` batch rows (1, or 2 for Compare) from now on; clears the data."""
        self.rows = rows
        self.clear()

    def clear(self) -> None:
        self._x: list[list[int]] = [[] for _ in range(self.rows)]
        self._y: list[dict[str, list[float]]] = [{} for _ in range(self.rows)]
        self._events: list[list[TokenEvent]] = [[] for _ in range(self.rows)]
        self._last_strengths: list[dict[str, float]] = [{} for _ in range(self.rows)]
        self.steering_marks: list[int] = []
        self.turn_marks: list[int] = []
        self._turn_pending = False
        self._peaks: list[float] = []
        self._xmax, self._ymax = float(MIN_SPAN), Y_START
        self._rebuild()

    def mark_turn(self, expected_tokens: int = MIN_SPAN, draw_now: bool = True) -> None:
        """The next token starts a new answer of up to `expected_tokens` tokens.

        draw_now: redraw at once, before the model starts, so that streaming needs only blits."""
        self._turn_pending = True
        needed = self._next_x() + expected_tokens
        if needed <= self._xmax and self._background is not None:
            return  # the drawn axes already fit the answer: its mark and lines are blitted as they come
        self._xmax = max(needed, 2 * self._xmax)
        self._rebuild()
        if draw_now and self.isVisible():
            self.canvas.draw()

    def settle(self) -> None:
        """An answer ended: fit the x range to the tokens actually generated."""
        self._xmax = float(max(MIN_SPAN, self._next_x()))
        self._rebuild()

    def drop_last_turn(self) -> None:
        """Forget the points since the last turn mark (for Regenerate)."""
        if self._turn_pending:
            self._turn_pending = False
            return
        start = self.turn_marks.pop() if self.turn_marks else 0
        for row in range(self.rows):
            keep = sum(1 for x in self._x[row] if x < start)
            del self._x[row][keep:]
            del self._events[row][keep:]
            for values in self._y[row].values():
                del values[keep:]
        self.steering_marks = [x for x in self.steering_marks if x < start]
        self._rebuild()

    def add(self, events: list[TokenEvent]) -> None:
        """Append generated tokens (prompt tokens are ignored)."""
        for event in events:
            if event.is_prompt:
                continue
            row, xs = event.row, self._x[event.row]
            x = xs[-1] + 1 if xs else 0
            if self._turn_pending and row == 0:
                if x:
                    self.turn_marks.append(x)
                    self._add_mark(x, "turn")
                self._turn_pending = False
            if event.strengths != self._last_strengths[row]:
                self._last_strengths[row] = dict(event.strengths)
                self.steering_marks.append(x)
                self._add_mark(x, "steering")
            xs.append(x)
            self._events[row].append(event)
            readings = event.shown_readings(self.raw)
            for name in self._all:
                self._y[row].setdefault(name, [math.nan] * (len(xs) - 1)).append(readings.get(name, math.nan))
            for name in self._shown:
                self._note_peak(abs(readings.get(name, 0.0)))
        self._dirty = True

    @property
    def shown(self) -> list[str]:
        """The emotions drawn."""
        return list(self._shown)

    def point_count(self) -> int:
        return sum(len(xs) for xs in self._x)

    def event_near(self, x: float, y: float | None = None) -> TokenEvent | None:
        """The token plotted nearest data coordinates (x, y): nearest x, then (two rows) the nearer line."""
        best: tuple[float, float, TokenEvent] | None = None
        for row in range(self.rows):
            xs = self._x[row]
            if not xs:
                continue
            i = min(range(len(xs)), key=lambda k: abs(xs[k] - x))
            dy = 0.0
            if y is not None:
                values = [self._y[row][n][i] for n in self._shown if i < len(self._y[row].get(n, []))]
                dy = min((abs(v - y) for v in values if v == v), default=0.0)
            key = (abs(xs[i] - x), dy, self._events[row][i])
            if best is None or key[:2] < best[:2]:
                best = key
        return best[2] if best is not None else None

    def _on_click(self, event) -> None:
        if event.inaxes is not self.ax or event.xdata is None:
            return
        picked = self.event_near(event.xdata, event.ydata)
        if picked is not None:
            self.point_picked.emit(picked)

    def _next_x(self) -> int:
        return max((xs[-1] + 1 for xs in self._x if xs), default=0)

    # --- drawing -----------------------------------------------------------------------------

    def _rebuild(self) -> None:
        """Recreate lines, marks and legend (emotion set, data range or theme changed).

        The axes themselves are kept: clearing them would rebuild every tick (slow)."""
        for artist in (*self._lines.values(), *self._marks):
            artist.remove()
        if self.ax.get_legend() is not None:
            self.ax.get_legend().remove()
        self._lines, self._marks = {}, []
        scale = self.scale
        for row in range(self.rows):
            look = ROW_LOOKS[row] if self.rows == 2 else ROW_LOOKS[1]
            for name in self._shown:
                (line,) = self.ax.plot([], [], emotion_dash(name, self._all), color=emotion_color(name, self._all),
                                       alpha=look["alpha"], linewidth=look["width"] * scale, animated=True)
                self._lines[(row, name)] = line
        for x in self.turn_marks:
            self._add_mark(x, "turn")
        for x in self.steering_marks:
            self._add_mark(x, "steering")
        self._legend()
        self._fit_margins()
        self._set_limits()
        self.restyle()
        self._dirty = True
        self._background = None
        self.canvas.draw_idle()

    def _legend(self) -> None:
        """One entry per emotion (colour and line style), plus the two row looks in Compare; right of the data."""
        if not self._shown:
            return
        scale = self.scale
        handles = [Line2D([], [], linestyle=emotion_dash(n, self._all), color=emotion_color(n, self._all),
                          linewidth=2.4 * scale, label=n) for n in self._shown]
        if self.rows == 2:
            handles += [Line2D([], [], color=self.colors["ink"], alpha=look["alpha"], linewidth=look["width"] * scale,
                               label=name) for look, name in zip(ROW_LOOKS, ROW_NAMES, strict=True)]
        self._legend_ncols = self._legend_columns(len(handles))
        self.ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=self.font_size,
                       frameon=False, ncols=self._legend_ncols, handlelength=2.6, borderaxespad=0.0, labelspacing=0.3)

    def _legend_columns(self, entries: int) -> int:
        height = self.figure.get_size_inches()[1] * self.figure.dpi
        fits = max(1, int(height * 0.9 / (self.font_size * 1.35 * 1.4)))
        return max(1, math.ceil(entries / fits))

    def _fit_margins(self, _event: object = None) -> None:
        """Margins in pixels (axis labels left and below, the legend right), whatever the size."""
        width, height = self.figure.get_size_inches() * self.figure.dpi
        scale = self.scale
        legend = self.ax.get_legend()
        if legend is not None and self._legend_ncols != self._legend_columns(len(legend.get_texts())):
            legend.remove()
            self._legend()
            legend = self.ax.get_legend()
        legend = self._legend_ncols * 125 * scale if legend is not None else 10
        top, bottom = 1 - min(0.2, 10 / height), min(0.4, 42 * scale / height)
        pixels = self.font_size * self.figure.dpi / 72
        label = self.ax.yaxis.label
        words = label.get_text().replace("\n", " ")
        label.set_text(textwrap.fill(words, max(8, int(0.9 * (top - bottom) * height / (pixels * 0.62))), break_on_hyphens=False, break_long_words=False))
        lines = label.get_text().count("\n") + 1
        self.figure.subplots_adjust(
            left=min(0.35, (40 * scale + lines * pixels * 1.3) / width), right=max(0.5, 1 - legend / width),
            top=top, bottom=bottom,
        )

    def _add_mark(self, x: int, kind: str) -> None:
        style = {"color": "#999999", "linestyle": "--"} if kind == "turn" else {"color": self.colors["ink"], "linestyle": ":"}
        self._marks.append(self.ax.axvline(x - 0.5, linewidth=1.3, animated=True, **style))

    def set_presentation(self, on: bool, pixels: int = 18) -> None:
        self.presentation, self.pixels = on, pixels
        self._rebuild()

    def restyle(self) -> None:
        super().restyle()
        for mark in self._marks:
            if mark.get_linestyle() == ":":
                mark.set_color(self.colors["ink"])

    def _set_limits(self) -> None:
        self.ax.set_xlim(-0.5, self._xmax - 0.5)
        self.ax.set_ylim(-self._ymax, self._ymax)
        self._show_off_scale()

    def _off_values(self) -> list[float]:
        return [v for row in self._y for name in self._shown for v in row.get(name, []) if abs(v) > self._ymax]

    def _show_off_scale(self) -> None:
        """Say how many plotted points lie beyond the y range (they are clipped, not dropped)."""
        off = self._off_values()
        self._drawn_off = len(off)
        text = (f"{len(off)} point{'s' * (len(off) > 1)} off the scale (up to {max(off, key=abs):+.0f})" if off else "")
        if self._off_scale is None:
            self._off_scale = self.ax.text(0.99, 0.98, "", transform=self.ax.transAxes, ha="right", va="top",
                                           fontsize=self.font_size)
        self._off_scale.set_text(text)
        self._off_scale.set_color(self.colors["ink"])
        self._off_scale.set_fontsize(self.font_size)  # presentation type too

    def _refresh(self) -> None:
        """Timer tick: push new points to the lines, blitting unless the limits must grow."""
        if not self._dirty or not self.isVisible():
            return
        self._dirty = False
        for (row, name), line in self._lines.items():
            xs, ys = self._x[row], self._y[row].get(name, [])
            line.set_data(xs, ys + [math.nan] * (len(xs) - len(ys)))
        grow = len(self._off_values()) != self._drawn_off  # the note about clipped points must change
        if self._next_x() > self._xmax:
            self._xmax, grow = max(self._next_x(), 2 * self._xmax), True
        if self._peak > self._ymax:
            self._ymax, grow = max(float(math.ceil(self._peak) + 1), 2 * self._ymax), True  # grow in big steps: few full redraws
        if grow or self._background is None:
            self._background = None
            self._set_limits()
            self.canvas.draw_idle()
        else:
            self.canvas.restore_region(self._background)
            self._draw_animated()
            self.canvas.blit(self.ax.bbox)

    def _on_draw(self, _event: object) -> None:
        """After a full draw: keep the background, then draw the lines on it."""
        self._background = self.canvas.copy_from_bbox(self.ax.bbox)
        self._draw_animated()

    def _draw_animated(self) -> None:
        for artist in (*self._marks, *self._lines.values()):
            self.ax.draw_artist(artist)
