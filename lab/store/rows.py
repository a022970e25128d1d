"""Token and steering rows: how they are queued by a recorder and written in batches.

The writer thread calls write_rows() with a batch; an imported session reuses insert_tokens()
and insert_steering(). Values are encoded here (compact JSON floats, little-endian float32 blobs).
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
from sqlite_utils import Database

from lab.common.events import SteeringChange, TokenEvent

RAW_DTYPE = "float32"  # stored little-endian
Blob = tuple[bytes, tuple[int, ...]]


class TokenRow(NamedTuple):
    session: int
    turn: int
    event: TokenEvent
    raw: dict[int, Blob] | None


class SteeringRow(NamedTuple):
    session: int
    turn: int | None
    row: int
    change: SteeringChange


def write_rows(db: Database, rows: list[TokenRow | SteeringRow]) -> None:
    """Write one batch of queued rows (the writer thread's callback)."""
    insert_tokens(db, [r for r in rows if isinstance(r, TokenRow)])
    insert_steering(db, [r for r in rows if isinstance(r, SteeringRow)])


def insert_tokens(db: Database, rows: list[TokenRow]) -> None:
    """Token ids are assigned here, inside the write lock, so readings and residuals can refer to them."""
    if not rows:
        return
    first_id = db.execute("SELECT coalesce(max(id), 0) + 1 FROM tokens").fetchone()[0]
    tokens: list[tuple] = [("id", "session", "turn", "batch_row", "position", "token_id", "text", "is_prompt", "strengths")]
    readings: list[tuple] = [("token", "calibrated", "push")]
    residuals: list[tuple] = [("token", "layer", "dtype", "shape", "vector")]
    for token_id, (session, turn, e, raw) in enumerate(rows, start=first_id):
        strengths = json_floats(e.strengths) if e.strengths else None
        tokens.append((token_id, session, turn, e.row, e.position, e.token_id, e.text, e.is_prompt, strengths))
        readings.append((token_id, json_floats(e.readings), json_floats(e.push) if e.push else None))
        for layer, (data, shape) in (raw or {}).items():
            residuals.append((token_id, layer, RAW_DTYPE, json.dumps(list(shape)), data))
    db["tokens"].insert_all(tokens)
    db["readings"].insert_all(readings)
    db["residuals"].insert_all(residuals)


def insert_steering(db: Database, rows: list[SteeringRow]) -> None:
    db["steering_events"].insert_all(
        {"session": r.session, "turn": r.turn, "batch_row": r.row, "position": r.change.position,
         "strengths": json_floats(r.change.strengths), "layers": json.dumps(list(r.change.layers))}
        for r in rows
    )


def blob(vector: Any) -> Blob:
    array = np.asarray(vector, dtype="<f4")
    return array.tobytes(), array.shape


def json_floats(values: Mapping[str, float]) -> str:
    """Compact JSON; values that are not finite are stored as null (and read back as NaN)."""
    clean = {k: f if math.isfinite(f := float(v)) else None for k, v in values.items()}
    return json.dumps(clean, separators=(",", ":"), allow_nan=False)


def floats(text: str | None) -> dict[str, float]:
    return {k: math.nan if v is None else v for k, v in json.loads(text).items()} if text else {}
