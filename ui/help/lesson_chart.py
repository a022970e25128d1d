"""The plot behind a lesson's verdict: for a causal lesson, the check's rate in each of the four
conditions with its 95% interval; for a reading lesson, the mean reading at each model turn in the
claimed variant and its control."""
from __future__ import annotations

from typing import Any

from matplotlib.ticker import MaxNLocator
from PySide6.QtWidgets import QWidget

from ui.widgets.charts import Chart

COLORS = {"unsteered": "#777777", "+s": "#d95f02", "-s": "#1b9e77", "random +s": "#7570b3"}


class LessonChart(Chart):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, size=(5, 2.2))
        self.ax = self.figure.add_subplot()
        self.result: dict[str, Any] | None = None
        self.redraw()

    def show_result(self, result: dict[str, Any] | None) -> None:
        self.result = result
        self.request_redraw()

    def redraw(self) -> None:
        ax, result = self.ax, self.result
        ax.clear()
        if result and result.get("rates"):
            self._rates(result)
        elif result and result.get("per_turn"):
            self._turns(result)
        else:
            ax.set_title("Not measured on this model yet")
        self.finish()

    def _rates(self, result: dict[str, Any]) -> None:
        ax = self.ax
        names = list(result["rates"])
        for x, name in enumerate(names):
            rate = result["rates"][name]
            if rate.get("value") is None:
                continue
            value, low, high = rate["value"], rate.get("low") or rate["value"], rate.get("high") or rate["value"]
            ax.bar(x, value, color=COLORS.get(name, "#999999"), width=0.6)
            ax.errorbar(x, value, yerr=[[value - low], [high - value]], color="#222222", capsize=4, linewidth=1)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels([f"{n}\n({result['rates'][n].get('n', 0)} runs)" for n in names])
        ax.set_ylim(0, 1)
        ax.set_ylabel("share of runs")
        ax.set_title(f"\"{result.get('check')}\" with {result.get('emotion')} steered at s = {result.get('strength')}")

    def _turns(self, result: dict[str, Any]) -> None:
        ax = self.ax
        for name, values in result["per_turn"].items():
            xs = list(range(1, len(values) + 1))
            ax.plot(xs, [v if v is not None else float("nan") for v in values], marker="o", label=name, linewidth=1.4)
        ax.axhline(0, color="#888888", linewidth=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # replies are counted: 1, 2, 3, never 1.25
        ax.set_xlabel("model reply")
        ax.set_ylabel(f"{result.get('emotion')} reading (mean over seeds)")
        ax.legend(fontsize="x-small", loc="best")
