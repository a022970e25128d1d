"""File operations of the scenario builder: new, duplicate and save into the user's scenarios folder."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from lab.common.atomic import write_text
from lab.scenarios.files import save_scenario
from lab.scenarios.scenario import Scenario
from ui.widgets.scenario_list import user_scenarios_dir

NEW_SCENARIO = """title: My scenario
description: What happens in this scenario.
lesson: What to look for in the readings.
system: You are a helpful assistant.
steps:
  - user: Hello! How are you today?
  - model: {max_tokens: 40}
checks:
  - name: says hello
    any: [hello, hi]
"""


def free_path(stem: str) -> Path:
    """A file name in the user's scenarios folder that is not taken: stem.yaml, stem-2.yaml, …"""
    folder = user_scenarios_dir()
    path, n = folder / f"{stem}.yaml", 2
    while path.exists():
        path, n = folder / f"{stem}-{n}.yaml", n + 1
    return path


def write_new_scenario() -> Path:
    """A new scenario file from the template; LabError if it cannot be written."""
    path = free_path("my-scenario")
    write_text(path, NEW_SCENARIO)
    return path


def write_copy(scenario: Scenario, source: Path | None) -> Path:
    """An editable copy of `scenario` (titled '… (copy)') in the user's folder; LabError on failure."""
    path = free_path((source.stem if source else "scenario") + "-copy")
    save_scenario(replace(scenario, title=f"{scenario.title} (copy)"), path)
    return path
