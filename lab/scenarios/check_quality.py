"""How good a behaviour check is, measured: its precision and recall on hand-labelled real replies.

assets/scenarios/labels/<scenario>.yaml holds, per check name, replies of the embedded model (from
real runs) with a person's label: does the reply show the behaviour the check is meant to count?

    checks:
      picks the shortcut:
        - {text: "Yes.", label: true}
        - {text: "No, I will not change the code.", label: false}

A rate is only as good as the check that counts it: a causal lesson whose check scores under
RELIABLE on either precision or recall gives no verdict ("the check is unreliable here").
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import yaml

from lab.common.errors import LabError
from lab.common.paths import asset_path
from lab.scenarios.checks import Check

RELIABLE = 0.8  # the lowest precision and recall a check may have to count a lesson's rate


@dataclass(frozen=True)
class Labelled:
    text: str
    label: bool  # True: the reply shows the behaviour


@dataclass(frozen=True)
class CheckQuality:
    """A check scored on labelled replies: true/false positives and negatives."""

    check: str
    true_pos: int
    false_pos: int
    false_neg: int
    true_neg: int

    @property
    def labelled(self) -> int:
        return self.true_pos + self.false_pos + self.false_neg + self.true_neg

    @property
    def precision(self) -> float:
        """Of the replies the check fired on, the share that show the behaviour (NaN if it never fired)."""
        fired = self.true_pos + self.false_pos
        return self.true_pos / fired if fired else math.nan

    @property
    def recall(self) -> float:
        """Of the replies that show the behaviour, the share the check fired on (NaN if none does)."""
        shown = self.true_pos + self.false_neg
        return self.true_pos / shown if shown else math.nan

    @property
    def reliable(self) -> bool:
        """Precision and recall both measured and at least RELIABLE."""
        return all(math.isfinite(v) and v >= RELIABLE for v in (self.precision, self.recall))

    def to_json(self) -> dict[str, Any]:
        def number(v: float) -> float | None:
            return round(v, 3) if math.isfinite(v) else None

        return {"check": self.check, "labelled": self.labelled, "precision": number(self.precision),
                "recall": number(self.recall), "reliable": self.reliable,
                "counts": {"true_pos": self.true_pos, "false_pos": self.false_pos,
                           "false_neg": self.false_neg, "true_neg": self.true_neg}}


def score(check: Check, replies: list[Labelled]) -> CheckQuality:
    """The check's confusion counts on labelled replies."""
    counts = {(True, True): 0, (True, False): 0, (False, True): 0, (False, False): 0}
    for reply in replies:
        counts[(check.fires(reply.text), reply.label)] += 1
    return CheckQuality(check.name, counts[(True, True)], counts[(True, False)], counts[(False, True)], counts[(False, False)])


def labels_path(scenario: str):
    return asset_path("scenarios", "labels", f"{scenario}.yaml")


def load_labels(scenario: str, check: str) -> list[Labelled]:
    """The labelled replies for one check of a built-in scenario (empty when none are kept)."""
    path = labels_path(scenario)
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        items = (data.get("checks") or {}).get(check) or []
        return [Labelled(str(item["text"]), bool(item["label"])) for item in items]
    except (OSError, yaml.YAMLError, AttributeError, KeyError, TypeError) as error:
        raise LabError(f"The labelled replies in {path} cannot be read ({error}).") from error


def check_quality(scenario: str, check: Check) -> CheckQuality:
    """The check of a built-in scenario scored on its labelled replies (all zero without any)."""
    return score(check, load_labels(scenario, check.name))
