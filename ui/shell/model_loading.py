"""Loading a model in the model thread and preparing it (directions, steering range): the window shows what comes back.

Model menu choices arrive as `open_model`; a loaded engine goes into the app's state, its range out
through `strength_range_changed`, and one status line per step through `status`.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, Signal

from lab.runtime.engine import Engine, open_engine
from lab.runtime.strength_range import StrengthRange, cached_range
from ui.services.state import LabState
from ui.services.workers import Job, ModelRunner
from ui.shell.model_menu import ModelPicker
from ui.shell.preparing import loading_job


class ModelLoader(QObject):
    """Which model the lab uses (`spec`), loaded in the background; on failure the error funnel explains
    and the current one stays."""

    status = Signal(str)  # one line for the status bar
    long_job_started = Signal()  # a job long enough to show the time left
    model_replaced = Signal()  # another model answers from now on: the conversation belonged to the previous one
    strength_range_changed = Signal(object)  # the loaded model's StrengthRange

    def __init__(self, state: LabState, runner: ModelRunner, picker: ModelPicker, spec: str, calibrate_range: bool,
                 parent: QObject | None = None) -> None:
        """calibrate_range: measure a model's useful steering range after loading it, unless cached."""
        super().__init__(parent)
        self.state, self.runner, self.picker = state, runner, picker
        self.spec = spec
        self.calibrate_range = calibrate_range

    def start_loading(self) -> None:
        """Load the model and prepare it (directions, slider range: ui.shell.preparing) in the worker thread."""
        self.status.emit("Loading the model…")
        gc.freeze()  # objects so far live as long as the app: keep garbage collections during loading short
        self.long_job_started.emit()
        self.runner.start(loading_job(self.spec, self.picker.dtype, self.use_engine, self.calibrate_range, cancellable=False))

    def open_model(self, spec: str, remote_host: str | None = None) -> None:
        """Load another model in the background; on failure the error funnel explains and the current one stays.

        With `remote_host` (an NDIF server), `spec` is a hub id run there through the nnsight engine."""
        self.status.emit(f"Loading {spec}…" if remote_host is None else f"Connecting to NDIF ({remote_host}) for {spec}…")

        def done(engine: Engine) -> None:
            self.spec = spec
            self.model_replaced.emit()
            self.use_engine(engine)

        self.long_job_started.emit()
        if remote_host is None:  # a model without directions is prepared in the same job (Stop cancels it)
            self.runner.start(loading_job(spec, self.picker.dtype, done, self.calibrate_range, cancellable=True))
            return
        self.runner.start(Job(f"loading the model {spec}",
                              lambda ctx: open_engine(spec, progress=ctx, engine="nnsight", remote=True, ndif_host=remote_host),
                              on_done=done, cancellable=False))

    def reopen(self) -> None:
        """Load the current model again (in the precision just chosen)."""
        self.open_model(self.spec)

    def set_strength_range(self, strength_range: StrengthRange) -> None:
        """The loaded model's coherence cliff: the sliders end there, sweeps are warned beyond it."""
        self.strength_range_changed.emit(strength_range)

    def use_engine(self, engine: Engine) -> None:
        self.set_strength_range(cached_range(engine.lm.identity) or StrengthRange.fallback())
        self.state.set_engine(engine)
        if engine.remote is None:
            self.picker.loaded(engine.lm.spec)  # remembered in the Model menu's recent list
        else:
            self.picker.show_current(engine.lm.spec)
            engine.status = self.runner.status.emit  # the remote job's state (queued, running, seconds) in the status bar
        gc.freeze()  # the model's many long-lived objects: full collections would pause the GUI ~0.3 s
        runtime = engine.lm.runtime
        warning = engine.precision_warning()
        self.status.emit(f"Ready: {engine.lm.spec} model ({engine.lm.depth} layers, {runtime['dtype']} on "
                         f"{runtime['device']}), {len(engine.directions.emotions)} emotions."
                         + (f" {warning}" if warning else ""))
