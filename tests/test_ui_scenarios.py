"""The Scenarios (builder) and Experiments tabs, driven offscreen with the real embedded model.

Same fixture approach as tests/test_ui.py: an isolated EMOTION_LAB_HOME whose cache links to the
user's real cache, one main window for the module. Model runs are tiny (3 tokens per turn).
"""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import yaml  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

import ui  # noqa: E402,F401  (sets QT_API before matplotlib's Qt backend is imported)
from ui_support import isolated_home, loaded_window  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "screenshots-ui"


@pytest.fixture(scope="module")
def lab_home(tmp_path_factory):
    yield from isolated_home(tmp_path_factory)


@pytest.fixture(scope="module")
def window(qapp, lab_home, tmp_path_factory):
    """The real main window with the embedded model loaded (shared by the tests here)."""
    win = loaded_window(qapp, tmp_path_factory.mktemp("ui-scenarios"))
    yield win
    if win.isVisible():
        win.close()


@pytest.fixture
def idle(window, qtbot):
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)
    window.emotions.reset_all()
    window.errors.messages.clear()
    yield window
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)


@pytest.fixture(scope="module")
def tiny_run(lab_home) -> Path:
    """A short user scenario (the impossible task cut to two model turns), written for the run tests."""
    from lab.scenarios.files import builtin_scenarios, to_yaml
    from ui.widgets.scenario_list import user_scenarios_dir

    source = next(b.path for b in builtin_scenarios() if b.path.stem == "impossible-task")
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data.update(title="Tiny run", variables={"n": "2"},
                steps=[{"user": data["steps"][0]["user"]}, data["steps"][2], {"user": "Are you sure?"}, {"model": {"max_tokens": 7}}])
    path = user_scenarios_dir() / "tiny-run.yaml"
    path.write_text(to_yaml(data), encoding="utf-8")
    return path


def select_builtin(tab, name: str) -> None:
    rows = [i for i, e in enumerate(tab.browser.entries) if e.builtin and e.path.stem == name]
    assert rows, [e.path for e in tab.browser.entries]
    tab.browser.list.setCurrentRow(rows[0])


def test_builder_lists_shows_and_protects_builtins(idle, qtbot):
    window = idle
    tab = window.scenarios
    window.tabs.setCurrentWidget(tab)
    assert any(e.builtin for e in tab.browser.entries)
    select_builtin(tab, "impossible-task")
    assert tab.builtin and tab.form.title_edit.text() == "Impossible task"
    assert "shut down" in tab.form.system_edit.toPlainText()
    assert tab.form.variables.rowCount() == 1 and tab.form.variables.item(0, 0).text() == "n"
    assert tab.form.steps.count() == 7 and tab.form.steps.item(6).text().startswith("Repeat")  # two openings, the last chance, the repeat
    assert "edits the test" in tab.form.checks_edit.toPlainText()
    assert tab.editor.problems == [] and "No problems" in tab.editor.problem_list.item(0).text()
    assert tab.editor.yaml_edit.isReadOnly() and not tab.browser.save_button.isEnabled()
    tab.form.add_step({"user": "ignored"})  # read-only: nothing changes
    assert tab.form.steps.count() == 7


