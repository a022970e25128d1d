"""The session list as people read it: the runs of one experiment (e.g. a sweep) kept together
under it, and a session's status saying when answers were cut off."""
from __future__ import annotations

from lab.store.records import SessionSummary


def group_by_experiment(sessions: list[SessionSummary]) -> list[SessionSummary]:
    """`sessions` (newest first) with each experiment's runs moved up to its newest run, in order."""
    runs: dict[int, list[SessionSummary]] = {}
    for s in sessions:
        if s.experiment is not None:
            runs.setdefault(s.experiment, []).append(s)
    grouped: list[SessionSummary] = []
    for s in sessions:
        if s.experiment is None:
            grouped.append(s)
        elif runs[s.experiment][0] is s:
            grouped += runs[s.experiment]
    return grouped


def experiment_label(s: SessionSummary) -> str:
    """'#3 Sweep: Tiny run (happy)' for a run of experiment 3; '' for a session of its own."""
    if s.experiment is None:
        return ""
    return f"#{s.experiment} {s.experiment_title}" if s.experiment_title else f"#{s.experiment}"


def status_text(status: str, stopped: int) -> str:
    """A session's status with how many of its answers were cut off: 'complete, 1 answer stopped'."""
    return f"{status}, {stopped} answer{'s' if stopped != 1 else ''} stopped" if stopped else status
