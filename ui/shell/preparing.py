"""Loading a model and preparing it for the lab (lab.scenarios.prepare) as one background job.

A model without directions shows one progress bar in the status area, with 'Preparing this model:
40% (reading example texts, about 2 min left)'; Stop cancels it and nothing half-done is kept.
"""
from __future__ import annotations

from collections.abc import Callable

from lab.runtime.engine import Engine
from lab.scenarios.prepare import forward_to, prepare
from ui.services.workers import Job, JobContext


def loading_job(spec: str, dtype: str, on_done: Callable[[Engine], None], slider_range: bool, cancellable: bool) -> Job:
    """Load `spec` in `dtype`, then prepare it (directions; the slider range too with `slider_range`)."""
    from lab.model.loader import load_model

    def work(ctx: JobContext) -> Engine:
        lm = load_model(spec, ctx, dtype)
        return Engine(lm=lm, directions=prepare(lm, forward_to(ctx), ctx.cancelled, slider_range=slider_range).directions)

    return Job(f"loading the model {spec}", work, on_done=on_done, cancellable=cancellable)
