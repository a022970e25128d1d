"""Sweeps: a scenario run for each emotion x strength x seed, plus a control series steered along
a random direction of the same norm. Runs that differ only in steering and seed are rows of one
batch; each run is recorded as a session and all of them are grouped as one experiment.

Results per (series, strength): the rate of each check with a Wilson 95% interval, the mean
reading of each swept emotion over the generated tokens with a t interval, and coherence
(repetition, distinct-2, perplexity under the unsteered model) to show where text breaks down.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from lab.common.text_coherence import distinct_2, repetition_rate
from lab.runtime.engine import Engine
from lab.common.errors import LabError
from lab.scenarios.runner import (
    CONTROL, RowSpec, RunResult, cap_tokens, check_emotions, record_run, run_from_session, run_rows, with_control,
)
from lab.common.progress import Cancelled, Progress, SilentProgress
from lab.scenarios.scenario import Scenario, expand
from lab.common.stats import Estimate, mean_interval, wilson
from lab.store.lab_file import SessionStore
from lab.store.experiments import ExperimentRun

RunKey = tuple[tuple[tuple[str, float], ...], int]


@dataclass(frozen=True)
class SweepPlan:
    emotions: tuple[str, ...]
    strengths: tuple[float, ...]
    seeds: tuple[int, ...] = (0,)
    control: bool = True  # add the random-direction series
    variant: str | None = None
    max_tokens: int | None = None  # cap on every model turn
    temperature: float | None = None  # None: the scenario's
    perplexity: bool = True
    batch_rows: int = 16  # runs per batch
    control_seed: int = 0  # seeds the random direction

    def series(self) -> list[str]:
        return [*self.emotions, *([CONTROL] if self.control else [])]

    def conditions(self) -> list[tuple[str, float, int]]:
        return [(s, strength, seed) for s in self.series() for strength in self.strengths for seed in self.seeds]

    def unique_runs(self) -> dict[RunKey, RowSpec]:
        """The runs to generate: a condition at strength 0 is the same unsteered run for every series."""
        unique: dict[RunKey, RowSpec] = {}
        for series, strength, seed in self.conditions():
            unique.setdefault(_key(series, strength, seed), RowSpec({series: strength} if strength else {}, seed))
        return unique

    def run_count(self) -> int:
        """How many runs the sweep generates (and records): fewer than conditions() when strength 0 is swept."""
        return len(self.unique_runs())

    def check(self) -> None:
        if not self.emotions or not self.strengths or not self.seeds:
            raise LabError("A sweep needs at least one emotion, one strength and one seed.")
        if not all(math.isfinite(s) and abs(s) <= 1 for s in self.strengths):
            raise LabError("Sweep strengths must be numbers from -1 to 1 (useful range on small models: about -0.06 to 0.06).")
        if self.batch_rows < 1:
            raise LabError("A batch needs at least one row.")


@dataclass(frozen=True)
class SweepRun:
    series: str
    strength: float
    seed: int
    run: RunResult
    perplexity: float | None = None


@dataclass(frozen=True)
class SweepPoint:
    series: str
    strength: float
    runs: int
    rates: dict[str, Estimate]  # check or label -> share of runs where it fired
    readings: dict[str, Estimate]  # swept emotion -> mean reading over generated tokens
    repetition: Estimate
    distinct2: Estimate
    perplexity: Estimate


@dataclass(frozen=True)
class SweepResult:
    title: str
    plan: SweepPlan
    checks: tuple[str, ...]  # the scenario's check names
    runs: tuple[SweepRun, ...] = ()
    experiment_id: int | None = None
    cancelled: bool = False
    settings: dict[str, object] = field(default_factory=dict)

    def check_names(self) -> list[str]:
        """The scenario's checks, then any labels added by hand."""
        labels = sorted({name for r in self.runs for name in r.run.fired()} - set(self.checks))
        return [*self.checks, *labels]

    def points(self) -> list[SweepPoint]:
        return summarize(self)

    def run_count(self) -> int:
        """How many runs finished, counted as SweepPlan.run_count counts them (a shared unsteered run once)."""
        return len({_key(r.series, r.strength, r.seed) for r in self.runs})


def sweep(engine: Engine, scenario: Scenario, plan: SweepPlan, *, store: SessionStore | None = None,
          progress: Progress | None = None, on_update: Callable[[SweepResult], None] | None = None) -> SweepResult:
    """Run the sweep; on_update gets the results so far after each batch. Cancelling through
    `progress` stops it and returns the finished batches with cancelled=True."""
    plan.check()
    progress = progress or SilentProgress()
    script = cap_tokens(expand(scenario, plan.variant), plan.max_tokens)
    check_emotions(engine.directions, script, [{e: 1.0} for e in plan.emotions])
    temperature = scenario.temperature if plan.temperature is None else plan.temperature
    steering_set = with_control(engine.directions, plan.control_seed) if plan.control else engine.directions
    unique = plan.unique_runs()
    settings = _settings(scenario, script.variant, plan, temperature)
    title = f"Sweep: {scenario.title} ({', '.join(plan.series())})"
    result = SweepResult(title, plan, tuple(c.name for c in scenario.checks), settings=settings,
                         experiment_id=store.create_experiment(title, settings) if store else None)
    keys = list(unique)
    batches = [keys[i : i + plan.batch_rows] for i in range(0, len(keys), plan.batch_rows)]
    for number, batch in enumerate(batches):
        progress.set_status(f"Sweep batch {number + 1} of {len(batches)} ({len(keys)} runs)")
        rows = [unique[k] for k in batch]
        try:
            with contextlib.ExitStack() as stack:
                extra = {"experiment": result.experiment_id}
                recorders = [stack.enter_context(record_run(store, engine, scenario, script, row, temperature, extra))
                             for row in rows] if store else None
                finished = run_rows(engine, script, rows, temperature=temperature, top_p=scenario.top_p,
                                    recorders=recorders, steering_set=steering_set, perplexity=plan.perplexity,
                                    progress=_BatchProgress(progress, number, len(batches)))
        except Cancelled:
            return replace(result, cancelled=True)
        if recorders is not None:
            finished = [replace(run, session_id=rec.session_id) for run, rec in zip(finished, recorders)]
        done = dict(zip(batch, finished))
        new = [SweepRun(series, strength, seed, run, _pooled_perplexity(run) if plan.perplexity else None)
               for series, strength, seed in plan.conditions()
               if (run := done.get(_key(series, strength, seed))) is not None]
        if store is not None and result.experiment_id is not None:
            for item in new:
                metrics = {"perplexity": item.perplexity if item.perplexity is not None and math.isfinite(item.perplexity) else None}
                store.add_experiment_run(result.experiment_id, ExperimentRun(item.run.session_id, item.series, item.strength, item.seed, metrics))
        result = replace(result, runs=result.runs + tuple(new))
        if on_update is not None:
            on_update(result)
    return result


