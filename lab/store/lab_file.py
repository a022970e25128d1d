"""The session store: one SQLite file per lab holding models, direction sets and every session.

    store = open_store("sessions/lab.db")
    with store.start_session("joy test", model_id, directions_id, sampling, app_version="0.1") as rec:
        rec.begin_turn("user", "Tell me a story")
        rec.add_token(event)  # cheap: queued for the writer thread
        rec.end_turn()
    record = store.load_session(rec.session_id)

All writes run on one writer thread with its own connection (WAL mode, batches committed within
FLUSH_SECONDS and at every turn end); reads use a separate read-only connection, so a browser,
Datasette or a plot can read while a session records.
"""
from __future__ import annotations

import atexit
import json
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lab.common.errors import LabError
from lab.common.paths import default_db_path
from lab.common.events import SamplingSettings
from lab.store import experiments
from lab.store.connection import open_writer
from lab.store.experiments import ExperimentRecord, ExperimentRun, ExperimentSummary, TurnCheck
from lab.store.files import (
    check_existing, check_writable, connect_read_only, disk_fault, disk_fault_error, folder_writable, in_use, is_locked, network_filesystem,
    refuse_network,
)
from lab.store.queries import select_session, select_sessions
from lab.store.records import DirectionsInfo, ModelInfo, SessionRecord, SessionSummary
from lab.store.recorder import SessionRecorder
from lab.store.rows import write_rows
from lab.store.write_jobs import (
    delete_session, import_session, now, register_directions, register_model, sampling_columns,
)
from lab.store.writer import Writer

__all__ = ["SessionRecorder", "SessionStore", "open_store"]

FLUSH_SECONDS = 0.5


def open_store(path: str | Path | None = None, *, wal: bool = True, read_only: bool = False) -> SessionStore:
    """Open (or create) a lab file; the default is paths.default_db_path().

    Raises LabError, leaving the file untouched, for a network folder (unless wal=False), a
    read-only location (unless read_only=True), a damaged or foreign file, or a newer schema.
    """
    path = Path(path).expanduser() if path is not None else default_db_path()
    fs_type = network_filesystem(path)
    if fs_type and wal and not read_only:
        raise refuse_network(path, fs_type)
    if path.exists():
        check_existing(path)
    if read_only:
        if not path.exists() or path.stat().st_size == 0:
            raise LabError(f"{path} holds no sessions yet. Record one first, or check the --db path.")
    else:
        check_writable(path)
    try:
        return SessionStore(path, wal=wal, read_only=read_only)
    except sqlite3.Error as error:
        if is_locked(error):
            raise in_use(path) from error
        if disk_fault(error):
            raise disk_fault_error(path, error) from error
        raise LabError(
            f"Cannot open {path} ({error}). If another program is using it, close that program and "
            "try again; otherwise choose another file with --db PATH."
        ) from error