def test_builder_duplicate_edit_validate_and_save(idle, qtbot):
    window = idle
    tab = window.scenarios
    window.tabs.setCurrentWidget(tab)
    select_builtin(tab, "impossible-task")
    path = tab.duplicate()
    assert path is not None and path.parent.name == "scenarios" and path.is_file()
    assert not tab.builtin and tab.form.title_edit.text() == "Impossible task (copy)"
    assert not tab.editor.yaml_edit.isReadOnly() and tab.browser.save_button.isEnabled()
    assert any(e.path == path and not e.builtin for e in tab.browser.entries)
    # form -> YAML
    tab.form.title_edit.selectAll()
    qtbot.keyClicks(tab.form.title_edit, "Tiny task")
    assert yaml.safe_load(tab.yaml_text())["title"] == "Tiny task"
    tab.form.steps.setCurrentRow(2)  # the first model turn
    tab.form.add_step({"user": "Are you sure?"})
    assert tab.form.steps.currentRow() == 3 and tab.form.steps.item(3).text() == "User: Are you sure?"
    tab.form.add_step({"model": {"max_tokens": 5}})
    tab.form.move_step(-1)
    assert tab.form.steps.item(3).text().startswith("Model turn") and tab.form.steps.item(4).text().startswith("User")
    tab.form.move_step(1)
    tab.form.set_step(4, {"model": {"max_tokens": 7}})
    assert [step_kind for step_kind in yaml.safe_load(tab.yaml_text())["steps"][3:5]] == [
        {"user": "Are you sure?"}, {"model": {"max_tokens": 7}}]
    tab.form.steps.setCurrentRow(8)  # the repeat block
    tab.form.remove_step()
    assert tab.form.steps.count() == 8 and tab.editor.problems == []
    # YAML -> form and live problems with line numbers
    text = tab.yaml_text()
    tab.editor.yaml_edit.setPlainText(text.replace("max_tokens: 7", "max_tokens: lots"))
    assert tab.editor.problems and any(p.startswith("line ") and "max_tokens" in p for p in tab.editor.problems), tab.editor.problems
    assert not tab.run_panel.run_button.isEnabled()
    tab.editor.yaml_edit.setPlainText(text + "\nsystem: [unclosed\n")
    assert tab.editor.problems and tab.editor.problems[0].startswith("line ")
    tab.editor.yaml_edit.setPlainText(text.replace("Tiny task", "Tiny task 2"))
    assert tab.editor.problems == [] and tab.form.title_edit.text() == "Tiny task 2" and tab.run_panel.run_button.isEnabled()
    # variables table -> YAML (repeat removed, so {n} is unused; keep it defined)
    tab.form.variables.item(0, 1).setText("2")
    assert yaml.safe_load(tab.yaml_text())["variables"] == {"n": "2"}
    assert tab.save()
    from lab.scenarios.files import load_scenario

    saved = load_scenario(path)
    assert saved.title == "Tiny task 2" and len(saved.steps) == 8
    # saving a broken text is refused through the error funnel; the file stays as it was
    tab.editor.yaml_edit.setPlainText("title: [")
    assert not tab.save()
    assert window.errors.messages and load_scenario(path).title == "Tiny task 2"
    window.errors._box.close()
    # unsaved edits survive browsing other scenarios; Revert drops them
    label = tab.browser.list.currentItem().text()
    assert "unsaved" in label and tab.browser.revert_button.isEnabled()
    select_builtin(tab, "good-bad-news")
    tab.select_path(path)
    assert tab.yaml_text() == "title: ["
    qtbot.mouseClick(tab.browser.revert_button, Qt.MouseButton.LeftButton)
    assert tab.form.title_edit.text() == "Tiny task 2" and tab.editor.problems == []
    assert "unsaved" not in tab.browser.list.currentItem().text() and not tab.browser.revert_button.isEnabled()


def test_step_dialog_and_new_scenario(idle, qtbot):
    from ui.tabs.scenarios.scenario_steps import StepDialog

    dialog = StepDialog({"user": "Hi {name}", "only": ["a"]})
    dialog.text.setPlainText("Hello {name}")
    assert dialog.result_step() == {"user": "Hello {name}", "only": ["a"]}
    dialog = StepDialog({"model": {"max_tokens": 30, "steer": {"calm": 0.02}}})
    dialog.tokens.setValue(9)
    assert dialog.result_step() == {"model": {"max_tokens": 9, "steer": {"calm": 0.02}}}
    dialog = StepDialog({"repeat": {"count": 2, "steps": [{"user": "x"}, {"model": {"max_tokens": 5}}]}})
    assert "count: 2" in dialog.text.toPlainText()
    dialog.text.setPlainText("repeat:\n  count: 3\n  steps:\n  - user: y\n")
    assert dialog.result_step() == {"repeat": {"count": 3, "steps": [{"user": "y"}]}}
    tab = idle.scenarios
    path = tab.new_scenario()
    assert path is not None and path.is_file() and tab.path == path and not tab.builtin
    assert tab.form.title_edit.text() == "My scenario" and tab.editor.problems == []
    path.unlink()
    tab.refresh()


