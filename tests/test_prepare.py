"""Preparing a model (lab.scenarios.prepare): one job, one monotone progress to 1.0, cached per model
and precision, and nothing half-written when it is cancelled. Runs on the tiny model with the tiny
emotion set standing in for the shipped texts."""
from __future__ import annotations

import pytest

from lab.common.progress import Cancelled
from lab.emotions.definitions import NeutralTexts
from lab.scenarios import prepare as prepare_module
from lab.scenarios.prepare import RANGE, READING, ChainProgress, Step, prepare


@pytest.fixture
def tiny_texts(monkeypatch, tiny_emotions, lab_home, torch_one_thread):
    """The tiny emotion set in place of the shipped texts, everywhere a preparation reads them."""
    from lab.emotions import library

    emotions, neutral = tiny_emotions
    for module in (library, prepare_module):
        monkeypatch.setattr(module, "load_emotions", lambda include_user=True: list(emotions))
        monkeypatch.setattr(module, "load_neutral", lambda: NeutralTexts(tuple(neutral)))
    return lab_home


def _cache_files(home):
    return sorted(p.relative_to(home).as_posix() for p in (home / "cache").rglob("*") if p.is_file())


def test_preparing_reports_one_monotone_progress_to_one_and_is_cached_the_second_time(tiny_lm, tiny_texts):
    steps: list[Step] = []
    first = prepare(tiny_lm, steps.append)
    fractions = [s.fraction for s in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(set(fractions)) > 5
    stages = [s.stage for s in steps]
    assert "reading example texts" in stages and "measuring the slider range" in stages
    assert all(s.seconds_left >= 0 for s in steps) and steps[1].text().endswith(" left")
    assert not first.was_cached and first.strength_range.measured
    assert any(f"-{tiny_lm.runtime['dtype']}" in name for name in _cache_files(tiny_texts))  # cached per precision
    again: list[Step] = []
    second = prepare(tiny_lm, again.append)
    assert second.was_cached and [s.fraction for s in again] == [1.0]
    assert second.directions.reading_layer == first.directions.reading_layer


@pytest.mark.parametrize("stage", [READING, RANGE])
def test_cancelling_leaves_no_half_written_cache(tiny_lm, tiny_texts, stage):
    seen: list[Step] = []
    labels = {READING: "reading example texts", RANGE: "measuring the slider range"}
    with pytest.raises(Cancelled):
        prepare(tiny_lm, seen.append, cancelled=lambda: any(s.stage == labels[stage] for s in seen))
    files = _cache_files(tiny_texts)
    if stage == READING:
        assert files == []
    else:  # the directions were complete before the range began: they stay, whole and loadable
        assert [f for f in files if "strength_range" in f] == [] and any(f.startswith("cache/directions/") for f in files)
    assert not [f for f in files if ".tmp" in f or f.endswith("~")]
    assert prepare(tiny_lm).strength_range.measured  # and the next preparation completes


def test_time_left_follows_the_measured_pace():
    now = [0.0]
    steps: list[Step] = []
    chain = ChainProgress({READING: 1000.0, RANGE: 1000.0}, steps.append, lambda: False, prior_s_per_token=0.001,
                          clock=lambda: now[0])
    chain.set_status(READING)
    assert steps[-1].seconds_left == pytest.approx(2.0)  # nothing measured yet: the typical pace
    now[0] = 10.0
    chain.set_progress(1, 2)  # a quarter of the work in 10 s
    assert steps[-1].fraction == pytest.approx(0.25) and steps[-1].seconds_left == pytest.approx(30.0)
    chain.set_status("Measuring where steering breaks the text")
    assert steps[-1].fraction == pytest.approx(0.5) and "slider range" in steps[-1].text()


def test_estimate_shows_its_arithmetic(tiny_lm, tiny_texts):
    guess = prepare_module.estimate(tiny_lm, 1_700_000_000, cores=4)
    assert guess.seconds == pytest.approx(guess.tokens * prepare_module.SECONDS_PER_TOKEN_PER_PARAMETER * 1.7e9 / 2)
    assert "1.70 billion weights" in guess.arithmetic() and "2/4 cores" in guess.arithmetic()
