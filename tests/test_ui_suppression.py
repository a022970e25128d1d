"""The Model menu's suppression actions in the real window on a tiny model: training runs in the
model thread, shows its verdict and stops on Stop; the adapter switch loads it, records it with the next session,
and switching it off restores the base model."""
from __future__ import annotations

import pytest

from lab.model.adapter import has_lora, remove_lora


@pytest.fixture
def builtin_window(qapp, tmp_path, lab_home, tiny_model_dir, torch_one_thread):
    """The real window on the tiny model with the built-in emotions (desperate among them)."""
    from conftest import shown_window

    from lab.emotions.library import load_or_extract
    from lab.model.loader import load_model

    lm = load_model(str(tiny_model_dir), dtype="float32")
    win = shown_window(qapp, tmp_path, lm, load_or_extract(lm, "mean_diff"))
    yield win
    remove_lora(lm)
    win.close()


def test_train_the_feeling_away_then_switch_the_adapter(builtin_window, qtbot):
    win = builtin_window
    actions = win.suppression
    win.model_picker.menu.aboutToShow.emit()
    assert actions.train_action in win.model_picker.menu.actions() and actions.toggle_action in win.model_picker.menu.actions()
    assert actions.train_action.isEnabled() and not actions.toggle_action.isEnabled()  # nothing trained yet

    assert actions.train("desperate", steps=1)
    assert win.cancel_button.isVisible()  # Stop is offered while it trains
    qtbot.waitUntil(lambda: not win.runner.busy, timeout=240_000)
    assert actions.result_box is not None and "Suppression of desperate" in actions.result_box.text()
    lm = win.state.engine.lm
    assert not has_lora(lm)  # the experiment leaves the base model

    win.model_picker.menu.aboutToShow.emit()
    assert actions.toggle_action.isEnabled() and "suppress-desperate" in actions.toggle_action.text()
    actions.toggle_action.setChecked(True)
    qtbot.waitUntil(lambda: not win.runner.busy, timeout=30_000)
    assert has_lora(lm) and lm.adapter["adapter"] == "suppress-desperate"
    assert win.state.engine.runtime["adapter"] == "suppress-desperate"  # what the next session records

    actions.toggle_action.setChecked(False)
    qtbot.waitUntil(lambda: not win.runner.busy, timeout=30_000)
    assert not has_lora(lm) and "adapter" not in win.state.engine.runtime
    win.model_picker.menu.aboutToShow.emit()
    assert not actions.toggle_action.isChecked()

    assert actions.train("desperate", steps=500)  # Stop ends a long training early, leaving the base model
    win.cancel_button.click()
    qtbot.waitUntil(lambda: not win.runner.busy, timeout=60_000)
    assert not has_lora(lm) and win.status_label.text() == "Stopped."
