"""Direction extraction through nnsight: per-text means and neutral statistics read inside a trace equal the local reader's.

Tolerances (measured on the tiny model: every difference was exactly 0):
  per-text means, neutral mean and norm  within MEAN_TOL (float32 activations)
  neutral covariance (values ~1e-3)      within COV_TOL with the whole outer sum; with the low-rank
                                         factor (float32) the total variance stays within TRACE_TOL (relative) and the top
                                         principal direction keeps |cos| >= PC_COS at rank 8 of width 32
  extract(): the same reading layer; vectors, read vectors and calibration within MEAN_TOL
"""
from __future__ import annotations

import pytest
import torch

MEAN_TOL = 1e-5
COV_TOL = 1e-8
TRACE_TOL = 1e-6  # relative: the factor travels in float32
PC_COS = 0.999

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def fresh_lm(tiny_model_dir):
    """Its own copy of the tiny model: nnsight wraps it, and the session's tiny_lm stays untouched."""
    from lab.model.loader import load_model

    return load_model(str(tiny_model_dir))


@pytest.fixture(scope="module")
def runner(fresh_lm):
    from lab.runtime.nnsight_engine import NnsightRunner

    return NnsightRunner(fresh_lm)


@pytest.fixture(scope="module")
def local_stats(fresh_lm, tiny_emotions):
    from lab.emotions.activations import text_means

    return text_means(fresh_lm, list(tiny_emotions[1]), neutral=True)


def nnsight_stats(lm, runner, texts, rank=None):
    from lab.emotions.activations import text_means
    from lab.runtime.nnsight_reader import NnsightReader

    return text_means(lm, list(texts), neutral=True, reader=NnsightReader(runner, rank))


def test_means_and_neutral_stats_equal_the_local_reader(fresh_lm, runner, tiny_emotions, local_stats):
    from lab.runtime.nnsight_reader import NnsightReader

    assert NnsightReader(runner).rank is None  # width 32: the whole outer sum comes back
    means, stats = local_stats
    nn_means, nn_stats = nnsight_stats(fresh_lm, runner, tiny_emotions[1])
    assert nn_means.shape == means.shape == (24, fresh_lm.depth, fresh_lm.width)
    assert torch.allclose(nn_means, means, atol=MEAN_TOL)
    assert torch.allclose(nn_stats.mean, stats.mean, atol=MEAN_TOL)
    assert torch.allclose(nn_stats.norm, stats.norm, atol=MEAN_TOL)
    assert torch.allclose(nn_stats.covariance, stats.covariance, atol=COV_TOL)


def test_low_rank_summary_keeps_total_variance_and_top_direction(fresh_lm, runner, tiny_emotions, local_stats):
    _, stats = local_stats
    _, sketched = nnsight_stats(fresh_lm, runner, tiny_emotions[1], rank=8)
    _, whole = nnsight_stats(fresh_lm, runner, tiny_emotions[1], rank=fresh_lm.width)
    assert torch.allclose(whole.covariance, stats.covariance, atol=1e-6 * float(stats.covariance.abs().max()))
    for layer in range(fresh_lm.depth):
        exact, approx = stats.covariance[layer], sketched.covariance[layer]
        assert abs(float(approx.trace() - exact.trace())) <= TRACE_TOL * float(exact.trace())
        top = lambda matrix: torch.linalg.eigh(matrix)[1][:, -1]  # noqa: E731
        assert abs(float(top(exact) @ top(approx))) >= PC_COS


def test_extract_on_the_nnsight_reader_matches_local_extraction(fresh_lm, runner, tiny_emotions, tmp_path):
    """Both from empty caches (the cache keeps means in float16, so both must round the same means)."""
    from lab.emotions.activations import TextMeanCache
    from lab.emotions.extraction import extract
    from lab.runtime.nnsight_reader import NnsightReader

    emotions, neutral = tiny_emotions
    local = extract(fresh_lm, emotions, neutral, cache=TextMeanCache(fresh_lm, tmp_path / "local"))
    directions = extract(fresh_lm, emotions, neutral, cache=TextMeanCache(fresh_lm, tmp_path / "nnsight", reader=NnsightReader(runner)))
    assert directions.reading_layer == local.reading_layer and directions.emotions == local.emotions
    for name in ("vectors", "read_vectors", "calib_mean", "calib_std", "layer_norms", "classifier_weights", "classifier_bias"):
        assert torch.allclose(getattr(directions, name), getattr(local, name), atol=MEAN_TOL), name


def test_open_engine_reads_texts_through_nnsight_for_the_nnsight_backend(tiny_model_dir, monkeypatch, lab_home):
    import lab.runtime.engine as engine_module
    from lab.runtime.nnsight_reader import NnsightReader

    readers = []
    monkeypatch.setattr(engine_module, "load_or_extract", lambda lm, method, progress, reader=None: readers.append(reader))
    opened = engine_module.open_engine(str(tiny_model_dir), engine="nnsight")
    local = engine_module.open_engine(str(tiny_model_dir))
    assert isinstance(readers[0], NnsightReader) and readers[0].runner is opened._runner
    assert readers[1] is None and local.backend == "local"


def test_remote_extraction_sends_only_the_trace_and_reports_a_refusal_in_one_line(fresh_lm, monkeypatch):
    from test_ndif_remote import HOST, KEY, MODEL, Boundary

    from lab.common.errors import LabError
    from lab.emotions.activations import text_means
    from lab.runtime.ndif import RemoteTarget
    from lab.runtime.nnsight_engine import NnsightRunner
    from lab.runtime.nnsight_reader import NnsightReader

    boundary = Boundary(monkeypatch)
    remote = NnsightRunner(fresh_lm, RemoteTarget(model_id=MODEL, host=HOST, api_key=KEY))
    with pytest.raises(LabError) as refused:
        text_means(fresh_lm, ["sun smile", "dark night"], neutral=True, reader=NnsightReader(remote))
    message = str(refused.value)
    assert "Invalid API key." in message and KEY not in message and "\n" not in message
    (sent,) = boundary.posts
    assert sent["url"] == f"{HOST}/request" and sent["headers"]["ndif-api-key"] == KEY
    blob = sent["files"]["blob"][1]
    assert 0 < len(blob) < 5_000_000  # the trace, the ids and the reducing code; never the model
