"""The published scenario format (assets/scenarios/scenario.schema.json), checked with jsonschema:
every schema error becomes a Problem in plain words (what is wrong, what to write instead) at the
line of the field it is about."""
from __future__ import annotations

import functools
import json
from collections import defaultdict
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from lab.common.limits import MB, read_text
from lab.common.paths import asset_path
from lab.scenarios.scenario import Problem

Path_ = tuple[str | int, ...]
TYPE_WORDS = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
              "object": "a set of 'name: value' fields", "array": "a list", "null": "empty"}


@functools.cache
def published_schema() -> dict[str, Any]:
    """The scenario schema shipped in assets/scenarios/ (for editors, and the one the lab checks against)."""
    return json.loads(read_text(asset_path("scenarios") / "scenario.schema.json", MB, "scenario schema"))


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(published_schema())


def field_name(path: Path_) -> str:
    return " > ".join(f"item {p + 1}" if isinstance(p, int) else str(p) for p in path)


def located(lines: dict[Path_, int], path: Path_, message: str) -> Problem:
    """A Problem at the line of `path`, or of the nearest field above it that has one."""
    line = next((lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in lines), None)
    return Problem(line, field_name(path), message)


def schema_problems(data: Any, lines: dict[Path_, int]) -> list[Problem]:
    """Everything in `data` the published schema refuses, in plain words."""
    return [problem for error in _validator().iter_errors(data) for problem in _explain(error, data, lines)]


def _explain(error: ValidationError, data: Any, lines: dict[Path_, int]) -> list[Problem]:
    path = _path(data, error.absolute_path)
    kind, schema, value = error.validator, error.schema, error.instance
    if "propertyNames" in error.absolute_schema_path:  # a key, checked as a value: the path is its mapping's
        return [located(lines, path + (str(value),), f"{_show(value)} cannot be a name here: use {expected(schema)}")]
    if kind == "oneOf":
        return _alternatives(error, data, lines, path)
    if kind == "additionalProperties":
        known = ", ".join(schema.get("properties", {}))
        return [located(lines, path + (str(key),), f"unknown field '{key}' (known fields: {known})")
                for key in value if key not in schema.get("properties", {})]
    if kind == "required":
        return [located(lines, path + (key,), f"must be {expected(_property(error, key))}; it is missing")
                for key in error.validator_value if key not in value]
    if kind == "type":
        if value is None:
            return [located(lines, path, f"must be {expected(schema)}; it is empty")]
        hint = " (put it in quotes)" if "string" in _types(schema) and isinstance(value, (int, float)) else ""
        return [located(lines, path, f"must be {expected(schema)}, not {_kind(value)}{hint}")]
    if kind in ("minimum", "maximum", "pattern", "enum"):
        return [located(lines, path, f"must be {expected(schema)}, not {_show(value)}")]
    if kind == "minItems":
        return [located(lines, path, f"must be a list with at least {_count(error.validator_value, 'item', 'items')}")]
    if kind == "minProperties":
        return [located(lines, path, f"must hold at least {_count(error.validator_value, 'entry', 'entries')}")]
    if kind == "not":
        return [located(lines, path, f"is {schema.get('description', 'not allowed here')}; remove it")]
    return [located(lines, path, error.message)]  # a rule the schema gained without words here yet


def _alternatives(error: ValidationError, data: Any, lines: dict[Path_, int], path: Path_) -> list[Problem]:
    """oneOf: a step's kinds (exactly one), or the alternative whose type fits the value, explained."""
    options = [_resolve(option) for option in error.validator_value]
    if all(set(option) == {"required"} for option in options):
        kinds = [option["required"][0] for option in options]
        present = [kind for kind in kinds if isinstance(error.instance, dict) and kind in error.instance]
        return [located(lines, path, f"a step needs exactly one of {', '.join(kinds)}" + (f", not {' and '.join(present)}" if present else ""))]
    by_option: dict[int, list[ValidationError]] = defaultdict(list)
    for sub in error.context:
        by_option[sub.relative_schema_path[0]].append(sub)
    fitting = [errors for errors in by_option.values() if not any(e.validator == "type" and not e.relative_path for e in errors)]
    if fitting:
        return [problem for sub in fitting[0] for problem in _explain(sub, data, lines)]
    what = " or ".join(expected(option) for option in options)
    return [located(lines, path, f"must be {what}; it is empty" if error.instance is None else f"must be {what}, not {_kind(error.instance)}")]


def expected(schema: Any) -> str:
    """What a (sub)schema accepts, in words: 'a whole number from 1 to 1024', 'one of up, down', ..."""
    schema = _resolve(schema)
    if "enum" in schema:
        return "one of " + ", ".join(map(str, schema["enum"]))
    if "oneOf" in schema:
        return " or ".join(expected(option) for option in schema["oneOf"])
    if "pattern" in schema and "description" in schema:
        return schema["description"]
    words = " or ".join(TYPE_WORDS[t] for t in _types(schema)) or "something else"
    if "minimum" in schema and "maximum" in schema:
        words += f" from {schema['minimum']:g} to {schema['maximum']:g}"
    if schema.get("minItems") == 1:
        words += " with at least one item"
    return words


def _property(error: ValidationError, key: str) -> dict[str, Any]:
    """The schema of the field `key` a `required` asks for: in the schema that requires it, or (for an
    if/then/else branch) the nearest schema above it that describes the field."""
    node: Any = published_schema()
    above = [node]
    for step in error.absolute_schema_path:
        node = _resolve(node) if isinstance(node, dict) and "$ref" in node else node
        node = node[step]
        above.append(node)
    for schema in reversed(above):
        properties = _resolve(schema).get("properties", {}) if isinstance(schema, dict) else {}
        if key in properties:
            return properties[key]
    return {}


def _resolve(schema: Any) -> dict[str, Any]:
    """A subschema with its local $ref followed (the referring schema's own keywords kept, bar its description)."""
    if not isinstance(schema, dict) or "$ref" not in schema:
        return schema if isinstance(schema, dict) else {}
    target: Any = published_schema()
    for part in schema["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return {**_resolve(target), **{k: v for k, v in schema.items() if k not in ("$ref", "description")}}


def _types(schema: dict[str, Any]) -> list[str]:
    types = _resolve(schema).get("type", [])
    return [types] if isinstance(types, str) else list(types)


def _path(data: Any, steps) -> Path_:
    """jsonschema's path into `data` as this module's: list positions as ints, mapping keys as text."""
    out: list[str | int] = []
    node = data
    for step in steps:
        out.append(step if isinstance(node, list) else str(step))
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(out)


def _count(n: int, one: str, many: str) -> str:
    return f"one {one}" if n == 1 else f"{n} {many}"


def _kind(value: Any) -> str:
    return {dict: "a set of fields", list: "a list", bool: "true/false"}.get(type(value), _show(value))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