class SessionStore:
    """A lab file. Safe to use from several threads; create it with open_store()."""

    def __init__(self, path: Path, *, wal: bool, read_only: bool) -> None:
        self.path = path
        self.read_only = read_only
        self._recorders: set[SessionRecorder] = set()
        self._writer = None if read_only else Writer(lambda: open_writer(path, wal), write_rows, FLUSH_SECONDS)
        try:
            self._reader = connect_read_only(path, immutable=not folder_writable(path))
        except sqlite3.Error:
            if self._writer is not None:
                self._writer.close()
            raise
        self._reader.row_factory = sqlite3.Row
        self._read_lock = threading.Lock()
        self._closed = False
        atexit.register(self.close)

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Mark sessions still recording as interrupted, write everything queued, close the file."""
        if self._closed:
            return
        self._closed = True
        for recorder in list(self._recorders):
            try:
                recorder.finish(interrupted=True)
            except LabError:
                pass
        with self._read_lock:
            self._reader.close()
        if self._writer is not None:
            self._writer.close()  # the last connection to close folds the WAL back into the file
        atexit.unregister(self.close)

    # --- writing -------------------------------------------------------------------------------

    def register_model(self, spec: str, identity: str, family: str, depth: int, width: int) -> int:
        """The id of the model with this identity hash, added on first use."""
        model = ModelInfo(spec, identity, family, depth, width)
        return self._write().call(lambda db: register_model(db, model))

    def register_directions(
        self, model_id: int, method: str, layers: tuple[int, ...] | list[int], data_hash: str,
        reading_layer: int, calibration: Mapping[str, Any], emotions: list[str] | tuple[str, ...],
    ) -> int:
        """The id of this direction set for this model, added on first use."""
        info = DirectionsInfo(method, tuple(layers), data_hash, reading_layer, dict(calibration), tuple(emotions))
        return self._write().call(lambda db: register_directions(db, model_id, info))

    def start_session(
        self, title: str, model_id: int, directions_id: int | None, sampling: SamplingSettings, *,
        scenario: Mapping[str, Any] | None = None, notes: str = "", app_version: str,
        runtime: Mapping[str, str] | None = None,
    ) -> SessionRecorder:
        """Create a session with status "recording" and return its recorder (`runtime`: device, dtype, ...)."""
        row = {
            "title": title, "created": now(), "status": "recording", "model": model_id,
            "direction_set": directions_id, "app_version": app_version,
            "scenario": None if scenario is None else json.dumps(scenario), "notes": notes,
            **sampling_columns(sampling), "recorder_host": socket.gethostname(), "recorder_pid": os.getpid(),
            "runtime": json.dumps(dict(runtime or {})),
        }
        writer = self._write()
        session_id = writer.call(lambda db: db["sessions"].insert(row).last_pk)
        recorder = SessionRecorder(writer, session_id, self._recorders.discard)
        self._recorders.add(recorder)
        return recorder

    def delete_session(self, session_id: int) -> None:
        """Delete a session and everything recorded in it (not its model or direction set)."""
        self._write().call(lambda db: delete_session(db, session_id))

    def import_session(self, record: SessionRecord) -> int:
        """Add a session read from elsewhere (e.g. a JSON export) in one transaction; its new id."""
        return self._write().call(lambda db: import_session(db, record))

    def add_label(self, session_id: int, turn: int, label: str) -> None:
        """Label a turn by hand (e.g. "threatens"); recorded beside the scenario's check results."""
        label = label.strip()
        if not label:
            raise LabError("A label needs some text.")
        self._write().call(lambda db: experiments.insert_checks(db, session_id, turn, [label], "label"))

    def remove_label(self, session_id: int, turn: int, label: str) -> None:
        self._write().call(lambda db: experiments.delete_label(db, session_id, turn, label))

    def create_experiment(self, title: str, settings: Mapping[str, Any]) -> int:
        """A new experiment (a group of sessions, e.g. one sweep); its id."""
        return self._write().call(lambda db: experiments.insert_experiment(db, title, now(), settings))

    def add_experiment_run(self, experiment_id: int, run: ExperimentRun) -> None:
        self._write().call(lambda db: experiments.insert_run(db, experiment_id, run))

    def _write(self) -> Writer:
        if self._writer is None:
            raise LabError(f"{self.path} was opened read-only; open it without --read-only to record.")
        return self._writer

    # --- reading -------------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot of the file, even while the writer commits."""
        with self._read_lock:
            try:
                self._reader.execute("BEGIN")
                try:
                    yield self._reader
                finally:
                    self._reader.rollback()
            except sqlite3.DatabaseError as error:
                if is_locked(error):
                    raise in_use(self.path) from error
                raise LabError(f"Reading {self.path} failed ({error}). Check the file with --db PATH.") from error

    def list_sessions(self, search: str | None = None) -> list[SessionSummary]:
        """Sessions newest first, optionally only those whose title or notes contain `search`."""
        with self._read() as c:
            return select_sessions(c, search)

    def load_session(self, session_id: int, *, raw: bool = False) -> SessionRecord:
        """The exact transcript, per-token readings and steering timeline of a session.
        raw=True also loads the recorded residual vectors."""
        with self._read() as c:
            return select_session(c, self.path, session_id, raw=raw)

    def load_checks(self, session_id: int) -> list[TurnCheck]:
        """Check results and labels of a session's turns, in turn order."""
        with self._read() as c:
            return experiments.select_checks(c, session_id)

    def list_experiments(self) -> list[ExperimentSummary]:
        """Experiments newest first."""
        with self._read() as c:
            return experiments.select_experiments(c)

    def load_experiment(self, experiment_id: int) -> ExperimentRecord:
        with self._read() as c:
            return experiments.select_experiment(c, experiment_id)
