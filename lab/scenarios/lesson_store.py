"""Lesson results kept per model, and the register of every claim ever measured (no fishing).

- Shipped: assets/lessons/<model>.json, measured with `python -m lab lessons --ship` on the
  embedded model, so the app shows verdicts before anyone runs anything.
- Cached: <user cache>/lessons/<model>.json, written by every `lab lessons` run and by the app's
  lessons page; it wins over the shipped file lesson by lesson, and survives a restart.
- Register: assets/lessons/register.yaml lists every claim measured on the embedded model with its
  verdict, never rewritten: a claim changed after seeing results is a new lesson with a new entry.

Files are written through a temporary file in the same folder, fsync and rename; a cache that no
longer reads is set aside (renamed .broken), never fatal.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lab.common.errors import LabError
from lab.common.paths import asset_path, cache_dir
from lab.scenarios.files import builtin_scenarios, load_scenario
from lab.scenarios.scenario import Claim

VERSION = 1


@dataclass(frozen=True)
class Lesson:
    """One claim of a built-in scenario, as the lessons page lists it."""

    id: str  # scenario, or scenario/claim
    scenario: str
    title: str
    claim: Claim
    path: Path  # the scenario file


def all_lessons() -> list[Lesson]:
    """Every claim of every built-in scenario, in file order."""
    out = []
    for item in builtin_scenarios():
        try:
            scenario = load_scenario(item.path)
        except LabError:
            continue
        out += [Lesson(c.lesson_id(item.name), item.name, scenario.title, c, item.path) for c in scenario.claims]
    return out


def file_name(model_identity: str) -> str:
    return f"{model_identity[:24]}-v{VERSION}.json"


def shipped_path(model_identity: str) -> Path:
    return asset_path("lessons") / file_name(model_identity)


def cache_path(model_identity: str) -> Path:
    return cache_dir() / "lessons" / file_name(model_identity)


def load_results(model_identity: str) -> dict[str, dict[str, Any]]:
    """lesson id -> its latest result on this model: the shipped ones, replaced by any cached. On the
    embedded model (the one with shipped results), a lesson measured only before results were kept
    as files falls back to its latest register entry."""
    results = _read(shipped_path(model_identity), set_aside=False)
    if results:
        for entry in register_entries():
            if entry.get("lesson") not in results:
                results[entry["lesson"]] = _from_register(entry)  # later entries replace earlier ones
            elif results[entry["lesson"]].get("from_register"):
                results[entry["lesson"]] = _from_register(entry)
    results.update(_read(cache_path(model_identity), set_aside=True))
    return results


def _from_register(entry: dict[str, Any]) -> dict[str, Any]:
    """A register entry in the form of a result (verdict, date, seeds, model; the effect if kept)."""
    effect = {"value": entry.get("effect"), "low": entry.get("low"), "high": entry.get("high"), "n": entry.get("seeds")}
    return {"lesson": entry["lesson"], "verdict": entry.get("verdict"), "date": entry.get("date"), "from_register": True,
            "model": entry.get("model"), "seeds": list(range(int(entry.get("seeds") or 0))), "claim": entry.get("claim"),
            "contrast": effect, "note": entry.get("note", "")}


def save_results(model_identity: str, results: list[dict[str, Any]], path: Path | None = None) -> Path:
    """Merge results (JSON forms of verdicts) into the model's cache file (or `path`), atomically."""
    path = path or cache_path(model_identity)
    merged = _read(path, set_aside=True)
    merged.update({r["lesson"]: r for r in results})
    _write_json(path, {"version": VERSION, "model": model_identity, "results": list(merged.values())})
    return path


def register_path() -> Path:
    return asset_path("lessons", "register.yaml")


def register_entries(path: Path | None = None) -> list[dict[str, Any]]:
    """Every claim measured on the embedded model, oldest first."""
    path = path or register_path()
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = data.get("measured") or []
    except (OSError, yaml.YAMLError, AttributeError) as error:
        raise LabError(f"The register of measured claims ({path}) cannot be read ({error}).") from error
    return [e for e in entries if isinstance(e, dict)]


def register_entry(result: dict[str, Any]) -> dict[str, Any]:
    """A result as one register entry: claim, date, seeds, verdict and the judged effect with its interval."""
    effect = result.get("effect") or result.get("contrast") or {}
    entry = {"lesson": result["lesson"], "claim": result.get("claim"), "date": result.get("date"),
             "model": result.get("model"), "dtype": result.get("dtype"), "seeds": len(result.get("seeds") or []),
             "places": result.get("places", 1), "verdict": result.get("verdict"),
             "effect": effect.get("value"), "low": effect.get("low"), "high": effect.get("high")}
    if "vs_random" in result:
        entry["vs_random"] = [result["vs_random"].get(k) for k in ("value", "low", "high")]
        quality = result.get("check_quality") or {}
        entry["check_precision"], entry["check_recall"] = quality.get("precision"), quality.get("recall")
    return entry


def add_to_register(results: list[dict[str, Any]], path: Path | None = None) -> Path:
    """Append an entry per result (entries are never changed or removed)."""
    path = path or register_path()
    entries = register_entries(path) + [register_entry(r) for r in results]
    text = ("# Every claim ever measured on the embedded model, with its verdict (appended by\n"
            "# `python -m lab lessons --ship`; never edited: a changed claim is a new lesson).\n")
    text += yaml.safe_dump({"measured": entries}, sort_keys=False, allow_unicode=True, width=100)
    _write_text(path, text)
    return path


def register_table(entries: list[dict[str, Any]]) -> str:
    """The register as a Markdown table (docs/instrument.md, `lab lessons --register`)."""
    lines = ["| lesson | measured | seeds | verdict | effect [interval] |", "|---|---|---|---|---|"]
    for e in entries:
        effect = "–" if e.get("effect") is None else f"{e['effect']:+.2f}"
        if e.get("low") is not None and e.get("high") is not None:
            effect += f" [{e['low']:+.2f}, {e['high']:+.2f}]"
        if e.get("note"):
            effect += f" ({e['note']})"
        places = f", {e['places']} places" if (e.get("places") or 1) > 1 else ""
        lines.append(f"| {e.get('lesson')} | {e.get('date')} | {e.get('seeds')}{places} | {e.get('verdict')} | {effect} |")
    return "\n".join(lines)


def _read(path: Path, set_aside: bool) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {r["lesson"]: r for r in data["results"] if isinstance(r, dict) and isinstance(r.get("lesson"), str)}
    except (OSError, ValueError, KeyError, TypeError):
        if set_aside:
            try:
                os.replace(path, path.with_name(path.name + ".broken"))
            except OSError:
                pass
        return {}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    _write_text(path, json.dumps(data, indent=1, ensure_ascii=False))


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise LabError(f"Cannot write {path} ({error.strerror}).") from error
