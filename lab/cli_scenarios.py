"""Scenario and sweep commands for the CLI (`run`, `sweep`)."""
from __future__ import annotations

import argparse


def add_scenario_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Register the scenario commands on the main parser's subcommands."""
