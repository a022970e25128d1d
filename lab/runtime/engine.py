"""The loaded model and its emotion directions: what every front end (CLI, app) works with."""
from __future__ import annotations

from dataclasses import dataclass

from lab.emotions.direction_set import DirectionSet

from lab.emotions.library import load_or_extract
from lab.model.loader import LoadedModel, load_model
from lab.common.progress import Progress, SilentProgress


@dataclass
class Engine:
    lm: LoadedModel
    directions: DirectionSet

    def chat_ids(self, messages: list[dict[str, str]]) -> list[int]:
        return self.lm.chat_ids(messages, add_generation_prompt=True)


def open_engine(spec: str = "embedded", method: str = "mean_diff", progress: Progress | None = None, dtype: str = "auto") -> Engine:
    """Load the model (in `dtype`, lab.model.precision) and its directions (extracted on first use, then cached)."""
    progress = progress or SilentProgress()
    lm = load_model(spec, progress, dtype)
    return Engine(lm=lm, directions=load_or_extract(lm, method, progress))
