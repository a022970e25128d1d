"""Per-turn check results, labels and experiments (groups of sessions from one sweep) in a lab
file: the records they read back as and the SQL behind the SessionStore methods that use them."""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from lab.common.errors import LabError

SOURCES = ("rule", "label")


@dataclass(frozen=True)
class TurnCheck:
    turn: int  # turn index in its session
    name: str
    source: str  # "rule" (a scenario check fired) or "label" (added by a person)


@dataclass(frozen=True)
class ExperimentRun:
    session: int
    series: str  # the emotion steered, or the random control
    strength: float
    seed: int | None
    metrics: dict[str, Any]


@dataclass(frozen=True)
class ExperimentSummary:
    id: int
    title: str
    created: str
    runs: int


@dataclass(frozen=True)
class ExperimentRecord:
    id: int
    title: str
    created: str
    settings: dict[str, Any]
    runs: list[ExperimentRun]


def turn_row(db: Database, session: int, turn: int) -> int:
    found = db.execute("SELECT id FROM turns WHERE session = ? AND turn_index = ?", [session, turn]).fetchone()
    if found is None:
        raise LabError(f"Session {session} has no turn {turn}.")
    return found[0]


def insert_checks(db: Database, session: int, turn: int, names: Iterable[str], source: str) -> None:
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    row = turn_row(db, session, turn)
    db["turn_checks"].insert_all(
        ({"session": session, "turn": row, "name": name, "source": source} for name in names), ignore=True
    )


def delete_label(db: Database, session: int, turn: int, name: str) -> None:
    db.execute("DELETE FROM turn_checks WHERE turn = ? AND name = ? AND source = 'label'", [turn_row(db, session, turn), name])


def insert_experiment(db: Database, title: str, created: str, settings: Mapping[str, Any]) -> int:
    return db["experiments"].insert({"title": title, "created": created, "settings": json.dumps(settings)}).last_pk


def insert_run(db: Database, experiment: int, run: ExperimentRun) -> None:
    db["experiment_runs"].insert({
        "experiment": experiment, "session": run.session, "series": run.series, "strength": run.strength,
        "seed": run.seed, "metrics": json.dumps(run.metrics, allow_nan=False),
    })


def select_checks(c: sqlite3.Connection, session: int) -> list[TurnCheck]:
    if not _has_tables(c):
        return []
    rows = c.execute(
        """SELECT t.turn_index, k.name, k.source FROM turn_checks k JOIN turns t ON t.id = k.turn
           WHERE k.session = ? ORDER BY t.turn_index, k.source DESC, k.id""", [session]).fetchall()
    return [TurnCheck(*row) for row in rows]


def select_experiments(c: sqlite3.Connection) -> list[ExperimentSummary]:
    if not _has_tables(c):
        return []
    rows = c.execute(
        """SELECT e.id, e.title, e.created, (SELECT count(*) FROM experiment_runs WHERE experiment = e.id)
           FROM experiments e ORDER BY e.created DESC, e.id DESC""").fetchall()
    return [ExperimentSummary(*row) for row in rows]


def select_experiment(c: sqlite3.Connection, experiment: int) -> ExperimentRecord:
    found = c.execute("SELECT id, title, created, settings FROM experiments WHERE id = ?", [experiment]).fetchone() if _has_tables(c) else None
    if found is None:
        raise LabError(f"There is no experiment {experiment} in this lab file.")
    runs = c.execute(
        "SELECT session, series, strength, seed, metrics FROM experiment_runs WHERE experiment = ? ORDER BY id", [experiment]
    ).fetchall()
    return ExperimentRecord(found[0], found[1], found[2], json.loads(found[3]),
                            [ExperimentRun(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in runs])


def delete_session_rows(db: Database, session: int) -> None:
    """What a session's deletion must remove from these tables first."""
    db.execute("DELETE FROM turn_checks WHERE session = ?", [session])
    db.execute("DELETE FROM experiment_runs WHERE session = ?", [session])


def _has_tables(c: sqlite3.Connection) -> bool:
    """False for a file opened read-only before its schema gained these tables."""
    return c.execute("SELECT 1 FROM sqlite_master WHERE name = 'experiment_runs'").fetchone() is not None
