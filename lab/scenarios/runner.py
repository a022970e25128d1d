"""Running scenarios: one run, or many runs that differ only in steering and seed as the rows of
one batch (every forward pass shared), each optionally recorded as a session with its checks.

    result = run_scenario(engine, load_scenario("impossible-task.yaml"), steer={"desperate": 0.03}, store=store)
    for turn in result.turns: print(turn.role, turn.reply_start_readings, turn.checks)

The reading where a model reply begins ("reply start") is the reading at the last prompt token,
the chat template's assistant header, just before the first generated token.
"""
from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from lab import __version__
from lab.scenarios.checks import fired
from lab.scenarios.perplexity import reply_perplexities
from lab.emotions.direction_set import DirectionSet
from lab.runtime.engine import Engine
from lab.common.errors import LabError
from lab.common.steering_text import steering_text
from lab.common.events import SamplingSettings, TokenEvent
from lab.runtime.steering_changes import SteeringChanges
from lab.common.progress import Cancelled, Progress, SilentProgress
from lab.runtime.reading import text_reading
from lab.sessions.recording import start_recording
from lab.scenarios.scenario import Scenario, Script, ScriptStep, expand
from lab.scenarios.files import scenario_to_dict
from lab.runtime.steering import SteeringState
from lab.store.lab_file import SessionRecorder, SessionStore

CONTROL = "random control"  # the extra steering direction of a sweep's control series (not a valid emotion name)


@dataclass(frozen=True)
class TurnResult:
    turn: int  # index of the turn in its session (the system prompt, if any, is turn 0)
    role: str  # "system", "user", "assistant" or "reset"
    text: str
    generated: bool = False  # a model reply (as opposed to a scripted one)
    reply_start_readings: dict[str, float] = field(default_factory=dict)
    checks: tuple[str, ...] = ()  # rule names that fired, then labels added by hand
    token_readings: tuple[dict[str, float], ...] = ()  # per generated token
    reread_readings: dict[str, float] = field(default_factory=dict)  # the reply re-read fresh as an observer
    perplexity: float | None = None  # of the reply under the unsteered model
    values: dict[str, str] = field(default_factory=dict)  # the scenario variables in force

    def to_json(self) -> dict[str, Any]:
        """What `python -m lab run --json` prints for this turn."""
        return {"turn": self.turn, "role": self.role, "text": self.text,
                "reply_start_readings": self.reply_start_readings, "checks": list(self.checks)}


@dataclass(frozen=True)
class RunResult:
    title: str
    variant: str | None
    steer: dict[str, float]
    seed: int | None
    turns: tuple[TurnResult, ...]
    session_id: int | None = None

    def replies(self) -> list[TurnResult]:
        return [t for t in self.turns if t.generated]

    def fired(self) -> set[str]:
        """Every check or label that fired on any turn."""
        return {name for t in self.turns for name in t.checks}


@dataclass(frozen=True)
class RowSpec:
    """One run in a batch: its steering (on top of each step's own) and sampling seed."""

    steer: dict[str, float]
    seed: int | None = None


TurnCallback = Callable[[int, TurnResult], None]  # (batch row, turn)


def run_scenario(
    engine: Engine, scenario: Scenario, *, variant: str | None = None, steer: dict[str, float] | None = None,
    seed: int | None = None, temperature: float | None = None, max_tokens: int | None = None,
    store: SessionStore | None = None, progress: Progress | None = None, on_turn: TurnCallback | None = None,
) -> RunResult:
    """Run one variant of a scenario; recorded as a session in `store` (if given) with its checks.
    A sampled run without a seed gets a random one, so it can be repeated. Cancelling through
    `progress` raises Cancelled and leaves the session marked interrupted."""
    script = cap_tokens(expand(scenario, variant), max_tokens)
    temperature = scenario.temperature if temperature is None else temperature
    if seed is None and temperature > 0:
        seed = random.randrange(2**31)
    row = RowSpec(dict(steer or {}), seed)
    check_emotions(engine.directions, script, [row.steer])
    with contextlib.ExitStack() as stack:
        recorders = [stack.enter_context(record_run(store, engine, scenario, script, row, temperature))] if store else None
        result = run_rows(engine, script, [row], temperature=temperature, top_p=scenario.top_p, recorders=recorders,
                          progress=progress, on_turn=on_turn, reread=scenario.reread)[0]
    return replace(result, session_id=recorders[0].session_id) if recorders else result


def cap_tokens(script: Script, max_tokens: int | None) -> Script:
    """The script with every model turn limited to max_tokens (None: unchanged)."""
    if max_tokens is None:
        return script
    if max_tokens < 1:
        raise LabError("--max-tokens must be at least 1.")
    steps = tuple(replace(s, max_tokens=min(s.max_tokens, max_tokens)) if s.kind == "model" else s for s in script.steps)
    return replace(script, steps=steps)


