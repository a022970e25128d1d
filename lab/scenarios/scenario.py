"""Scenarios: a scripted conversation with model turns, variables, repeat blocks, variants and
behaviour checks, and its expansion into the flat list of steps one variant runs.

The file format (YAML) is read, validated and written by lab.scenarios.files. Texts may use
`{name}` variables (write `{{` and `}}` for literal braces); a value is inserted as it is, never
expanded again. Repeat blocks number their passes 1..count in their counter variable and may
`vary` other variables pass by pass (cycling through each list).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from lab.scenarios.checks import Check
from lab.common.errors import LabError

VARIABLE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_STEPS = 400  # expanded steps per run: a typo like count: 1000 should not hang the app
MAX_REPEAT_COUNT = 100
MAX_SHOWN_PROBLEMS = 20  # in an error message; `problems` keeps them all
DEFAULT_MAX_TOKENS = 64


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a scenario file: where (line, field) and what, in plain words."""

    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = ", ".join(part for part in (f"line {self.line}" if self.line else "", self.field) if part)
        return f"{where}: {self.message}" if where else self.message


class ScenarioError(LabError):
    """A scenario that cannot be used; `problems` lists everything wrong with it."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        shown = "; ".join(map(str, problems[:MAX_SHOWN_PROBLEMS]))
        more = f"; and {len(problems) - MAX_SHOWN_PROBLEMS} more" if len(problems) > MAX_SHOWN_PROBLEMS else ""
        super().__init__(" ".join(f"{source or 'The scenario'} has {count}: {shown}{more}".split()))  # one line


@dataclass(frozen=True)
class Message:
    role: str  # "user" or "assistant" (a scripted assistant reply)
    text: str
    only: tuple[str, ...] = ()  # variants that include this step; empty = all
    line: int | None = field(default=None, compare=False)  # where the step is in its file


@dataclass(frozen=True)
class ModelTurn:
    max_tokens: int = DEFAULT_MAX_TOKENS
    steer: dict[str, float] = field(default_factory=dict)  # added to the run's steering for this turn
    only: tuple[str, ...] = ()
    line: int | None = field(default=None, compare=False)  # where the step is in its file


@dataclass(frozen=True)
class Reset:
    """Start a fresh conversation (the system prompt stays)."""

    only: tuple[str, ...] = ()
    line: int | None = field(default=None, compare=False)  # where the step is in its file


@dataclass(frozen=True)
class Repeat:
    count: int | str  # a number, or text such as "{n}" that fills in to one
    steps: tuple[Step, ...]
    counter: str = "i"
    vary: dict[str, tuple[str, ...]] = field(default_factory=dict)
    only: tuple[str, ...] = ()
    line: int | None = field(default=None, compare=False)  # where the step is in its file


Step = Union[Message, ModelTurn, Reset, Repeat]


@dataclass(frozen=True)
class Variant:
    description: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    system: str | None = None  # replaces the scenario's system prompt


# --- a lesson's claim, declared before any run (lab.scenarios.lessons measures it) ----------------

CLAIM_STATISTICS = ("rise", "difference", "reread_gap", "steered_rate")
READING_STATISTICS = ("rise", "difference", "reread_gap")
CAUSAL = "steered_rate"
CLAIM_MEASURES = ("reply_start", "reply_mean")
CLAIM_DIRECTIONS = ("up", "down")
MAX_CLAIM_STRENGTH = 0.1  # in the file; a run also refuses strengths past the model's calibrated range


@dataclass(frozen=True)
class Claim:
    """What a lesson promises, as a test fixed in the file before any run.

    A reading claim (rise, difference, reread_gap): which emotion, read where, by which statistic,
    in which variant against which control variant. A causal claim (steered_rate): steering
    `emotion` by +strength moves the rate of `check` in `variant` in `direction`, against the
    unsteered run and a random direction of the same norm. Seeds are 0..seeds-1; `places` counts
    the measurement places ever tried for this claim (intervals are Bonferroni-corrected for them)."""

    text: str
    emotion: str
    statistic: str  # rise | difference | reread_gap | steered_rate
    control: str = ""  # reading claims: the variant compared against
    measure: str = "reply_start"  # the token that opens the model's turn, or the mean over the reply
    variant: str | None = None  # None: the scenario's first variant
    seeds: int = 8
    name: str = ""  # tells several claims of one scenario apart ("" for a scenario's only or first claim)
    says: str = ""  # the claim in words a 15-year-old understands ("pushing desperation up makes it cheat more")
    strength: float = 0.0  # causal: the steering strength s (rows at 0, +s, -s and random +s)
    check: str = ""  # causal: the check whose rate is counted
    direction: str = "up"  # causal: up = +s raises the rate; down = +s lowers it
    places: int = 1
    max_tokens: int | None = None  # causal: cap on every model turn (None: the scenario's own)

    @property
    def causal(self) -> bool:
        return self.statistic == CAUSAL

    def lesson_id(self, scenario: str) -> str:
        """The lesson's name: the scenario's, then /name for a named claim."""
        return f"{scenario}/{self.name}" if self.name else scenario

    def plain_claim(self) -> str:
        """The claim in plain words (its `says`, else its text)."""
        text = self.says or self.text
        return text[:1].lower() + text[1:].rstrip(".") if text else text


@dataclass(frozen=True)
class Scenario:
    title: str
    steps: tuple[Step, ...]
    description: str = ""
    lesson: str = ""
    models: tuple[str, ...] = ()
    system: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    variants: dict[str, Variant] = field(default_factory=dict)
    checks: tuple[Check, ...] = ()
    temperature: float = 0.7
    top_p: float = 0.95
    reread: bool = False  # also re-read each reply as an observer (masked-distress comparisons)
    claims: tuple[Claim, ...] = ()  # the lesson's claims as measurable tests
    source: Path | None = field(default=None, compare=False)

    def default_variant(self) -> str | None:
        return next(iter(self.variants), None)

    @property
    def claim(self) -> Claim | None:
        """The first claim (the lesson's main one), if any."""
        return self.claims[0] if self.claims else None


@dataclass(frozen=True)
class ScriptStep:
    kind: str  # "user", "assistant", "model" or "reset"
    text: str = ""
    max_tokens: int = 0
    steer: dict[str, float] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)  # the variables in force (for plots)
    line: int | None = field(default=None, compare=False)  # where the step is in its file


