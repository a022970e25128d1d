"""Adds the Scenarios and Experiments tabs to the main window (kept here so main_window stays small)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ui.tabs.experiments.experiments import ExperimentsTab
from ui.tabs.scenarios.scenario_builder import ScenarioBuilderTab

if TYPE_CHECKING:
    from ui.shell.main_window import MainWindow


def add_scenario_tabs(window: MainWindow) -> None:
    """window.scenarios and window.experiments, after the existing tabs."""

    def open_session(session_id: int) -> None:
        window.tabs.setCurrentWidget(window.sessions)  # refreshes the list first
        window.sessions.open_session(session_id)

    window.scenarios = ScenarioBuilderTab(window.state, window.runner, window.recorder, window.errors,
                                          plotted=lambda: window.emotions.plotted())
    window.experiments = ExperimentsTab(window.state, window.runner, window.recorder, window.errors,
                                        open_session=open_session)
    window.tabs.addTab(window.scenarios, "Scenarios")
    window.tabs.addTab(window.experiments, "Experiments")
