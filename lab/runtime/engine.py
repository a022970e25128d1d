"""The loaded model and its emotion directions: what every front end (CLI, app) works with.

An Engine generates through one of two backends behind the same methods: "local" (the lab's own
hooked decoding loop, lab.runtime.generator: streamed, live steering) or "nnsight" (one nnsight
trace per reply, lab.runtime.nnsight_engine), which can also run on an NDIF server (`remote`).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from lab.common.errors import LabError
from lab.common.progress import Progress, SilentProgress
from lab.emotions.direction_set import DirectionSet
from lab.emotions.library import load_or_extract
from lab.model.loader import LoadedModel, load_model, load_shape
from lab.common.events import SamplingSettings, TokenEvent
from lab.runtime.generator import generate_rows, shared_prompt
from lab.runtime.ndif import RemoteTarget, check_reachable, remote_target
from lab.runtime.nnsight_engine import NnsightRunner
from lab.runtime.nnsight_reader import NnsightReader
from lab.runtime.steering import SteeringState

BACKENDS = ("local", "nnsight")


@dataclass
class Engine:
    lm: LoadedModel
    directions: DirectionSet
    backend: str = "local"
    remote: RemoteTarget | None = None  # set when the nnsight backend runs on NDIF
    status: Callable[[str], None] | None = None  # told a remote job's state while a reply waits (ndif.JobStatus)
    _runner: NnsightRunner | None = field(default=None, init=False, repr=False, compare=False)

    def report_status(self, text: str) -> None:
        """Pass a remote job's state (lab.runtime.ndif.JobStatus) on to `status`, when one listens."""
        if self.status is not None:
            self.status(text)

    def chat_ids(self, messages: list[dict[str, str]]) -> list[int]:
        return self.lm.chat_ids(messages, add_generation_prompt=True)

    @property
    def runtime(self) -> dict[str, str]:
        """Where and how replies are made (recorded with every session): device, dtype and, for the
        nnsight engine, its name and NDIF target."""
        if self.backend == "local":
            return self.lm.runtime
        return {**self.lm.runtime, "engine": self.backend, **(self.remote.runtime if self.remote else {})}

    @property
    def measured_precision(self) -> str | None:
        """The precision the directions were extracted and validated in (None for files made before it was recorded)."""
        return self.directions.extras.get("precision")

    def precision_warning(self) -> str | None:
        """A sentence when the model runs in a precision its validation was not measured in."""
        measured, running = self.measured_precision, self.lm.runtime["dtype"]
        if measured is None or measured == running:
            return None
        return (f"Validation was measured in {measured}; this model runs in {running}, where readings may differ "
                f"slightly (choose {measured} under Model > Precision for the measured numbers).")

    def generate(
        self, prompt_ids: list[int], steering: SteeringState, settings: SamplingSettings = SamplingSettings(),
        stop: threading.Event | None = None,
    ) -> Iterator[TokenEvent]:
        """The prompt's events, then every row's generated tokens (one shared prompt; see generate_rows)."""
        return self.generate_rows(shared_prompt(prompt_ids, steering.rows), steering, settings, stop=stop)

    def generate_rows(
        self, prompts: list[list[int]], steering: SteeringState, settings: SamplingSettings = SamplingSettings(),
        seeds: list[int] | None = None, stop: threading.Event | None = None,
    ) -> Iterator[TokenEvent]:
        """One prompt per row (lab.runtime.generator.generate_rows), through this engine's backend."""
        if self.backend == "local":
            return generate_rows(self.lm, self.directions, prompts, steering, settings, seeds, stop)
        if self._runner is None:
            self._runner = NnsightRunner(self.lm, self.remote, self.report_status)
        return self._runner.generate_rows(self.directions, prompts, steering, settings, seeds, stop)


def open_engine(
    spec: str = "embedded", method: str = "mean_diff", progress: Progress | None = None, dtype: str = "auto",
    engine: str = "local", remote: bool = False, ndif_host: str | None = None,
) -> Engine:
    """Load the model (in `dtype`, lab.model.precision) and its directions (extracted on first use, then cached).

    engine picks the backend, which also reads the texts when directions must be extracted;
    remote=True (nnsight only) runs `spec`, a hub id, on an NDIF server."""
    if engine not in BACKENDS:
        raise LabError(f"Unknown engine '{engine}'. Choose one of: {', '.join(BACKENDS)}.")
    progress = progress or SilentProgress()
    if remote:
        return _open_remote(spec, method, progress, engine, ndif_host)
    lm = load_model(spec, progress, dtype)
    if engine == "local":
        return Engine(lm=lm, directions=load_or_extract(lm, method, progress))
    runner = NnsightRunner(lm)
    opened = Engine(lm=lm, directions=load_or_extract(lm, method, progress, NnsightReader(runner)), backend=engine)
    opened._runner = runner
    return opened


def _open_remote(model_id: str, method: str, progress: Progress, engine: str, host: str | None) -> Engine:
    """A hub model run on NDIF, checked in the order a user can fix it (engine, API key, network), then
    built empty from its config and tokenizer, its directions extracted on NDIF on first use (then cached)."""
    if engine != "nnsight":
        raise LabError("Remote models run through nnsight: add --engine nnsight.")
    target = remote_target(model_id, host)
    check_reachable(target.host)
    lm, commit = load_shape(model_id, progress)
    target = replace(target, model_id=lm.spec, commit=commit)
    runner = NnsightRunner(lm, target, progress.set_status)  # while extracting, the job's state shows as progress
    directions = load_or_extract(lm, method, progress, NnsightReader(runner))
    opened = Engine(lm=lm, directions=directions, backend=engine, remote=target)
    runner.report = opened.report_status
    opened._runner = runner
    return opened
