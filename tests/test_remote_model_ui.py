"""The Model menu's "Remote (NDIF)…" entry, offline: the dialog's fields, where the key goes (never QSettings),
and the one-line failure that keeps the current model."""
from __future__ import annotations

import sys
import types

import pytest

KEY = "secret-ui-test-key"
MODEL = "meta-llama/Llama-3.1-8B"
CLOSED_HOST = "http://127.0.0.1:9"  # nothing listens there: the connection is refused at once, no network needed


@pytest.fixture
def no_key(monkeypatch):
    """No NDIF_API_KEY, no NDIF_HOST, no keyring, no key kept from an earlier test."""
    import lab.common.secrets as secrets

    monkeypatch.delenv("NDIF_API_KEY", raising=False)
    monkeypatch.delenv("NDIF_HOST", raising=False)
    monkeypatch.setitem(sys.modules, "keyring", None)
    monkeypatch.setattr(secrets, "_run_secrets", {})


def fake_keyring(monkeypatch) -> dict:
    """A working OS keyring that records what is stored."""
    stored: dict = {}
    fail = types.ModuleType("keyring.backends.fail")
    fail.Keyring = type("Keyring", (), {})
    backends = types.ModuleType("keyring.backends")
    backends.fail = fail
    keyring = types.SimpleNamespace(
        get_keyring=lambda: object(), get_password=lambda service, name: stored.get((service, name)),
        set_password=lambda service, name, value: stored.__setitem__((service, name), value), backends=backends,
    )
    monkeypatch.setitem(sys.modules, "keyring", keyring)
    monkeypatch.setitem(sys.modules, "keyring.backends", backends)
    monkeypatch.setitem(sys.modules, "keyring.backends.fail", fail)
    return stored


def test_model_menu_offers_remote_ndif_and_opens_it_through_the_window(tiny_window, no_key, monkeypatch):
    from PySide6.QtWidgets import QDialog

    from ui.shell.remote_dialog import RemoteModelDialog

    picker = tiny_window.model_picker
    picker._rebuild()
    assert picker.remote_action in picker.menu.actions() and picker.remote_action.text() == "&Remote (NDIF)…"
    opened = []
    monkeypatch.setattr(RemoteModelDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    picker.open_requested.disconnect()  # record what the menu asks for instead of loading it
    picker.open_requested.connect(lambda spec, remote_host: opened.append((spec, remote_host)))
    picker.remote_action.trigger()
    assert opened == [(MODEL, "https://api.ndif.us")]


def test_dialog_asks_for_model_host_and_key_and_keeps_the_key_for_this_run_without_keyring(qapp, no_key, monkeypatch):
    from PySide6.QtWidgets import QLineEdit

    from lab.runtime.ndif import find_api_key
    from ui.shell.remote_dialog import DEFAULT_REMOTE_MODEL, RemoteModelDialog

    monkeypatch.setenv("NDIF_HOST", "https://ndif.university.edu")
    dialog = RemoteModelDialog()
    assert dialog.model_id == DEFAULT_REMOTE_MODEL and dialog.host == "https://ndif.university.edu"
    assert dialog.needs_key and dialog.key_field.echoMode() == QLineEdit.EchoMode.Password
    assert "for this run only" in dialog.key_note.text() and "NDIF_API_KEY" in dialog.key_note.text()
    dialog.model_field.setText("  ")
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted  # an empty model id keeps the dialog open
    dialog.model_field.setText(MODEL)
    dialog.key_field.setText(KEY)
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted and dialog.key_field.text() == ""
    assert find_api_key() == KEY
    assert not RemoteModelDialog().needs_key  # asked once


def test_dialog_saves_the_key_in_the_os_keyring_when_there_is_one(qapp, no_key, monkeypatch):
    from lab.runtime.ndif import KEYRING_NAME, KEYRING_SERVICE, find_api_key
    from ui.shell.remote_dialog import RemoteModelDialog

    stored = fake_keyring(monkeypatch)
    dialog = RemoteModelDialog()
    assert "keyring" in dialog.key_note.text() and "this run only" not in dialog.key_note.text()
    dialog.key_field.setText(f" {KEY} ")
    dialog.accept()
    assert stored == {(KEYRING_SERVICE, KEYRING_NAME): KEY} and find_api_key() == KEY


def test_remote_model_offline_fails_in_one_line_and_keeps_the_current_model(tiny_window, qtbot, no_key):
    from lab.runtime.ndif import remember_api_key

    assert remember_api_key(KEY) is False  # no keyring: this run only
    before = tiny_window.state.engine
    tiny_window.models.open_model(MODEL, remote_host=CLOSED_HOST)
    qtbot.waitUntil(lambda: not tiny_window.runner.busy, timeout=30_000)
    message = tiny_window.errors.messages[-1]
    assert message.startswith(f"Cannot reach the NDIF server at {CLOSED_HOST}") and "\n" not in message
    assert tiny_window.state.engine is before and tiny_window.models.spec == "embedded"
    tiny_window.settings.sync()
    saved = open(tiny_window.settings.fileName(), encoding="utf-8").read()
    assert KEY not in saved and all(KEY not in str(tiny_window.settings.value(k)) for k in tiny_window.settings.allKeys())
    assert MODEL not in saved  # a remote model is not offered again as a local one
    assert all(KEY not in m for m in tiny_window.errors.messages)


def test_a_remote_model_opens_in_the_window_and_its_job_state_shows_in_the_status_bar(tiny_window, qtbot, standin_ndif, standin_hub, tiny_emotions, monkeypatch):
    """Through the stand-in hub and NDIF (tests/ndif_standin.py); the tiny emotions keep extraction short."""
    import threading

    from hub_standin import REPO

    import lab.emotions.library as library
    from lab.emotions.definitions import NeutralTexts

    emotions, neutral = tiny_emotions
    monkeypatch.setattr(library, "load_emotions", lambda include_user=True: emotions)
    monkeypatch.setattr(library, "load_neutral", lambda: NeutralTexts(neutral))
    tiny_window.models.open_model(REPO, remote_host=standin_ndif.url)
    qtbot.waitUntil(lambda: tiny_window.state.engine.remote is not None, timeout=120_000)
    engine = tiny_window.state.engine
    assert engine.lm.spec == REPO and engine.directions.emotions == [e.name for e in emotions]
    worker = threading.Thread(target=engine.report_status, args=("NDIF: running (3 s)",))  # as the reply's worker thread reports
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: tiny_window.status_label.text() == "NDIF: running (3 s)", timeout=5_000)
