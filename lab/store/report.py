"""A self-contained HTML report of a session: the transcript tinted by one emotion and plots of the
readings over tokens, embedded as base64 PNG. The page is templates/session_report.html.j2, autoescaped:
every piece of recorded text is HTML-escaped. The plots are drawn on matplotlib's Agg canvas without
pyplot, so a Qt process can call this safely."""
from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from lab.common.errors import LabError
from lab.common.html_template import render
from lab.common.palette import ABOVE, BELOW, WHITE, Z_LIMIT, emotion_color, emotion_dash, tint
from lab.common.steering_text import steering_text
from lab.common.tint_rule import CLEAR_MARGIN, CLEAR_Z, tint_reading
from lab.store.records import SessionRecord, TokenRecord

TINT_MAP = LinearSegmentedColormap.from_list("tint", [BELOW, WHITE, ABOVE])  # the token tint's blue and orange


@dataclass(frozen=True)
class TokenSpan:
    """One token of the transcript; a title where it has a reading, a background where the tint rule tints it."""
    text: str
    background: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class TokenRow:
    """One batch row of a turn: its prompt tokens (folded away in the page) and its answer."""
    label: str | None
    prompt: list[TokenSpan]
    answer: list[TokenSpan]


@dataclass(frozen=True)
class TurnView:
    role: str
    text: str  # shown when the turn has no recorded tokens
    rows: list[TokenRow]


def to_html(record: SessionRecord, emotion: str | None = None) -> str:
    """The report as one HTML string; emotion defaults to the session's first emotion."""
    emotions = record.emotions()
    if emotion is None and emotions:
        emotion = emotions[0]
    if emotion is not None and emotion not in emotions:
        raise LabError(f"This session has no readings for {emotion!r}; choose one of: {', '.join(emotions)}.")
    plots = [_png(_line_plot(record, emotion)), _png(_heatmap(record))] if record.tokens and emotions else []
    steering = [{"turn": s.turn, "row": s.row, "position": s.change.position, "strengths": steering_text(s.change.strengths, "none"),
                 "layers": str(list(s.change.layers))} for s in record.steering]
    return render(__file__, "session_report.html.j2", record=record, emotion=emotion, z_limit=f"{Z_LIMIT:g}", clear_z=f"{CLEAR_Z:g}", clear_margin=f"{CLEAR_MARGIN:g}",
                  settings=_settings(record), turns=[_turn(record, turn.index, turn.label(), emotion) for turn in record.turns],
                  plots=plots, steering=steering)


def _settings(record: SessionRecord) -> list[tuple[str, str]]:
    m, s = record.model, record.sampling
    rows = [
        ("Created", record.created), ("Status", record.status), ("App version", record.app_version),
        ("Model", f"{m.spec} ({m.family}, {m.depth} layers, width {m.width})"),
        ("Sampling", f"temperature {s.temperature}, top-p {s.top_p}, seed {s.seed}, max new tokens {s.max_new_tokens}"),
    ]
    if record.directions is not None:
        d = record.directions
        rows.append(("Directions", f"{d.method}, reading layer {d.reading_layer}, steering layers {list(d.layers)}"))
    return rows


def _turn(record: SessionRecord, index: int, role: str, emotion: str | None) -> TurnView:
    tokens = [t for t in record.tokens if t.turn == index]
    if not tokens:
        turn = next(t for t in record.turns if t.index == index)
        return TurnView(role, record.turn_text(turn), [])
    rows = []
    for row in sorted({t.event.row for t in tokens}):
        in_row = [t for t in tokens if t.event.row == row]
        rows.append(TokenRow(f"Batch row {row}" if len(in_row) != len(tokens) else None,
                             [_span(t, emotion) for t in in_row if t.event.is_prompt],
                             [_span(t, emotion) for t in in_row if not t.event.is_prompt]))
    return TurnView(role, "", rows)


def _span(token: TokenRecord, emotion: str | None) -> TokenSpan:
    shown = tint_reading(token.event.readings, emotion) if emotion is not None else None
    if shown is None:
        return TokenSpan(token.event.text)
    return TokenSpan(token.event.text, tint(shown) if shown else None,  # 0.0: the rule left this token untinted
                     f"{emotion} {token.event.readings[emotion]:+.2f}")


def _readings_matrix(record: SessionRecord, emotions: list[str]) -> np.ndarray:
    """[tokens, emotions] in recording order; NaN where a reading is missing."""
    return np.array([[t.event.readings.get(e, math.nan) for e in emotions] for t in record.tokens], dtype=float)


def _line_plot(record: SessionRecord, emotion: str | None) -> Figure:
    emotions = record.emotions()
    values = _readings_matrix(record, emotions)
    rows = sorted({t.event.row for t in record.tokens})
    fig = Figure(figsize=(10, 3.2 * len(rows)), layout="constrained")
    where = {(t.turn, t.event.row, t.event.position): i for i, t in enumerate(record.tokens)}
    for n, row in enumerate(rows):
        ax = fig.add_subplot(len(rows), 1, n + 1)
        x = np.array([i for i, t in enumerate(record.tokens) if t.event.row == row])
        for j, name in enumerate(emotions):
            chosen = name == emotion
            ax.plot(x, values[x, j], lw=2.2 if chosen else 0.8, alpha=1 if chosen else 0.45, label=name,
                    color=emotion_color(name, emotions), ls=emotion_dash(name, emotions), zorder=3 if chosen else 2)
        for i, t in enumerate(record.tokens):
            if t.event.row == row and (i == 0 or record.tokens[i - 1].turn != t.turn):
                ax.axvline(i, color="grey", ls="--", lw=0.8)
        for s in record.steering:
            i = where.get((s.turn, s.row, s.change.position))
            if s.row == row and i is not None:
                ax.axvline(i, color="green", ls=":", lw=1.2)
        ax.axhline(0, color="black", lw=0.5)
        ax.set(xlabel="token (dashed: turn starts, dotted green: steering changes)",
               ylabel="calibrated z-score (push-free)", title=f"Readings, batch row {row}" if len(rows) > 1 else "Readings")
        ax.legend(fontsize="small", ncols=min(6, len(emotions)), loc="upper left")
    return fig


def _heatmap(record: SessionRecord) -> Figure:
    emotions = record.emotions()
    values = _readings_matrix(record, emotions)
    fig = Figure(figsize=(10, 0.3 * len(emotions) + 1.5), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(values.T, aspect="auto", cmap=TINT_MAP, vmin=-Z_LIMIT, vmax=Z_LIMIT, interpolation="nearest")
    ax.set_yticks(range(len(emotions)), emotions)
    ax.set_xlabel("token")
    fig.colorbar(image, ax=ax, label="calibrated z-score")
    return fig


def _png(fig: Figure) -> str:
    """The figure as base64 PNG (for a data: URL)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
