"""Read queries on a lab file's read-only connection: the session list and one whole session."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np

from lab.common.errors import LabError
from lab.common.events import SamplingSettings, SteeringChange, TokenEvent
from lab.store.connection import shown_status
from lab.store.experiments import select_experiments
from lab.store.records import (
    DirectionsInfo, ModelInfo, SessionRecord, SessionSummary, SteeringRecord, TokenRecord, TurnRecord,
)
from lab.store.rows import floats


def select_sessions(c: sqlite3.Connection, search: str | None) -> list[SessionSummary]:
    """Sessions newest first, optionally only those whose title or notes contain `search`."""
    pattern = "%" + (search or "").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    stopped = "(SELECT count(*) FROM turns WHERE session = s.id AND stopped)" if _has_stopped(c) else "0"
    rows = c.execute(
        f"""SELECT s.id, s.title, s.created, s.status, m.spec,
                  (SELECT count(*) FROM turns WHERE session = s.id) AS turns,
                  (SELECT count(*) FROM tokens WHERE session = s.id) AS tokens,
                  {stopped} AS stopped,
                  CASE WHEN json_valid(s.scenario) THEN json_extract(s.scenario, '$.experiment') END AS experiment,
                  s.recorder_host, s.recorder_pid
           FROM sessions s JOIN models m ON m.id = s.model
           WHERE s.title LIKE :p ESCAPE '\\' OR s.notes LIKE :p ESCAPE '\\'
           ORDER BY s.created DESC, s.id DESC""",
        {"p": pattern},
    ).fetchall()
    titles = {e.id: e.title for e in select_experiments(c)}
    return [SessionSummary(*row[:3], shown_status(row[3], row[9], row[10]), *row[4:7], stopped=row[7],
                           experiment=_whole(row[8]), experiment_title=titles.get(row[8]))
            for row in rows]


def select_session(c: sqlite3.Connection, path: Path, session_id: int, *, raw: bool) -> SessionRecord:
    """The exact transcript, per-token readings and steering timeline of a session (raw: residuals too)."""
    s = c.execute(
        """SELECT s.*, m.spec, m.identity_hash, m.family, m.depth, m.width,
                  d.method, d.layers, d.data_hash, d.reading_layer, d.calibration, d.emotions
           FROM sessions s JOIN models m ON m.id = s.model
           LEFT JOIN direction_sets d ON d.id = s.direction_set WHERE s.id = ?""",
        [session_id],
    ).fetchone()
    if s is None:
        raise LabError(f"There is no session {session_id} in {path}. List the sessions to see their numbers.")
    turn_rows = c.execute(
        f"SELECT id, turn_index, role, text, {'stopped' if _has_stopped(c) else '0'} AS stopped FROM turns "
        "WHERE session = ? ORDER BY turn_index", [session_id]
    ).fetchall()
    token_rows = c.execute(
        """SELECT t.id, t.turn, t.batch_row, t.position, t.token_id, t.text, t.is_prompt,
                  t.strengths, r.calibrated, r.push
           FROM tokens t LEFT JOIN readings r ON r.token = t.id WHERE t.session = ? ORDER BY t.id""",
        [session_id],
    ).fetchall()
    vectors = _residuals(c, session_id) if raw else {}
    steering_rows = c.execute("SELECT * FROM steering_events WHERE session = ? ORDER BY id", [session_id]).fetchall()
    turn_index = {t["id"]: t["turn_index"] for t in turn_rows}
    return SessionRecord(
        id=s["id"], title=s["title"], created=s["created"], ended=s["ended"],
        status=shown_status(s["status"], s["recorder_host"], s["recorder_pid"]),
        app_version=s["app_version"], notes=s["notes"],
        scenario=None if s["scenario"] is None else json.loads(s["scenario"]),
        sampling=SamplingSettings(s["temperature"], s["top_p"], s["seed"], s["max_new_tokens"]),
        model=ModelInfo(s["spec"], s["identity_hash"], s["family"], s["depth"], s["width"]),
        runtime=_runtime(s),
        directions=None if s["direction_set"] is None else DirectionsInfo(
            s["method"], tuple(json.loads(s["layers"])), s["data_hash"], s["reading_layer"],
            json.loads(s["calibration"]), tuple(json.loads(s["emotions"])),
        ),
        turns=[TurnRecord(t["turn_index"], t["role"], t["text"], bool(t["stopped"])) for t in turn_rows],
        tokens=[
            TokenRecord(turn_index[t["turn"]], TokenEvent(
                row=t["batch_row"], position=t["position"], token_id=t["token_id"], text=t["text"],
                is_prompt=bool(t["is_prompt"]), readings=floats(t["calibrated"]),
                strengths=floats(t["strengths"]), push=floats(t["push"]),
            ), vectors.get(t["id"], {}))
            for t in token_rows
        ],
        steering=[
            SteeringRecord(turn_index.get(e["turn"]), e["batch_row"], SteeringChange(
                e["position"], floats(e["strengths"]), tuple(json.loads(e["layers"]))))
            for e in steering_rows
        ],
    )


def _runtime(session: sqlite3.Row) -> dict[str, str]:
    """The session's runtime JSON ({} before migration 005, or when it is not an object of strings)."""
    try:
        value = json.loads(session["runtime"] or "{}") if "runtime" in session.keys() else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _has_stopped(c: sqlite3.Connection) -> bool:
    """False for a file opened read-only before its turns gained the stopped column."""
    return any(row[1] == "stopped" for row in c.execute("PRAGMA table_info(turns)"))


def _whole(value: object) -> int | None:
    """An experiment id read from a session's scenario JSON (None unless a whole number)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _residuals(c: sqlite3.Connection, session_id: int) -> dict[int, dict[int, np.ndarray]]:
    vectors: dict[int, dict[int, np.ndarray]] = {}
    for v in c.execute(
        """SELECT token, layer, dtype, shape, vector FROM residuals
           WHERE token IN (SELECT id FROM tokens WHERE session = ?) ORDER BY token, layer""",
        [session_id],
    ):
        array = np.frombuffer(v["vector"], dtype=np.dtype(v["dtype"]).newbyteorder("<"))
        vectors.setdefault(v["token"], {})[v["layer"]] = array.reshape(json.loads(v["shape"]))
    return vectors
