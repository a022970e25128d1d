"""Shared helpers for the Scenarios and Experiments tabs: where scenarios live, listing them,
and a small per-turn chart of reply-start readings."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QWidget

from lab.common.errors import LabError
from lab.scenarios.runner import TurnResult
from lab.common.paths import user_data_dir
from lab.scenarios.files import builtin_scenarios, load_scenario
from ui.widgets.charts import Chart
from lab.common.palette import emotion_color, emotion_dash


def user_scenarios_dir() -> Path:
    path = user_data_dir() / "scenarios"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class ScenarioEntry:
    label: str
    path: Path
    builtin: bool


def list_scenarios() -> list[ScenarioEntry]:
    """Built-in scenarios, then the user's (titles read from the files where they load)."""
    entries = [ScenarioEntry(f"{b.title} (built-in)", b.path, True) for b in builtin_scenarios()]
    for path in sorted(user_scenarios_dir().glob("*.y*ml")):
        try:
            title = load_scenario(path).title
        except LabError:
            title = f"{path.stem} (has problems)"
        entries.append(ScenarioEntry(title, path, False))
    return entries


class TurnChart(Chart):
    """Each chosen emotion's reading where each model reply begins, across the scenario's turns."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, size=(5, 2.2))
        self.ax = self.figure.add_subplot()
        self.emotions: list[str] = []
        self.all_emotions: list[str] = []
        self.replies: list[TurnResult] = []
        self.redraw()

    def set_emotions(self, all_emotions: list[str], shown: list[str]) -> None:
        self.all_emotions, self.emotions = list(all_emotions), [e for e in all_emotions if e in shown]
        self.request_redraw()

    def set_turns(self, turns: list[TurnResult]) -> None:
        self.replies = [t for t in turns if t.generated]
        self.request_redraw()

    def redraw(self) -> None:
        ax = self.ax
        ax.clear()
        xs = list(range(1, len(self.replies) + 1))
        for name in self.emotions:
            ys = [t.reply_start_readings.get(name, math.nan) for t in self.replies]
            ax.plot(xs, ys, emotion_dash(name, self.all_emotions), marker="o", color=emotion_color(name, self.all_emotions),
                    label=name, linewidth=1.4)
        ax.axhline(0, color="#888888", linewidth=0.8)
        ax.set_xlabel("model reply")
        ax.set_ylabel("reading as the reply starts (0 = neutral)")
        if xs:
            ax.set_xticks(xs)
        if self.emotions and self.replies:
            ax.legend(fontsize="x-small", loc="best")
        self.finish()