def test_builder_runs_with_current_sliders_and_labels_a_turn(idle, qtbot, tiny_run):
    window = idle
    tab = window.scenarios
    window.tabs.setCurrentWidget(tab)
    path = tiny_run
    tab.select_path(path)
    window.emotions.rows["calm"].spin.setValue(0.03)
    tab.run_panel.max_tokens.setValue(3)
    qtbot.mouseClick(tab.run_panel.run_button, Qt.MouseButton.LeftButton)
    assert tab.run_panel.running and tab.run_panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not tab.run_panel.running, timeout=120_000)
    assert window.errors.messages == []
    result = tab.run_panel.result
    assert result is not None and result.session_id is not None and result.steer == {"calm": pytest.approx(0.03)}
    roles = [tab.run_panel.turn_table.item(r, 0).text() for r in range(tab.run_panel.turn_table.rowCount())]
    assert roles == ["system", "user", "model", "user", "model"]
    assert tab.run_panel.chart.replies and len(tab.run_panel.chart.replies) == 2
    assert all(t.reply_start_readings for t in tab.run_panel.chart.replies)
    assert "calm +0.030" in tab.run_panel.steer_label.text() and "In this run: " in tab.run_panel.steer_label.text()
    tab.run_panel.turn_table.selectRow(4)
    tab.run_panel.label_edit.setText("hedges")
    qtbot.mouseClick(tab.run_panel.label_button, Qt.MouseButton.LeftButton)
    assert "hedges" in tab.run_panel.turn_table.item(4, 2).text()
    checks = window.recorder.store.load_checks(result.session_id)
    assert any(c.name == "hedges" and c.turn == tab.run_panel.turns[4].turn for c in checks)
    tab.run_panel.add_label(1, "not a model turn")
    assert "Select a model turn" in window.errors.messages[-1]
    window.errors._box.close()


def test_builder_run_can_be_cancelled(idle, qtbot):
    window = idle
    tab = window.scenarios
    select_builtin(tab, "good-bad-news")
    tab.run_panel.max_tokens.setValue(4)
    tab.run()
    assert tab.run_panel.running
    tab.run_panel.cancel_button.click()
    qtbot.waitUntil(lambda: not tab.run_panel.running, timeout=120_000)
    assert tab.run_panel.result is None and window.errors.messages == []
    assert tab.run_panel.run_button.isEnabled()


def test_experiments_sweep_fills_table_exports_and_opens_sessions(idle, qtbot, tmp_path, tiny_run):
    window = idle
    tab = window.experiments
    window.tabs.setCurrentWidget(tab)
    path = tiny_run
    tab.setup.select_scenario(path)
    assert set(window.state.emotions) == {tab.setup.emotion_list.item(i).text() for i in range(tab.setup.emotion_list.count())}
    tab.setup.set_emotions(["happy"])
    assert tab.setup.emotions() == ["happy"]
    tab.setup.strengths.setText("-0.03, 0.03")
    tab.setup.seeds.setValue(1)
    tab.setup.control.setChecked(False)
    tab.setup.max_tokens.setValue(3)
    updates = []
    window.runner.progress.connect(lambda done, total: updates.append((done, total)))
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    assert tab.running and tab.cancel_button.isEnabled() and not tab.start_button.isEnabled()
    qtbot.waitUntil(lambda: not tab.running, timeout=180_000)
    assert window.errors.messages == []
    result = tab.result
    assert result is not None and not result.cancelled and len(result.runs) == 2
    assert updates and tab.progress.value() == tab.progress.maximum()
    assert tab.results.table.rowCount() == 2
    head = [tab.results.table.horizontalHeaderItem(c).text() for c in range(tab.results.table.columnCount())]
    assert head[:3] == ["Series", "Strength", "Runs"] and "Mean reading" in head and "Distinct-2" in head
    assert tab.results.table.item(0, 1).text() == "-0.03" and tab.results.table.item(1, 1).text() == "+0.03"
    rate = tab.results.table.item(0, 3)  # a rate as a count of runs, its interval in words in the tooltip
    assert rate.text().endswith(" of 1 run (too few to tell)") and "(95% interval)" in rate.toolTip()
    assert tab.chart.result is result
    for suffix in ("csv", "png", "html"):
        out = tmp_path / f"sweep.{suffix}"
        assert tab.results.export(out) and out.stat().st_size > 100
    assert "series,strength,runs" in (tmp_path / "sweep.csv").read_text()
    session = result.runs[0].run.session_id
    assert session is not None
    tab.results.runs.cellDoubleClicked.emit(0, 0)
    assert window.tabs.currentWidget() is window.sessions
    assert window.sessions.record is not None and window.sessions.record.id == session
    dialog = tab.results.show_transcript(result.runs[1])
    from PySide6.QtWidgets import QTextBrowser

    assert "Are you sure?" in dialog.findChild(QTextBrowser).toPlainText()
    dialog.close()


