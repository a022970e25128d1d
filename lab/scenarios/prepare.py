"""Preparing a model for the lab, as one job with one progress: its emotion directions (reading the
example texts, choosing the reading layer, validating) and its slider range (the coherence cliff).

Every stage's work is counted up front in token-equivalents (`plan`): the tokens of the texts it
reads, and for the slider range the tokens it generates (a generated token costs GENERATED_TOKEN
read tokens). The fraction done is the work done over the work planned, and the time left is the
work left at the pace measured so far (before any is measured: the typical per-token cost,
`seconds_per_token`). Results are cached per model and precision (lab.emotions.library,
lab.runtime.strength_range); a second preparation finds them and does nothing. Cancelling
writes nothing half-done: each cache file is written whole, once its stage is complete.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from lab.common.progress import Progress, SilentProgress, check_cancelled, duration_text
from lab.emotions.definitions import load_emotions, load_neutral
from lab.emotions.direction_set import DirectionSet
from lab.emotions.lda import split_holdout
from lab.emotions.library import load_or_extract, stored_directions
from lab.emotions.token_sums import ActivationReader
from lab.model.loader import LoadedModel
from lab.runtime.engine import Engine
from lab.runtime import strength_range
from lab.runtime.strength_range import StrengthRange, cached_range, calibrate

# The embedded model's first extraction in float32 on a 2-core CPU (README, Performance: `extract_s`
# 287 s for 139,400 tokens, 2.06 ms per token, 134.5 million weights), before texts were batched by
# token budget: an upper bound where the CPU is not shared. `python -m lab bench` measures it anew
# (`ms_per_token_per_billion`).
SECONDS_PER_TOKEN_PER_PARAMETER = 1.53e-11
GENERATED_TOKEN = 3.0  # one greedy token of the batched slider-range generation, in read tokens (~25 s measured)
FIT_TOKENS_PER_LAYER = 150  # choosing the layer and validating, per layer, in read tokens

READING, NEUTRAL, FITTING, RANGE = "Reading example texts", "Reading neutral texts", "Choosing the reading layer", "Measuring where steering breaks"
STAGES = {READING: "reading example texts", NEUTRAL: "reading neutral texts", FITTING: "choosing the reading layer and validating",
          RANGE: "measuring the slider range"}  # status prefix (as the stages report it) -> what the user is told
ALIASES = {"Validating": FITTING}


@dataclass(frozen=True)
class Step:
    """What a preparation reports: the share done (0 to 1, never falling), the stage, and the seconds left."""

    fraction: float
    stage: str
    seconds_left: float

    def text(self) -> str:
        """'Preparing this model: 40%, reading example texts, about 2 min left'."""
        left = f", about {duration_text(self.seconds_left)} left" if self.fraction < 1 else ""
        return f"Preparing this model: {self.fraction:.0%}, {self.stage}{left}"


Report = Callable[[Step], None]


@dataclass(frozen=True)
class Preparation:
    directions: DirectionSet
    strength_range: StrengthRange
    seconds: float
    was_cached: bool  # nothing had to be computed


def model_parameters(lm: LoadedModel) -> int:
    """All the model's weights (as the catalogue counts them)."""
    return sum(p.numel() for p in lm.model.parameters())


def seconds_per_token(parameters: int) -> float:
    """The typical cost of reading one token through a model of `parameters` weights, in seconds."""
    return SECONDS_PER_TOKEN_PER_PARAMETER * parameters


def full_work(lm: LoadedModel) -> dict[str, float]:
    """The work of every stage on `lm` from nothing, in read tokens (texts counted with its tokenizer)."""
    emotions, neutral = load_emotions(), load_neutral()
    texts = [t for e in emotions for t in (*e.examples, *e.validation)] + list(neutral.texts + neutral.validation)
    rows = 1 + 2 * len(strength_range.EMOTIONS) * len(strength_range.STRENGTHS)
    return {READING: float(_tokens(lm, texts)), NEUTRAL: float(_tokens(lm, split_holdout(neutral.texts)[0])),
            FITTING: float(FIT_TOKENS_PER_LAYER * lm.depth),
            RANGE: GENERATED_TOKEN * rows * strength_range.TOKENS * len(strength_range.PROMPTS)}


def plan(lm: LoadedModel, method: str = "mean_diff", slider_range: bool = True) -> dict[str, float]:
    """The work each stage still has to do on `lm`, in read tokens (0 for what is cached or skipped)."""
    work = full_work(lm)
    if stored_directions(lm, method) is not None:
        work.update({READING: 0.0, NEUTRAL: 0.0, FITTING: 0.0})
    if not slider_range or cached_range(lm.identity) is not None:
        work[RANGE] = 0.0
    return work