def load_sweep(store: SessionStore, experiment_id: int) -> SweepResult:
    """A recorded sweep read back (labels added since then count as checks)."""
    record = store.load_experiment(experiment_id)
    s = record.settings
    try:
        plan = SweepPlan(
            tuple(s["emotions"]), tuple(s["strengths"]), tuple(s["seeds"]), bool(s["control"]), s["variant"],
            s["max_tokens"], s["temperature"], bool(s["perplexity"]), int(s["batch_rows"]), int(s["control_seed"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise LabError(f"Experiment {experiment_id} is not a sweep this version can read ({error!r}).") from error
    sessions: dict[int, RunResult] = {}
    runs = []
    for r in record.runs:
        if r.session not in sessions:
            sessions[r.session] = run_from_session(store, r.session)
        runs.append(SweepRun(r.series, r.strength, r.seed, sessions[r.session], r.metrics.get("perplexity")))
    complete = len(runs) == len(plan.conditions())
    return SweepResult(record.title, plan, tuple(s.get("checks", [])), tuple(runs), record.id, not complete, dict(s))


def summarize(result: SweepResult) -> list[SweepPoint]:
    """One point per (series, strength), in the plan's order."""
    names = result.check_names()
    groups: dict[tuple[str, float], list[SweepRun]] = {}
    for item in result.runs:
        groups.setdefault((item.series, item.strength), []).append(item)
    points = []
    for (series, strength), items in groups.items():
        runs = [i.run for i in items]
        fired = [r.fired() for r in runs]
        points.append(SweepPoint(
            series, strength, len(items),
            rates={name: wilson(sum(name in f for f in fired), len(runs)) for name in names},
            readings={e: mean_interval([_mean_reading(r, e) for r in runs]) for e in result.plan.emotions},
            repetition=mean_interval([_mean_over_replies(r, repetition_rate) for r in runs]),
            distinct2=mean_interval([_mean_over_replies(r, distinct_2) for r in runs]),
            perplexity=mean_interval([i.perplexity for i in items if i.perplexity is not None]),
        ))
    order = {(s, x): n for n, (s, x) in enumerate((s, x) for s in result.plan.series() for x in result.plan.strengths)}
    return sorted(points, key=lambda p: order.get((p.series, p.strength), len(order)))


def _key(series: str, strength: float, seed: int) -> RunKey:
    return (((series, strength),) if strength else (), seed)


def _mean_reading(run: RunResult, emotion: str) -> float:
    values = [r[emotion] for t in run.replies() for r in t.token_readings if emotion in r]
    return sum(values) / len(values) if values else math.nan


def _mean_over_replies(run: RunResult, measure: Callable[[str], float]) -> float:
    values = [v for t in run.replies() if math.isfinite(v := measure(t.text))]
    return sum(values) / len(values) if values else math.nan


def _pooled_perplexity(run: RunResult) -> float:
    """Token-weighted geometric mean of the replies' perplexities."""
    pairs = [(len(t.token_readings), t.perplexity) for t in run.replies() if t.perplexity is not None and math.isfinite(t.perplexity)]
    tokens = sum(n for n, _ in pairs)
    return math.exp(sum(n * math.log(p) for n, p in pairs) / tokens) if tokens else math.nan


def _settings(scenario: Scenario, variant: str | None, plan: SweepPlan, temperature: float) -> dict[str, object]:
    return {
        "scenario": scenario.title, "file": str(scenario.source) if scenario.source else None, "variant": variant,
        "emotions": list(plan.emotions), "strengths": list(plan.strengths), "seeds": list(plan.seeds),
        "control": plan.control, "control_seed": plan.control_seed, "max_tokens": plan.max_tokens,
        "temperature": temperature, "top_p": scenario.top_p, "perplexity": plan.perplexity,
        "batch_rows": plan.batch_rows, "checks": [c.name for c in scenario.checks],
    }


class _BatchProgress:
    """One batch's progress as part of the whole sweep's."""

    def __init__(self, progress: Progress, index: int, count: int) -> None:
        self.progress, self.index, self.count = progress, index, count

    def set_progress(self, done: int, total: int) -> None:
        self.progress.set_progress(self.index * total + done, self.count * total)

    def set_status(self, text: str) -> None:
        self.progress.set_status(text)

    def cancelled(self) -> bool:
        return self.progress.cancelled()
