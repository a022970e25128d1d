"""A tiny Qt-free protocol for long jobs: report progress, report status, honour cancellation.

The CLI implements it with tqdm; the desktop app implements it with Qt signals.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Protocol

from tqdm import tqdm

from lab.common.errors import LabError


class Cancelled(LabError):
    """Raised inside a long job when the user asked it to stop."""

    def __init__(self) -> None:
        super().__init__("Stopped by the user.")


class Progress(Protocol):
    def set_progress(self, done: int, total: int) -> None: ...
    def set_status(self, text: str) -> None: ...
    def cancelled(self) -> bool: ...


class SilentProgress:
    """Progress that reports nothing and is never cancelled."""

    def set_progress(self, done: int, total: int) -> None:
        pass

    def set_status(self, text: str) -> None:
        pass

    def cancelled(self) -> bool:
        return False


class TerminalProgress:
    """A tqdm bar on stderr; one bar per status."""

    def __init__(self) -> None:
        self._bar: tqdm | None = None
        self._status = ""

    def set_status(self, text: str) -> None:
        self._close()
        self._status = text

    def set_progress(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = tqdm(total=total, desc=self._status, leave=False, unit="step")
        self._bar.total = total
        self._bar.n = done
        self._bar.refresh()
        if done >= total:
            self._close()

    def cancelled(self) -> bool:
        return False

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def check_cancelled(progress: Progress) -> None:
    if progress.cancelled():
        raise Cancelled()


def size_text(size: float) -> str:
    """Bytes as people read them: 820 KB, 12.4 MB, 3.4 GB (decimal units, as the hub shows sizes)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{int(size)} bytes"


def duration_text(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class TransferMeter:
    """Bytes done of a known total, with the speed over the last WINDOW_S seconds and the time left.

    `report(progress)` shows it through any Progress: the bar in MiB (Qt's progress ints are 32-bit)
    and the status line with speed and time left, at most every `every_s` seconds."""

    WINDOW_S = 5.0

    def __init__(self, title: str, total: int, done: int = 0, clock=time.monotonic, every_s: float = 0.5) -> None:
        self.title, self.total, self.done = title, total, done
        self._clock, self._every = clock, every_s
        self._samples: deque[tuple[float, int]] = deque([(clock(), done)])
        self._shown = -every_s

    def add(self, count: int) -> None:
        self.done += count
        now = self._clock()
        self._samples.append((now, self.done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.WINDOW_S:
            self._samples.popleft()

    def speed(self) -> float | None:
        """Bytes per second over the last few seconds; None before there is anything to measure."""
        (start, first), (end, last) = self._samples[0], self._samples[-1]
        return (last - first) / (end - start) if end - start > 0.2 and last > first else None

    def text(self) -> str:
        """'Downloading X: 1.2 GB of 3.4 GB, 12.3 MB/s, about 3 min left'."""
        line = f"{self.title}: {size_text(self.done)} of {size_text(self.total)}"
        speed = self.speed()
        if speed:
            line += f", {size_text(speed)}/s"
        if speed and self.done < self.total:
            line += f", about {duration_text((self.total - self.done) / speed)} left"
        return line

    def report(self, progress: Progress, force: bool = False) -> None:
        now = self._clock()
        if force or now - self._shown >= self._every:
            self._shown = now
            progress.set_status(self.text())
            progress.set_progress(self.done >> 20, max(self.total >> 20, 1))
