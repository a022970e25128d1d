"""Opening a model without directions prepares it in the same job: one progress bar with the stage
and time left, and Stop cancels it, keeping the model in use and no half-written cache."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from lab.emotions.definitions import NeutralTexts  # noqa: E402


@pytest.fixture
def tiny_texts(monkeypatch, tiny_emotions):
    from lab.emotions import library
    from lab.scenarios import prepare

    emotions, neutral = tiny_emotions
    for module in (library, prepare):
        monkeypatch.setattr(module, "load_emotions", lambda include_user=True: list(emotions))
        monkeypatch.setattr(module, "load_neutral", lambda: NeutralTexts(tuple(neutral)))


def _watch(window) -> tuple[list[str], list[tuple[int, int]]]:
    statuses: list[str] = []
    bars: list[tuple[int, int]] = []
    window.runner.status.connect(statuses.append)
    window.runner.progress.connect(lambda done, total: bars.append((done, total)))
    return statuses, bars


def test_opening_a_model_prepares_it_with_one_progress_bar(tiny_window, tiny_model_dir, tiny_texts, lab_home, qtbot):
    before = tiny_window.state.engine
    statuses, bars = _watch(tiny_window)
    tiny_window.models.open_model(str(tiny_model_dir))
    qtbot.waitUntil(lambda: tiny_window.state.engine is not before, timeout=120_000)
    assert any(s.startswith("Preparing this model:") and "reading example texts" in s for s in statuses)
    determinate = [done for done, total in bars if total == 1000]
    assert determinate == sorted(determinate) and determinate[-1] == 1000
    assert list((lab_home / "cache" / "directions").rglob("*.safetensors"))


def test_stop_cancels_the_preparation_and_keeps_the_model(tiny_window, tiny_model_dir, tiny_texts, lab_home, qtbot):
    before = tiny_window.state.engine
    statuses, _ = _watch(tiny_window)
    tiny_window.models.open_model(str(tiny_model_dir))
    assert tiny_window.runner.cancellable
    qtbot.waitUntil(lambda: any(s.startswith("Preparing this model:") for s in statuses), timeout=60_000)
    tiny_window.runner.stop()
    qtbot.waitUntil(lambda: not tiny_window.runner.busy, timeout=60_000)
    assert tiny_window.state.engine is before and statuses[-1] == "Stopped."
    files = [p.name for p in (lab_home / "cache").rglob("*") if p.is_file()]
    assert not [name for name in files if name.endswith(".json") or ".tmp" in name]  # no slider range, nothing half-written
