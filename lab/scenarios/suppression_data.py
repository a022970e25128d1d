"""The shipped suppression-training sets (assets/suppression/EMOTION.yaml), read and checked.

Each item pairs a prompt that invites the emotion and a control prompt that does not with the same
composed reply; held-out prompts are never trained on; `words` are the emotion's words that count
as expressing it.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from lab.common.errors import LabError
from lab.common.limits import SCENARIO_BYTES, read_text
from lab.common.paths import asset_path
from lab.model.lora_training import Pair


@dataclass(frozen=True)
class SuppressionSet:
    emotion: str
    words: tuple[str, ...]
    invite: tuple[Pair, ...]  # prompts that invite the emotion, composed replies
    control: tuple[Pair, ...]  # prompts that do not, the same replies
    held_out: tuple[str, ...]
    data_hash: str

    def word_rate(self, text: str) -> float:
        """The emotion's words per 100 words of `text` (NaN for an empty text)."""
        words = len(text.split())
        if not words:
            return float("nan")
        lower = text.lower()
        hits = sum(len(re.findall(rf"\b{re.escape(word.lower())}\b", lower)) for word in self.words)
        return 100.0 * hits / words


def suppression_emotions() -> list[str]:
    """The emotions that ship with a suppression-training set."""
    return sorted(p.stem for p in asset_path("suppression").glob("*.yaml"))


def load_suppression_set(emotion: str) -> SuppressionSet:
    path = asset_path("suppression", f"{emotion}.yaml")
    if not path.is_file():
        known = ", ".join(suppression_emotions()) or "none"
        raise LabError(f"There is no suppression-training set for '{emotion}'. Sets ship for: {known}.")
    return parse_suppression_set(path)


def parse_suppression_set(path: Path) -> SuppressionSet:
    text = read_text(path, SCENARIO_BYTES, "suppression-training set")
    try:
        data = yaml.safe_load(text)
        items = data["train"]
        invite = tuple(Pair(_text(i["invite"]), _text(i["reply"])) for i in items)
        control = tuple(Pair(_text(i["control"]), _text(i["reply"])) for i in items)
        held_out = tuple(_text(p) for p in data["held_out"])
        words = tuple(_text(w) for w in data["words"])
        emotion = _text(data["emotion"])
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        raise LabError(f"{path.name} is not a valid suppression-training set ({type(error).__name__}: {error}).") from None
    if not invite or len(held_out) < 2 or set(held_out) & {p.prompt for p in invite + control}:
        raise LabError(f"{path.name} needs training items and at least two held-out prompts that are never trained on.")
    return SuppressionSet(emotion, words, invite, control, held_out, hashlib.sha256(text.encode()).hexdigest()[:16])


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty text, got {str(value)[:40]!r}")
    return value.strip()
