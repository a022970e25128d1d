"""Checks on a lab file before anything writes to it: location, file type, damage, schema version.

Every refusal is a LabError that says the file was left untouched and what to do instead.
"""
from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from lab.common.errors import LabError
from lab.store.schema import MIGRATIONS, known_migrations

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 5000  # how long a reader waits for another program's write lock
NETWORK_FILESYSTEMS = {
    "nfs", "nfs4", "cifs", "smb", "smbfs", "smb2", "smb3", "ncpfs", "9p", "afs", "ceph", "coda",
    "glusterfs", "lustre", "gpfs", "davfs", "sshfs", "fuse.sshfs", "fuse.glusterfs",
    "fuse.rclone", "fuse.s3fs", "fuse.davfs2", "fuse.ceph",
}


def network_filesystem(path: Path, mounts: Path = Path("/proc/mounts")) -> str | None:
    """The network file system type holding `path` ("nfs4", "cifs", ...), or None if local."""
    if str(path).startswith(("\\\\", "//")):
        return "network share"
    try:
        lines = mounts.read_text().splitlines()
    except OSError:
        return None
    target = os.path.realpath(path)
    best, best_type = "", ""
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), fields[1])  # \040 = space
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, fields[2]
    return best_type if best_type in NETWORK_FILESYSTEMS else None


def connect_read_only(path: Path, *, immutable: bool) -> sqlite3.Connection:
    """A connection that cannot change the file. immutable also skips locks and the -wal and -shm
    side files: only for a folder no one can write to, or a short look at a file no one has open."""
    uri = path.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")
    connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return connection


def is_locked(error: sqlite3.Error) -> bool:
    """True when SQLite refused because another connection holds a lock (not because of damage)."""
    return isinstance(error, sqlite3.OperationalError) and any(
        word in str(error) for word in ("locked", "busy"))


def disk_fault(error: sqlite3.Error) -> bool:
    """True when SQLite failed because of the disk (full, failing, read-only), not the file's content."""
    text = str(error).lower()
    return isinstance(error, sqlite3.OperationalError) and any(
        words in text for words in ("disk i/o error", "database or disk is full", "readonly database", "unable to open database file"))


def disk_fault_error(path: Path, error: sqlite3.Error) -> LabError:
    """The named fault for a lab file whose disk failed; the file itself is left untouched."""
    text = str(error).lower()
    if "readonly" in text:
        what = "its folder is read-only. Open it with --read-only to browse, or record into a writable file with --db PATH"
    else:
        what = f"its disk is full or failing ({error}). Free some space in {path.parent} and try again"
    return LabError(f"Cannot use the lab file {path}: {what}. The file was left untouched.")


def in_use(path: Path) -> LabError:
    return LabError(f"{path} is in use by another program — try again when it finishes.")


def folder_writable(path: Path) -> bool:
    return os.access(path.parent, os.W_OK)


def _closed_wal_file(path: Path) -> bool:
    """A WAL-mode file that no connection has open: every open one keeps a -wal file beside it."""
    with open(path, "rb") as file:
        header = file.read(20)
    return len(header) == 20 and header[18] == 2 and not Path(f"{path}-wal").exists()


def check_existing(path: Path) -> None:
    """Raise LabError unless `path` is a healthy lab file this version can open (or is empty)."""
    if path.is_dir():
        raise LabError(f"{path} is a folder. Pass the path of a lab file, for example {path / 'lab.db'}.")
    if path.stat().st_size == 0:
        return
    with open(path, "rb") as file:
        if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise LabError(
                f"{path} is not an Emotion Lab file (it is not an SQLite database). "
                "It was left untouched. Choose another file with --db PATH."
            )
    connection = connect_read_only(path, immutable=_closed_wal_file(path) or not folder_writable(path))
    try:
        problems = [" ".join(row[0].replace("*** in database main ***", "").split())
                    for row in connection.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError("; ".join(problems[:3]))
        db = Database(connection, recursive_triggers=False, execute_plugins=False)
        applied = {migration.name for migration in MIGRATIONS.applied(db)}
        tables = set(db.table_names())
    except sqlite3.DatabaseError as error:
        if is_locked(error):
            raise in_use(path) from error
        if disk_fault(error):
            raise disk_fault_error(path, error) from error
        raise LabError(
            f"{path} is damaged ({error}). It was left untouched: keep it for recovery "
            f"(for example: sqlite3 {path.name} .recover) and record into a new file with --db PATH."
        ) from error
    finally:
        connection.close()
    if tables and not applied:
        raise LabError(
            f"{path} is an SQLite database but not an Emotion Lab file. It was left untouched. "
            "Choose another file with --db PATH."
        )
    newer = sorted(applied - known_migrations())
    if newer:
        raise LabError(
            f"{path} was written by a newer version of Emotion Lab (schema steps {', '.join(newer)} "
            "are unknown to this version). It was left untouched. Update Emotion Lab to open it, "
            "or use another file with --db PATH."
        )


def check_writable(path: Path) -> None:
    """Create the parent folders; raise LabError if the file cannot be created or written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LabError(
            f"Cannot create the folder {path.parent} ({error.strerror}). "
            "Choose a writable location with --db PATH."
        ) from error
    writable = folder_writable(path)
    if not path.exists():
        if not writable:
            raise LabError(
                f"Cannot create {path}: the folder {path.parent} is read-only. "
                "Choose a writable location with --db PATH."
            )
        return
    if not (writable and os.access(path, os.W_OK)):
        raise LabError(
            f"{path} is in a read-only location, so sessions cannot be recorded there. Open it "
            "read-only to browse and export (--read-only), or copy it to a writable folder and "
            "pass that path with --db PATH."
        )


def refuse_network(path: Path, fs_type: str) -> LabError:
    return LabError(
        f"{path} is on a network folder ({fs_type}), where SQLite's write-ahead log can corrupt "
        "the file. Use a lab file on a local disk (--db PATH), or open this one without the "
        "write-ahead log (--no-wal; readers then wait while a session is written)."
    )