def check_emotions(directions: DirectionSet, script: Script, steers: list[dict[str, float]]) -> None:
    """Refuse, before anything runs, steering by an emotion the direction set lacks."""
    for name in {n for s in script.model_steps() for n in s.steer} | {n for steer in steers for n in steer}:
        if name != CONTROL:
            directions.index(name)


def record_run(store: SessionStore, engine: Engine, scenario: Scenario, script: Script, row: RowSpec,
               temperature: float, extra: dict[str, Any] | None = None) -> SessionRecorder:
    """A recorder for one run; the session's scenario field says what ran, step by step."""
    longest = max((s.max_tokens for s in script.model_steps()), default=0)
    sampling = SamplingSettings(temperature, scenario.top_p, row.seed, longest)
    info = {
        "title": scenario.title, "file": str(scenario.source) if scenario.source else None, "variant": script.variant,
        "steer": row.steer, "seed": row.seed, **(extra or {}),
        "steps": [{"kind": s.kind, "values": s.values} for s in script.steps],
        "definition": scenario_to_dict(scenario),
    }
    title = scenario.title + (f" ({script.variant})" if script.variant else "")
    steering = steering_text(row.steer)
    return start_recording(store, engine, title + (f" [{steering}]" if steering else ""), sampling, scenario=info,
                           notes=f"Scenario run by Emotion Lab {__version__}.")


def with_control(directions: DirectionSet, seed: int = 0) -> DirectionSet:
    """A copy of `directions` with one more direction, CONTROL: a random unit vector per layer
    (seeded), so strength s of it adds as much to the residual stream as strength s of any emotion.
    Used for steering only; readings stay on the original set."""
    generator = torch.Generator().manual_seed(seed)
    random_dirs = torch.randn(directions.depth, 1, directions.vectors.shape[-1], generator=generator)
    random_dirs = random_dirs / random_dirs.norm(dim=-1, keepdim=True)
    ones = torch.ones(directions.depth, 1)
    description = {CONTROL: f"A random direction (seed {seed}) for control runs."}
    return directions.with_directions([CONTROL], description, random_dirs, random_dirs, 0 * ones, ones, kind="control")


def run_rows(
    engine: Engine, script: Script, rows: list[RowSpec], *, temperature: float = 0.0, top_p: float = 1.0,
    recorders: list[SessionRecorder] | None = None, steering_set: DirectionSet | None = None,
    progress: Progress | None = None, on_turn: TurnCallback | None = None, reread: bool = False,
    perplexity: bool = False,
) -> list[RunResult]:
    """Run `script` once per row, all rows in one batch; recorders (one per row) record each run."""
    return _Batch(engine, script, rows, temperature, top_p, recorders, steering_set, progress, on_turn, reread, perplexity).run()


