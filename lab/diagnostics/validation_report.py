"""Does this lab work on this model? Everything the instrument can be checked on, in one report.

Gathers for the loaded model: per-emotion recognition (held-out and style-shifted, with counts and
95% intervals), the core six among themselves, neutral detection, the estimator comparison, the
emotion map's axes against human valence/arousal ratings, steering efficacy (re-read, push-free),
and the lessons' verdicts. `build_report` gives JSON-able data; `render_html` a self-contained page
that opens on the plain answer (lab.diagnostics.validation_words), the tables below it.
"""
from __future__ import annotations

import base64
import io
from typing import Any

from lab.common.html_template import render
from lab.common.progress import Progress, SilentProgress
from lab.emotions.definitions import load_norms
from lab.emotions.emotion_map import EmotionMap, emotion_map
from lab.emotions.evaluation import accuracy_summary, describe, overall_summary
from lab.diagnostics.precision_check import compare_precisions
from lab.diagnostics.steering_efficacy import steering_efficacy
from lab.diagnostics.validation_words import plain_answer
from lab.runtime.engine import Engine
from lab.scenarios.lesson_store import load_results


def build_report(engine: Engine, seeds: int | None = None, lessons: bool = True, efficacy: bool = True,
                 progress: Progress | None = None, precision_check: bool = True) -> dict[str, Any]:
    """The report's data (JSON-able). Lessons and steering efficacy generate text and take minutes; the
    precision check (only when the model runs in a precision the directions were not validated in) reads
    ~180 texts in both precisions."""
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
        "map": {"picture": picture.picture,
                "axes": [{"label": a.label, "variance_share": a.variance_share, "valence_r": a.valence_r, "arousal_r": a.arousal_r,
                          "held_out_r": a.held_out_r} for a in picture.axes]},
        "precision": {"running": engine.lm.runtime["dtype"], "measured": engine.measured_precision, "device": engine.lm.runtime["device"]},
        "known_lessons": [{"lesson": lesson, "verdict": result.get("verdict")}
                          for lesson, result in load_results(engine.lm.identity).items()],  # shipped or measured before
    }
    if precision_check and engine.precision_warning():
        progress.set_status("Reading the same texts in both precisions")
        comparison = compare_precisions(engine.lm, directions, progress=progress)
        report["precision"]["comparison"] = comparison.to_json() if comparison else None
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


def precision_text(precision: dict[str, Any]) -> str:
    """Which precision the numbers in the report were measured in, in one or two sentences."""
    running, measured = precision["running"], precision.get("measured") or "an unrecorded precision"
    text = (f"The model ran in {running} on {precision['device']}: steering and lessons below were measured in {running}. "
            f"Recognition was measured when the directions were made, in {measured}.")
    comparison = precision.get("comparison")
    if comparison:
        text += f" {comparison['summary']}"
    return text


def render_html(report: dict[str, Any]) -> str:
    """A self-contained HTML page (templates/validation_report.html.j2, autoescaped: every text is escaped)."""
    return render(__file__, "validation_report.html.j2", report=report, precision=precision_text(report["precision"]),
                  plain=plain_answer(report))
