"""Does this lab work on this model? Everything the instrument can be checked on, in one report.

Gathers for the loaded model: per-emotion recognition (held-out and style-shifted, with counts and
95% intervals), the core six among themselves, neutral detection, the estimator comparison, the
emotion map's axes against human valence/arousal ratings, steering efficacy (re-read, push-free),
and the lessons' verdicts. `build_report` gives JSON-able data; `render_html` a self-contained page.
"""
from __future__ import annotations

import base64
import html
import io
from typing import Any

from lab.common.progress import Progress, SilentProgress
from lab.emotions.definitions import load_norms
from lab.emotions.emotion_map import EmotionMap, emotion_map
from lab.emotions.evaluation import accuracy_summary, describe, overall_summary
from lab.diagnostics.steering_efficacy import steering_efficacy
from lab.runtime.engine import Engine


def build_report(engine: Engine, seeds: int | None = None, lessons: bool = True, efficacy: bool = True,
                 progress: Progress | None = None) -> dict[str, Any]:
    """The report's data (JSON-able). Lessons and steering efficacy generate text and take minutes."""
    progress = progress or SilentProgress()
    directions = engine.directions
    evaluation = directions.evaluation()
    picture = emotion_map(directions, load_norms())
    report: dict[str, Any] = {
        "model": {"identity": engine.lm.identity, "family": engine.lm.family, "depth": engine.lm.depth, "width": engine.lm.width},
        "reading_layer": directions.reading_layer,
        "shrinkage": directions.extras.get("shrinkage"),
        "summary": overall_summary(directions),
        "totals": evaluation.get("totals", {}),
        "neutral": evaluation.get("neutral", {}),
        "emotions": [{"emotion": name, "kind": directions.kind(name), "recognised": accuracy_summary(directions, name),
                      "counts": evaluation.get("emotions", {}).get(name)} for name in directions.emotions],
        "estimators": evaluation.get("estimators", []),
        "map": {"axes": [{"label": a.label, "variance_share": a.variance_share, "valence_r": a.valence_r, "arousal_r": a.arousal_r}
                         for a in picture.axes]},
    }
    if efficacy:
        progress.set_status("Steering each emotion and re-reading the replies")
        report["steering_efficacy"] = [
            {"emotion": e.emotion, "raised": e.raised, "prompts": e.prompts, "mean_gain": round(e.mean_gain, 3),
             "rate": describe([e.raised, e.prompts])}
            for e in steering_efficacy(engine, progress=progress)
        ]
    if lessons:
        from lab.scenarios.lessons import lesson_verdicts

        progress.set_status("Running the reading lessons")
        report["lessons"] = [v.to_json() | {"summary": v.summary()} for v in lesson_verdicts(engine, seeds, progress=progress, kind="reading")]
    report["map_png"] = base64.b64encode(map_png(picture)).decode("ascii")
    return report


def map_png(picture: EmotionMap) -> bytes:
    """The emotion map as a PNG (matplotlib, Agg): built-in emotions as dots, placed ones as rings."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 5.2), dpi=100)
    axes = figure.add_subplot()
    for (x, y), name, placed in zip(picture.coordinates, picture.names, picture.placed):
        axes.scatter([x], [y], s=40, facecolors="none" if placed else "#0072B2", edgecolors="#0072B2")
        axes.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    axes.set_xlabel(picture.axes[0].label, fontsize=8)
    axes.set_ylabel(picture.axes[1].label, fontsize=8)
    axes.axhline(0, color="#bbbbbb", linewidth=0.5)
    axes.axvline(0, color="#bbbbbb", linewidth=0.5)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def render_html(report: dict[str, Any]) -> str:
    """A self-contained HTML page; every text is escaped."""
    e = html.escape
    rows = "".join(f"<tr><td>{e(r['emotion'])}</td><td>{e(r['kind'])}</td><td>{e(r['recognised'])}</td></tr>" for r in report["emotions"])
    estimators = "".join(
        f"<tr><td>{e(r['estimator'])}</td><td>{r['layer']}</td><td>{r['held_out']:.0%}</td><td>{r['validation']:.0%}</td></tr>"
        for r in report["estimators"]
    )
    parts = [
        "<!doctype html><meta charset='utf-8'><title>Emotion Lab validation</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}</style>",
        "<h1>Does this lab work on this model?</h1>",
        f"<p>Model {e(str(report['model']['family']))}, {report['model']['depth']} layers, width {report['model']['width']}; "
        f"reading layer {report['reading_layer']}. Every rate is a count with its 95% interval.</p>",
        "<h2>Recognising emotions</h2><ul>" + "".join(f"<li>{e(line)}</li>" for line in report["summary"]) + "</ul>",
        f"<table><tr><th>emotion</th><th>kind</th><th>recognised</th></tr>{rows}</table>",
        "<h2>Choosing the reading estimator</h2><p>20-way accuracy at each estimator's best held-out layer; "
        "validation texts are in a different style and were never used to choose.</p>"
        f"<table><tr><th>estimator</th><th>layer</th><th>held-out</th><th>style-shifted</th></tr>{estimators}</table>",
        "<h2>The emotion map</h2>" + "".join(f"<p>{'Horizontal' if i == 0 else 'Vertical'} axis: {e(a['label'])}</p>" for i, a in enumerate(report["map"]["axes"])),
        f"<img alt='emotion map' src='data:image/png;base64,{report['map_png']}'>",
    ]
    if "steering_efficacy" in report:
        efficacy = "".join(f"<tr><td>{e(r['emotion'])}</td><td>{e(r['rate'])}</td><td>{r['mean_gain']:+.2f}</td></tr>" for r in report["steering_efficacy"])
        parts.append("<h2>Steering efficacy</h2><p>Replies steered toward each emotion, re-read afresh as plain text: on how many "
                     "prompts the emotion's reading rose, and by how much on average.</p>"
                     f"<table><tr><th>emotion</th><th>prompts where it rose</th><th>mean gain</th></tr>{efficacy}</table>")
    if "lessons" in report:
        parts.append("<h2>Lessons</h2><ul>" + "".join(f"<li><b>{e(v['verdict'])}</b>: {e(v['summary'])}</li>" for v in report["lessons"]) + "</ul>")
    return "\n".join(parts)

