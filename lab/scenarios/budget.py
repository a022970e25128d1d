"""How much work a scenario can ask for, computed on the validated structure before any expansion.

Every limit is counted without unrolling anything (so a file cannot make the count itself slow),
and every refusal names the limit and the part of the file that goes over it.
"""
from __future__ import annotations

from lab.scenarios.scenario import MAX_REPEAT_COUNT, Message, Problem, Repeat, Scenario, Step

MAX_YAML_NODES = 20_000  # values in the file (every text, number, list and mapping)
MAX_YAML_DEPTH = 40  # nesting of lists and mappings
MAX_VISITS = 4_000  # steps one variant walks through, skipped steps and every repeat pass included
MAX_SCRIPT_CHARS = 2_000_000  # the texts of one variant with every variable filled in, at most
MAX_VARIABLES = 200  # variables of the scenario, its variants and its repeat blocks together
MAX_VARIANTS = 64
MAX_CHECKS = 100
MAX_PATTERNS = 500  # phrases and regular expressions of all checks together
MAX_PATTERN_CHARS = 20_000  # their texts together (compiling them stays well under a second)
COUNTER_CHARS = len(str(MAX_REPEAT_COUNT))


def budget_problems(scenario: Scenario) -> list[Problem]:
    """Problems for every limit the scenario goes over (empty when it fits)."""
    problems: list[Problem] = []
    if len(scenario.variants) > MAX_VARIANTS:
        problems.append(Problem(None, "variants", f"has {len(scenario.variants)} variants; the limit is {MAX_VARIANTS}"))
    variables = len(scenario.variables) + sum(len(v.variables) for v in scenario.variants.values()) + _vary_names(scenario.steps)
    if variables > MAX_VARIABLES:
        problems.append(Problem(None, "variables", f"defines {variables} variables in all; the limit is {MAX_VARIABLES}"))
    if len(scenario.checks) > MAX_CHECKS:
        problems.append(Problem(None, "checks", f"has {len(scenario.checks)} checks; the limit is {MAX_CHECKS}"))
    patterns = sum(len(c.any) + len(c.unless) for c in scenario.checks)
    if patterns > MAX_PATTERNS:
        problems.append(Problem(None, "checks", f"have {patterns} phrases and patterns in all; the limit is {MAX_PATTERNS}"))
    pattern_chars = sum(len(p.text) for c in scenario.checks for p in (*c.any, *c.unless))
    if pattern_chars > MAX_PATTERN_CHARS:
        problems.append(Problem(None, "checks", f"have {pattern_chars} characters of phrases and patterns in all; the limit is {MAX_PATTERN_CHARS}"))
    visits = 0
    for i, step in enumerate(scenario.steps):
        visits += _visits(step)
        if visits > MAX_VISITS:
            problems.append(Problem(step.line, f"steps > item {i + 1}", f"brings the steps to walk through (skipped ones and every repeat pass included) over the limit of {MAX_VISITS}; use fewer or smaller repeats"))
            break
    longest = max([COUNTER_CHARS, *(len(v) for v in _values(scenario))])
    systems = [("system", scenario.system)] + [(f"variants > {name} > system", v.system) for name, v in scenario.variants.items() if v.system]
    for where, system in systems:
        if len(system) + system.count("{") * longest > MAX_SCRIPT_CHARS:
            problems.append(Problem(None, where, f"could fill in to more than {MAX_SCRIPT_CHARS // 1_000_000} million characters of text (the limit); use shorter variables"))
            break
    chars = 0
    for i, step in enumerate(scenario.steps):
        chars += _chars(step, longest)
        if chars > MAX_SCRIPT_CHARS:
            problems.append(Problem(step.line, f"steps > item {i + 1}", f"could fill in to more than {MAX_SCRIPT_CHARS // 1_000_000} million characters of text (the limit); use shorter variables or fewer repeats"))
            break
    return problems


def _visits(step: Step) -> int:
    if not isinstance(step, Repeat):
        return 1
    count = step.count if isinstance(step.count, int) else MAX_REPEAT_COUNT
    return 1 + count * sum(_visits(s) for s in step.steps)


def _chars(step: Step, longest: int) -> int:
    if isinstance(step, Message):
        return len(step.text) + step.text.count("{") * longest
    if not isinstance(step, Repeat):
        return 0
    count = step.count if isinstance(step.count, int) else MAX_REPEAT_COUNT
    return count * sum(_chars(s, longest) for s in step.steps)


def _vary_names(steps: tuple[Step, ...]) -> int:
    return sum(len(s.vary) + 1 + _vary_names(s.steps) for s in steps if isinstance(s, Repeat))


def _values(scenario: Scenario) -> list[str]:
    values = list(scenario.variables.values())
    for variant in scenario.variants.values():
        values += variant.variables.values()
    stack = list(scenario.steps)
    while stack:
        step = stack.pop()
        if isinstance(step, Repeat):
            values += [v for vs in step.vary.values() for v in vs]
            stack += step.steps
    return values
