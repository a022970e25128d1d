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
import hashlib
import json
import math
import os
import socket
import sqlite3
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from sqlite_utils import Database

from lab.common.errors import LabError
from lab.runtime.events import SamplingSettings, SteeringChange, TokenEvent
from lab.common.paths import default_db_path
from lab.store.records import (
    DirectionsInfo, ModelInfo, SessionRecord, SessionSummary, SteeringRecord, TokenRecord, TurnRecord,
)
from lab.store import experiments
from lab.store.experiments import ExperimentRecord, ExperimentRun, ExperimentSummary, TurnCheck
from lab.store.files import (
    check_existing, check_writable, connect_read_only, folder_writable, network_filesystem, refuse_network,
)
from lab.store.schema import MIGRATIONS
from lab.store.writer import Writer, immediate_transaction

FLUSH_SECONDS = 0.5
PAGE_SIZE = 16384  # fits 7 residual rows (576 float32) per page; 4096 would fit only one
RAW_DTYPE = "float32"  # stored little-endian
Blob = tuple[bytes, tuple[int, ...]]


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
        raise LabError(
            f"Cannot open {path} ({error}). If another program is using it, close that program and "
            "try again; otherwise choose another file with --db PATH."
        ) from error


class _TokenRow(NamedTuple):
    session: int
    turn: int
    event: TokenEvent
    raw: dict[int, Blob] | None


class _SteeringRow(NamedTuple):
    session: int
    turn: int | None
    row: int
    change: SteeringChange


