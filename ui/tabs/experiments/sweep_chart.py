"""The Experiments tab's dose-response chart: mean reading and check rates against steering strength."""
from __future__ import annotations

import math

from matplotlib.lines import Line2D
from PySide6.QtWidgets import QWidget

from lab.scenarios.runner import CONTROL
from lab.scenarios.sweep import SweepResult
from ui.widgets.charts import Chart

CHECK_STYLES = ("-", "--", ":", "-.")
CHECK_MARKERS = ("o", "s", "^", "D")
DODGE = 0.5  # the share of the gap between strengths over which equal rates are spread side by side


def dodged(xs: list[float], index: int, count: int) -> list[float]:
    """Shift line `index` of `count` sideways a little, so lines with equal rates stay visible."""
    gaps = [b - a for a, b in zip(sorted(xs), sorted(xs)[1:]) if b > a]
    step = DODGE * min(gaps, default=0.01) / max(count, 1)
    return [x + (index - (count - 1) / 2) * step for x in xs]


class DoseResponseChart(Chart):
    """Mean reading and check rates against steering strength, one line per series."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, size=(7, 2.8))
        self.result: SweepResult | None = None
        self.redraw()

    def show_result(self, result: SweepResult | None) -> None:
        self.result = result
        self.request_redraw()

    def redraw(self) -> None:
        self.figure.clear()
        readings, rates = self.figure.subplots(1, 2)
        result = self.result
        if result is not None and result.runs:
            points = result.points()
            checks = result.check_names()
            for i, series in enumerate(result.plan.series()):
                chosen = [p for p in points if p.series == series]
                if not chosen:
                    continue
                xs = [p.strength for p in chosen]
                colour, style = f"C{i}", "--" if series == CONTROL else "-"
                emotions = result.plan.emotions if series == CONTROL else [series]
                for emotion in emotions:
                    est = [p.readings[emotion] for p in chosen]
                    label = f"control: {emotion}" if series == CONTROL else series
                    readings.plot(xs, [e.value for e in est], style, marker="o", color=colour, label=label)
                    readings.fill_between(xs, [e.low if math.isfinite(e.low) else e.value for e in est],
                                          [e.high if math.isfinite(e.high) else e.value for e in est], color=colour, alpha=0.15)
                for k, check in enumerate(checks):
                    est = [p.rates[check] for p in chosen]
                    shifted = dodged(xs, i * len(checks) + k, len(result.plan.series()) * len(checks))
                    rates.plot(shifted, [e.value for e in est], CHECK_STYLES[k % len(CHECK_STYLES)],
                               marker=CHECK_MARKERS[k % len(CHECK_MARKERS)], color=colour, label=f"{series}: {check}",
                               alpha=0.85)
            readings.legend(fontsize="x-small")
            if checks:  # one entry per series (colour) and per check (line style), not per line
                handles = [Line2D([], [], color=f"C{i}", marker="o", label=series)
                           for i, series in enumerate(result.plan.series())]
                handles += [Line2D([], [], color="#666666", linestyle=CHECK_STYLES[k % len(CHECK_STYLES)],
                                   marker=CHECK_MARKERS[k % len(CHECK_MARKERS)], label=check)
                            for k, check in enumerate(checks)]
                rates.legend(handles=handles, fontsize="xx-small", loc="best")
        readings.set_title("Mean reading while writing")
        readings.set_xlabel("steering strength")
        readings.set_ylabel("reading (0 = neutral, push removed)")
        rates.set_title("Checks fired (share of runs)")
        rates.set_xlabel("steering strength")
        rates.set_ylim(-0.05, 1.05)
        self.finish()
