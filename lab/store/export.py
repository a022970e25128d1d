"""Session exports: JSON (everything, importable into another lab file), CSV (tokens x emotions)
and Markdown (transcript). The HTML report lives in lab.store.report."""
from __future__ import annotations

import base64
import csv
import io
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from lab.common.atomic import write_text
from lab.common.errors import LabError
from lab.common.limits import SESSION_IMPORT_BYTES, read_text
from lab.common.safe_text import for_csv, for_markdown
from lab.common.steering_text import steering_text
from lab.common.events import SamplingSettings, SteeringChange, TokenEvent
from lab.store.records import (
    DirectionsInfo, ModelInfo, SessionRecord, SteeringRecord, TokenRecord, TurnRecord,
)
from lab.store.export_checks import check_export
from lab.store.report import to_html
from lab.store.lab_file import SessionStore

FORMAT = "emotion-lab-session"
FORMAT_VERSION = 1
SUFFIXES = (".json", ".csv", ".md", ".html")
MAX_JSON_VALUES = 4_000_000  # about 100k tokens with 20 emotions each; Python holds ~100 bytes per value


def export_session(record: SessionRecord, path: Path, emotion: str | None = None) -> None:
    """Write `record` in the format named by the file suffix; emotion tints the HTML report."""
    writers = {".json": to_json, ".csv": to_csv, ".md": to_markdown, ".html": lambda r: to_html(r, emotion)}
    if path.suffix.lower() not in writers:
        raise LabError(f"Cannot export to {path.name}: use one of the suffixes {', '.join(SUFFIXES)}.")
    write_text(path, writers[path.suffix.lower()](record))


# --- JSON ------------------------------------------------------------------------------------

def to_json(record: SessionRecord, *, raw: bool = True) -> str:
    """The whole session as JSON; raw residual vectors (if loaded) as base64 little-endian float32."""
    data = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "title": record.title, "created": record.created, "ended": record.ended, "status": record.status,
        "app_version": record.app_version, "notes": record.notes, "scenario": record.scenario,
        "sampling": asdict(record.sampling), "model": asdict(record.model), "runtime": record.runtime,
        "directions": None if record.directions is None else asdict(record.directions),
        "turns": [asdict(t) for t in record.turns],
        "tokens": [_token_dict(t, raw) for t in record.tokens],
        "steering": [
            {"turn": s.turn, "row": s.row, "position": s.change.position,
             "strengths": _finite(s.change.strengths), "layers": list(s.change.layers)}
            for s in record.steering
        ],
    }
    return json.dumps(data, ensure_ascii=False, allow_nan=False, indent=1)


def from_json(text: str) -> SessionRecord:
    """Read a JSON export back; LabError if it is not one this version understands. The number of
    JSON values is counted before parsing, so memory stays a small multiple of the file."""
    values = sum(text.count(mark) for mark in ",:[{") + 1  # at least one of these precedes every value but the first
    if values > MAX_JSON_VALUES:
        raise LabError(f"This session export holds about {values:,} values; the limit is {MAX_JSON_VALUES:,}. Export a shorter session.")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise LabError(f"This file is not JSON ({str(error)[:100]}); it cannot be imported as a session.") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LabError("This file is not an Emotion Lab session export.")
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise LabError("This session export has no valid format_version; export the session again.")
    if version > FORMAT_VERSION:
        raise LabError("This export was written by a newer version of Emotion Lab; update to import it.")
    if version < 1:
        raise LabError(f"This session export has format_version {version}, which no Emotion Lab wrote; export the session again.")
    check_export(data)
    try:
        directions = data["directions"]
        return SessionRecord(
            title=data["title"], created=data["created"], ended=data["ended"], status=data["status"],
            app_version=data["app_version"], notes=data["notes"], scenario=data["scenario"],
            sampling=SamplingSettings(**data["sampling"]), model=ModelInfo(**data["model"]),
            runtime=dict(data.get("runtime") or {}),
            directions=None if directions is None else DirectionsInfo(**{
                **directions, "layers": tuple(directions["layers"]), "emotions": tuple(directions["emotions"]),
            }),
            turns=[TurnRecord(**t) for t in data["turns"]],
            tokens=[_token_record(t) for t in data["tokens"]],
            steering=[
                SteeringRecord(s["turn"], s["row"],
                               SteeringChange(s["position"], _floats(s["strengths"]), tuple(s["layers"])))
                for s in data["steering"]
            ],
        )
    except (ValueError, KeyError, TypeError) as error:
        raise LabError(f"This session export is damaged or incomplete ({error!r}); it cannot be imported.") from error


