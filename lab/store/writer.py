"""The one thread that writes to a lab file. It owns its own connection; callers only enqueue.

Rows queued with `append` are written in batches, committed at most `flush_seconds` after the
first of them arrived; any job (`call`, `post`) first commits the rows queued before it.
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

from sqlite_utils import Database

from lab.common.errors import LabError

T = TypeVar("T")
Job = Callable[[Database], Any]
_STOP = object()


class _Job(NamedTuple):
    run: Job
    done: Future[Any] | None


@contextmanager
def immediate_transaction(db: Database) -> Iterator[None]:
    """BEGIN IMMEDIATE: take the write lock up front, so ids read inside stay ours until COMMIT."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.rollback()
        raise
    db.execute("COMMIT")


class Writer:
    """Runs every write of one store on a background thread, batching appended rows."""

    def __init__(
        self,
        connect: Callable[[], Database],
        write_rows: Callable[[Database, list[Any]], None],
        flush_seconds: float,
    ) -> None:
        self._write_rows = write_rows
        self._flush_seconds = flush_seconds
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._pending: list[Any] = []
        self._failure: BaseException | None = None
        ready: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(connect, ready), name="lab-store-writer", daemon=True
        )
        self._thread.start()
        ready.result()

    def append(self, row: Any) -> None:
        """Queue one row for the next batch; cheap, never waits for the disk."""
        self._raise_if_failed()
        self._queue.put(row)

    def post(self, job: Job) -> None:
        """Queue a job to run in its own transaction without waiting for it."""
        self._raise_if_failed()
        self._queue.put(_Job(job, None))

    def call(self, job: Callable[[Database], T]) -> T:
        """Run a job in its own transaction and return its result (or raise its error)."""
        self._raise_if_closed()
        done: Future[T] = Future()
        self._queue.put(_Job(job, done))
        return done.result()

    @property
    def failed(self) -> bool:
        """True once a batch or posted job failed; appended rows are dropped from then on."""
        return self._failure is not None

    def close(self) -> None:
        """Write everything queued, then stop the thread and close its connection."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _raise_if_failed(self) -> None:
        if self._failure is not None:
            raise LabError(
                f"Recording stopped: writing to the lab file failed ({self._failure}). The most "
                "recent tokens were not saved. Free disk space or choose another file with --db PATH."
            )
        self._raise_if_closed()

    def _raise_if_closed(self) -> None:
        if not self._thread.is_alive():
            raise LabError("This lab file is closed; open it again to record.")

    def _run(self, connect: Callable[[], Database], ready: Future[None]) -> None:
        try:
            db = connect()
        except BaseException as error:
            ready.set_exception(error)
            return
        ready.set_result(None)
        deadline = 0.0
        try:
            while True:
                timeout = max(0.0, deadline - time.monotonic()) if self._pending else None
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    self._flush(db)
                    continue
                if item is _STOP:
                    self._flush(db)
                    return
                if isinstance(item, _Job):
                    self._flush(db)
                    self._run_job(db, item)
                else:
                    if not self._pending:
                        deadline = time.monotonic() + self._flush_seconds
                    self._pending.append(item)
                if self._pending and time.monotonic() >= deadline:
                    self._flush(db)
        finally:
            db.close()

    def _flush(self, db: Database) -> None:
        rows, self._pending = self._pending, []
        if rows and self._failure is None:
            try:
                with immediate_transaction(db):
                    self._write_rows(db, rows)
            except Exception as error:
                self._failure = error

    def _run_job(self, db: Database, job: _Job) -> None:
        try:
            with immediate_transaction(db):
                result = job.run(db)
        except Exception as error:
            if job.done is None:
                self._failure = self._failure or error
            else:
                job.done.set_exception(error)
            return
        if job.done is not None:
            job.done.set_result(result)
