"""Jobs the writer thread runs in one transaction each: registering a model or a direction set,
deleting a session, importing a whole session."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from sqlite_utils import Database

from lab.common.errors import LabError
from lab.common.events import SamplingSettings
from lab.store import experiments
from lab.store.records import DirectionsInfo, ModelInfo, SessionRecord
from lab.store.rows import SteeringRow, TokenRow, blob, insert_steering, insert_tokens


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def sampling_columns(sampling: SamplingSettings) -> dict[str, Any]:
    return {"temperature": sampling.temperature, "top_p": sampling.top_p,
            "seed": sampling.seed, "max_new_tokens": sampling.max_new_tokens}


def register_model(db: Database, model: ModelInfo) -> int:
    found = db.execute("SELECT id FROM models WHERE identity_hash = ?", [model.identity]).fetchone()
    if found:
        return found[0]
    return db["models"].insert({
        "spec": model.spec, "identity_hash": model.identity, "family": model.family,
        "depth": model.depth, "width": model.width, "first_used": now(),
    }).last_pk


def register_directions(db: Database, model_id: int, info: DirectionsInfo) -> int:
    content = {
        "model": model_id, "method": info.method, "layers": json.dumps(list(info.layers)),
        "reading_layer": info.reading_layer, "data_hash": info.data_hash,
        "emotions": json.dumps(list(info.emotions)), "calibration": json.dumps(info.calibration, sort_keys=True),
    }
    fingerprint = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    found = db.execute("SELECT id FROM direction_sets WHERE fingerprint = ?", [fingerprint]).fetchone()
    if found:
        return found[0]
    return db["direction_sets"].insert({**content, "fingerprint": fingerprint, "first_used": now()}).last_pk


def delete_session(db: Database, session_id: int) -> None:
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


def import_session(db: Database, record: SessionRecord) -> int:
    model_id = register_model(db, record.model)
    directions_id = None if record.directions is None else register_directions(db, model_id, record.directions)
    session_id = db["sessions"].insert({
        "title": record.title, "created": record.created, "ended": record.ended,
        "status": "interrupted" if record.status == "recording" else record.status,
        "model": model_id, "direction_set": directions_id, "app_version": record.app_version,
        "scenario": None if record.scenario is None else json.dumps(record.scenario), "notes": record.notes,
        **sampling_columns(record.sampling), "runtime": json.dumps(record.runtime),
    }).last_pk
    turn_rows = {
        t.index: db["turns"].insert({"session": session_id, "turn_index": t.index, "role": t.role, "text": t.text,
                                    "stopped": int(t.stopped)}).last_pk
        for t in record.turns
    }
    insert_tokens(db, [
        TokenRow(session_id, turn_rows[t.turn], t.event, {layer: blob(v) for layer, v in t.raw.items()})
        for t in record.tokens
    ])
    insert_steering(db, [
        SteeringRow(session_id, None if s.turn is None else turn_rows[s.turn], s.row, s.change)
        for s in record.steering
    ])
    return session_id
