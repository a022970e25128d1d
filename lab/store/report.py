"""A self-contained HTML report of a session: the transcript tinted by one emotion and plots of the
readings over tokens, embedded as base64 PNG. Every piece of recorded text is HTML-escaped; the
plots are drawn on matplotlib's Agg canvas without pyplot, so a Qt process can call this safely."""
from __future__ import annotations

import base64
import io
import math
from html import escape

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lab.common.errors import LabError
from lab.common.steering_text import steering_text
from lab.store.records import SessionRecord, TokenRecord

Z_LIMIT = 3.0  # readings at or beyond +-3 get the strongest tint
_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; }
.turn { margin: 1rem 0; } .role { font-weight: bold; text-transform: capitalize; }
.tokens { white-space: pre-wrap; line-height: 1.7; font-family: ui-monospace, monospace; }
.prompt { color: #666; } img { max-width: 100%; }
"""


def to_html(record: SessionRecord, emotion: str | None = None) -> str:
    """The report as one HTML string; emotion defaults to the session's first emotion."""
    emotions = record.emotions()
    if emotion is None and emotions:
        emotion = emotions[0]
    if emotion is not None and emotion not in emotions:
        raise LabError(f"This session has no readings for {emotion!r}; choose one of: {', '.join(emotions)}.")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(record.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(record.title)}</h1>", _settings_table(record),
    ]
    if record.notes:
        parts.append(f"<p>{escape(record.notes)}</p>")
    if emotion is not None:
        parts.append(f"<h2>Transcript tinted by {escape(emotion)}</h2><p>Red: above neutral, blue: below; "
                     f"full colour at &plusmn;{Z_LIMIT:g} (calibrated z-score). Hover a token for its value.</p>")
    else:
        parts.append("<h2>Transcript</h2>")
    parts += [_turn_html(record, turn.index, turn.label(), emotion) for turn in record.turns]
    if record.tokens and emotions:
        parts += ["<h2>Readings over tokens</h2>", _png(_line_plot(record, emotion)), _png(_heatmap(record))]
    if record.steering:
        parts.append(_steering_table(record))
    parts.append("</body></html>")
    return "\n".join(parts)


def _settings_table(record: SessionRecord) -> str:
    m, s = record.model, record.sampling
    rows = [
        ("Created", record.created), ("Status", record.status), ("App version", record.app_version),
        ("Model", f"{m.spec} ({m.family}, {m.depth} layers, width {m.width})"),
        ("Sampling", f"temperature {s.temperature}, top-p {s.top_p}, seed {s.seed}, max new tokens {s.max_new_tokens}"),
    ]
    if record.directions is not None:
        d = record.directions
        rows.append(("Directions", f"{d.method}, reading layer {d.reading_layer}, steering layers {list(d.layers)}"))
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _turn_html(record: SessionRecord, index: int, role: str, emotion: str | None) -> str:
    tokens = [t for t in record.tokens if t.turn == index]
    head = f'<div class="turn"><div class="role">{escape(role)}</div>'
    if not tokens:
        turn = next(t for t in record.turns if t.index == index)
        return f'{head}<div class="tokens">{escape(record.turn_text(turn))}</div></div>'
    body = []
    for row in sorted({t.event.row for t in tokens}):
        in_row = [t for t in tokens if t.event.row == row]
        prompt = "".join(_token_span(t, emotion) for t in in_row if t.event.is_prompt)
        answer = "".join(_token_span(t, emotion) for t in in_row if not t.event.is_prompt)
        label = f"<div>Batch row {row}</div>" if len(in_row) != len(tokens) else ""
        if prompt:
            count = sum(t.event.is_prompt for t in in_row)
            body.append(f'{label}<details><summary>Prompt tokens ({count})</summary>'
                        f'<div class="tokens prompt">{prompt}</div></details>')
            label = ""
        body.append(f'{label}<div class="tokens">{answer}</div>')
    return head + "".join(body) + "</div>"


def _token_span(token: TokenRecord, emotion: str | None) -> str:
    value = token.event.readings.get(emotion, math.nan) if emotion is not None else math.nan
    if math.isnan(value):
        return f"<span>{escape(token.event.text)}</span>"
    alpha = 0.75 * min(abs(value), Z_LIMIT) / Z_LIMIT
    rgb = "214,39,40" if value > 0 else "31,119,180"
    return (f'<span style="background:rgba({rgb},{alpha:.2f})" title="{escape(emotion)} {value:+.2f}">'
            f"{escape(token.event.text)}</span>")


def _steering_table(record: SessionRecord) -> str:
    rows = "".join(
        f"<tr><td>{s.turn}</td><td>{s.row}</td><td>{s.change.position}</td><td>"
        f"{escape(steering_text(s.change.strengths, 'none'))}</td>"
        f"<td>{escape(str(list(s.change.layers)))}</td></tr>"
        for s in record.steering
    )
    return ("<h2>Steering</h2><table><tr><th>Turn</th><th>Batch row</th><th>From position</th>"
            f"<th>Strengths</th><th>Layers</th></tr>{rows}</table>")


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
            ax.plot(x, values[x, j], lw=2.2 if chosen else 0.8, alpha=1 if chosen else 0.45,
                    label=name, zorder=3 if chosen else 2)
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
    image = ax.imshow(values.T, aspect="auto", cmap="coolwarm", vmin=-Z_LIMIT, vmax=Z_LIMIT, interpolation="nearest")
    ax.set_yticks(range(len(emotions)), emotions)
    ax.set_xlabel("token")
    fig.colorbar(image, ax=ax, label="calibrated z-score")
    return fig


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<p><img alt="plot" src="data:image/png;base64,{data}"></p>'
