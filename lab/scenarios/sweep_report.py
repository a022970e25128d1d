"""Sweep and run results as files and figures: CSV (one row per series x strength), a dose-response
PNG, a self-contained HTML page (from a template), and the per-turn view of runs (readings where each reply
begins). Figures are drawn on matplotlib's Agg canvas without pyplot, so a Qt process can call this."""
from __future__ import annotations

import base64
import csv
import io
import math
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lab.common.atomic import write_bytes, write_text
from lab.common.errors import LabError
from lab.common.html_template import render
from lab.common.palette import emotion_color, emotion_dash
from lab.scenarios.checks import fired_text
from lab.scenarios.runner import CONTROL, RunResult
from lab.common.stats import TOO_FEW_RUNS, mean_text, rate_interval, rate_text
from lab.common.steering_text import steering_text, strength_text
from lab.scenarios.sweep import SweepResult

SUFFIXES = (".csv", ".png", ".html")
RATE_NOTE = (f"A check's rate counts the runs in which it fired, with the range the rate would most likely settle in "
             f"over many more runs (95% interval). Under {TOO_FEW_RUNS} runs that is too few to tell.")


def export_sweep(result: SweepResult, path: Path) -> None:
    """Write `result` as CSV, PNG or HTML, chosen by the file suffix."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise LabError(f"Cannot export a sweep to {path.name}: use one of the suffixes {', '.join(SUFFIXES)}.")
    if suffix == ".png":
        write_bytes(path, png_bytes(dose_response_figure(result)))
    else:
        write_text(path, to_csv(result) if suffix == ".csv" else to_html(result))


def to_csv(result: SweepResult) -> str:
    points = result.points()
    checks, emotions = result.check_names(), list(result.plan.emotions)
    header = ["series", "strength", "runs"]
    for name in checks:
        header += [f"rate {name}", f"rate {name} low", f"rate {name} high"]
    for name in emotions:
        header += [f"reading {name}", f"reading {name} low", f"reading {name} high"]
    for name in ("repetition", "distinct-2", "perplexity"):
        header += [name, f"{name} low", f"{name} high"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for p in points:
        row: list[object] = [p.series, p.strength, p.runs]
        for estimate in [p.rates[c] for c in checks] + [p.readings[e] for e in emotions] + [p.repetition, p.distinct2, p.perplexity]:
            row += [_cell(estimate.value), _cell(estimate.low), _cell(estimate.high)]
        writer.writerow(row)
    return out.getvalue()


def dose_response_figure(result: SweepResult) -> Figure:
    """Readings, check rates and coherence against steering strength, one line per series."""
    points = result.points()
    series = result.plan.series()
    checks = result.check_names()
    panels = 2 + bool(checks) + result.plan.perplexity
    rows = (panels + 1) // 2
    figure = Figure(figsize=(11, 4.2 * rows), layout="constrained")
    axes = figure.subplots(rows, 2, squeeze=False).flatten()
    if panels % 2:
        axes[-1].set_visible(False)
    colours = {name: f"C{i}" for i, name in enumerate(series)}

    def line(ax, name: str, pick, label: str, style: str = "-") -> None:
        chosen = [p for p in points if p.series == name]
        xs = [p.strength for p in chosen]
        estimates = [pick(p) for p in chosen]
        ys = [e.value for e in estimates]
        ax.plot(xs, ys, style, marker="o", color=colours[name], label=label)
        lows = [e.low if math.isfinite(e.low) else e.value for e in estimates]
        highs = [e.high if math.isfinite(e.high) else e.value for e in estimates]
        ax.fill_between(xs, lows, highs, color=colours[name], alpha=0.15)

    ax = axes[0]
    for name in series:
        for emotion in ([name] if name != CONTROL else result.plan.emotions):
            line(ax, name, lambda p, e=emotion: p.readings[e], f"{name}: {emotion} reading" if name == CONTROL else name,
                 "--" if name == CONTROL else "-")
    ax.set(title="Mean reading while writing", xlabel="steering strength", ylabel="reading (z, push-free)")
    ax.legend(fontsize="small")
    index = 1
    if checks:
        ax = axes[index]
        styles = ["-", "--", ":", "-."]
        for name in series:
            for k, check in enumerate(checks):
                line(ax, name, lambda p, c=check: p.rates[c], f"{name}: {check}", styles[k % len(styles)])
        ax.set(title="Checks fired (share of runs)", xlabel="steering strength", ylabel="rate", ylim=(-0.05, 1.05))
        ax.legend(fontsize="x-small")
        index += 1
    ax = axes[index]
    for name in series:
        line(ax, name, lambda p: p.distinct2, f"{name}: distinct-2")
        line(ax, name, lambda p: p.repetition, f"{name}: repetition", ":")
    ax.set(title="Coherence", xlabel="steering strength", ylabel="share", ylim=(-0.05, 1.05))
    ax.legend(fontsize="x-small")
    if result.plan.perplexity:
        ax = axes[index + 1]
        for name in series:
            line(ax, name, lambda p: p.perplexity, name)
        ax.set(title="Perplexity (unsteered model)", xlabel="steering strength", ylabel="perplexity", yscale="log")
        ax.legend(fontsize="small")
    figure.suptitle(result.title)
    return figure


def turn_figure(runs: list[RunResult], emotions: list[str], x_variable: str | None = None) -> Figure:
    """The per-turn view: each emotion's reading where each model reply begins, across the scenario.
    x_variable plots against a scenario variable (e.g. a dose) instead of the reply number."""
    figure = Figure(figsize=(7, 4), layout="constrained")
    ax = figure.subplots()
    for r, run in enumerate(runs):
        replies = run.replies()
        xs = [_x(t.values.get(x_variable), n) if x_variable else n for n, t in enumerate(replies, start=1)]
        steering = steering_text(run.steer, "unsteered")
        for emotion in emotions:
            ys = [t.reply_start_readings.get(emotion, math.nan) for t in replies]
            label = emotion if len(runs) == 1 else f"{emotion} ({steering})"
            ax.plot(xs, ys, emotion_dash(emotion, emotions), marker="o", color=emotion_color(emotion, emotions),
                    alpha=1 if len(runs) == 1 else 0.4 + 0.6 / (r + 1), label=label)
    ax.set(title="Reading where each reply begins", xlabel=x_variable or "model reply", ylabel="reading (z, push-free)")
    ax.axhline(0, color="#999", linewidth=0.8)
    ax.legend(fontsize="small")
    return figure


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


def to_html(result: SweepResult) -> str:
    """A self-contained page (templates/sweep_report.html.j2): settings, the dose-response plot, the table of
    points and every run."""
    image = base64.b64encode(png_bytes(dose_response_figure(result))).decode("ascii")
    checks = result.check_names()
    head = ["series", "strength", "runs", *[f"{c}: fired in" for c in checks],
            *[f"{e} reading" for e in result.plan.emotions], "repetition", "distinct-2", "perplexity"]
    points = [[p.series, strength_text(p.strength), str(p.runs), *[f"{rate_text(p.rates[c])}; {rate_interval(p.rates[c])}" for c in checks],
               *[mean_text(p.readings[e], ".3g") for e in result.plan.emotions],
               *[mean_text(value, ".3g") for value in (p.repetition, p.distinct2, p.perplexity)]]
              for p in result.points()]
    runs = [[r.series, strength_text(r.strength), str(r.seed), str(r.run.session_id or ""), fired_text(sorted(r.run.fired())),
             " | ".join(t.text.strip()[:200] for t in r.run.replies())] for r in result.runs]
    return render(__file__, "sweep_report.html.j2", title=result.title, cancelled=result.cancelled,
                  settings=list(result.settings.items()), image=image, rate_note=RATE_NOTE, head=head, points=points, runs=runs)


def _cell(value: float) -> str:
    return "" if not math.isfinite(value) else repr(round(value, 6))


def _x(value: str | None, fallback: int) -> float:
    try:
        return float(value) if value is not None else float(fallback)
    except ValueError:
        return float(fallback)

