"""Validation of parsed scenario data: the published JSON Schema (lab.scenarios.schema), then only the
checks a schema cannot express, each a Problem with its line and field. Every check here reads the
data defensively: it runs beside the schema's, so a file's problems are all listed at once."""
from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from lab.scenarios.checks import regex_problem
from lab.scenarios.scenario import CAUSAL, Problem
from lab.scenarios.schema import Path_, located, schema_problems

MAX_DEPTH = 8  # repeat blocks inside repeat blocks
_SURROGATE = re.compile("[\ud800-\udfff]")


def data_problems(data: Any, lines: dict[Path_, int]) -> list[Problem]:
    """Every problem of parsed scenario data (empty when it is a valid scenario), by line."""
    found = schema_problems(data, lines)
    if isinstance(data, dict):
        found += _semantic_problems(data, lines)
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda p: p.line or 0)


def _semantic_problems(data: dict[str, Any], lines: dict[Path_, int]) -> list[Problem]:
    variants = [name for name in data.get("variants") or {} if isinstance(name, str)] if isinstance(data.get("variants"), dict) else []
    checks = data.get("checks") if isinstance(data.get("checks"), list) else []
    messages = [*_unreadable(data, ()), *_steps(data.get("steps"), ("steps",), variants, 0), *_checks(checks),
                *_claims(data.get("claim"), variants, checks)]
    return [located(lines, path, message) for path, message in messages]


def _unreadable(value: Any, path: Path_) -> Iterator[tuple[Path_, str]]:
    """Texts that are not valid Unicode and numbers that are NaN, anywhere (JSON has neither)."""
    if isinstance(value, str) and not value.isascii() and _SURROGATE.search(value):
        yield path, "holds characters that are not valid Unicode (a lone surrogate such as \\ud800)"
    elif isinstance(value, float) and math.isnan(value):
        yield path, "is not a number (NaN); write a number"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unreadable(key, path + (str(key),))
            yield from _unreadable(item, path + (str(key),))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _unreadable(item, path + (i,))


def _not_a_variant(name: Any, variants: list[str]) -> str:
    return f"'{name}' is not one of the variants ({', '.join(variants) or 'none defined'})"


def _steps(steps: Any, path: Path_, variants: list[str], depth: int) -> Iterator[tuple[Path_, str]]:
    """`only` names defined variants; repeat blocks nest at most MAX_DEPTH deep."""
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict):
            continue
        only = step.get("only")
        for name in [only] if isinstance(only, str) else only if isinstance(only, list) else []:
            if isinstance(name, str) and name not in variants:
                yield path + (i, "only"), _not_a_variant(name, variants)
        repeat = step.get("repeat")
        if isinstance(repeat, dict):
            if depth >= MAX_DEPTH:
                yield path + (i, "repeat"), f"repeat blocks may be nested at most {MAX_DEPTH} deep"
            else:
                yield from _steps(repeat.get("steps"), path + (i, "repeat", "steps"), variants, depth + 1)


def _checks(checks: list[Any]) -> Iterator[tuple[Path_, str]]:
    """Distinct check names; regular expressions that cannot hang."""
    names: set[str] = set()
    for i, check in enumerate(checks):
        if not isinstance(check, dict):
            continue
        name = check.get("name")
        if isinstance(name, str) and name.strip():
            if name.strip() in names:
                yield ("checks", i, "name"), f"another check is already called '{name.strip()}'"
            names.add(name.strip())
        for key in ("any", "unless"):
            for j, pattern in enumerate(check.get(key) if isinstance(check.get(key), list) else []):
                regex = pattern.get("regex") if isinstance(pattern, dict) else None
                refused = regex_problem(regex) if isinstance(regex, str) and regex.strip() else None
                if refused:
                    yield ("checks", i, key, j, "regex"), refused


def _claims(value: Any, variants: list[str], checks: list[Any]) -> Iterator[tuple[Path_, str]]:
    """A claim's variant and control are variants (different ones, for a reading claim), its check is a
    check of the scenario (a causal claim), and several claims have distinct names."""
    claims = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    known_checks = [c["name"].strip() for c in checks if isinstance(c, dict) and isinstance(c.get("name"), str)]
    seen: set[str] = set()
    for i, claim in claims:
        if not isinstance(claim, dict):
            continue
        path: Path_ = ("claim",) if i is None else ("claim", i)
        for key in ("variant", "control"):
            name = claim.get(key)
            if isinstance(name, str) and name.strip() and name.strip() not in variants:
                yield path + (key,), _not_a_variant(name.strip(), variants)
        control, variant = claim.get("control"), claim.get("variant")
        about = variant.strip() if isinstance(variant, str) and variant.strip() else next(iter(variants), None)
        if claim.get("statistic") != CAUSAL and isinstance(control, str) and control.strip() and control.strip() == about:
            yield path + ("control",), "must be a different variant from the one the claim is about"
        check = claim.get("check")
        if claim.get("statistic") == CAUSAL and isinstance(check, str) and check.strip() and check.strip() not in known_checks:
            yield path + ("check",), f"'{check.strip()}' is not one of the scenario's checks ({', '.join(known_checks) or 'none defined'})"
        if i is not None:
            name = claim.get("name")
            name = name.strip() if isinstance(name, str) else ""
            if name in seen:
                yield path + ("name",), f"another claim is already called '{name}'" if name else "only one claim may go without a name"
            seen.add(name)
