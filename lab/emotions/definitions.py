"""Emotion definitions: built-in ones from assets/emotions/*.yaml, user-made ones from the data folder.

An emotion is a name, a plain-language description and example texts that convey it without naming it.
Built-in emotions also carry a validation set written in a deliberately different style (short
messages, dialogue lines, two-to-four-word phrases), never used for extraction: it measures whether
a direction generalises beyond the style it was learnt from. `_norms.yaml` holds published
valence/arousal ratings of the emotion names, used to label the emotion map's axes.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from lab.common.atomic import write_bytes, write_text
from lab.common.errors import LabError
from lab.common.limits import EMOTION_FILE_BYTES, read_text
from lab.common.names import check_name
from lab.common.paths import asset_path, user_data_dir

MIN_EXAMPLES = 8
MAX_EXAMPLES = 1000  # per emotion; extraction reads every one
MAX_TEXT_CHARS = 2000  # per example text
QUARANTINE = "quarantine"
log = logging.getLogger("lab")
NEUTRAL_FILE = "_neutral.yaml"  # files starting with "_" are not emotions
NORMS_FILE = "_norms.yaml"
WORDS_FILE = "_word_valence.yaml"


@dataclass(frozen=True)
class Emotion:
    name: str
    description: str
    examples: tuple[str, ...]
    builtin: bool = True
    validation: tuple[str, ...] = ()


@dataclass(frozen=True)
class NeutralTexts:
    """Emotionally neutral texts: `texts` calibrate readings, `validation` (style-shifted) only measures."""

    texts: tuple[str, ...]
    validation: tuple[str, ...] = ()


@dataclass(frozen=True)
class Norm:
    """Published human ratings of an emotion word (1-9 scales)."""

    valence: float
    arousal: float


@dataclass(frozen=True)
class RatedWord:
    """An emotion word with its published human valence rating (0 = neutral) and the built-in emotion it names."""

    word: str
    valence: float
    emotion: str | None


def builtin_dir() -> Path:
    return asset_path("emotions")


def user_dir() -> Path:
    path = user_data_dir() / "emotions"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read_yaml(path: Path) -> dict:
    text = read_text(path, EMOTION_FILE_BYTES, "file in the emotions folder")
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as error:
        raise LabError(f"Could not read emotion file {path.name}: {error}. Fix or remove the file.") from error
    if not isinstance(data, dict):
        raise LabError(f"Emotion file {path.name} is empty or not a mapping. It needs 'name', 'description' and 'examples'.")
    return data


def _clean_texts(values: object, path: Path, key: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(v, (str, int, float)) for v in values):
        raise LabError(f"Emotion file {path.name}: '{key}' must be a list of texts.")
    return check_texts([str(v) for v in values], f"Emotion file {path.name}")


def check_texts(values: list[str], source: str) -> tuple[str, ...]:
    """Stripped non-empty texts, refused (LabError) past MAX_EXAMPLES, MAX_TEXT_CHARS or if not UTF-8."""
    texts = tuple(t for t in (v.strip() for v in values) if t)
    if len(texts) > MAX_EXAMPLES:
        raise LabError(f"{source} has {len(texts)} texts; the limit is {MAX_EXAMPLES}. Use fewer, varied examples.")
    for i, text in enumerate(texts):
        if len(text) > MAX_TEXT_CHARS:
            raise LabError(f"{source}: text {i + 1} has {len(text)} characters; the limit is {MAX_TEXT_CHARS}. Split or shorten it.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise LabError(f"{source}: text {i + 1} holds characters that are not valid text (lone surrogates). Fix it.") from None
    return texts


def load_emotion_file(path: Path, builtin: bool) -> Emotion:
    data = _read_yaml(path)
    examples = _clean_texts(data.get("examples", []), path, "examples")
    if len(examples) < MIN_EXAMPLES:
        raise LabError(f"Emotion file {path.name} has {len(examples)} example texts; at least {MIN_EXAMPLES} are needed.")
    name = str(data.get("name") or path.stem).strip().lower()
    if not builtin:
        name = check_name(name, "emotion")  # shown in lists and tables: one safe word
    validation = _clean_texts(data.get("validation", []), path, "validation")
    description = str(data.get("description", "")).strip()
    return Emotion(name=name, description=description, examples=examples, builtin=builtin, validation=validation)


def load_emotions(include_user: bool = True) -> list[Emotion]:
    """Built-in emotions, then user-made ones (a user emotion may not reuse a built-in name)."""
    emotions = [load_emotion_file(p, True) for p in sorted(builtin_dir().glob("*.yaml")) if not p.name.startswith("_")]
    if include_user:
        taken = {e.name for e in emotions}
        emotions += [e for e in (_user_emotion(p) for p in sorted(user_dir().glob("*.yaml"))) if e is not None and e.name not in taken]
    return emotions


def _user_emotion(path: Path) -> Emotion | None:
    """A user-made emotion, or None after setting aside (once, with a warning) a file that no longer reads."""
    try:
        return load_emotion_file(path, False)
    except LabError as error:
        target = path.parent / QUARANTINE / path.name
        try:
            target.parent.mkdir(exist_ok=True)
            os.replace(path, target)
        except OSError:
            log.warning("The emotion file %s does not read (%s) and could not be set aside; it is skipped.", path, error)
            return None
        log.warning("The emotion file %s did not read (%s); it was set aside in %s. Add the emotion again.", path.name, error, target.parent)
        return None


def load_neutral() -> NeutralTexts:
    path = builtin_dir() / NEUTRAL_FILE
    data = _read_yaml(path)
    return NeutralTexts(_clean_texts(data.get("texts", []), path, "texts"), _clean_texts(data.get("validation", []), path, "validation"))


def load_norms() -> dict[str, Norm]:
    """Valence and arousal ratings per built-in emotion name (see the source cited in the file)."""
    path = builtin_dir() / NORMS_FILE
    entries = _read_yaml(path).get("emotions", {})
    return {str(name): Norm(float(v["valence"]), float(v["arousal"])) for name, v in entries.items()}


def load_rated_words() -> list[RatedWord]:
    """Emotion words with human valence ratings (see the source and licence cited in the file)."""
    entries = _read_yaml(builtin_dir() / WORDS_FILE).get("words", {})
    return [RatedWord(str(w), float(v["valence"]), v.get("emotion")) for w, v in entries.items()]


def parse_examples(text: str) -> list[str]:
    """One example per non-empty line (how users paste or type examples)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def save_user_emotion(name: str, examples: list[str], description: str = "") -> Emotion:
    """Validate and store a user-made emotion; it joins the set on the next extraction."""
    name = check_name(name, "emotion")
    if name in {e.name for e in load_emotions(include_user=False)}:
        raise LabError(f"'{name}' is a built-in emotion. Choose another name.")
    examples = list(check_texts(examples, f"'{name}'"))
    description = check_texts([description], f"The description of '{name}'")[0] if description.strip() else ""
    if len(examples) < MIN_EXAMPLES:
        raise LabError(f"'{name}' has {len(examples)} example texts; give at least {MIN_EXAMPLES} (one per line), ideally 40 or more.")
    emotion = Emotion(name=name, description=description.strip() or f"User-made emotion '{name}'.", examples=tuple(examples), builtin=False)
    payload = {"name": emotion.name, "description": emotion.description, "examples": list(emotion.examples)}
    write_text(user_dir() / f"{name}.yaml", yaml.safe_dump(payload, allow_unicode=True, sort_keys=False))
    return emotion


@contextlib.contextmanager
def user_emotion_added(name: str, examples: list[str], description: str = "") -> Iterator[Emotion]:
    """Save a user-made emotion for the body (which extracts it); if the body fails, the emotion
    folder is put back as it was, so one failed addition never breaks later commands."""
    path = user_dir() / f"{check_name(name, 'emotion')}.yaml"
    try:
        before = path.read_bytes() if path.is_file() else None
    except OSError:
        before = None
    emotion = save_user_emotion(name, examples, description)
    try:
        yield emotion
    except BaseException:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            write_bytes(path, before)
        raise


def delete_user_emotion(name: str) -> None:
    path = user_dir() / f"{name}.yaml"
    if not path.is_file():
        raise LabError(f"There is no user-made emotion called '{name}'.")
    path.unlink()


def data_hash(emotions: list[Emotion], neutral: tuple[str, ...]) -> str:
    """A hash of everything extraction reads, so cached directions are reused only for the same data."""
    payload = [[e.name, e.builtin, list(e.examples), list(e.validation)] for e in emotions] + [["__neutral__", list(neutral)]]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()