def _tokens(lm: LoadedModel, texts: list[str]) -> int:
    return sum(len(ids) for ids in lm.tokenizer([lm.sink_text + t for t in texts], add_special_tokens=False).input_ids)


class ChainProgress:
    """The Progress every stage reports to, turned into one Step stream over the planned work."""

    def __init__(self, work: dict[str, float], report: Report, cancelled: Callable[[], bool], prior_s_per_token: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.work, self._report, self._cancelled, self._prior, self._clock = work, report, cancelled, prior_s_per_token, clock
        self.total = max(sum(work.values()), 1e-9)
        self._stage: str | None = None
        self._finished = 0.0  # work of the stages passed
        self._share = 0.0  # of the current stage
        self._fraction = 0.0
        self._started = clock()
        self._label = "starting"

    def set_status(self, text: str) -> None:
        prefix = next((p for p in (*STAGES, *ALIASES) if text.startswith(p)), None)
        stage = ALIASES.get(prefix, prefix) if prefix else None
        if stage is not None and stage != self._stage:
            if self._stage is not None:
                self._finished += self.work[self._stage]
            self._stage, self._share = stage, 0.0
        self._label = STAGES[stage] if stage else text[:1].lower() + text[1:]
        self._emit()

    def set_progress(self, done: int, total: int) -> None:
        self._share = done / total if total else 0.0
        self._emit()

    def cancelled(self) -> bool:
        return self._cancelled()

    def finish(self) -> None:
        self._fraction = 1.0
        self._report(Step(1.0, "ready", 0.0))

    def _emit(self) -> None:
        current = self.work.get(self._stage or "", 0.0) * min(self._share, 1.0)
        self._fraction = max(self._fraction, min((self._finished + current) / self.total, 0.999))
        self._report(Step(self._fraction, self._label, self.seconds_left()))

    def seconds_left(self) -> float:
        """The work left at the measured pace (after 2 s and 2% of the work), else at the typical pace."""
        spent, done = self._clock() - self._started, self._fraction * self.total
        left = self.total - done
        if spent > 2 and self._fraction > 0.02:
            return spent / done * left
        return left * self._prior


def forward_to(progress: Progress) -> Report:
    """A Report that shows each Step through a Progress (a per-mille bar and the Step's text)."""

    def report(step: Step) -> None:
        progress.set_status(step.text())
        progress.set_progress(round(step.fraction * 1000), 1000)

    return report


def prepare(lm: LoadedModel, report: Report | None = None, cancelled: Callable[[], bool] | None = None,
            method: str = "mean_diff", reader: ActivationReader | None = None, slider_range: bool = True) -> Preparation:
    """Directions and slider range for `lm`, made now unless cached; `report` is told every Step,
    `cancelled` is asked between batches (Cancelled is raised, nothing half-done is written).
    slider_range=False leaves an unmeasured range at the typical one (StrengthRange.fallback)."""
    start = time.monotonic()
    work = plan(lm, method, slider_range)
    chain = ChainProgress(work, report or (lambda step: None), cancelled or SilentProgress().cancelled,
                          seconds_per_token(model_parameters(lm)))
    check_cancelled(chain)
    directions = load_or_extract(lm, method, chain, reader)
    measured = cached_range(lm.identity) or (calibrate(Engine(lm, directions), chain) if slider_range else StrengthRange.fallback())
    chain.finish()
    return Preparation(directions, measured, time.monotonic() - start, was_cached=not any(work.values()))


REFERENCE_CORES = 2  # SECONDS_PER_TOKEN_PER_PARAMETER was measured on this many cores


@dataclass(frozen=True)
class PrepareEstimate:
    """How long preparing a model of `parameters` weights takes on `cores` CPU cores, and why."""

    parameters: int
    tokens: float  # read-token equivalents of the whole chain
    cores: int
    cost: float = SECONDS_PER_TOKEN_PER_PARAMETER  # seconds per token per weight on REFERENCE_CORES cores

    @property
    def seconds(self) -> float:
        return self.tokens * self.cost * self.parameters * REFERENCE_CORES / self.cores

    def arithmetic(self) -> str:
        """The estimate with its arithmetic shown."""
        return (f"{self.tokens:,.0f} tokens x {self.cost * 1e12:.3f} ms per token per billion weights "
                f"x {self.parameters / 1e9:.2f} billion weights x {REFERENCE_CORES}/{self.cores} cores = {duration_text(self.seconds)}")


def estimate(lm: LoadedModel, parameters: int, cores: int = 4) -> PrepareEstimate:
    """The whole chain's work from nothing, counted on `lm`, for a model of `parameters` weights on `cores` cores."""
    return PrepareEstimate(parameters, sum(full_work(lm).values()), cores)
