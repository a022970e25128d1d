"""The shape of a JSON session export, checked field by field before anything is imported, so a
damaged or hand-edited file gives one message naming the field instead of failing halfway."""
from __future__ import annotations

import math
from typing import Any

from lab.common.errors import LabError

INT64 = 2**63
Where = str


def check_export(data: Any) -> None:
    """LabError naming the first field of `data` that an import could not store or that means
    nothing (negative or repeated positions, layers outside the model, text that is not Unicode)."""
    _mapping(data, "the file")
    for key in ("title", "created", "status", "app_version", "notes"):
        _text(data.get(key), key)
    _optional(data.get("ended"), "ended", _text)
    _optional(data.get("scenario"), "scenario", _mapping)
    _encodable(data.get("scenario"), "scenario")
    sampling = _mapping(data.get("sampling"), "sampling")
    _number(sampling.get("temperature"), "sampling > temperature")
    _number(sampling.get("top_p"), "sampling > top_p")
    _optional(sampling.get("seed"), "sampling > seed", _whole)
    _whole(sampling.get("max_new_tokens"), "sampling > max_new_tokens")
    model = _mapping(data.get("model"), "model")
    for key in ("spec", "identity", "family"):
        _text(model.get(key), f"model > {key}")
    for key in ("depth", "width"):
        _count(model.get(key), f"model > {key}")
    depth = model["depth"]
    _optional(data.get("directions"), "directions", lambda d, where: _directions(d, where, depth))
    for key, value in _mapping(data.get("runtime", {}), "runtime").items():
        _text(value, f"runtime > {_text(key, 'runtime')}")
    turns: set[int] = set()
    for i, turn in enumerate(_list(data.get("turns"), "turns")):
        index = _whole(_mapping(turn, f"turns > item {i + 1}").get("index"), f"turns > item {i + 1} > index")
        if index in turns:
            raise LabError(_message(f"turns > item {i + 1} > index", "is used by another turn too"))
        turns.add(index)
        _text(turn.get("role"), f"turns > item {i + 1} > role")
        _optional(turn.get("text"), f"turns > item {i + 1} > text", _text)
        if not isinstance(turn.get("stopped", False), bool):
            raise LabError(_message(f"turns > item {i + 1} > stopped", "must be true or false"))
    seen: set[tuple[int, int, int]] = set()
    for i, token in enumerate(_list(data.get("tokens"), "tokens")):
        _token(_mapping(token, f"tokens > item {i + 1}"), f"tokens > item {i + 1}", turns, depth)
        place = (token["turn"], token["row"], token["position"])
        if place in seen:
            raise LabError(_message(f"tokens > item {i + 1} > position", "is used by another token of the same turn and row too"))
        seen.add(place)
    for i, step in enumerate(_list(data.get("steering"), "steering")):
        where = f"steering > item {i + 1}"
        _mapping(step, where)
        if step.get("turn") is not None and _whole(step["turn"], f"{where} > turn") not in turns:
            raise LabError(_message(f"{where} > turn", "must be the index of one of the turns"))
        for key in ("row", "position"):
            _count(step.get(key), f"{where} > {key}")
        _readings(step.get("strengths"), f"{where} > strengths")
        for j, layer in enumerate(_list(step.get("layers"), f"{where} > layers")):
            _layer(layer, f"{where} > layers > item {j + 1}", depth)


def _directions(value: Any, where: Where, depth: int) -> None:
    d = _mapping(value, where)
    for key in ("method", "data_hash"):
        _text(d.get(key), f"{where} > {key}")
    _layer(d.get("reading_layer"), f"{where} > reading_layer", depth)
    _encodable(_mapping(d.get("calibration"), f"{where} > calibration"), f"{where} > calibration")
    for j, layer in enumerate(_list(d.get("layers"), f"{where} > layers")):
        _layer(layer, f"{where} > layers > item {j + 1}", depth)
    for j, name in enumerate(_list(d.get("emotions"), f"{where} > emotions")):
        _text(name, f"{where} > emotions > item {j + 1}")


def _token(t: dict[str, Any], where: Where, turns: set[int], depth: int) -> None:
    if _whole(t.get("turn"), f"{where} > turn") not in turns:
        raise LabError(_message(f"{where} > turn", "must be the index of one of the turns"))
    for key in ("row", "position", "token_id"):
        _count(t.get(key), f"{where} > {key}")
    _text(t.get("text"), f"{where} > text")
    if not isinstance(t.get("is_prompt"), (bool, int)):
        raise LabError(_message(f"{where} > is_prompt", "must be true or false"))
    _readings(t.get("readings"), f"{where} > readings")
    _readings(t.get("strengths"), f"{where} > strengths")
    _optional(t.get("push"), f"{where} > push", _readings)
    for layer, raw in _mapping(t.get("raw", {}), f"{where} > raw").items():
        spec = _mapping(raw, f"{where} > raw > {layer}")
        if not (layer.isascii() and layer.isdigit()) or len(layer) > 6 or int(layer) >= depth or spec.get("dtype") != "float32":
            raise LabError(_message(f"{where} > raw > {layer}", "must be a layer number holding float32 data"))
        _text(spec.get("data"), f"{where} > raw > {layer} > data")
        shape = [_whole(n, f"{where} > raw > {layer} > shape") for n in _list(spec.get("shape"), f"{where} > raw > {layer} > shape")]
        if any(n < 0 for n in shape) or math.prod(shape) * 4 > len(spec["data"]):
            raise LabError(_message(f"{where} > raw > {layer} > shape", "does not match its data"))


def _readings(value: Any, where: Where) -> None:
    for name, number in _mapping(value, where).items():
        _text(name, f"{where} (a name)")
        if number is not None:
            _number(number, f"{where} > {name}")


def _optional(value: Any, where: Where, check) -> None:
    if value is not None:
        check(value, where)


def _mapping(value: Any, where: Where) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise LabError(_message(where, "must be a JSON object"))
    return value


def _list(value: Any, where: Where) -> list[Any]:
    if not isinstance(value, list):
        raise LabError(_message(where, "must be a list"))
    return value


def _text(value: Any, where: Where) -> str:
    if not isinstance(value, str):
        raise LabError(_message(where, "must be text"))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise LabError(_message(where, "holds characters that are not valid Unicode")) from None
    return value


def _whole(value: Any, where: Where) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -INT64 <= value < INT64:
        raise LabError(_message(where, "must be a whole number that fits in 64 bits"))
    return value


def _count(value: Any, where: Where) -> int:
    if _whole(value, where) < 0:
        raise LabError(_message(where, "must not be negative"))
    return value


def _layer(value: Any, where: Where, depth: int) -> int:
    if not 0 <= _whole(value, where) < depth:
        raise LabError(_message(where, f"must be a layer of the model (0 to {depth - 1})"))
    return value


def _encodable(value: Any, where: Where) -> None:
    """Every text (keys included) anywhere inside `value` encodes as UTF-8."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _text(item, where)
        elif isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            stack += item


def _number(value: Any, where: Where) -> float:
    big = isinstance(value, int) and abs(value) > 2**1000  # would overflow a float
    if isinstance(value, bool) or not isinstance(value, (int, float)) or big or not math.isfinite(value):
        raise LabError(_message(where, "must be a finite number"))
    return float(value)


def _message(where: Where, what: str) -> str:
    return f"This session export is damaged: {where} {what}. It was not imported; export the session again."
