"""Time estimates for long jobs (the model loading at start): 'about 20 s left' once a job has run 2 s.

A step with counted progress is extrapolated from its own pace; a step without (converting the
model, loading it) uses its typical duration on a 2-core machine.
"""
from __future__ import annotations

import time

SHOW_AFTER_S = 2.0
TYPICAL_S = {  # status text (prefix) -> seconds on 2 CPU cores (docs/performance.md)
    "Converting model": 40.0,
    "Loading model": 3.0,
    "Checking model file": 1.0,
}


class TimeLeft:
    """Follows one job's status and progress; `text()` is the status with the time left."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self.started = clock()
        self.status = ""
        self._step_started = self.started
        self._done, self._total = 0, 0

    def set_status(self, status: str) -> None:
        self.status = status.rstrip("…. ")
        self._step_started = self._clock()
        self._done, self._total = 0, 0

    def set_progress(self, done: int, total: int) -> None:
        self._done, self._total = done, total

    def seconds_left(self) -> float | None:
        now = self._clock()
        spent = now - self._step_started
        if self._total > 0 and self._done > 0:
            return spent * (self._total - self._done) / self._done
        typical = next((s for prefix, s in TYPICAL_S.items() if self.status.startswith(prefix)), None)
        return None if typical is None else max(typical - spent, 1.0)

    def text(self) -> str:
        """The status, with 'about N s left' after SHOW_AFTER_S (or the time spent when unknown)."""
        elapsed = self._clock() - self.started
        if self.status.endswith(" left"):  # the step keeps its own estimate (a download's speed and time left)
            return self.status
        if elapsed < SHOW_AFTER_S:
            return f"{self.status}…"
        left = self.seconds_left()
        if left is None:
            return f"{self.status}… ({elapsed:.0f} s so far)"
        return f"{self.status}… about {_round(left)} left"


def _round(seconds: float) -> str:
    if seconds < 10:
        return f"{max(1, round(seconds))} s"
    if seconds < 90:
        return f"{round(seconds / 5) * 5} s"
    return f"{round(seconds / 60)} min"
