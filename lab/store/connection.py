"""The writer's connection to a lab file: pragmas, schema migrations, and sessions left recording
by a process that has since died."""
from __future__ import annotations

import os
import socket
import sqlite3
import sys
from pathlib import Path

from sqlite_utils import Database

from lab.common.errors import LabError
from lab.store.schema import MIGRATIONS
from lab.store.writer import immediate_transaction

PAGE_SIZE = 16384  # fits 7 residual rows (576 float32) per page; 4096 would fit only one
BUSY_TIMEOUT_MS = 5000


def open_writer(path: Path, wal: bool) -> Database:
    """The writer thread's connection, with the schema brought up to date."""
    db = Database(sqlite3.connect(path), execute_plugins=False)
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
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
    for session_id, recorder_host, pid in db.execute(
        "SELECT id, recorder_host, recorder_pid FROM sessions WHERE status = 'recording'"
    ).fetchall():
        if recorder_gone(recorder_host, pid):
            db.execute("UPDATE sessions SET status = 'interrupted' WHERE id = ?", [session_id])


def shown_status(status: str, recorder_host: str | None, pid: int | None) -> str:
    """The status to show: "interrupted" for a session still marked "recording" whose recorder is
    gone (killed, or stopped by a full or read-only disk before it could write its end), even
    where the file is only read."""
    return "interrupted" if status == "recording" and recorder_gone(recorder_host, pid) else status


def recorder_gone(recorder_host: str | None, pid: int | None) -> bool:
    """True for a recorder of this machine whose process no longer runs."""
    return recorder_host == socket.gethostname() and isinstance(pid, int) and not _process_alive(pid)


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