class _Batch:
    """The conversations of every row, advanced step by step."""

    def __init__(self, engine: Engine, script: Script, rows: list[RowSpec], temperature: float, top_p: float,
                 recorders: list[SessionRecorder] | None, steering_set: DirectionSet | None, progress: Progress | None,
                 on_turn: TurnCallback | None, reread: bool, perplexity: bool) -> None:
        self.engine, self.script, self.rows = engine, script, rows
        self.temperature, self.top_p = temperature, top_p
        self.recorders = recorders
        self.steering_set = steering_set or engine.directions
        self.progress = progress or SilentProgress()
        self.on_turn, self.reread, self.perplexity = on_turn, reread, perplexity
        system = [{"role": "system", "content": script.system}] if script.system else []
        self.system = system
        self.messages: list[list[dict[str, str]]] = [list(system) for _ in rows]
        self.turns: list[list[TurnResult]] = [[] for _ in rows]
        self.seen_ids: list[list[int]] = [[] for _ in rows]  # prompt + reply of each row's last model turn
        self.changes = SteeringChanges(self.steering_set.steering_layers)
        self.total = max(1, sum(s.max_tokens for s in script.model_steps()))
        self.done = 0

    def run(self) -> list[RunResult]:
        if self.recorders is not None and len(self.recorders) != len(self.rows):
            raise ValueError("one recorder per row")
        if self.script.system:
            self._add_all("system", self.script.system, {})
        for step in self.script.steps:
            if self.progress.cancelled():
                raise Cancelled()
            if step.kind in ("user", "assistant"):
                for messages in self.messages:
                    messages.append({"role": step.kind, "content": step.text})
                self._add_all(step.kind, step.text, step.values)
            elif step.kind == "reset":
                self.messages = [list(self.system) for _ in self.rows]
                self.seen_ids = [[] for _ in self.rows]
                self._add_all("reset", "", step.values)
            else:
                self._model_step(step)
        self.progress.set_progress(self.total, self.total)
        return [RunResult(self.script.title, self.script.variant, row.steer, row.seed, tuple(turns))
                for row, turns in zip(self.rows, self.turns)]

    def _add(self, row: int, turn: TurnResult) -> None:
        self.turns[row].append(turn)
        if self.on_turn is not None:
            self.on_turn(row, turn)

    def _add_all(self, role: str, text: str, values: dict[str, str]) -> None:
        for row in range(len(self.rows)):
            if self.recorders is not None:
                self.recorders[row].begin_turn(role, text)
                self.recorders[row].end_turn()
            self._add(row, TurnResult(len(self.turns[row]), role, text, values=dict(values)))

    def _model_step(self, step: ScriptStep) -> None:
        lm, directions = self.engine.lm, self.engine.directions
        n = len(self.rows)
        prompts = [lm.chat_ids(messages) for messages in self.messages]
        state = SteeringState(self.steering_set, rows=n)
        for r, row in enumerate(self.rows):
            strengths = dict(row.steer)
            for name, value in step.steer.items():
                strengths[name] = strengths.get(name, 0.0) + value
            state.set_all(strengths, row=r)
        settings = SamplingSettings(self.temperature, self.top_p, None, step.max_tokens)
        starts: list[dict[str, float]] = [{} for _ in range(n)]
        pieces: list[list[str]] = [[] for _ in range(n)]
        readings: list[list[dict[str, float]]] = [[] for _ in range(n)]
        generated: list[list[int]] = [[] for _ in range(n)]
        unseen = [_common_prefix(self.seen_ids[r], prompts[r]) for r in range(n)]
        if self.recorders is not None:
            for recorder in self.recorders:
                recorder.begin_turn("assistant")
        stop = threading.Event()
        steps_done = 0
        for event in self.engine.generate_rows(prompts, state, settings, [row.seed for row in self.rows], stop):
            r = event.row
            if event.is_prompt:
                if event.position == len(prompts[r]) - 1:
                    starts[r] = event.readings
                if event.position >= unseen[r]:
                    self._record(r, event)
                continue
            self._record(r, event)
            pieces[r].append(event.text)
            readings[r].append(event.readings)
            generated[r].append(event.token_id)
            if len(generated[r]) > steps_done:
                steps_done = len(generated[r])
                self.progress.set_progress(self.done + steps_done, self.total)
                if self.progress.cancelled():
                    stop.set()
        if stop.is_set():
            raise Cancelled()
        self.done += step.max_tokens
        perplexities = reply_perplexities(lm, prompts, generated) if self.perplexity else [None] * n
        for r in range(n):
            reply = "".join(pieces[r])
            checks = fired(self.script.checks, reply)
            reread = text_reading(lm, directions, reply).readings if self.reread and reply.strip() else {}
            if self.recorders is not None:
                self.recorders[r].add_checks(checks)
                self.recorders[r].end_turn(reply)
            self.messages[r].append({"role": "assistant", "content": reply})
            self.seen_ids[r] = prompts[r] + generated[r]
            self._add(r, TurnResult(
                len(self.turns[r]), "assistant", reply, True, starts[r], tuple(checks), tuple(readings[r]),
                reread, perplexities[r], dict(step.values),
            ))

    def _record(self, row: int, event: TokenEvent) -> None:
        """Record one event in its row's session (as that session's only row)."""
        if self.recorders is None:
            return
        recorder = self.recorders[row]
        change = self.changes.change(event)
        if change is not None:
            recorder.steering(change)
        recorder.add_token(replace(event, row=0))


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def run_from_session(store: SessionStore, session_id: int) -> RunResult:
    """A recorded scenario run read back: turns with reply-start readings, checks and labels."""
    record = store.load_session(session_id)
    info = record.scenario or {}
    if "steps" not in info:
        raise LabError(f"Session {session_id} is not a scenario run.")
    checks: dict[int, list[str]] = {}
    for check in store.load_checks(session_id):
        checks.setdefault(check.turn, []).append(check.name)
    by_turn: dict[int, list[TokenEvent]] = {}
    for token in record.tokens:
        by_turn.setdefault(token.turn, []).append(token.event)
    offset = 1 if record.turns and record.turns[0].role == "system" else 0
    steps = info["steps"]
    turns = []
    for turn in record.turns:
        events = by_turn.get(turn.index, [])
        prompt = [e for e in events if e.is_prompt]
        replies = [e for e in events if not e.is_prompt]
        step = turn.index - offset
        values = steps[step]["values"] if 0 <= step < len(steps) else {}
        generated = turn.role == "assistant" and bool(events)
        turns.append(TurnResult(
            turn.index, turn.role, record.turn_text(turn), generated,
            prompt[-1].readings if generated and prompt else {}, tuple(checks.get(turn.index, [])),
            tuple(e.readings for e in replies), values=dict(values),
        ))
    return RunResult(info.get("title", record.title), info.get("variant"), dict(info.get("steer") or {}),
                     info.get("seed"), tuple(turns), session_id)