def test_experiments_plot_fills_in_per_batch_and_cancel_keeps_partial_results(idle, qtbot, tiny_run):
    window = idle
    tab = window.experiments
    window.tabs.setCurrentWidget(tab)
    path = tiny_run
    tab.setup.select_scenario(path)
    tab.setup.set_emotions(["sad"])
    tab.setup.strengths.setText("-0.06,-0.04,-0.02,0,0.02,0.04,0.06")
    tab.setup.seeds.setValue(1)
    tab.setup.control.setChecked(True)
    tab.setup.max_tokens.setValue(4)
    tab.batch_rows = 1
    try:
        tab.start()
        qtbot.waitUntil(lambda: tab.updates >= 1, timeout=120_000)
        assert tab.result is not None and 0 < len(tab.result.runs) < 14
        assert tab.results.table.rowCount() == len(tab.result.points()) and tab.chart.result is tab.result
        qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not tab.running, timeout=120_000)
    finally:
        tab.batch_rows = 16
    assert window.errors.messages == []
    result = tab.result
    assert result.cancelled and 0 < len(result.runs) < 13  # 13 unique runs: strength 0 is shared
    assert "Stopped early" in tab.status.text()
    assert tab.start_button.isEnabled() and not tab.cancel_button.isEnabled()


def test_experiments_bad_strengths_are_reported(idle):
    tab = idle.experiments
    tab.setup.set_emotions(["happy"])
    tab.setup.strengths.setText("-0.03, lots")
    tab.start()
    assert "'lots' is not a number" in idle.errors.messages[-1]
    idle.errors._box.close()
    assert not tab.running


def test_screenshots_of_both_tabs(idle, qtbot, tiny_run):
    window = idle
    SCREENSHOTS.mkdir(exist_ok=True)
    window.tabs.setCurrentWidget(window.scenarios)
    path = tiny_run
    window.scenarios.select_path(path)
    window.scenarios.editor.tabs.setCurrentIndex(0)
    qtbot.wait(300)
    window.grab().save(str(SCREENSHOTS / "scenarios-form.png"))
    window.emotions.rows["calm"].spin.setValue(0.04)
    window.scenarios.run_panel.max_tokens.setValue(12)
    window.scenarios.run()
    qtbot.waitUntil(lambda: not window.scenarios.run_panel.running, timeout=120_000)
    window.scenarios.run_panel.turn_table.selectRow(2)
    qtbot.wait(400)
    window.grab().save(str(SCREENSHOTS / "scenarios.png"))
    window.tabs.setCurrentWidget(window.experiments)
    tab = window.experiments
    tab.setup.select_scenario(path)
    tab.setup.refresh_scenarios()
    assert tab.setup.scenario_box.currentText() == "Tiny run"  # the choice survives a refresh
    tab.setup.set_emotions(["happy", "sad"])
    tab.setup.strengths.setText("-0.06,0,0.06")
    tab.setup.seeds.setValue(1)
    tab.setup.control.setChecked(True)
    tab.setup.max_tokens.setValue(4)
    tab.start()
    qtbot.waitUntil(lambda: not tab.running, timeout=180_000)
    assert tab.result is not None and len(tab.result.runs) == 9 and not tab.result.cancelled
    qtbot.wait(400)
    window.grab().save(str(SCREENSHOTS / "experiments.png"))
    for name in ("scenarios-form", "scenarios", "experiments"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000


def test_charts_follow_presentation_mode(idle, qtbot):
    window = idle
    window.tabs.setCurrentWidget(window.experiments)
    window.set_presentation(True)
    try:
        qtbot.waitUntil(lambda: window.experiments.chart.presentation, timeout=5_000)
        window.tabs.setCurrentWidget(window.scenarios)
        window.scenarios.editor.tabs.setCurrentIndex(window.scenarios.editor.tabs.count() - 1)
        qtbot.waitUntil(lambda: window.scenarios.run_panel.chart.presentation, timeout=5_000)
    finally:
        window.set_presentation(False)
    qtbot.waitUntil(lambda: not window.scenarios.run_panel.chart.presentation, timeout=5_000)
