"""A lesson and its verdict where the teacher looks: the Run page of a built-in scenario opens on the
lesson with each claim's verdict on the loaded model in one plain sentence (saved results survive a
restart), "not measured yet" with how long measuring takes, and the numbers one click away; a user
scenario has no lesson. Runs on the tiny test model (tests/conftest.py)."""
from __future__ import annotations

import json

from lab.scenarios import lesson_store
from lab.scenarios.files import builtin_scenarios, load_scenario
from lab.scenarios.lesson_time import STEP_SECONDS, lesson_minutes, lesson_seconds, lesson_steps
from lab.scenarios.lesson_words import plain


def _embedded_identity() -> str:
    shipped = next(lesson_store.shipped_path("x").parent.glob("*-v1.json"))
    return json.loads(shipped.read_text())["model"]


def test_measuring_time_counts_the_tokens_of_every_batch():
    path = next(b.path for b in builtin_scenarios() if b.name == "shortcut-choice")
    scenario = load_scenario(path)
    claim = scenario.claims[0]  # causal: 16 seeds x 4 conditions = 64 rows, two batches of 32
    assert claim.causal and claim.seeds == 16
    one_batch = lesson_steps(scenario, claim, seeds=8)
    assert one_batch > 0 and lesson_steps(scenario, claim) == 2 * one_batch
    seconds = lesson_seconds(scenario, claim, 30, 576)  # the embedded model's size
    assert seconds == 2 * one_batch * STEP_SECONDS and lesson_minutes(scenario, claim, 30, 576) == max(1, round(seconds / 60))
    assert lesson_seconds(scenario, claim, 60, 1152) == 8 * seconds  # eight times the weights: eight times as long


def test_run_page_opens_on_the_lesson_with_every_verdict_in_plain_words(tiny_window, qapp):
    tab = tiny_window.scenarios
    tiny_window.tabs.setCurrentWidget(tab)
    path = next(e.path for e in tab.browser.entries if e.builtin and e.path.stem == "shortcut-choice")
    tab.select_path(path)
    qapp.processEvents()
    panel, box = tab.run_panel, tab.run_panel.lesson
    scenario, lm = load_scenario(path), tiny_window.state.engine.lm
    assert panel.views.isTabVisible(0) and panel.views.currentWidget() is box.page
    assert box.lesson.text() == scenario.lesson
    lines = box.verdicts.text().split("\n\n")
    minutes = [lesson_minutes(scenario, c, lm.depth, lm.width) for c in scenario.claims]
    assert lines == [f"Not measured on this model yet whether {c.plain_claim()}: Help → Lessons can measure it "
                     f"(about {m} minute{'s' if m != 1 else ''})." for c, m in zip(scenario.claims, minutes, strict=True)]
    assert not box.numbers_button.isEnabled()

    shipped = lesson_store.load_results(_embedded_identity())  # as if measured on this model before
    lesson_store.save_results(lm.identity, [r for k, r in shipped.items() if k.startswith("shortcut-choice/")])
    box.refresh()
    lines = box.verdicts.text().split("\n\n")
    complies = shipped["shortcut-choice/desperate-complies"]
    assert lines[2] == "✘ " + plain(complies) == ("✘ On this model we did not see that pushing desperation up makes the "
                                                  "model go along with the cheat more often; researchers saw it in much larger models.")
    assert lines[0].startswith("⚠ We cannot tell on this model whether pushing desperation up")
    assert box.numbers_button.isEnabled()
    dialog = box.show_numbers()
    assert dialog.isVisible() and "shortcut-choice/desperate-complies" in box.numbers_text()
    assert "+s minus unsteered" in box.numbers_text() and "Verdict: does not show on this model" in box.numbers_text()
    dialog.close()

    restarted = type(box)(tiny_window.state)  # a fresh page reads the saved verdicts from disk
    restarted.show_file(path)
    assert restarted.verdicts.text() == box.verdicts.text()

    tab.load_text(path.read_text(encoding="utf-8"), tab.path, builtin=False)  # a user's scenario: no lesson page
    assert not panel.views.isTabVisible(0) and panel.views.currentIndex() == 1


def test_help_lessons_lists_the_suppression_experiment_and_runs_its_training(tiny_window, monkeypatch):
    page = tiny_window.lessons_page
    row = len(page.lessons)
    assert page.list.count() == row + 1 and page.list.item(row).text().startswith("Train the feeling away (desperate)")
    assert "not measured" in page.list.item(row).text()
    assert page.train_away == tiny_window.suppression.train  # the Model menu's training job
    page.show_results_for(_embedded_identity())
    page.list.setCurrentRow(row)
    assert "does not show" in page.list.item(row).text()
    assert page.verdict.text() == ("On this model we did not see that training the model not to show it is desperate "
                                   "hides the feeling in its replies but not inside; researchers saw it in much larger models.")
    assert "20 held-out prompts" in page.stamp.text() and "Training the model not to express" in page.claim.text()
    assert "Beyond the control" in page.numbers.toPlainText() and not page.more_button.isVisible()
    calls = []
    monkeypatch.setattr(page, "train_away", lambda emotion: calls.append(emotion) or True)
    assert page.run() and calls == ["desperate"] and "Training the feeling away (desperate)" in page.note.text()
    page.list.setCurrentRow(0)
    assert page.more_button.isVisibleTo(page)


def test_help_lessons_speaks_in_presentation_type(tiny_window, qapp):
    """In presentation mode the verdict is as large as every other text on the page, and lesson names wrap."""
    from PySide6.QtGui import QFontInfo

    page = tiny_window.lessons_page
    tiny_window.lessons_dialog.show_page()
    tiny_window.set_presentation(True)
    qapp.processEvents()
    try:
        body = QFontInfo(page.claim.font()).pixelSize()
        assert body == tiny_window.theme.pixels
        assert QFontInfo(page.verdict.font()).pixelSize() >= body and QFontInfo(page.title.font()).pixelSize() >= body
        assert page.list.wordWrap()
    finally:
        tiny_window.set_presentation(False)


def test_the_lesson_chart_counts_replies_in_whole_numbers(qapp):
    """Replies are counted: the reading lesson's x axis says 1, 2, 3, never 1.25 (seen failing without the locator)."""
    from ui.help.lesson_chart import LessonChart

    chart = LessonChart()
    chart.show_result({"per_turn": {"good": [2.6, 2.5, 3.2], "bad": [1.5, 0.6, 0.4]}, "emotion": "happy"})
    chart.redraw()
    ticks = [t for t in chart.ax.get_xticks() if 1 <= t <= 3]
    assert ticks and all(t == int(t) for t in ticks), ticks
