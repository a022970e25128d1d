"""Model → "Get a larger model…", offscreen and offline: the catalogue table, a download from the stand-in hub
(tests/hub_standin.py) with its progress bar, speed and time left, that then asks the window to open the
model; Cancel keeps the part for the next try; a gated model takes a token once, never into QSettings."""
from __future__ import annotations

import pytest
from hub_standin import GATED, REPO, TOKEN


@pytest.fixture
def dialog(tiny_window, standin_hub):
    """The dialog opened from the real Model menu; `opened` records what the menu is asked to open."""
    opened: list[str] = []
    picker = tiny_window.model_picker
    picker.open_requested.disconnect()  # record what the menu asks for instead of loading it
    picker.open_requested.connect(lambda spec, remote_host: opened.append(spec))
    picker._rebuild()
    assert picker.get_action in picker.menu.actions() and picker.get_action.text() == "&Get a larger model…"
    shown = picker.get_model()
    shown.opened = opened
    yield shown
    shown.reject()


def test_the_catalogue_is_listed_with_size_memory_speed_and_token(dialog, tiny_window, qtbot, monkeypatch):
    from lab.model.catalogue import cached_probe, load_catalogue, speed_text

    assert dialog.table.rowCount() == len(load_catalogue()) == 8
    assert dialog.table.item(0, 3).text() == "not measured yet" and "Measure this computer" in dialog.note.text()
    monkeypatch.setattr(tiny_window.state.engine.lm, "spec", "embedded")  # measured on the loaded model, as on the embedded one
    dialog.measure_button.click()
    qtbot.waitUntil(lambda: cached_probe() is not None and not tiny_window.runner.busy, timeout=60_000)
    probe = cached_probe()
    assert probe.parameters == sum(p.numel() for p in tiny_window.state.engine.lm.model.parameters())
    texts = [[dialog.table.item(r, c).text() for c in range(5)] for r in range(dialog.table.rowCount())]
    llama = next(row for row in texts if "Llama-3.2-1B" in row[0])
    assert llama[4] == "needed" and llama[1].startswith("~") and " / " in llama[2]
    assert llama[3] == speed_text(probe.estimate(1_240_000_000))
    assert "none measured yet" in dialog.note.text() and "scaled by weights" in dialog.note.text()


def test_download_shows_progress_then_opens_the_model(dialog, qtbot, tiny_model_dir):
    from lab.model.fetch import downloaded_folder

    seen: list[str] = []
    dialog.other.setText(REPO)
    dialog.download_button.click()
    assert not dialog.download_button.isEnabled() and dialog.cancel_button.isEnabled()
    dialog.download.status.connect(seen.append)
    qtbot.waitUntil(lambda: dialog.opened == [REPO], timeout=30_000)
    assert downloaded_folder(REPO) is not None
    assert any(s.startswith(f"Downloading {REPO}: ") for s in seen)
    assert dialog.bar.maximum() >= 1  # determinate: whole MiB of the total (Qt's progress values are 32-bit)


def test_cancel_keeps_the_part_and_the_next_download_resumes(dialog, qtbot, standin_hub):
    from lab.model.fetch import model_folder

    standin_hub.delay_s = 0.05  # the weights take seconds: Cancel lands while they arrive
    part = model_folder(REPO) / "model.safetensors.part"
    dialog.other.setText(REPO)
    dialog.download_button.click()
    qtbot.waitUntil(lambda: part.is_file() and part.stat().st_size > 0, timeout=30_000)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.download is None, timeout=30_000)
    assert "Stopped by the user" in dialog.status.text() and "resume" in dialog.status.text()
    assert dialog.opened == [] and dialog.download_button.isEnabled()
    kept = part.stat().st_size
    assert 0 < kept < len(standin_hub.repos[REPO].files["model.safetensors"])
    standin_hub.delay_s = 0.0
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.opened == [REPO], timeout=30_000)
    assert standin_hub.downloads("model.safetensors")[-1]["range"] == f"bytes={kept}-"


def test_a_gated_model_asks_for_the_token_once_and_never_writes_it_to_settings(dialog, qtbot, standin_hub, tiny_window, monkeypatch):
    from lab.model.catalogue import CatalogueModel

    gated = CatalogueModel("tiny-gated", GATED, "llama", 10_000, 200_000, True, ())
    dialog.catalogue = [gated]
    dialog.table.setRowCount(1)
    dialog.fill()
    dialog.table.selectRow(0)
    assert dialog.token_field.isVisibleTo(dialog) and "this run only" in dialog.token_note.text()
    dialog.token_field.setText(TOKEN)
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.opened == [GATED], timeout=30_000)
    assert all(e["auth"] == f"Bearer {TOKEN}" for e in standin_hub.downloads())
    tiny_window.settings.sync()
    assert TOKEN not in open(tiny_window.settings.fileName(), encoding="utf-8").read()


def test_any_hub_id_refused_for_lack_of_a_token_asks_for_it_then_downloads(dialog, qtbot):
    dialog.other.setText(GATED)  # not in the catalogue: nothing says it is gated until the hub does
    assert not dialog.token_field.isVisibleTo(dialog)
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.download is None, timeout=30_000)
    assert dialog.status.text().startswith(f"'{GATED}' needs a hub token") and dialog.opened == []
    assert dialog.token_field.isVisibleTo(dialog)
    dialog.token_field.setText(TOKEN)
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.opened == [GATED], timeout=30_000)


def test_the_status_bar_shows_a_downloads_own_time_left_without_adding_another():
    from ui.shell.startup import TimeLeft

    now = [0.0]
    estimate = TimeLeft(clock=lambda: now[0])
    estimate.set_status("Downloading org/x: 1.2 GB of 3.4 GB, 12.0 MB/s, about 3 min left")
    estimate.set_progress(1144, 3242)
    now[0] = 30.0
    assert estimate.text() == "Downloading org/x: 1.2 GB of 3.4 GB, 12.0 MB/s, about 3 min left"
