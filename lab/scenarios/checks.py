"""Behaviour checks: named rules evaluated on every model reply.

A rule fires when any of its patterns matches the reply and none of its `unless` patterns does;
`negate` turns that around (fires when the rule would not). Phrases match case-insensitively as
whole words (any run of spaces matches a space); regular expressions match case-insensitively.

Checks cannot hang a run: regular expressions with nested repeats or backreferences are refused
when the scenario is validated (regex_problem), only the first MAX_REPLY_CHARS of a reply are
searched, a search that takes longer than MATCH_SECONDS counts as no match, and all the checks of
one reply share REPLY_SECONDS (patterns left when it runs out count as no match). The total size of
the patterns is limited when the scenario is validated (lab.scenarios.budget), so compiling is quick.
"""
from __future__ import annotations

from collections import Counter

import re
import time
import re._parser as sre  # the standard library's own parse of a pattern, to inspect its structure
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import regex

MAX_REPLY_CHARS = 20_000
NONE_FIRED = "none fired"
MATCH_SECONDS = 0.1
REPLY_SECONDS = 1.0  # every check of one reply together
MANY = 10  # an outer repeat allowing more passes than this may not hold a variable-length one
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)


@dataclass(frozen=True)
class Pattern:
    text: str
    regex: bool = False

    @cached_property
    def compiled(self) -> regex.Pattern[str]:
        if self.regex:
            return regex.compile(self.text, regex.IGNORECASE | regex.V0)
        words = r"\s+".join(regex.escape(word) for word in self.text.split())
        return regex.compile(rf"(?<!\w){words}(?!\w)", regex.IGNORECASE | regex.V0)

    def matches(self, text: str, deadline: float | None = None) -> bool:
        timeout = MATCH_SECONDS if deadline is None else min(MATCH_SECONDS, deadline - time.monotonic())
        if timeout <= 0:
            return False
        try:
            return self.compiled.search(text[:MAX_REPLY_CHARS], timeout=timeout) is not None
        except TimeoutError:
            return False

    def to_data(self) -> str | dict[str, str]:
        return {"regex": self.text} if self.regex else self.text


def regex_problem(text: str) -> str | None:
    """Why a regular expression is refused (invalid, nested repeats, backreferences), or None."""
    try:
        parsed = sre.parse(text, re.IGNORECASE)
        regex.compile(text, regex.IGNORECASE | regex.V0)
    except (re.error, regex.error, RecursionError, OverflowError, ValueError) as error:
        return f"is not a valid regular expression ({error})"
    return _unsafe(list(parsed), repeated=False)


def _unsafe(items: list, repeated: bool) -> str | None:
    """Walk the parsed pattern; `repeated` is True inside a repeat of more than MANY passes, where a
    variable-length repeat makes the number of ways to match grow exponentially."""
    for op, av in items:
        found = None
        if op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
            return "uses a backreference (\\1, (?P=name) or (?(1)...)), which can make matching hang; write the text out instead"
        if op in _REPEATS:
            low, high, inner = av
            if repeated and high > 1 and low != high:
                return "repeats a repeat (such as (a+)+ or (\\w*)*), which can make matching hang; remove the inner or outer repeat"
            found = _unsafe(list(inner), repeated or high > MANY)
        elif op == sre.SUBPATTERN:
            found = _unsafe(list(av[3]), repeated)
        elif op == sre.BRANCH:
            found = next((r for branch in av[1] if (r := _unsafe(list(branch), repeated))), None)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            found = _unsafe(list(av[1]), repeated)
        elif op == sre.ATOMIC_GROUP:
            found = _unsafe(list(av), repeated)
        if found:
            return found
    return None


@dataclass(frozen=True)
class Check:
    name: str
    any: tuple[Pattern, ...]
    unless: tuple[Pattern, ...] = ()
    negate: bool = False

    def fires(self, text: str, deadline: float | None = None) -> bool:
        text = normalise(text)
        hit = any(p.matches(text, deadline) for p in self.any) and not any(p.matches(text, deadline) for p in self.unless)
        return hit != self.negate

    def to_data(self) -> dict[str, object]:
        data: dict[str, object] = {"name": self.name, "any": [p.to_data() for p in self.any]}
        if self.unless:
            data["unless"] = [p.to_data() for p in self.unless]
        if self.negate:
            data["negate"] = True
        return data


def normalise(text: str) -> str:
    """Typographic quotes as plain ones, so "can't" matches "can’t"."""
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')


def fired_text(names: Iterable[str]) -> str:
    """The checks that fired on a reply (or run) for people: their names, or 'none fired'."""
    return ", ".join(names) or NONE_FIRED


def run_sentence(replies: list[tuple[str, ...]]) -> str:
    """What the checks found over one run's model replies (each a tuple of the checks that fired on it),
    for people: 'In this run: "cheats" fired in 1 of 3 replies, "gives up" in 2 of 3.'"""
    counts = Counter(name for checks in replies for name in dict.fromkeys(checks))
    n = len(replies)
    if not counts:
        return f"In this run: no check fired in {'the one reply' if n == 1 else f'any of the {n} replies'}."
    said = [f'"{name}" fired in {k} of {n} {"reply" if n == 1 else "replies"}' if i == 0 else f'"{name}" in {k} of {n}'
            for i, (name, k) in enumerate(counts.items())]
    return "In this run: " + ", ".join(said) + "."


def fired(checks: tuple[Check, ...] | list[Check], text: str) -> list[str]:
    """Names of the checks that fire on `text`, in the scenario's order."""
    deadline = time.monotonic() + REPLY_SECONDS
    return [check.name for check in checks if check.fires(text, deadline)]
