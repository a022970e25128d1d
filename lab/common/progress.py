"""A tiny Qt-free protocol for long jobs: report progress, report status, honour cancellation.

The CLI implements it with tqdm; the desktop app implements it with Qt signals.
"""
from __future__ import annotations

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
