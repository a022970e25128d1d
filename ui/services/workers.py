"""Model work off the GUI thread: one long-lived QThread runs one job at a time.

A job's `work` runs in the worker thread and may stream items (token events) with `ctx.emit`.
The GUI thread drains them every BATCH_MS and hands each batch to `on_items`; `on_done` and
`on_finally` also run in the GUI thread. So only the GUI thread ever touches widgets, and the
GUI thread never waits for the model.
"""
from __future__ import annotations

import os
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from lab.common.progress import Cancelled
from ui.services.errors import ErrorFunnel, details_of

BATCH_MS = 30
WORKER_NICE = 5


def _ignore(*_: object) -> None:
    pass


def lower_thread_priority() -> None:
    """Called in the worker thread: let the GUI thread win the CPU (and so the GIL) when both want it.
    Linux honours a per-thread nice value; elsewhere QThread.LowPriority does the job."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICE)
        except OSError:
            pass


def leave_core_for_gui() -> None:
    """Keep one CPU core free for the GUI thread: an oversubscribed torch thread pool makes
    generation many times slower and the window stutter."""
    torch.set_num_threads(max(1, min(torch.get_num_threads(), (os.cpu_count() or 2) - 1)))


@dataclass
class Job:
    """One piece of model work. `doing` completes 'Something went wrong while ...'."""

    doing: str
    work: Callable[[JobContext], Any]
    on_items: Callable[[list], None] = _ignore
    on_done: Callable[[Any], None] = _ignore
    on_finally: Callable[[], None] = _ignore
    cancellable: bool = True
    steps: int | None = None  # known amount of work (a determinate progress bar); None: unknown


@dataclass
class JobContext:
    """What `work` sees: the lab Progress protocol, a stop Event and a stream for items."""

    worker: _Worker
    stop: threading.Event = field(default_factory=threading.Event)
    items: deque = field(default_factory=deque)

    def set_progress(self, done: int, total: int) -> None:
        self.worker.progress.emit(done, total)

    def set_status(self, text: str) -> None:
        self.worker.status.emit(text)

    def cancelled(self) -> bool:
        return self.stop.is_set()

    def emit(self, item: object) -> None:
        """Queue an item for the GUI thread (thread-safe, never blocks)."""
        self.items.append(item)


class _Worker(QObject):
    """Lives in the worker thread and runs jobs."""

    progress = Signal(int, int)
    status = Signal(str)
    finished = Signal(object, object, object, str)  # job, result, error, details

    @Slot()
    def lower_priority(self) -> None:
        lower_thread_priority()

    @Slot(object, object)
    def run(self, job: Job, ctx: JobContext) -> None:
        try:
            result = job.work(ctx)
        except BaseException as error:  # every failure goes to the GUI thread's error funnel
            self.finished.emit(job, None, error, details_of(error))
            return
        self.finished.emit(job, result, None, "")


class ModelRunner(QObject):
    """Owns the worker thread; the GUI thread starts, stops and shuts down jobs through it."""

    busy_changed = Signal(bool)
    progress = Signal(int, int)
    status = Signal(str)
    _submit = Signal(object, object)

    def __init__(self, errors: ErrorFunnel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        leave_core_for_gui()
        self._errors = errors
        self._thread = QThread()
        self._thread.setObjectName("emotion-lab-model")
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.lower_priority)
        self._submit.connect(self._worker.run)
        self._worker.finished.connect(self._finished)
        self._worker.progress.connect(self.progress)
        self._worker.status.connect(self.status)
        self._drain = QTimer(self, interval=BATCH_MS)
        self._drain.timeout.connect(self._deliver)
        self._job: Job | None = None
        self._ctx: JobContext | None = None
        self.last_stopped = False  # whether the job that ended last was stopped (Stop or Esc)
        self._thread.start(QThread.Priority.LowPriority)

    @property
    def busy(self) -> bool:
        return self._job is not None

    @property
    def cancellable(self) -> bool:
        return self._job is not None and self._job.cancellable

    def start(self, job: Job) -> bool:
        """Run `job` unless another one is running (then report it and return False)."""
        if self._job is not None:
            self._errors.report(f"Please wait: the model is busy {self._job.doing}. Press Stop to end that first.")
            return False
        self._job, self._ctx = job, JobContext(self._worker)
        self._drain.start()
        self.status.emit(f"{job.doing[0].upper()}{job.doing[1:]}…")
        self.busy_changed.emit(True)
        self.progress.emit(0, job.steps if job.steps is not None else 0)
        self._submit.emit(job, self._ctx)
        return True

    def stop(self) -> None:
        """Ask the running job to stop (generation stops before its next token)."""
        if self._ctx is not None:
            self._ctx.stop.set()

    def shutdown(self) -> None:
        """Stop the running job, wait for it, and end the thread (used when the window closes)."""
        self.stop()
        self._thread.quit()
        self._thread.wait()
        self._drain.stop()

    def _deliver(self) -> None:
        if self._job is None or self._ctx is None or not self._ctx.items:
            return
        items = self._ctx.items
        batch = [items.popleft() for _ in range(len(items))]
        self._guarded(self._job, self._job.on_items, batch)

    @Slot(object, object, object, str)
    def _finished(self, job: Job, result: Any, error: BaseException | None, details: str) -> None:
        self._deliver()
        self._drain.stop()
        stopped = self._ctx is not None and self._ctx.stop.is_set()
        self.last_stopped = stopped
        self._job, self._ctx = None, None
        if error is None:
            self.status.emit("Stopped." if stopped else "Done.")
            self._guarded(job, job.on_done, result)
        elif isinstance(error, Cancelled):
            self.status.emit("Stopped.")
        else:
            self._errors.report(error, job.doing, details)
        self._guarded(job, job.on_finally)
        self.busy_changed.emit(False)

    def _guarded(self, job: Job, callback: Callable[..., None], *args: Any) -> None:
        """Run a GUI-side job callback; a failure in it is reported, never lost."""
        try:
            callback(*args)
        except Exception as error:
            self._errors.report(error, job.doing)
