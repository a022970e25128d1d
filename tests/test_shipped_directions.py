"""The embedded model's directions ship precomputed (assets/directions/, rebuilt by `make directions`).

The shipped file must exist for the current emotion texts (else every fresh install would extract
for minutes) and must equal what a fresh extraction gives now, read into an empty text cache.
This reads every example text once (minutes on 2 cores): it is the one full extraction in the suite,
so it runs in its own step, `make test-shipped` (CI runs it after `make test`).
"""
from __future__ import annotations

import pytest
import torch

from lab.emotions.activations import TextMeanCache
from lab.emotions.definitions import load_emotions, load_neutral
from lab.emotions.direction_file import load_directions
from lab.emotions.extraction import extract
from lab.emotions.library import current_data_hash, precomputed_path

pytestmark = [pytest.mark.integration, pytest.mark.shipped_data]


def _cosines(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a.double(), b.double(), dim=-1)


@pytest.mark.float32_only
def test_shipped_directions_exist_for_the_current_texts_and_equal_a_fresh_extraction(engine_float32, tmp_path):
    lm = engine_float32.lm  # the shipped directions were extracted in float32
    path = precomputed_path(lm.identity, current_data_hash(include_user=False), "mean_diff")
    assert path.is_file(), f"{path.name} is missing: run `make directions` after changing emotion texts"
    shipped = load_directions(path)
    assert shipped.picture is not None  # user-made emotions are placed against it without re-reading
    fresh = extract(lm, load_emotions(include_user=False), load_neutral(), cache=TextMeanCache(lm, tmp_path / "text-means"))
    assert (shipped.emotions, shipped.reading_layer, shipped.steering_layers, shipped.data_hash) == (
        fresh.emotions, fresh.reading_layer, fresh.steering_layers, fresh.data_hash)
    layer = fresh.reading_layer
    assert float(_cosines(shipped.read_vectors[layer], fresh.read_vectors[layer]).min()) > 0.999
    steering = list(fresh.steering_layers)
    assert float(_cosines(shipped.vectors[steering], fresh.vectors[steering]).min()) > 0.999
    assert torch.allclose(shipped.calib_std[layer], fresh.calib_std[layer], rtol=1e-2)
    shipped_totals, fresh_totals = shipped.evaluation()["totals"], fresh.evaluation()["totals"]
    for split, (correct, total) in fresh_totals.items():
        assert shipped_totals[split][1] == total and abs(shipped_totals[split][0] - correct) <= 2, split


def test_shipped_slider_range_equals_a_fresh_calibration(engine_float32, tmp_path, monkeypatch):
    """The embedded model's coherence cliff ships too, so the first start does not spend ~25 s measuring it."""
    from lab.runtime import strength_range

    shipped = strength_range.cached_range(engine_float32.lm.identity)
    assert shipped is not None and shipped.measured
    assert strength_range.shipped_path(engine_float32.lm.identity).is_file()
    monkeypatch.setattr(strength_range, "cache_path", lambda identity: tmp_path / "range.json")  # the fresh one stays here
    assert strength_range.calibrate(engine_float32) == shipped
