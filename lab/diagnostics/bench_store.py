"""Store benchmark: bytes on disk per recorded token, with and without raw residual vectors."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from lab.common.events import SamplingSettings, TokenEvent
from lab.store.lab_file import open_store

EMOTIONS = [f"emotion_{i}" for i in range(12)]


def record_synthetic(path: Path, tokens: int, *, raw_layers: tuple[int, ...] = (), width: int = 576) -> None:
    """Record one session of `tokens` synthetic tokens (12 emotions) into a new lab file."""
    rng = np.random.default_rng(0)
    with open_store(path) as store:
        model = store.register_model("synthetic", "synthetic-identity", "llama", 30, width)
        directions = store.register_directions(model, "mean_diff", [10, 11], "data", 12, {}, EMOTIONS)
        with store.start_session("benchmark", model, directions, SamplingSettings(seed=0), app_version="bench") as rec:
            rec.begin_turn("assistant")
            for position in range(tokens):
                readings = dict(zip(EMOTIONS, rng.standard_normal(len(EMOTIONS)).tolist()))
                raw = {layer: rng.standard_normal(width, dtype=np.float32) for layer in raw_layers}
                rec.add_token(TokenEvent(0, position, int(rng.integers(50000)), " word", False, readings), raw or None)
            rec.end_turn("...")


def bytes_per_token(with_raw: bool, tokens: int = 2000) -> float:
    """File growth per token for `tokens` tokens x 12 emotions (raw: width 576 at 2 layers)."""
    sizes = []
    with tempfile.TemporaryDirectory() as folder:
        for count in (0, tokens):
            path = Path(folder) / f"lab{count}.db"
            record_synthetic(path, count, raw_layers=(10, 11) if with_raw else ())
            sizes.append(path.stat().st_size)
    return (sizes[1] - sizes[0]) / tokens