def import_json(store: SessionStore, path: Path) -> int:
    """Import a JSON export into `store`; the new session's id."""
    return store.import_session(from_json(read_text(path, SESSION_IMPORT_BYTES, "session export")))


def _token_dict(token: TokenRecord, raw: bool) -> dict[str, Any]:
    e = token.event
    data: dict[str, Any] = {
        "turn": token.turn, "row": e.row, "position": e.position, "token_id": e.token_id, "text": e.text,
        "is_prompt": e.is_prompt, "readings": _finite(e.readings), "strengths": _finite(e.strengths),
    }
    if e.push:
        data["push"] = _finite(e.push)  # raw reading = readings + push
    if raw and token.raw:
        data["raw"] = {
            str(layer): {"dtype": "float32", "shape": list(v.shape),
                         "data": base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode("ascii")}
            for layer, v in token.raw.items()
        }
    return data


def _token_record(t: dict[str, Any]) -> TokenRecord:
    raw = {
        int(layer): np.frombuffer(base64.b64decode(v["data"], validate=True), np.dtype("<f4")).reshape(v["shape"])
        for layer, v in t.get("raw", {}).items()
    }
    event = TokenEvent(t["row"], t["position"], t["token_id"], t["text"], t["is_prompt"],
                       _floats(t["readings"]), _floats(t["strengths"]), _floats(t.get("push") or {}))
    return TokenRecord(t["turn"], event, raw)


def _finite(values: dict[str, float]) -> dict[str, float | None]:
    return {k: v if math.isfinite(v) else None for k, v in values.items()}


def _floats(values: dict[str, float | None]) -> dict[str, float]:
    return {k: math.nan if v is None else float(v) for k, v in values.items()}


# --- CSV and Markdown ----------------------------------------------------------------------------

def to_csv(record: SessionRecord) -> str:
    """One row per token, one column per emotion: push-free readings (empty where not finite), then
    one `push:EMOTION` column per emotion while steering (raw reading = reading + push)."""
    emotions = record.emotions()
    roles = {t.index: t.role for t in record.turns}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    pushed = [name for name in emotions if any(name in t.event.push for t in record.tokens)]
    writer.writerow(["turn", "role", "batch_row", "position", "token_id", "token", "is_prompt",
                     *map(for_csv, emotions), *(for_csv(f"push:{name}") for name in pushed)])
    for t in record.tokens:
        e = t.event
        values = [e.readings.get(name, math.nan) for name in emotions] + [e.push.get(name, 0.0) for name in pushed]
        writer.writerow([t.turn, for_csv(roles.get(t.turn, "")), e.row, e.position, e.token_id, for_csv(e.text),
                         int(e.is_prompt), *("" if math.isnan(v) else repr(v) for v in values)])
    return out.getvalue()


def to_markdown(record: SessionRecord) -> str:
    """The transcript with the session's settings and steering timeline; every text from the user,
    the model or the file is HTML-escaped, so a viewer shows tags instead of running them."""
    md = for_markdown
    s, m = record.sampling, record.model
    lines = [
        f"# {md(record.title)}", "",
        f"- Created: {md(record.created)} ({md(record.status)})",
        f"- Model: {md(m.spec)} ({md(m.family)}, {m.depth} layers, width {m.width})"
        + "".join(f", {md(key)} {md(value)}" for key, value in record.runtime.items()),
        f"- Sampling: temperature {s.temperature}, top-p {s.top_p}, seed {s.seed}, "
        f"max new tokens {s.max_new_tokens}",
    ]
    if record.directions is not None:
        d = record.directions
        lines.append(f"- Directions: {md(d.method)}, reading layer {d.reading_layer}, steering layers "
                     f"{list(d.layers)}, emotions {md(', '.join(d.emotions))}")
    lines.append(f"- App version: {md(record.app_version)}")
    if record.notes:
        lines += ["", md(record.notes)]
    lines += ["", "## Transcript"]
    for turn in record.turns:
        lines += ["", f"### {md(turn.label())}", "", md(record.turn_text(turn))]
    if record.steering:
        lines += ["", "## Steering", "", "| turn | row | from position | strengths | layers |", "|---|---|---|---|---|"]
        for st in record.steering:
            strengths = steering_text(st.change.strengths, "none")
            lines.append(f"| {st.turn} | {st.row} | {st.change.position} | {md(strengths).replace('|', '&#124;')} | {list(st.change.layers)} |")
    return "\n".join(lines) + "\n"
