"""The Qt-free half of `--self-test` (ui.launcher adds opening the main window).

Loads the model, loads (or extracts) its directions, generates a few steered tokens with
readings, records them into a temporary session store and reads them back, renders the session's HTML
report (its template must have been shipped) and one plot of the readings to PNG bytes on matplotlib's Agg canvas. Every step checks its result and raises
SelfTestError naming the step that failed. Nothing is written outside the user cache folder (the
converted model and the directions, reused later) and a temporary folder that is removed again.
"""
from __future__ import annotations

import io
import math
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from lab.runtime.engine import Engine
from lab.common.errors import LabError

PROMPT = "How was your day?"
STEER_EMOTION = "happy"
STEER_STRENGTH = 0.05
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class SelfTestError(LabError):
    """A self-test step failed; the message says which step and why."""


class StatusToStderr:
    """Progress that prints each new status line to stderr (stdout keeps only the JSON summary)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._last = ""

    def set_status(self, text: str) -> None:
        if text != self._last and not self.quiet:
            print(f"self-test: {text}", file=sys.stderr, flush=True)
        self._last = text

    def set_progress(self, done: int, total: int) -> None:
        pass

    def cancelled(self) -> bool:
        return False


@dataclass
class SelfTestReport:
    summary: dict[str, object] = field(default_factory=dict)
    engine: Engine | None = None


@contextmanager
def _step(report: SelfTestReport, name: str, progress: StatusToStderr) -> Iterator[None]:
    """Time one step into summary[name + '_s']; any failure becomes SelfTestError('name: reason')."""
    progress.set_status(name.replace("_", " "))
    started = time.perf_counter()
    try:
        yield
    except SelfTestError:
        raise
    except Exception as error:  # a missing module in a frozen build shows up here as ImportError
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise SelfTestError(f"{name} failed: {type(error).__name__}: {reason}") from error
    report.summary[f"{name}_s"] = round(time.perf_counter() - started, 2)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise SelfTestError(message)


def run_selftest(spec: str = "embedded", tokens: int = 4, quiet: bool = False) -> SelfTestReport:
    """Run every core check; returns the summary (and the loaded engine) or raises SelfTestError."""
    from lab.runtime.engine import open_engine
    from lab.common.events import SamplingSettings
    from lab.runtime.generator import generate
    from lab.sessions.recording import recorded, start_recording
    from lab.runtime.steering import SteeringState
    from lab.store.lab_file import open_store
    from lab.store.report import to_html

    progress = StatusToStderr(quiet)
    report = SelfTestReport()
    summary = report.summary

    with _step(report, "load_model", progress):
        engine = open_engine(spec, progress=progress)
        report.engine = engine
        lm, directions = engine.lm, engine.directions
        summary.update(model=lm.spec, family=lm.family, layers=lm.depth, device=str(lm.device),
                       emotions=len(directions.emotions), reading_layer=directions.reading_layer)
        _check(len(directions.emotions) > 0, "load_model failed: the direction set has no emotions")

    emotion = STEER_EMOTION if STEER_EMOTION in directions.emotions else directions.emotions[0]
    steering = SteeringState(directions)
    steering.set(emotion, STEER_STRENGTH)
    settings = SamplingSettings(temperature=0.0, max_new_tokens=tokens)
    messages = [{"role": "user", "content": PROMPT}]

    with tempfile.TemporaryDirectory(prefix="emotion-lab-selftest-") as folder:
        with _step(report, "generate_and_record", progress):
            with open_store(Path(folder) / "selftest.db") as store:
                with start_recording(store, engine, "self-test", settings) as recorder:
                    recorder.begin_turn("user", PROMPT)
                    recorder.begin_turn("assistant")
                    events = recorded(recorder, generate(lm, directions, engine.chat_ids(messages), steering, settings), steering.layers)
                    generated = [event for event in events if not event.is_prompt]
                    recorder.end_turn("".join(event.text for event in generated))
                session_id = recorder.session_id
                _check(len(generated) > 0, "generate_and_record failed: the model generated no tokens")
                for event in generated:
                    _check(set(event.readings) == set(directions.emotions) and all(math.isfinite(v) for v in event.readings.values()),
                           f"generate_and_record failed: token {event.position} has missing or non-finite readings")
                    _check(abs(event.strengths.get(emotion, 0.0) - STEER_STRENGTH) < 1e-6,
                           f"generate_and_record failed: token {event.position} was not steered by {emotion}")
                record = store.load_session(session_id)
            summary.update(steered=f"{emotion}={STEER_STRENGTH}", tokens=len(generated),
                           text="".join(event.text for event in generated))
        with _step(report, "read_back", progress):
            stored = [t.event for t in record.tokens if not t.event.is_prompt]
            _check(record.status == "complete", f"read_back failed: the session's status is {record.status!r}, not 'complete'")
            _check([e.token_id for e in stored] == [e.token_id for e in generated],
                   f"read_back failed: {len(stored)} tokens read back, {len(generated)} generated")
            _check(all(abs(a.readings[emotion] - b.readings[emotion]) < 1e-3 for a, b in zip(stored, generated)),
                   "read_back failed: the readings read back differ from those generated")
            _check(len(record.steering) > 0, "read_back failed: no steering event was recorded")
            summary["session_tokens"] = len(record.tokens)

    with _step(report, "report", progress):
        page = to_html(record, emotion)
        _check(f"<h1>{record.title}</h1>" in page and page.count("data:image/png;base64,") == 2,
               "report failed: the session's HTML report lacks its title or plots")
        summary["report_bytes"] = len(page)

    with _step(report, "plot", progress):
        png = render_readings_png([e.readings for e in stored], emotion)
        _check(png.startswith(PNG_MAGIC) and len(png) > 1000, "plot failed: the rendered image is not a PNG")
        summary["plot_bytes"] = len(png)

    with _step(report, "model_families", progress):
        summary["families"] = len(check_model_families())
    return report


def check_model_families() -> list[str]:
    """Import the model classes of every family in lab.model.families (and of their sub-models, e.g.
    Gemma 3's vision tower), so a bundle missing one fails here rather than on a user's model."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING, MODEL_MAPPING

    from lab.model.families import LAYER_PATHS

    names = []
    for family in LAYER_PATHS:
        config = AutoConfig.for_model(family)
        names.append(MODEL_FOR_CAUSAL_LM_MAPPING[type(config)].__name__)
        for key in getattr(config, "sub_configs", None) or {}:
            sub = getattr(config, key, None)
            if sub is not None and type(sub) in MODEL_MAPPING:
                names.append(MODEL_MAPPING[type(sub)].__name__)
    return names


def render_readings_png(readings: list[dict[str, float]], emotion: str) -> bytes:
    """One line plot of an emotion's readings over tokens, drawn offscreen (Agg, no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 2.5), dpi=80)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(range(len(readings)), [r[emotion] for r in readings], marker="o", label=emotion)
    axes.set_xlabel("token")
    axes.set_ylabel("reading (z)")
    axes.legend()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
