"""Behaviour checks: named rules evaluated on every model reply.

A rule fires when any of its patterns matches the reply and none of its `unless` patterns does;
`negate` turns that around (fires when the rule would not). Phrases match case-insensitively as
whole words (any run of spaces matches a space); regular expressions match case-insensitively.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Pattern:
    text: str
    regex: bool = False

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        if self.regex:
            return re.compile(self.text, re.IGNORECASE)
        words = r"\s+".join(re.escape(word) for word in self.text.split())
        return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)

    def matches(self, text: str) -> bool:
        return self.compiled.search(text) is not None

    def to_data(self) -> str | dict[str, str]:
        return {"regex": self.text} if self.regex else self.text


@dataclass(frozen=True)
class Check:
    name: str
    any: tuple[Pattern, ...]
    unless: tuple[Pattern, ...] = ()
    negate: bool = False

    def fires(self, text: str) -> bool:
        text = normalise(text)
        hit = any(p.matches(text) for p in self.any) and not any(p.matches(text) for p in self.unless)
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


def fired(checks: tuple[Check, ...] | list[Check], text: str) -> list[str]:
    """Names of the checks that fire on `text`, in the scenario's order."""
    return [check.name for check in checks if check.fires(text)]
