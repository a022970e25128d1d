"""The Model menu's Precision submenu: the choice is remembered, reloads the model in it, and the
status bar says the precision and device the model runs in."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from lab.model.precisions import DTYPE_CHOICES  # noqa: E402


def test_precision_menu_remembers_the_choice_and_reloads_in_it(tiny_window, tiny_lm, monkeypatch):
    window = tiny_window
    picker = window.model_picker
    picker._rebuild()
    assert picker.precision_menu.menuAction() in picker.menu.actions()
    choices = [a.data() for a in picker.precision_menu.actions()]
    assert tuple(choices) == DTYPE_CHOICES
    assert [a.data() for a in picker.precision_menu.actions() if a.isChecked()] == ["auto"] and picker.dtype == "auto"
    assert f"{tiny_lm.runtime['dtype']} on cpu" in window.status_label.text()
    reloads: list[str] = []
    monkeypatch.setattr(window.models, "open_model", reloads.append)
    bfloat16 = next(a for a in picker.precision_menu.actions() if a.data() == "bfloat16")
    bfloat16.trigger()
    assert picker.dtype == "bfloat16" and window.settings.value("models/dtype") == "bfloat16"
    assert reloads == [window.models.spec]
    bfloat16.trigger()  # the same choice again: nothing to reload
    assert reloads == [window.models.spec]