class SessionStore:
    """A lab file. Safe to use from several threads; create it with open_store()."""

    def __init__(self, path: Path, *, wal: bool, read_only: bool) -> None:
        self.path = path
        self.read_only = read_only
        self._recorders: set[SessionRecorder] = set()
        self._writer = None if read_only else Writer(lambda: _open_writer(path, wal), _write_rows, FLUSH_SECONDS)
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
        return self._write().call(lambda db: _register_model(db, model))

    def register_directions(
        self, model_id: int, method: str, layers: tuple[int, ...] | list[int], data_hash: str,
        reading_layer: int, calibration: Mapping[str, Any], emotions: list[str] | tuple[str, ...],
    ) -> int:
        """The id of this direction set for this model, added on first use."""
        info = DirectionsInfo(method, tuple(layers), data_hash, reading_layer, dict(calibration), tuple(emotions))
        return self._write().call(lambda db: _register_directions(db, model_id, info))

    def start_session(
        self, title: str, model_id: int, directions_id: int | None, sampling: SamplingSettings, *,
        scenario: Mapping[str, Any] | None = None, notes: str = "", app_version: str,
    ) -> SessionRecorder:
        """Create a session with status "recording" and return its recorder."""
        row = {
            "title": title, "created": _now(), "status": "recording", "model": model_id,
            "direction_set": directions_id, "app_version": app_version,
            "scenario": None if scenario is None else json.dumps(scenario), "notes": notes,
            **_sampling_columns(sampling), "recorder_host": socket.gethostname(), "recorder_pid": os.getpid(),
        }
        writer = self._write()
        session_id = writer.call(lambda db: db["sessions"].insert(row).last_pk)
        recorder = SessionRecorder(self, writer, session_id)
        self._recorders.add(recorder)
        return recorder

    def delete_session(self, session_id: int) -> None:
        """Delete a session and everything recorded in it (not its model or direction set)."""
        self._write().call(lambda db: _delete_session(db, session_id))

    def import_session(self, record: SessionRecord) -> int:
        """Add a session read from elsewhere (e.g. a JSON export) in one transaction; its new id."""
        return self._write().call(lambda db: _import_session(db, record))

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
        return self._write().call(lambda db: experiments.insert_experiment(db, title, _now(), settings))

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
                raise LabError(f"Reading {self.path} failed ({error}). Check the file with --db PATH.") from error

    def list_sessions(self, search: str | None = None) -> list[SessionSummary]:
        """Sessions newest first, optionally only those whose title or notes contain `search`."""
        pattern = "%" + (search or "").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._read() as c:
            rows = c.execute(
                """SELECT s.id, s.title, s.created, s.status, m.spec,
                          (SELECT count(*) FROM turns WHERE session = s.id) AS turns,
                          (SELECT count(*) FROM tokens WHERE session = s.id) AS tokens
                   FROM sessions s JOIN models m ON m.id = s.model
                   WHERE s.title LIKE :p ESCAPE '\\' OR s.notes LIKE :p ESCAPE '\\'
                   ORDER BY s.created DESC, s.id DESC""",
                {"p": pattern},
            ).fetchall()
        return [SessionSummary(*row) for row in rows]

    def load_session(self, session_id: int, *, raw: bool = False) -> SessionRecord:
        """The exact transcript, per-token readings and steering timeline of a session.
        raw=True also loads the recorded residual vectors."""
        with self._read() as c:
            s = c.execute(
                """SELECT s.*, m.spec, m.identity_hash, m.family, m.depth, m.width,
                          d.method, d.layers, d.data_hash, d.reading_layer, d.calibration, d.emotions
                   FROM sessions s JOIN models m ON m.id = s.model
                   LEFT JOIN direction_sets d ON d.id = s.direction_set WHERE s.id = ?""",
                [session_id],
            ).fetchone()
            if s is None:
                raise LabError(f"There is no session {session_id} in {self.path}. List the sessions to see their numbers.")
            turn_rows = c.execute(
                "SELECT id, turn_index, role, text FROM turns WHERE session = ? ORDER BY turn_index", [session_id]
            ).fetchall()
            token_rows = c.execute(
                """SELECT t.id, t.turn, t.batch_row, t.position, t.token_id, t.text, t.is_prompt,
                          t.strengths, r.calibrated
                   FROM tokens t LEFT JOIN readings r ON r.token = t.id WHERE t.session = ? ORDER BY t.id""",
                [session_id],
            ).fetchall()
            vectors: dict[int, dict[int, np.ndarray]] = {}
            if raw:
                for v in c.execute(
                    """SELECT token, layer, dtype, shape, vector FROM residuals
                       WHERE token IN (SELECT id FROM tokens WHERE session = ?) ORDER BY token, layer""",
                    [session_id],
                ):
                    array = np.frombuffer(v["vector"], dtype=np.dtype(v["dtype"]).newbyteorder("<"))
                    vectors.setdefault(v["token"], {})[v["layer"]] = array.reshape(json.loads(v["shape"]))
            steering_rows = c.execute(
                "SELECT * FROM steering_events WHERE session = ? ORDER BY id", [session_id]
            ).fetchall()
        turn_index = {t["id"]: t["turn_index"] for t in turn_rows}
        return SessionRecord(
            id=s["id"], title=s["title"], created=s["created"], ended=s["ended"], status=s["status"],
            app_version=s["app_version"], notes=s["notes"],
            scenario=None if s["scenario"] is None else json.loads(s["scenario"]),
            sampling=SamplingSettings(s["temperature"], s["top_p"], s["seed"], s["max_new_tokens"]),
            model=ModelInfo(s["spec"], s["identity_hash"], s["family"], s["depth"], s["width"]),
            directions=None if s["direction_set"] is None else DirectionsInfo(
                s["method"], tuple(json.loads(s["layers"])), s["data_hash"], s["reading_layer"],
                json.loads(s["calibration"]), tuple(json.loads(s["emotions"])),
            ),
            turns=[TurnRecord(t["turn_index"], t["role"], t["text"]) for t in turn_rows],
            tokens=[
                TokenRecord(turn_index[t["turn"]], TokenEvent(
                    row=t["batch_row"], position=t["position"], token_id=t["token_id"], text=t["text"],
                    is_prompt=bool(t["is_prompt"]), readings=_floats(t["calibrated"]),
                    strengths=_floats(t["strengths"]),
                ), vectors.get(t["id"], {}))
                for t in token_rows
            ],
            steering=[
                SteeringRecord(turn_index.get(e["turn"]), e["batch_row"], SteeringChange(
                    e["position"], _floats(e["strengths"]), tuple(json.loads(e["layers"]))))
                for e in steering_rows
            ],
        )


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


