"""Sessions you can find again: titles say how a session was steered, runs of an experiment are
listed together under it, answers cut off by Stop or by closing the window are marked, the Title
column never collapses after a restart, and exports go to Documents and say where they went.

Runs on the tiny test model (tests/conftest.py: emotions joy, fear, rage) and synthetic sessions."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.store.export import from_json, to_json, to_markdown
from lab.store.lab_file import open_store
from lab.store.records import SessionSummary
from lab.store.session_list import experiment_label, group_by_experiment, status_text
from lab.store.titles import SteeredTitle
from store_helpers import SAMPLING, record_session, register


def test_titles_summarise_the_steering_seen():
    title = SteeredTitle("How was your day?")
    assert title.text() == "How was your day?" and not title.add({}) and not title.add({"happy": 0.0})
    assert title.add({"happy": 0.04}) and title.text() == "How was your day? — happy +0.04"
    assert not title.add({"happy": 0.04})
    assert title.add({"happy": 0.06, "calm": -0.02})
    assert title.text() == "How was your day? — happy +0.04 to +0.06, calm -0.02"
    title.add({"sad": 0.01, "afraid": 0.005})
    assert title.summary() == "happy +0.04 to +0.06, calm -0.02, sad +0.01, +1 more"


def test_steering_and_errors_are_quoted_one_way():
    from lab.common.errors import first_line
    from lab.common.steering_text import steering_text, strength_text

    assert steering_text({"happy": 0.04, "calm": -0.025, "sad": 0.0}) == "happy +0.04, calm -0.025, sad +0"
    assert steering_text({}) == "" and steering_text({}, "none") == "none" and strength_text(0.1 + 0.2) == "+0.3"
    assert first_line(ValueError("no config.json here.\nTraceback detail")) == "no config.json here"
    assert first_line(ValueError("  ")) == "ValueError"


def test_runs_of_an_experiment_are_listed_together(tmp_path):
    with open_store(tmp_path / "lab.db") as store:
        model, directions = register(store)
        experiment = store.create_experiment("Sweep: Tiny (joy)", {})
        ids = []
        for title, scenario in (("run 1", {"experiment": experiment}), ("alone", {}), ("run 2", {"experiment": experiment}),
                                ("odd", {"experiment": "x"})):
            with store.start_session(title, model, directions, SAMPLING, scenario=scenario, app_version="t") as rec:
                ids.append(rec.session_id)
        listed = group_by_experiment(store.list_sessions())
        assert [s.title for s in listed] == ["odd", "run 2", "run 1", "alone"]
        assert [experiment_label(s) for s in listed] == ["", f"#{experiment} Sweep: Tiny (joy)", f"#{experiment} Sweep: Tiny (joy)", ""]
    summary = SessionSummary(1, "t", "", "complete", "m", 2, 3, experiment=7)
    assert experiment_label(summary) == "#7"


def test_stopped_answers_are_stored_listed_and_exported(tmp_path):
    with open_store(tmp_path / "lab.db") as store:
        plain, _ = record_session(store, "finished")
        model, directions = register(store)
        with store.start_session("cut off", model, directions, SAMPLING, app_version="t") as rec:
            rec.begin_turn("user", "Tell a story")
            rec.begin_turn("assistant")
            rec.end_turn("Once upon", stopped=True)
            rec.retitle("cut off — joy +0.04")
        summaries = {s.id: s for s in store.list_sessions()}
        assert summaries[plain].stopped == 0 and summaries[rec.session_id].stopped == 1
        assert status_text("complete", 1) == "complete, 1 answer stopped" and status_text("complete", 0) == "complete"
        record = store.load_session(rec.session_id)
        assert record.title == "cut off — joy +0.04" and record.status == "complete"
        assert [t.stopped for t in record.turns] == [False, True]
        assert "### assistant (stopped)" in to_markdown(record)
        again = from_json(to_json(record))
        assert [t.stopped for t in again.turns] == [False, True]
        assert store.load_session(store.import_session(again)).turns[1].stopped
        data = json.loads(to_json(record))
        data["turns"][1]["stopped"] = "yes"
        with pytest.raises(Exception, match="stopped must be true or false"):
            from_json(json.dumps(data))


class StopAfter:
    """A JobContext stand-in that presses Stop after `tokens` generated tokens."""

    def __init__(self, tokens: int) -> None:
        import threading

        self.stop, self.tokens, self.seen = threading.Event(), tokens, 0

    def emit(self, event) -> None:
        self.seen += not event.is_prompt
        if self.seen >= self.tokens:
            self.stop.set()

    def set_progress(self, done: int, total: int) -> None:
        pass


def test_a_stopped_steered_chat_answer_is_marked_and_titled(tmp_path, lab_home, tiny_lm, tiny_directions):
    from lab.runtime.engine import Engine
    from lab.common.events import SamplingSettings
    from lab.runtime.steering import SteeringState
    from ui.tabs.chat.generation import generation_job
    from ui.services.recorder import Recorder

    engine = Engine(tiny_lm, tiny_directions)
    recorder = Recorder.open(tmp_path / "lab.db")
    settings = SamplingSettings(0.0, 1.0, 0, 40)
    steering = SteeringState(engine.directions)
    steering.set("joy", 0.04)
    messages = [{"role": "user", "content": "How was your day?"}]
    job = generation_job(engine, messages, steering, settings,
                         open_log=lambda: recorder.chat_turn(engine, settings, "", "How was your day?"),
                         on_items=lambda _: None, on_finally=lambda: None)
    job.work(StopAfter(3))
    session = recorder.chat_session_id()
    recorder.close(interrupted=True)  # the window closed while it answered
    with open_store(tmp_path / "lab.db", read_only=True) as store:
        record = store.load_session(session)
    assert record.title == "How was your day? — joy +0.04"
    assert record.status == "interrupted" and [t.role for t in record.turns] == ["user", "assistant"]
    assert record.turns[1].stopped and record.turns[1].text


@pytest.fixture
def window(tiny_window):
    return tiny_window


def test_closing_the_window_mid_answer_saves_it_interrupted_and_stopped(qtbot, window, tmp_path):
    window.sampling.temperature.setValue(0.0)
    window.sampling.max_tokens.setValue(2048)
    window.chat.prompt.setPlainText("Tell me a long story.")
    window.chat.send()
    qtbot.waitUntil(lambda: window.chat.plot.point_count() >= 3, timeout=30_000)
    assert window.chat.generating
    session = window.recorder.chat_session_id()
    window.close()
    with open_store(tmp_path / "lab.db", read_only=True) as store:
        record = store.load_session(session)
    assert record.status == "interrupted" and record.turns[-1].role == "assistant" and record.turns[-1].stopped


def test_sessions_list_groups_marks_and_keeps_a_readable_title_column(qtbot, window, tmp_path):
    from PySide6.QtCore import QSettings

    from ui.shell.main_window import MainWindow
    from ui.tabs.sessions.sessions import COLUMNS, TITLE, TITLE_WIDTH_KEY

    store = window.recorder.store
    model, directions = register(store)
    experiment = store.create_experiment("Sweep: Tiny (joy)", {})
    for title, scenario in (("run 1", {"experiment": experiment}), ("alone", {}), ("run 2", {"experiment": experiment})):
        with store.start_session(title, model, directions, SAMPLING, scenario=scenario, app_version="t") as rec:
            rec.begin_turn("assistant")
            rec.end_turn("cut", stopped=title == "alone")
    tab = window.sessions
    window.tabs.setCurrentWidget(tab)
    table = tab.table
    column = {name: i for i, name in enumerate(COLUMNS)}
    rows = [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]
    assert [r[column["Title"]] for r in rows] == ["run 2", "run 1", "alone"]
    assert rows[0][column["Experiment"]] == rows[1][column["Experiment"]] == f"#{experiment} Sweep: Tiny (joy)"
    assert rows[2][column["Status"]] == "complete, 1 answer stopped"
    low, high = tab.title_width_limits()
    assert low >= 20 * table.fontMetrics().averageCharWidth() and low <= table.columnWidth(TITLE) <= high
    tab.set_title_width(5)  # a width saved by an older version, or dragged almost shut
    window.save_settings()
    assert window.settings.value(TITLE_WIDTH_KEY, type=int) == low
    settings = QSettings(str(tmp_path / "narrow.ini"), QSettings.Format.IniFormat)
    settings.setValue(TITLE_WIDTH_KEY, 12)
    settings.setValue("window/state", window.saveState())
    again = MainWindow("embedded", settings=settings, db_path=tmp_path / "other.db")
    try:
        again.sessions.refresh()
        assert again.sessions.table.columnWidth(TITLE) == low
        again.sessions.set_title_width(low + 40)
        again.save_settings()
        third = MainWindow("embedded", settings=settings, db_path=tmp_path / "other.db")
        third.sessions.refresh()
        assert third.sessions.table.columnWidth(TITLE) == low + 40
        third.close()
    finally:
        again.close()


def test_exports_default_to_documents_and_confirm_with_an_open_button(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtCore import QStandardPaths, QUrl
    from PySide6.QtGui import QDesktopServices
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from ui.widgets.exports import export_folder

    monkeypatch.setattr(QStandardPaths, "writableLocation", staticmethod(lambda _where: str(tmp_path / "Documents")))
    assert export_folder() == tmp_path / "Documents" and (tmp_path / "Documents").is_dir()  # made when missing
    monkeypatch.setattr(QStandardPaths, "writableLocation", staticmethod(lambda _where: ""))
    assert export_folder() == Path.home()  # the desktop names no Documents folder: the home folder
    monkeypatch.setattr(QStandardPaths, "writableLocation", staticmethod(lambda _where: str(tmp_path / "Documents")))

    session, _ = record_session(window.recorder.store, "to export")
    window.tabs.setCurrentWidget(window.sessions)
    window.sessions.open_session(session)
    window.sessions.transcript.set_tint("happy")  # an emotion of the synthetic session
    target = tmp_path / "out" / "s.html"
    target.parent.mkdir()
    offered = []

    def save_as(_parent, _caption, start, _filters):
        offered.append(start)
        return str(target), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_as))
    window.sessions.export()
    assert window.errors.messages == []
    assert offered == [str(tmp_path / "Documents" / f"session-{session}.html")]
    box = window.sessions.saved_box
    assert isinstance(box, QMessageBox) and box.isVisible() and not box.isModal() and str(target) in box.text()
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url) or True))
    [button] = [b for b in box.buttons() if b.text() == "Open"]
    button.click()
    assert opened == [QUrl.fromLocalFile(str(target))] and target.stat().st_size > 100
