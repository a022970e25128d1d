"""The desktop app, driven offscreen with the real embedded model (loaded once for all tests).

EMOTION_LAB_HOME points at a temporary folder whose cache links to the user's real cache, so the
model and its directions load in seconds while the session file, user emotions and settings
written here stay out of the user's folders.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QEvent, QPoint, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QFontInfo, QHelpEvent, QTextCursor  # noqa: E402
from PySide6.QtWidgets import QApplication, QToolTip  # noqa: E402

import ui  # noqa: E402,F401  (sets QT_API before matplotlib's Qt backend is imported)
from ui_support import LOAD_TIMEOUT_MS, isolated_home, loaded_window  # noqa: E402
from lab.common.tint_rule import tint_reading  # noqa: E402
from lab.common.events import TokenEvent  # noqa: E402
from ui.widgets.strength_slider import STEP  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "screenshots-ui"
STORY = "Tell me a long story about a dragon who lives in a library."


@pytest.fixture(scope="session")
def lab_home(tmp_path_factory):
    yield from isolated_home(tmp_path_factory)


@pytest.fixture(scope="session")
def window(qapp, lab_home, tmp_path_factory):
    """The real main window with the embedded model loaded (shared by the tests here)."""
    win = loaded_window(qapp, tmp_path_factory.mktemp("ui"))
    yield win
    if win.isVisible():
        win.close()


@pytest.fixture
def idle(window, qtbot):
    """The window before each test: idle, a new empty chat without a system prompt, Chat tab, sliders at 0,
    short greedy answers (whatever an earlier test left, so the tests pass in any order)."""
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)
    window.session_actions.new_session()
    window.state.set_system_prompt("")
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=5_000)
    window.tabs.setCurrentWidget(window.chat)
    window.emotions.reset_all()
    window.sampling.temperature.setValue(0.0)
    window.sampling.max_tokens.setValue(8)
    window.errors.messages.clear()
    yield window
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)


def generated(events: list[TokenEvent], row: int | None = None) -> list[TokenEvent]:
    return [e for e in events if not e.is_prompt and (row is None or e.row == row)]


def slider_values(window) -> dict[str, float]:
    """What the sliders show (non-zero only)."""
    return {name: row.value() for name, row in window.emotions.rows.items() if row.value() != 0}


def send(window, qtbot, text: str) -> None:
    window.chat.prompt.setPlainText(text)
    qtbot.mouseClick(window.chat.send_button, Qt.MouseButton.LeftButton)


def test_load_completes_and_builds_the_emotion_panel(window):
    emotions = window.state.engine.directions.emotions
    assert list(window.emotions.rows) == emotions
    assert [window.tint.itemText(i) for i in range(window.tint.count())] == emotions
    assert window.chat.send_button.isEnabled()
    row = window.emotions.rows[emotions[0]]
    assert "Recognised at the reading layer" in row.slider.toolTip() and "95% CI" in row.slider.toolTip()
    cliff = window.emotions.strength_range.cliff  # the slider ends at the coherence cliff
    ticks = round(cliff / STEP)
    assert (row.slider.minimum(), row.slider.maximum()) == (-ticks, ticks)
    assert row.spin.maximum() == pytest.approx(cliff) and row.spin.singleStep() == pytest.approx(STEP)


def test_send_streams_tinted_tokens_into_transcript_and_plot(idle, qtbot):
    window = idle
    send(window, qtbot, "Say hello to my class.")
    assert window.chat.send_button.text() == "Stop"
    qtbot.waitUntil(lambda: not window.chat.generating, timeout=60_000)
    assert window.chat.send_button.text() == "Send"
    tokens = generated(window.chat.last_events)
    assert 0 < len(tokens) <= 8
    assert window.chat.messages[-2:] == [
        {"role": "user", "content": "Say hello to my class."},
        {"role": "assistant", "content": "".join(e.text for e in tokens).strip()},
    ]
    spans = window.chat.transcript.spans
    assert [s.event for s in spans] == [e for e in tokens if e.text]
    cursor = QTextCursor(window.chat.transcript.document())
    cursor.setPosition(spans[0].start + 1)
    fmt = cursor.charFormat()
    tint = window.tint.currentText()
    assert (fmt.background().color().alpha() > 0) == (abs(tint_reading(spans[0].event.readings, tint) or 0.0) >= 0.01)  # the tint rule decides
    assert window.chat.plot.point_count() == len(tokens)
    view = window.chat.transcript  # hovering a token shows all its readings
    cursor.setPosition(spans[0].start)
    rect = view.cursorRect(cursor)
    point = rect.center() + QPoint(2, 0)
    QApplication.sendEvent(view.viewport(), QHelpEvent(QEvent.Type.ToolTip, point, view.viewport().mapToGlobal(point)))
    assert all(name in QToolTip.text() for name in window.state.emotions) and "Steering in force" in QToolTip.text()
    QToolTip.hideText()


def test_ctrl_enter_sends_and_the_turn_is_recorded(idle, qtbot):
    window = idle
    before = len(window.chat.messages)
    window.chat.prompt.setPlainText("What is a rainbow?")
    window.chat.prompt.setFocus()
    qtbot.keyClick(window.chat.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(window.chat.messages) == before + 2, timeout=60_000)

    def recorded():  # tokens reach the lab file through the writer thread's batches (within a second)
        record = window.recorder.store.load_session(window.recorder.chat_session_id())
        return record, [t.event for t in record.tokens if record.turns and t.turn == record.turns[-1].index]

    qtbot.waitUntil(lambda: bool(recorded()[1]), timeout=10_000)
    record, answer = recorded()
    roles = [t.role for t in record.turns]
    assert roles[-2:] == ["user", "assistant"]
    assert record.turns[-2].text == "What is a rainbow?"
    assert answer and not any(e.is_prompt for e in answer)
    assert record.turns[-1].text.strip() == window.chat.messages[-1]["content"]


def test_slider_moved_mid_generation_steers_the_next_tokens(idle, qtbot):
    window = idle
    window.sampling.max_tokens.setValue(40)
    send(window, qtbot, STORY)
    qtbot.waitUntil(lambda: len(generated(window.chat.last_events)) >= 3, timeout=60_000)
    seen = len(generated(window.chat.last_events))
    window.emotions.rows["happy"].slider.setValue(6)  # 6 ticks x 0.005, inside every calibrated range
    assert window.emotions.rows["happy"].spin.value() == pytest.approx(0.03)
    qtbot.waitUntil(lambda: not window.chat.generating, timeout=120_000)
    tokens = generated(window.chat.last_events)
    assert len(tokens) > seen + 3, "the answer ended too early to see the change"
    steered = [e.strengths.get("happy", 0.0) == pytest.approx(0.03) for e in tokens]
    first = steered.index(True)
    assert all(steered[first:]), "once applied, the strength stays"
    assert not any(steered[:seen]), "tokens before the change were unsteered"
    assert first <= seen + 3, "the change reached the generator within a token or two"
    plot = window.chat.plot
    assert plot.steering_marks[-1] == plot.point_count() - len(tokens) + first  # marked where it took effect
    record = window.recorder.store.load_session(window.recorder.chat_session_id())
    assert any(s.change.strengths == {"happy": pytest.approx(0.03)} for s in record.steering)


def test_stop_ends_generation_early(idle, qtbot):
    window = idle
    window.sampling.max_tokens.setValue(300)
    send(window, qtbot, STORY)
    qtbot.waitUntil(lambda: len(generated(window.chat.last_events)) >= 2, timeout=60_000)
    seen = len(generated(window.chat.last_events))
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.chat.generating, timeout=30_000)
    assert len(generated(window.chat.last_events)) <= seen + 5
    assert window.chat.send_button.text() == "Send"
    assert window.chat.messages[-1]["role"] == "assistant"


def test_regenerate_replaces_the_last_answer(idle, qtbot):
    window = idle
    send(window, qtbot, "Name a colour.")
    qtbot.waitUntil(lambda: not window.chat.generating, timeout=60_000)
    count, answer = len(window.chat.messages), window.chat.messages[-1]
    spans = len(window.chat.transcript.spans)
    qtbot.mouseClick(window.chat.regenerate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)
    assert len(window.chat.messages) == count
    assert window.chat.messages[-1] == answer  # greedy: same answer again
    assert len(window.chat.transcript.spans) == spans


def test_compare_streams_two_rows_with_the_same_seed(idle, qtbot):
    window = idle
    window.tabs.setCurrentWidget(window.compare)
    window.emotions.rows["sad"].spin.setValue(0.03)
    window.compare.prompt.setPlainText("Describe your morning.")
    qtbot.mouseClick(window.compare.run_button, Qt.MouseButton.LeftButton)
    assert window.compare.run_button.text() == "Stop"
    qtbot.waitUntil(lambda: not window.compare.generating, timeout=60_000)
    events = window.compare.last_events
    unsteered, steered = generated(events, 0), generated(events, 1)
    assert unsteered and steered
    assert all(e.strengths == {} for e in unsteered)
    assert all(e.strengths == {"sad": pytest.approx(0.03)} for e in steered)
    assert [s.event for s in window.compare.views[0].spans] == [e for e in unsteered if e.text]
    assert [s.event for s in window.compare.views[1].spans] == [e for e in steered if e.text]
    assert window.compare.plot.point_count() == len(unsteered) + len(steered)
    session = window.recorder.store.list_sessions()[0]
    assert session.title.startswith("Compare: ")


def test_presets_round_trip_and_bad_files_are_reported(idle, tmp_path):
    window = idle
    window.emotions.rows["calm"].spin.setValue(0.03)
    window.emotions.rows["angry"].spin.setValue(-0.02)
    path = tmp_path / "calm.json"
    window.presets.save(path)
    assert json.loads(path.read_text())["strengths"] == {"angry": -0.02, "calm": 0.03}
    window.emotions.reset_all()
    assert window.state.strengths == {}
    window.presets.load(path)
    assert slider_values(window) == {"angry": -0.02, "calm": 0.03}
    assert window.state.strengths == {"angry": -0.02, "calm": 0.03}
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\x80\x04not json")
    window.presets.load(bad)
    assert "not a valid preset" in window.errors.messages[-1]
    assert slider_values(window) == window.state.strengths == {"angry": -0.02, "calm": 0.03}


def test_errors_go_to_the_funnel_and_the_app_keeps_running(idle, qtbot):
    window = idle
    window.chat.prompt.clear()
    qtbot.mouseClick(window.chat.send_button, Qt.MouseButton.LeftButton)
    assert window.status_label.text() == "Type a message for the model first." and not window.errors.messages
    window.tabs.setCurrentWidget(window.editor)
    window.editor.name.setText("wistful")
    window.editor.examples.setPlainText("one\ntwo")
    qtbot.mouseClick(window.editor.save_button, Qt.MouseButton.LeftButton)
    assert "give at least 8" in window.errors.messages[-1]
    assert window.errors._box.isVisible() and window.errors._box.text() == window.errors.messages[-1]
    window.errors._box.close()
    assert not window.runner.busy and window.isVisible()


def test_a_model_that_cannot_load_is_explained(window, qtbot, tmp_path):
    from ui.shell.main_window import MainWindow

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    broken = MainWindow(str(tmp_path / "missing.gguf"), settings=settings, db_path=tmp_path / "lab.db")
    broken.show()
    broken.models.start_loading()
    qtbot.waitUntil(lambda: bool(broken.errors.messages), timeout=30_000)
    [message] = broken.errors.messages
    assert "missing.gguf" in message and "Traceback" not in message
    assert broken.isVisible() and broken.state.engine is None and not broken.chat.send_button.isEnabled()
    broken.close()


def test_unexpected_failures_show_details(idle, qtbot):
    from ui.services.workers import Job

    def work(_ctx):
        raise ZeroDivisionError("boom")

    idle.runner.start(Job("testing the funnel", work))
    qtbot.waitUntil(lambda: bool(idle.errors.messages), timeout=10_000)
    box = idle.errors._box
    assert "while testing the funnel" in box.text()
    assert "ZeroDivisionError: boom" in box.detailedText()
    box.close()


def test_new_session_clears_the_conversation(idle, qtbot):
    window = idle
    send(window, qtbot, "Hi!")
    qtbot.waitUntil(lambda: not window.chat.generating, timeout=60_000)
    sessions = len(window.recorder.store.list_sessions())
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.chat.messages == [] and window.chat.transcript.spans == []
    assert window.chat.plot.point_count() == 0
    send(window, qtbot, "Hello again.")
    qtbot.waitUntil(lambda: not window.chat.generating, timeout=60_000)
    assert len(window.recorder.store.list_sessions()) == sessions + 1


def test_emotion_map_and_accuracy_chart(idle, qtbot):
    window = idle
    window.tabs.setCurrentWidget(window.map)
    qtbot.waitUntil(lambda: window.map.chart.points is not None, timeout=5_000)
    assert window.map.chart.points.shape == (len(window.state.emotions), 2)
    window.tabs.setCurrentWidget(window.editor)
    assert window.editor.chart.figure.axes


def test_validation_page_shows_the_loaded_models_numbers_and_saves_them(idle, qtbot, tmp_path):
    window = idle
    page = window.show_validation()
    assert page is not None and page.isVisible()
    text = page.browser.toPlainText()
    directions = window.state.engine.directions
    assert f"reading layer {directions.reading_layer}" in text and "95% CI" in text
    answer = text[text.index("In short"):text.index("The details")]  # the plain answer first, the tables below
    assert answer.split("\n")[1].startswith(("Yes", "Partly", "No")) and "Help → Lessons says each" in answer
    assert text.index("The details") < text.index("Recognising emotions")
    assert all(name in text for name in directions.emotions)
    assert "Steering efficacy" not in text and "not measured yet" in page.note.text()
    saved = page.save_html(tmp_path / "report")
    assert saved.suffix == ".html" and "data:image/png;base64," in saved.read_text(encoding="utf-8")
    page.close()


def test_sessions_tab_lists_and_opens_sessions_read_only(idle, qtbot):
    window = idle
    send(window, qtbot, "Name a fruit.")  # a session to list, whichever tests ran before
    qtbot.waitUntil(lambda: not window.chat.generating, timeout=60_000)
    window.tabs.setCurrentWidget(window.sessions)
    table = window.sessions.table
    assert table.rowCount() == len(window.recorder.store.list_sessions()) > 0
    table.selectRow(0)
    assert window.sessions.record is not None
    assert window.sessions.transcript.toPlainText().strip()


def test_presentation_mode_and_screenshots(idle, qtbot):
    window = idle
    SCREENSHOTS.mkdir(exist_ok=True)
    window.tint.setCurrentText("happy")
    window.emotions.rows["happy"].spin.setValue(0.04)
    window.sampling.max_tokens.setValue(24)
    send(window, qtbot, STORY)
    qtbot.waitUntil(lambda: not window.chat.generating, timeout=60_000)
    qtbot.wait(300)
    window.grab().save(str(SCREENSHOTS / "main.png"))
    window.tabs.setCurrentWidget(window.compare)
    window.compare.prompt.setPlainText("Describe your morning.")
    window.compare.run()
    qtbot.waitUntil(lambda: not window.compare.generating, timeout=60_000)
    qtbot.wait(300)
    window.grab().save(str(SCREENSHOTS / "compare.png"))
    window.tabs.setCurrentWidget(window.editor)
    window.editor.name.setText("nostalgic")
    window.editor.description.setText("Longing for the past")
    window.editor.examples.setPlainText("The old photo album smelled of my grandmother's attic.\n"
                                        "We used to ride our bikes down this street every summer.")
    qtbot.wait(300)
    window.grab().save(str(SCREENSHOTS / "editor.png"))
    window.tabs.setCurrentWidget(window.map)
    qtbot.wait(300)
    window.grab().save(str(SCREENSHOTS / "map.png"))
    window.tabs.setCurrentWidget(window.sessions)
    window.sessions.table.selectRow(0)
    qtbot.wait(300)
    window.grab().save(str(SCREENSHOTS / "sessions.png"))
    window.tabs.setCurrentWidget(window.chat)
    normal = QFontInfo(window.chat.transcript.font()).pixelSize()
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.theme.presentation and window.chat.plot.presentation
    assert QFontInfo(window.chat.transcript.font()).pixelSize() > normal
    qtbot.wait(300)
    window.grab().save(str(SCREENSHOTS / "presentation.png"))
    window.set_presentation(False)
    assert not window.theme.presentation and QFontInfo(window.chat.transcript.font()).pixelSize() == normal
    for name in ("main", "compare", "editor", "map", "sessions", "presentation"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000


def test_settings_are_remembered(idle):
    window = idle
    window.sampling.top_p.setValue(0.8)
    window.chat.system.setText("You are a kind teacher.")
    window.save_settings()
    from ui.widgets.sampling import SamplingPanel

    restored = SamplingPanel()
    restored.restore(window.settings)
    assert restored.top_p.value() == pytest.approx(0.8)
    assert window.settings.value("system_prompt") == "You are a kind teacher."
    window.chat.system.clear()


def test_closing_mid_generation_stops_cleanly(window, qtbot, tmp_path):
    from ui.shell.main_window import MainWindow

    second = MainWindow("embedded", settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                        db_path=tmp_path / "lab.db")
    second.show()
    second.models.use_engine(window.state.engine)
    second.sampling.max_tokens.setValue(300)
    second.chat.prompt.setPlainText(STORY)
    second.send()
    qtbot.waitUntil(lambda: len(generated(second.chat.last_events)) >= 2, timeout=60_000)
    second.close()
    assert second.runner._thread.isFinished()
    from lab.store.lab_file import open_store

    with open_store(tmp_path / "lab.db", read_only=True) as store:
        [summary] = store.list_sessions()
        assert summary.status == "interrupted" and summary.tokens > 0  # cut off by closing: never "complete"
        assert store.load_session(summary.id).turns[-1].stopped


def test_editor_adds_an_emotion_and_rebuilds_the_sliders(qapp, qtbot, tmp_path, monkeypatch, tiny_model_dir, tiny_lm,
                                                        tiny_emotions, tiny_directions):
    """The add-emotion path end to end on the shared tiny model and its three emotions: store the new
    emotion, re-extract in the worker, new sliders; then delete it."""
    import yaml

    import lab.emotions.definitions
    from lab.runtime.engine import Engine
    from ui.shell.main_window import MainWindow

    monkeypatch.setenv("EMOTION_LAB_HOME", str(tmp_path / "home"))  # the new emotion stays out of the other tests
    builtin = tmp_path / "emotions"  # the tiny emotion set stands in for the built-in one
    builtin.mkdir()
    emotions, neutral = tiny_emotions
    for emotion in emotions:
        (builtin / f"{emotion.name}.yaml").write_text(yaml.safe_dump(
            {"name": emotion.name, "description": emotion.description, "examples": list(emotion.examples)}))
    (builtin / lab.emotions.definitions.NEUTRAL_FILE).write_text(yaml.safe_dump({"texts": list(neutral)}))
    monkeypatch.setattr(lab.emotions.definitions, "builtin_dir", lambda: builtin)
    window = MainWindow(str(tiny_model_dir), settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                        db_path=tmp_path / "lab.db")
    window.show()
    window.models.use_engine(Engine(tiny_lm, tiny_directions))
    editor = window.editor
    window.tabs.setCurrentWidget(editor)
    editor.name.setText("nostalgic")
    editor.description.setText("Longing for the past")
    editor.examples.setPlainText("\n".join(f"I remember the summer of {1980 + i}, when we were young." for i in range(10)))
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "nostalgic" in window.emotions.rows or bool(window.errors.messages), timeout=120_000)
    assert window.errors.messages == [] and list(window.emotions.rows) == ["fear", "joy", "rage", "nostalgic"]
    assert window.state.engine.lm is tiny_lm and "nostalgic" in window.state.engine.directions.emotions
    assert editor.chart.highlight == "nostalgic" and editor.user_list.item(0).text() == "nostalgic"
    editor.user_list.setCurrentRow(0)
    qtbot.mouseClick(editor.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "nostalgic" not in window.emotions.rows and not window.runner.busy, timeout=120_000)
    assert editor.user_list.count() == 0 and "nostalgic" not in window.state.engine.directions.emotions
    window.close()


def test_bench_prints_one_json_object(lab_home):
    result = subprocess.run(
        [sys.executable, "-m", "ui", "--bench", "--json", "--tokens", "8"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    [line] = result.stdout.strip().splitlines()
    report = json.loads(line)
    assert 0 < report["tokens"] <= 8 and report["tokens_per_s"] > 0 and "errors" not in report, result.stderr
    assert report["ui_stall_ms"] >= 0 and report["load_stall_ms"] >= 0  # a benchmark: it reports, the test does not time
    assert result.returncode == (0 if report["ui_stall_met"] else 1), result.stderr


def test_the_bench_heartbeat_measures_a_blocked_event_loop(qtbot):
    """What `--bench` reports as a stall: the event loop blocked for 200 ms is a stall of at least
    195 ms (200 less one 5 ms heartbeat)."""
    import time

    from PySide6.QtCore import QTimer

    from ui.shell.bench import Heartbeat

    heartbeat = Heartbeat()
    qtbot.wait(30)
    heartbeat.reset()
    QTimer.singleShot(20, lambda: time.sleep(0.2))
    qtbot.wait(300)
    assert heartbeat.stall_ms >= 195


def test_model_picker_reports_bad_models_and_keeps_the_current_one(idle, qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    from ui.shell.model_menu import MAX_RECENT, recent_models, remember_model

    window = idle
    shown: list[str] = []
    monkeypatch.setattr(window.errors, "_show", lambda message, details: shown.append(message))
    engine, spec = window.state.engine, window.models.spec
    picker = window.model_picker
    menu_titles = [a.text() for a in window.menuBar().actions()]
    assert "&Model" in menu_titles
    texts = [a.text() for a in picker.menu.actions()]
    assert {"&Embedded model (default)", "Open &folder…", "Open .&gguf file…", "&Hub id…"} <= set(texts)

    attempts = [
        (picker.folder_action, QFileDialog, "getExistingDirectory", str(tmp_path / "no-such-model"), "no-such-model"),
        (picker.gguf_action, QFileDialog, "getOpenFileName", (str(tmp_path / "missing.gguf"), ""), "missing.gguf"),
        (picker.hub_action, QInputDialog, "getText", ("not a hub id", True), "not a hub id"),
    ]
    for action, dialog, name, answer, expected in attempts:
        monkeypatch.setattr(dialog, name, staticmethod(lambda *args, _a=answer, **kwargs: _a))
        shown.clear()
        action.trigger()
        qtbot.waitUntil(lambda: bool(shown) and not window.runner.busy, timeout=30_000)
        assert expected in shown[-1] and "Traceback" not in shown[-1]
        assert window.state.engine is engine and window.models.spec == spec  # the previous model stays
        assert window.chat.send_button.isEnabled() and not window.progress.isVisible()
    assert not any("no-such" in s or "missing" in s for s in recent_models(window.settings))

    # recent models: newest first, no duplicates, at most MAX_RECENT, offered in the menu
    for i in range(MAX_RECENT + 2):
        remember_model(window.settings, f"org/model-{i}")
    remember_model(window.settings, "org/model-3")
    recent = recent_models(window.settings)
    assert recent[0] == "org/model-3" and len(recent) == MAX_RECENT and len(set(recent)) == MAX_RECENT
    picker.menu.aboutToShow.emit()
    assert [a.data() for a in picker.recent_actions()] == recent
    window.settings.remove("models/recent")

    picker.embedded_action.trigger()  # a model that loads replaces the current one and is remembered
    qtbot.waitUntil(lambda: window.state.engine is not engine and not window.runner.busy, timeout=LOAD_TIMEOUT_MS)
    assert window.models.spec == "embedded" and recent_models(window.settings) == ["embedded"]
    assert "Embedded" in picker.button.text() and window.status_label.text().startswith("Ready")
    window.settings.remove("models/recent")


def test_clicking_the_plot_selects_the_token_and_shows_its_readings(idle, qtbot):
    window = idle
    send(window, qtbot, "Name three animals.")
    qtbot.waitUntil(lambda: not window.chat.generating, timeout=60_000)
    plot, view = window.chat.plot, window.chat.transcript
    qtbot.wait(250)  # a redraw tick: the lines hold the new points
    spans = view.spans
    target = spans[len(spans) // 2]
    x = plot._x[0][plot._events[0].index(target.event)]
    emotion = plot.shown[0]
    y = target.event.readings[emotion]
    plot.ax.set_xlim(-0.5, len(plot._x[0]) - 0.5)  # zoomed to the answer, so a pixel cannot fall between tokens
    plot.canvas.draw()  # the layout (legend outside the axes) settles at draw time
    low, high = plot.ax.get_ylim()  # a reading off the robust scale is drawn clipped at its edge
    px, py = plot.ax.transData.transform((x, min(max(y, low * 0.95), high * 0.95)))
    ratio = plot.canvas.device_pixel_ratio
    point = QPoint(round(px / ratio), round(plot.canvas.height() - py / ratio))
    qtbot.mouseClick(plot.canvas, Qt.MouseButton.LeftButton, pos=point)
    cursor = view.textCursor()
    assert (cursor.selectionStart(), cursor.selectionEnd()) == (target.start, target.end)
    status = window.status_label.text()
    assert target.number == x and status.startswith(f"Generated token {x} ") and f"{emotion} {y:+.2f}" in status
    assert all(name in status for name in window.state.emotions)
    assert plot.event_near(-5.0) is plot._events[0][0]  # clicks beyond the ends pick the nearest token


def test_edit_last_takes_back_the_exchange_and_send_asks_again(idle, qtbot):
    window = idle
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    send(window, qtbot, "Name a fruit.")
    qtbot.waitUntil(lambda: not window.chat.generating, timeout=60_000)
    first = (list(window.chat.messages), window.chat.transcript.toPlainText(), len(window.chat.transcript.spans),
             window.chat.plot.point_count())
    send(window, qtbot, "Name a vegetable.")
    qtbot.waitUntil(lambda: not window.chat.generating, timeout=60_000)
    assert len(window.chat.messages) == 4
    assert window.chat.edit_button.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert window.chat.prompt.toPlainText() == "Name a vegetable."
    assert (window.chat.messages, window.chat.transcript.toPlainText(), len(window.chat.transcript.spans),
            window.chat.plot.point_count()) == first
    window.chat.prompt.setPlainText("Name a flower.")
    qtbot.mouseClick(window.chat.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.chat.generating, timeout=60_000)
    assert [m["content"] for m in window.chat.messages if m["role"] == "user"] == ["Name a fruit.", "Name a flower."]
    assert "Name a vegetable." not in window.chat.transcript.toPlainText()
    assert "Name a flower." in window.chat.transcript.toPlainText()
    assert window.chat.plot.point_count() == first[3] + len(generated(window.chat.last_events))
    qtbot.mouseClick(window.chat.edit_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.chat.edit_button, Qt.MouseButton.LeftButton)  # and the one before
    assert window.chat.messages == [] and window.chat.transcript.spans == [] and window.chat.plot.point_count() == 0
    assert window.chat.prompt.toPlainText() == "Name a fruit." and not window.chat.edit_button.isEnabled()
    window.chat.prompt.clear()


def _select_sessions(window, ids):
    from PySide6.QtCore import QItemSelectionModel

    table = window.sessions.table
    table.clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for row in range(table.rowCount()):
        if int(table.item(row, 0).data(Qt.ItemDataRole.UserRole)) in ids:
            table.selectionModel().select(table.model().index(row, 0), flags)
    assert sorted(window.sessions.selected_ids()) == sorted(ids)


def test_sessions_continue_rerun_compare_delete_and_export(idle, qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    window = idle
    store = window.recorder.store
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    window.chat.system.setText("You are a cheerful pirate.")
    window.sampling.temperature.setValue(0.9)
    send(window, qtbot, "Tell me about the sea.")
    qtbot.waitUntil(lambda: not window.chat.generating, timeout=60_000)
    send(window, qtbot, "And the wind?")
    qtbot.waitUntil(lambda: not window.chat.generating, timeout=60_000)
    conversation = list(window.chat.messages)
    original_id = window.recorder.chat_session_id()
    window.chat.system.clear()
    window.sampling.temperature.setValue(0.0)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    original = store.load_session(original_id)

    # Continue: the conversation, its system prompt and readings come back into the chat
    window.tabs.setCurrentWidget(window.sessions)
    _select_sessions(window, [original_id])
    assert window.sessions.record.id == original_id and window.sessions.continue_button.isEnabled()
    qtbot.mouseClick(window.sessions.continue_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.chat
    assert window.chat.messages == conversation
    assert window.chat.system.text() == "You are a cheerful pirate."
    assert window.chat.plot.point_count() == sum(1 for t in original.tokens if not t.event.is_prompt)
    send(window, qtbot, "Thank you!")
    qtbot.waitUntil(lambda: not window.chat.generating, timeout=60_000)
    assert len(window.chat.messages) == len(conversation) + 2
    continued = window.recorder.chat_session_id()
    assert continued not in (None, original_id)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)

    # Re-run: same first message, system prompt, seed and sampling -> a new session with the same answer
    window.tabs.setCurrentWidget(window.sessions)
    _select_sessions(window, [original_id])
    qtbot.mouseClick(window.sessions.rerun_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.chat
    qtbot.waitUntil(lambda: not window.chat.generating, timeout=60_000)
    rerun_id = window.recorder.chat_session_id()
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    rerun = store.load_session(rerun_id)
    assert rerun_id not in (original_id, continued) and rerun.sampling == original.sampling
    assert [t.text for t in rerun.turns[:2]] == [t.text for t in original.turns[:2]]  # same seed: same answer

    # Compare two: paired tokens with the chosen emotion's readings
    window.tabs.setCurrentWidget(window.sessions)
    _select_sessions(window, [original_id, rerun_id])
    assert window.sessions.compare_button.isEnabled() and not window.sessions.continue_button.isEnabled()
    qtbot.mouseClick(window.sessions.compare_button, Qt.MouseButton.LeftButton)
    dialog = window.sessions.compare_dialog
    assert dialog.isVisible() and dialog.table.rowCount() == len(dialog.pairs) > 0
    pair = next(p for p in dialog.pairs if p.a is not None and p.b is not None)
    assert pair.difference(dialog.emotion.currentText()) == pytest.approx(0.0, abs=1e-4)  # same tokens, same readings
    dialog.emotion.setCurrentIndex(1)
    assert dialog.emotion.currentText() in dialog.summary.text()
    SCREENSHOTS.mkdir(exist_ok=True)
    dialog.grab().save(str(SCREENSHOTS / "sessions-compare.png"))
    dialog.close()

    # Export: every format
    _select_sessions(window, [original_id])
    for suffix in (".html", ".json", ".csv", ".md"):
        target = tmp_path / f"export{suffix}"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, _t=target, **k: (str(_t), "")))
        window.errors.messages.clear()
        qtbot.mouseClick(window.sessions.export_button, Qt.MouseButton.LeftButton)
        assert not window.errors.messages and target.stat().st_size > 100
    assert json.loads((tmp_path / "export.json").read_text())["title"] == original.title
    assert "Tell me about the sea." in (tmp_path / "export.md").read_text()
    assert (tmp_path / "export.csv").read_text().splitlines()[0].count(",") >= len(window.state.emotions)
    assert "<html" in (tmp_path / "export.html").read_text().lower()

    # Delete: asks first; Cancel keeps the sessions, Yes deletes them
    _select_sessions(window, [continued, rerun_id])
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes]
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: answers.pop(0)))
    before = len(store.list_sessions())
    qtbot.mouseClick(window.sessions.delete_button, Qt.MouseButton.LeftButton)
    assert len(store.list_sessions()) == before and answers
    qtbot.mouseClick(window.sessions.delete_button, Qt.MouseButton.LeftButton)
    assert not answers and len(store.list_sessions()) == before - 2
    assert window.sessions.table.rowCount() == before - 2
    assert {continued, rerun_id}.isdisjoint(s.id for s in store.list_sessions())


def test_rerunning_a_compare_session_runs_it_again_in_the_compare_tab(idle, qtbot):
    window = idle
    store = window.recorder.store
    window.tabs.setCurrentWidget(window.compare)
    window.sampling.temperature.setValue(0.9)
    window.compare.prompt.setPlainText("Describe a storm.")
    window.compare.run()
    qtbot.waitUntil(lambda: not window.compare.generating, timeout=60_000)
    original = store.load_session(store.list_sessions()[0].id)
    assert original.scenario["kind"] == "compare"
    window.sampling.temperature.setValue(0.0)
    window.compare.prompt.clear()
    window.tabs.setCurrentWidget(window.sessions)
    _select_sessions(window, [original.id])
    qtbot.mouseClick(window.sessions.rerun_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.compare
    qtbot.waitUntil(lambda: not window.compare.generating, timeout=60_000)
    rerun = store.load_session(store.list_sessions()[0].id)
    assert rerun.id != original.id and rerun.sampling == original.sampling
    unsteered = [[t.event.text for t in r.tokens if t.event.row == 0 and not t.event.is_prompt] for r in (original, rerun)]
    assert unsteered[0] == unsteered[1] and unsteered[0]  # same seed and sampling: the same unsteered answer


def test_one_steering_model_and_one_system_prompt_serve_every_view(idle):
    window = idle
    steering, rows = window.state.steering, window.emotions.rows
    steering.set("happy", 0.04)
    assert rows["happy"].spin.value() == pytest.approx(0.04) and rows["happy"].slider.value() == 8
    rows["sad"].spin.setValue(-0.02)
    assert window.state.strengths == {"happy": 0.04, "sad": -0.02}
    assert steering.set_all({"calm": 0.01, "nosuch": 0.5}) == ["nosuch"]
    assert slider_values(window) == window.state.strengths == {"calm": 0.01}
    window.emotions.reset_all_button.click()
    assert slider_values(window) == window.state.strengths == {}
    window.state.set_system_prompt("You are a pirate.")
    assert window.chat.system.text() == "You are a pirate."
    window.chat.system.setText("  You are a teacher. ")
    assert window.state.system_prompt == "You are a teacher."
    window.chat.system.clear()
    assert window.state.system_prompt == ""
