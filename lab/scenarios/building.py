"""A Scenario from parsed data that lab.scenarios.validation found no problem in: defaults filled in,
names tidied (stripped; emotions in lower case), each step keeping its line."""
from __future__ import annotations

from typing import Any

from lab.scenarios.checks import Check, Pattern
from lab.scenarios.scenario import CAUSAL, DEFAULT_MAX_TOKENS, Claim, Message, ModelTurn, Repeat, Reset, Scenario, Step, Variant
from lab.scenarios.schema import Path_

DEFAULTS = {"temperature": 0.7, "top_p": 0.95, "reread": False, "max_tokens": DEFAULT_MAX_TOKENS, "counter": "i",
            "measure": "reply_start", "seeds": 8, "places": 1, "negate": False}  # the schema's "default"s (a test keeps them equal)


def build_scenario(data: dict[str, Any], lines: dict[Path_, int]) -> Scenario:
    checks = tuple(_check(c) for c in data.get("checks", []))
    return Scenario(
        title=data["title"].strip(),
        steps=_steps(data["steps"], ("steps",), lines),
        description=data.get("description", "").strip(),
        lesson=data.get("lesson", "").strip(),
        models=tuple(data.get("models", ())),
        system=data.get("system", ""),
        variables=_variables(data.get("variables")),
        variants={name: _variant(spec or {}) for name, spec in data.get("variants", {}).items()},
        checks=checks,
        temperature=float(data.get("temperature", DEFAULTS["temperature"])),
        top_p=float(data.get("top_p", DEFAULTS["top_p"])),
        reread=data.get("reread", DEFAULTS["reread"]),
        claims=tuple(_claim(c) for c in (data["claim"] if isinstance(data.get("claim"), list) else [data["claim"]] if "claim" in data else [])),
    )


def _variables(value: dict[str, Any] | None) -> dict[str, str]:
    return {name: str(text) for name, text in (value or {}).items()}


def _variant(spec: dict[str, Any]) -> Variant:
    return Variant(description=spec.get("description", "").strip(), variables=_variables(spec.get("variables")), system=spec.get("system"))


def _names(value: str | list[str] | None) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value or ())


def _steps(items: list[dict[str, Any]], path: Path_, lines: dict[Path_, int]) -> tuple[Step, ...]:
    steps = (_step(item, path + (i,), lines) for i, item in enumerate(items))
    return tuple(step for step in steps if step is not None)


def _step(item: dict[str, Any], path: Path_, lines: dict[Path_, int]) -> Step | None:
    only, line = _names(item.get("only")), lines.get(path)
    if "user" in item or "assistant" in item:
        role = "user" if "user" in item else "assistant"
        return Message(role, item[role], only, line)
    if "reset" in item:
        return None if item["reset"] is False else Reset(only, line)  # `reset: false` does nothing
    if "model" in item:
        spec = item["model"]
        spec = {} if spec is None else spec if isinstance(spec, dict) else {"max_tokens": spec}
        steer = {name.strip().lower(): float(strength) for name, strength in spec.get("steer", {}).items()}
        return ModelTurn(int(spec.get("max_tokens", DEFAULTS["max_tokens"])), steer, only, line)
    spec = item["repeat"]
    count = spec["count"] if isinstance(spec["count"], str) else int(spec["count"])
    vary = {name: tuple(str(v) for v in values) for name, values in spec.get("vary", {}).items()}
    return Repeat(count, _steps(spec["steps"], path + ("repeat", "steps"), lines), spec.get("counter", DEFAULTS["counter"]), vary, only, line)


def _check(spec: dict[str, Any]) -> Check:
    return Check(spec["name"].strip(), _patterns(spec["any"]), _patterns(spec.get("unless", [])), spec.get("negate", DEFAULTS["negate"]))


def _patterns(items: list[str | dict[str, str]]) -> tuple[Pattern, ...]:
    return tuple(Pattern(item["regex"], regex=True) if isinstance(item, dict) else Pattern(item) for item in items)


def _claim(spec: dict[str, Any]) -> Claim:
    causal = spec["statistic"] == CAUSAL
    variant = spec.get("variant", "").strip() or None
    return Claim(
        text=spec["text"].strip(), emotion=spec["emotion"].strip().lower(), statistic=spec["statistic"],
        control="" if causal else spec["control"].strip(), measure=spec.get("measure", DEFAULTS["measure"]), variant=variant,
        seeds=int(spec.get("seeds", DEFAULTS["seeds"])), name=spec.get("name", "").strip(), says=spec.get("says", "").strip(),
        strength=float(spec["strength"]) if causal else 0.0, check=spec["check"].strip() if causal else "",
        direction=spec["direction"] if causal else "up", places=int(spec.get("places", DEFAULTS["places"])),
        max_tokens=int(spec["max_tokens"]) if "max_tokens" in spec else None,
    )