class SessionRecorder:
    """Records one session. A context manager: an exception inside marks the session interrupted.
    Use it from one thread (the generator's); every call only queues work for the writer thread,
    except begin_turn and finish, which wait for it."""

    def __init__(self, store: SessionStore, writer: Writer, session_id: int) -> None:
        self.session_id = session_id
        self._store = store
        self._writer = writer
        self._turn: tuple[int, int] | None = None  # (turn index, turn row id)
        self._turns = 0
        self._finished = False

    def __enter__(self) -> SessionRecorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.finish()
            return
        try:
            self.finish(interrupted=True)
        except LabError:
            pass  # the original exception matters more

    def begin_turn(self, role: str, text: str | None = None) -> int:
        """Start a turn (ending any open one); text None means it is known only at end_turn."""
        if self._turn is not None:
            self.end_turn()
        index, session_id = self._turns, self.session_id
        row = {"session": session_id, "turn_index": index, "role": role, "text": text}
        turn_row = self._writer.call(lambda db: db["turns"].insert(row).last_pk)
        self._turn, self._turns = (index, turn_row), index + 1
        return index

    def add_token(self, event: TokenEvent, raw: Mapping[int, Any] | None = None) -> None:
        """Queue one token with its readings; raw maps layer -> residual vector (stored float32)."""
        if self._turn is None:
            raise RuntimeError("begin_turn() must come before add_token()")
        blobs = {layer: _blob(vector) for layer, vector in raw.items()} if raw else None
        self._writer.append(_TokenRow(self.session_id, self._turn[1], event, blobs))

    def steering(self, change: SteeringChange, row: int = 0) -> None:
        """Queue a change of steering strengths from `change.position` on, for batch row `row`."""
        turn_row = None if self._turn is None else self._turn[1]
        self._writer.append(_SteeringRow(self.session_id, turn_row, row, change))

    def add_checks(self, names: list[str]) -> None:
        """Queue the names of the behaviour checks that fired on the open turn."""
        if self._turn is None:
            raise RuntimeError("begin_turn() must come before add_checks()")
        if names:
            index, session_id = self._turn[0], self.session_id
            self._writer.post(lambda db: experiments.insert_checks(db, session_id, index, names, "rule"))

    def end_turn(self, text: str | None = None) -> None:
        """Close the open turn, setting its final text unless None; commits everything queued."""
        if self._turn is None:
            raise RuntimeError("end_turn() without begin_turn()")
        turn_row, self._turn = self._turn[1], None
        if text is None:
            self._writer.post(lambda db: None)
        else:
            self._writer.post(lambda db: db["turns"].update(turn_row, {"text": text}))

    def finish(self, interrupted: bool = False) -> None:
        """End the session as complete (or interrupted) and wait until all of it is on disk."""
        if self._finished:
            return
        self._finished = True
        self._store._recorders.discard(self)
        try:
            if self._turn is not None:
                self.end_turn()
        finally:
            status = "interrupted" if interrupted or self._writer.failed else "complete"
            update = {"status": status, "ended": _now()}
            self._writer.call(lambda db: db["sessions"].update(self.session_id, update))


# --- writer-thread helpers ---------------------------------------------------------------------

def _open_writer(path: Path, wal: bool) -> Database:
    db = Database(sqlite3.connect(path), execute_plugins=False)
    try:
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # applies to new files only
        mode = db.execute(f"PRAGMA journal_mode = {'wal' if wal else 'delete'}").fetchone()[0]
        if wal and mode != "wal":
            raise LabError(f"{path} cannot use a write-ahead log here (journal mode {mode}). Open it with --no-wal.")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        with immediate_transaction(db):
            MIGRATIONS.apply(db)
            _mark_interrupted(db)
    except BaseException:
        db.close()
        raise
    return db


def _mark_interrupted(db: Database) -> None:
    """Sessions left "recording" by a process of this machine that no longer runs."""
    host = socket.gethostname()
    for session_id, recorder_host, pid in db.execute(
        "SELECT id, recorder_host, recorder_pid FROM sessions WHERE status = 'recording'"
    ).fetchall():
        if recorder_host == host and not _process_alive(pid):
            db.execute("UPDATE sessions SET status = 'interrupted' WHERE id = ?", [session_id])


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_rows(db: Database, rows: list[_TokenRow | _SteeringRow]) -> None:
    _insert_tokens(db, [r for r in rows if isinstance(r, _TokenRow)])
    _insert_steering(db, [r for r in rows if isinstance(r, _SteeringRow)])


def _insert_tokens(db: Database, rows: list[_TokenRow]) -> None:
    """Token ids are assigned here, inside the write lock, so readings and residuals can refer to them."""
    if not rows:
        return
    first_id = db.execute("SELECT coalesce(max(id), 0) + 1 FROM tokens").fetchone()[0]
    tokens: list[tuple] = [("id", "session", "turn", "batch_row", "position", "token_id", "text", "is_prompt", "strengths")]
    readings: list[tuple] = [("token", "calibrated")]
    residuals: list[tuple] = [("token", "layer", "dtype", "shape", "vector")]
    for token_id, (session, turn, e, raw) in enumerate(rows, start=first_id):
        strengths = _json_floats(e.strengths) if e.strengths else None
        tokens.append((token_id, session, turn, e.row, e.position, e.token_id, e.text, e.is_prompt, strengths))
        readings.append((token_id, _json_floats(e.readings)))
        for layer, (blob, shape) in (raw or {}).items():
            residuals.append((token_id, layer, RAW_DTYPE, json.dumps(list(shape)), blob))
    db["tokens"].insert_all(tokens)
    db["readings"].insert_all(readings)
    db["residuals"].insert_all(residuals)