@dataclass(frozen=True)
class Script:
    """What one run of one variant does, in order."""

    title: str
    variant: str | None
    system: str
    steps: tuple[ScriptStep, ...]
    checks: tuple[Check, ...]

    def model_steps(self) -> list[ScriptStep]:
        return [s for s in self.steps if s.kind == "model"]


def fill(template: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """Insert variables; returns the text and the names used but not defined."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        token, name = match.group(0), match.group(1)
        if name is None:
            return token[0]
        if name not in values:
            missing.append(name)
            return token
        return values[name]

    return VARIABLE.sub(replace, template), missing


def expand(scenario: Scenario, variant: str | None = None) -> Script:
    """The steps of `variant` (default: the first) with repeats unrolled and variables filled in."""
    problems: list[Problem] = []
    script = _expand(scenario, variant, problems)
    if problems:
        raise ScenarioError(scenario.title, problems)
    return script


def _expand(scenario: Scenario, variant: str | None, problems: list[Problem]) -> Script:
    variant = variant if variant is not None else scenario.default_variant()
    if variant is not None and variant not in scenario.variants:
        known = ", ".join(scenario.variants) or "none"
        raise LabError(f"'{scenario.title}' has no variant '{variant}'. Its variants: {known}.")
    chosen = scenario.variants.get(variant, Variant()) if variant else Variant()
    values = {**scenario.variables, **chosen.variables}
    system_template = chosen.system if chosen.system is not None else scenario.system
    system = _filled(system_template, values, None, "system", problems)
    out: list[ScriptStep] = []
    try:
        _unroll(scenario.steps, variant, values, out, problems)
    except _TooLong as error:
        problems.append(Problem(error.line, "steps", f"expands to more than {MAX_STEPS} steps; use fewer or smaller repeats"))
    return Script(scenario.title, variant, system, tuple(out), scenario.checks)


def _filled(template: str, values: dict[str, str], line: int | None, where: str, problems: list[Problem]) -> str:
    text, missing = fill(template, values)
    for name in dict.fromkeys(missing):
        known = ", ".join(sorted(values)) or "none"
        problems.append(Problem(line, where, f"uses {{{name}}}, which is not defined here (defined: {known})"))
    return text


def _unroll(steps: tuple[Step, ...], variant: str | None, values: dict[str, str], out: list[ScriptStep], problems: list[Problem]) -> None:
    for step in steps:
        if len(out) >= MAX_STEPS:
            raise _TooLong(step.line)
        if step.only and variant not in step.only:
            continue
        if isinstance(step, Message):
            text = _filled(step.text, values, step.line, step.role, problems)
            out.append(ScriptStep(step.role, text, values=dict(values), line=step.line))
        elif isinstance(step, ModelTurn):
            out.append(ScriptStep("model", max_tokens=step.max_tokens, steer=dict(step.steer), values=dict(values), line=step.line))
        elif isinstance(step, Reset):
            out.append(ScriptStep("reset", values=dict(values), line=step.line))
        else:
            count = _count(step, values, problems)
            for i in range(count):
                passed = {**values, step.counter: str(i + 1), **{k: v[i % len(v)] for k, v in step.vary.items() if v}}
                _unroll(step.steps, variant, passed, out, problems)


class _TooLong(Exception):
    def __init__(self, line: int | None) -> None:
        self.line = line


def _count(step: Repeat, values: dict[str, str], problems: list[Problem]) -> int:
    if isinstance(step.count, int):
        return step.count
    text = _filled(step.count, values, step.line, "repeat > count", problems)
    try:
        count = int(text.strip())
    except ValueError:
        problems.append(Problem(step.line, "repeat > count", f"'{text}' is not a whole number"))
        return 0
    if not 1 <= count <= MAX_REPEAT_COUNT:
        problems.append(Problem(step.line, "repeat > count", f"must be from 1 to {MAX_REPEAT_COUNT}, not {count}"))
        return 0
    return count


def problems_in_expansion(scenario: Scenario) -> list[Problem]:
    """Undefined variables and bad repeat counts, in any variant (each reported once)."""
    found: dict[Problem, None] = {}
    for variant in list(scenario.variants) or [None]:
        problems: list[Problem] = []
        _expand(scenario, variant, problems)
        found.update(dict.fromkeys(problems))
    return list(found)