def _insert_steering(db: Database, rows: list[_SteeringRow]) -> None:
    db["steering_events"].insert_all(
        {"session": r.session, "turn": r.turn, "batch_row": r.row, "position": r.change.position,
         "strengths": _json_floats(r.change.strengths), "layers": json.dumps(list(r.change.layers))}
        for r in rows
    )


def _register_model(db: Database, model: ModelInfo) -> int:
    found = db.execute("SELECT id FROM models WHERE identity_hash = ?", [model.identity]).fetchone()
    if found:
        return found[0]
    return db["models"].insert({
        "spec": model.spec, "identity_hash": model.identity, "family": model.family,
        "depth": model.depth, "width": model.width, "first_used": _now(),
    }).last_pk


def _register_directions(db: Database, model_id: int, info: DirectionsInfo) -> int:
    content = {
        "model": model_id, "method": info.method, "layers": json.dumps(list(info.layers)),
        "reading_layer": info.reading_layer, "data_hash": info.data_hash,
        "emotions": json.dumps(list(info.emotions)), "calibration": json.dumps(info.calibration, sort_keys=True),
    }
    fingerprint = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    found = db.execute("SELECT id FROM direction_sets WHERE fingerprint = ?", [fingerprint]).fetchone()
    if found:
        return found[0]
    return db["direction_sets"].insert({**content, "fingerprint": fingerprint, "first_used": _now()}).last_pk


def _delete_session(db: Database, session_id: int) -> None:
    found = db.execute("SELECT status FROM sessions WHERE id = ?", [session_id]).fetchone()
    if found is None:
        raise LabError(f"There is no session {session_id} to delete.")
    if found[0] == "recording":
        raise LabError(f"Session {session_id} is still recording; stop it before deleting it.")
    experiments.delete_session_rows(db, session_id)
    tokens = "(SELECT id FROM tokens WHERE session = ?)"
    db.execute(f"DELETE FROM residuals WHERE token IN {tokens}", [session_id])
    db.execute(f"DELETE FROM readings WHERE token IN {tokens}", [session_id])
    for table in ("tokens", "steering_events", "turns"):
        db.execute(f"DELETE FROM {table} WHERE session = ?", [session_id])
    db.execute("DELETE FROM sessions WHERE id = ?", [session_id])


def _import_session(db: Database, record: SessionRecord) -> int:
    model_id = _register_model(db, record.model)
    directions_id = None if record.directions is None else _register_directions(db, model_id, record.directions)
    session_id = db["sessions"].insert({
        "title": record.title, "created": record.created, "ended": record.ended,
        "status": "interrupted" if record.status == "recording" else record.status,
        "model": model_id, "direction_set": directions_id, "app_version": record.app_version,
        "scenario": None if record.scenario is None else json.dumps(record.scenario), "notes": record.notes,
        **_sampling_columns(record.sampling),
    }).last_pk
    turn_rows = {
        t.index: db["turns"].insert({"session": session_id, "turn_index": t.index, "role": t.role, "text": t.text}).last_pk
        for t in record.turns
    }
    _insert_tokens(db, [
        _TokenRow(session_id, turn_rows[t.turn], t.event, {layer: _blob(v) for layer, v in t.raw.items()})
        for t in record.tokens
    ])
    _insert_steering(db, [
        _SteeringRow(session_id, None if s.turn is None else turn_rows[s.turn], s.row, s.change)
        for s in record.steering
    ])
    return session_id


# --- values ------------------------------------------------------------------------------------

def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _sampling_columns(sampling: SamplingSettings) -> dict[str, Any]:
    return {"temperature": sampling.temperature, "top_p": sampling.top_p,
            "seed": sampling.seed, "max_new_tokens": sampling.max_new_tokens}


def _blob(vector: Any) -> Blob:
    array = np.asarray(vector, dtype="<f4")
    return array.tobytes(), array.shape


def _json_floats(values: Mapping[str, float]) -> str:
    """Compact JSON; values that are not finite are stored as null (and read back as NaN)."""
    clean = {k: f if math.isfinite(f := float(v)) else None for k, v in values.items()}
    return json.dumps(clean, separators=(",", ":"), allow_nan=False)


def _floats(text: str | None) -> dict[str, float]:
    return {k: math.nan if v is None else v for k, v in json.loads(text).items()} if text else {}
