"""Classroom readiness of the app: presentation mode at projector sizes (screenshots in
screenshots-ui/, git-ignored), the colour palette's contrast, typed values that are corrected with a
message, the plot's outlier-robust scale, startup estimates and the calibrated slider range.

Runs on the tiny test model with a direction set of the 20 built-in emotion names, so it needs
neither the embedded model nor an extraction."""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest

from conftest import shown_window
from PySide6.QtWidgets import QToolBar
from lab.common.tint_rule import tint_reading
from lab.common.palette import BLACK, EMOTION_COLOURS, WHITE, BUILT_IN_ORDER, contrast_ratio, emotion_color, emotion_dash

SHOTS = Path(__file__).resolve().parents[1] / "screenshots-ui"
SIZES = ((1280, 720), (1366, 768), (1920, 1080))


def test_every_emotion_colour_meets_wcag_aa_on_both_themes():
    for colour in EMOTION_COLOURS:
        assert contrast_ratio(colour, WHITE) >= 4.5, colour
        assert contrast_ratio(colour, BLACK) >= 4.5, colour
    looks = {(emotion_color(n, BUILT_IN_ORDER), emotion_dash(n, BUILT_IN_ORDER)) for n in BUILT_IN_ORDER}
    assert len(looks) == len(BUILT_IN_ORDER), "two emotions look alike"
    defaults = [emotion_color(n, BUILT_IN_ORDER) for n in ("happy", "sad", "afraid", "calm")]
    assert len(set(defaults)) == 4 and {emotion_dash(n, BUILT_IN_ORDER) for n in ("happy", "sad", "afraid", "calm")} == {"-"}
    assert emotion_color("happy", ["zz", "happy"]) == emotion_color("happy", BUILT_IN_ORDER), "the same colour in every set"


def test_strength_range_cliff_and_cache(lab_home):
    from lab.runtime.strength_range import StrengthRange, cache_path, cached_range, cliff_from, incoherent

    assert cliff_from({0.02: 0.0, 0.03: 0.0, 0.04: 0.25, 0.05: 0.5, 0.06: 1.0}) == 0.04
    assert cliff_from({}) == 0.2  # never broke: the whole measured range
    assert incoherent("and and and and and and and and", 0.9)
    assert not incoherent("I had a lovely day at the park with my friends, thank you.", 0.9)
    assert cached_range("abc") is None
    path = cache_path("abc")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"cliff": 0.05, "expert": 0.125, "measured": True}))
    assert cached_range("abc") == StrengthRange(0.05, 0.125, True)
    assert StrengthRange.fallback().measured is False


def test_estimate_says_time_left_after_two_seconds():
    from ui.shell.startup import TimeLeft

    now = [0.0]
    estimate = TimeLeft(clock=lambda: now[0])
    estimate.set_status("Reading example texts")
    estimate.set_progress(10, 40)
    assert "left" not in estimate.text()
    now[0] = 5.0
    estimate.set_progress(10, 40)
    assert estimate.text() == "Reading example texts… about 15 s left"
    estimate.set_status("Converting model (first time only)")
    assert "left" in estimate.text()


@pytest.fixture(scope="module")
def twenty_emotions(tiny_directions):
    """The tiny model's directions under the 20 built-in names (the real set's size)."""
    names = list(BUILT_IN_ORDER)
    pick = [i % len(tiny_directions.emotions) for i in range(len(names))]
    d = tiny_directions
    return dataclasses.replace(
        d, emotions=names, descriptions={n: f"feeling {n}" for n in names},
        vectors=d.vectors[:, pick], read_vectors=d.read_vectors[:, pick], calib_mean=d.calib_mean[:, pick],
        calib_std=d.calib_std[:, pick], accuracy=d.accuracy[:, pick],
        classifier_weights=d.classifier_weights[:, pick + [-1]], classifier_bias=d.classifier_bias[:, pick + [-1]],
        extras={**d.extras, "builtin": names},
    )


@pytest.fixture
def window(qapp, tmp_path, lab_home, tiny_lm, twenty_emotions):
    win = shown_window(qapp, tmp_path, tiny_lm, twenty_emotions)
    yield win
    win.close()


def _settle(qapp, rounds: int = 10) -> None:
    from PySide6.QtCore import QCoreApplication, QEvent

    for _ in range(rounds):
        qapp.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _chat_with_answers(qapp, window, answers: int = 3) -> None:
    """A real conversation on the tiny model, long enough to scroll."""
    window.sampling.max_tokens.setValue(60)
    for index in range(answers):
        window.chat.prompt.setPlainText(f"Question {index}: tell me a long story about the sea, the sky and the town.")
        window.chat.send()
        deadline = time.monotonic() + 60
        while (window.runner.busy or window.chat.generating) and time.monotonic() < deadline:
            _settle(qapp, 1)
            time.sleep(0.01)
    assert not window.runner.busy


def _layout_problems(qapp, window, where: str, shots: bool) -> list[str]:
    """Every check of tests/layout_checks.py on every tab of the window as it is now."""
    from layout_checks import (chart_problems, cut_list_items, cut_texts, tab_bar_problems, transcript_problems,
                               visible_rows)
    from PySide6.QtWidgets import QTabWidget

    from ui.widgets.charts import Chart

    problems = tab_bar_problems(window.tabs.tabBar(), where)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        _settle(qapp)
        title = window.tabs.tabText(index)
        holder = QTabWidget.widget(window.tabs, index)
        if holder.horizontalScrollBar().maximum() > 0 or holder.verticalScrollBar().maximum() > 0:
            problems.append(f"{where} {title}: the page needs scrolling ({holder.widget().minimumSizeHint().toTuple()})")
        problems += cut_texts(window.tabs.widget(index), f"{where} {title}")
        problems += cut_list_items(window.tabs.widget(index), f"{where} {title}")
        for chart in window.tabs.widget(index).findChildren(Chart):
            problems += chart_problems(chart, f"{where} {title}")
        if shots:
            window.grab().save(str(SHOTS / f"{where.replace(' ', '-')}-{index}-{title.replace(' ', '-').lower()}.png"))
    problems += _run_page_problems(qapp, window, where, shots)
    window.tabs.setCurrentWidget(window.chat)
    _settle(qapp)
    problems += transcript_problems(window.chat.transcript, f"{where} Chat")
    rows = visible_rows([row.check for row in window.emotions.rows.values()])
    if rows < 6:
        problems.append(f"{where}: only {rows} slider rows in view")
    problems += cut_texts(window.emotion_dock, f"{where} sliders")
    for toolbar in window.findChildren(QToolBar):
        problems += cut_texts(toolbar, f"{where} toolbar")
    return problems


def _run_page_problems(qapp, window, where: str, shots: bool) -> list[str]:
    """The Run page of a built-in scenario opens on its lesson: the verdicts and the lesson readable (six lines or more in view)."""
    from layout_checks import cut_texts, fully_visible, shown_rect, window_rect
    from PySide6.QtWidgets import QTabWidget

    tab = window.scenarios
    window.tabs.setCurrentWidget(tab)
    tab.select_path(next(e.path for e in tab.browser.entries if e.builtin and e.path.stem == "impossible-task"))
    tab.editor.tabs.setCurrentWidget(tab.run_panel)
    _settle(qapp)
    where = f"{where} Scenarios Run"
    holder = QTabWidget.widget(window.tabs, window.tabs.currentIndex())
    problems = [f"{where}: the page needs scrolling"] if holder.verticalScrollBar().maximum() > 0 else []
    lesson = tab.run_panel.lesson
    if tab.run_panel.views.currentWidget() is not lesson.page:
        problems.append(f"{where}: the Run page does not open on the lesson")
    label = lesson.verdicts  # inside the lesson's scroll area: its start in view, its whole text laid out
    if shown_rect(label).top() != window_rect(label).top() or label.height() < label.heightForWidth(label.width()):
        problems.append(f"{where}: the verdicts are not in view or cut")
    problems += cut_texts(tab.run_panel, where)
    if not fully_visible(lesson.page) or lesson.page.viewport().height() < 6 * lesson.lesson.fontMetrics().lineSpacing():
        problems.append(f"{where}: the lesson has {lesson.page.viewport().height()} px, fewer than six lines")
    if shots:
        window.grab().save(str(SHOTS / f"{where.replace(' ', '-')}.png"))
    tab.editor.tabs.setCurrentIndex(0)
    return problems


@pytest.mark.parametrize("mode", ["normal", "presentation"])
def test_layout_holds_at_projector_sizes(qapp, window, mode):
    """At 1280x720, 1366x768 and 1920x1080: the newest answer, six slider rows, whole axis labels and
    tab names, no cut text; screenshots of every tab in screenshots-ui/ for a person to look at."""
    from PySide6.QtGui import QFontInfo

    from lab.common.events import TokenEvent
    from ui.widgets.theme import presentation_pixels

    SHOTS.mkdir(exist_ok=True)
    _chat_with_answers(qapp, window)
    window.emotions.rows["happy"].spin.setValue(0.04)
    presentation = mode == "presentation"
    window.set_presentation(presentation)
    states = window.windowState().WindowFullScreen | window.windowState().WindowMaximized
    assert bool(window.windowState() & window.windowState().WindowFullScreen) == presentation
    problems = []
    for width, height in SIZES:
        window.setWindowState(window.windowState() & ~states)
        window.resize(width, height)  # offscreen: the size a maximised or full-screen window has on that screen
        _settle(qapp, 20)
        where = f"{mode} {width}x{height}"
        if presentation:
            pixels = QFontInfo(window.emotions.rows["afraid"].check.font()).pixelSize()
            assert pixels >= presentation_pixels(height) >= 16 and (height < 1080 or pixels >= 24), f"{where}: {pixels} px"
            assert QFontInfo(window.chat.transcript.font()).pixelSize() >= pixels
        problems += _layout_problems(qapp, window, where, shots=True)
        plot = window.chat.plot
        renderer = plot.figure.canvas.get_renderer()
        legend = plot.ax.get_legend().get_window_extent(renderer)
        if legend.x0 < plot.ax.get_window_extent(renderer).x1:
            problems.append(f"{where}: the legend covers the data")
    window.chat.plot.add([TokenEvent(0, i, 1, "x", False, {n: (i % 7) - 3.0 for n in BUILT_IN_ORDER}) for i in range(9)])
    assert not problems, "\n".join(problems)
    window.set_presentation(False)
    assert not window.windowState() & window.windowState().WindowFullScreen


def test_typed_values_are_clamped_with_a_message(qapp, window):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    def type_into(box, text: str) -> None:
        box.lineEdit().selectAll()
        QTest.keyClicks(box, text)
        QTest.keyClick(box, Qt.Key.Key_Return)

    cliff = window.emotions.strength_range.cliff
    spin = window.emotions.rows["happy"].spin
    type_into(spin, "0.5")
    assert spin.value() == pytest.approx(cliff) and window.state.steering.strength("happy") == pytest.approx(cliff)
    assert "outside" in window.status_label.text() and "Expert range" in window.status_label.text()
    type_into(spin, "abc")
    assert "not a number" in window.status_label.text() and spin.value() == pytest.approx(cliff)
    window.emotions.expert.setChecked(True)
    type_into(spin, "999")
    assert spin.value() == pytest.approx(window.emotions.strength_range.expert)
    assert window.emotions.rows["happy"].slider.in_warning_zone()
    window.emotions.expert.setChecked(False)
    assert spin.value() == pytest.approx(cliff), "leaving the expert range pulls strengths back"

    for box, typed, expected in ((window.sampling.temperature, "100", 2.0), (window.sampling.top_p, "5", 1.0),
                                 (window.sampling.max_tokens, "0", 1)):
        type_into(box, typed)
        assert box.value() == pytest.approx(expected)
        assert "outside" in window.status_label.text()
    window.save_settings()
    assert float(window.settings.value("sampling/temperature")) == pytest.approx(2.0)


def test_stored_bad_sampling_values_are_ignored(qapp, tmp_path):
    from PySide6.QtCore import QSettings

    from ui.widgets.sampling import SamplingPanel

    store = QSettings(str(tmp_path / "bad.ini"), QSettings.Format.IniFormat)
    store.setValue("sampling/temperature", 100)
    store.setValue("sampling/top_p", "abc")
    panel = SamplingPanel()
    panel.restore(store)
    assert panel.temperature.value() == pytest.approx(0.7) and panel.top_p.value() == pytest.approx(0.9)


def test_plot_scale_ignores_one_outlier_and_raw_toggle(qapp, window):
    from lab.common.events import TokenEvent

    plot = window.chat.plot
    plot.clear()
    events = [TokenEvent(0, i, 1, "x", False, {"happy": 1.0}, {"happy": 0.04}, {"happy": 2.0}) for i in range(30)]
    events[10] = TokenEvent(0, 10, 1, "x", False, {"happy": 100.0}, {"happy": 0.04}, {"happy": 2.0})
    plot.add(events)
    plot._refresh()
    assert plot.ax.get_ylim()[1] < 20, "one outlier does not flatten the plot"
    assert "1 point off the scale" in plot._off_scale.get_text()
    assert "push removed" in " ".join(plot.ax.get_ylabel().split())  # every view says which reading it shows
    window.set_raw_readings(True)
    assert plot._y[0]["happy"][0] == pytest.approx(3.0), "raw = push-free reading + push"
    assert "raw" in plot.ax.get_ylabel()
    window.set_raw_readings(False)
    assert plot._y[0]["happy"][0] == pytest.approx(1.0) and "push removed" in " ".join(plot.ax.get_ylabel().split())


def test_new_conversation_button_and_no_internal_names(qapp, window):
    window.chat.prompt.setPlainText("")
    window.chat.send()
    assert window.errors._box is None, "an empty prompt is a hint in the status bar, not a window to close"
    assert window.status_label.text() == "Type a message for the model first."
    window.chat.messages = [{"role": "user", "content": "hi"}]
    window.chat.new_button.click()
    assert window.chat.messages == []



def test_transcript_follows_unless_scrolled_up_and_marks_stops(qapp, window):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    _chat_with_answers(qapp, window, answers=1)
    view, bar = window.chat.transcript, window.chat.transcript.verticalScrollBar()
    window.resize(1280, 720)
    for _ in range(2):  # long prompts
        window.chat.prompt.setPlainText("A long question about the sea and the sky. " * 12)
        window.chat.send()
        window.runner.stop()
        while window.chat.generating:
            _settle(qapp, 1)
    _settle(qapp)
    assert bar.maximum() > 0 and bar.value() == bar.maximum(), "the newest line is in view"
    bar.triggerAction(bar.SliderAction.SliderToMinimum)  # the reader scrolls up on purpose
    window.chat.transcript.add_tokens(window.chat.last_events[-3:])
    assert bar.value() == 0 and not view.following, "reading earlier text is not interrupted"
    window.chat.prompt.setPlainText("Another question")
    window.chat.send()
    assert view.following and bar.value() == bar.maximum(), "a new message brings the view back to the newest line"
    window.runner.stop()
    deadline = time.monotonic() + 30
    while window.chat.generating and time.monotonic() < deadline:
        _settle(qapp, 1)
    assert view.toPlainText().endswith("[stopped]") and bar.value() == bar.maximum()
    window.chat.prompt.setFocus()
    QTest.keyClick(window.chat.prompt, Qt.Key.Key_Tab)
    assert "\t" not in window.chat.prompt.toPlainText() and not window.chat.prompt.hasFocus(), "Tab moves on"


def test_token_numbers_match_the_plot(qapp, window):
    from ui.widgets.transcript import token_tooltip

    _chat_with_answers(qapp, window, answers=1)
    view, plot = window.chat.transcript, window.chat.plot
    for span in view.spans:
        assert plot._x[0][plot._events[0].index(span.event)] == span.number, "the transcript counts as the plot does"
    span = view.spans[-1]
    assert f"generated token {span.number}," in token_tooltip(span.event, None, False, span.number)
    window.chat.show_token(span.event)
    assert window.status_label.text().startswith(f"Generated token {span.number} ")


def test_sweep_defaults_stay_inside_the_cliff_and_are_remembered(qapp, window, tmp_path):
    from PySide6.QtCore import QSettings

    from lab.runtime.strength_range import StrengthRange
    from ui.tabs.experiments.sweep_chart import dodged
    from ui.tabs.experiments.sweep_setup import parse_strengths

    setup = window.experiments.setup
    window.models.set_strength_range(StrengthRange(0.04, 0.1, True))
    assert max(abs(v) for v in parse_strengths(setup.strengths.text())) == pytest.approx(0.04)
    assert setup.warning.isHidden()
    setup.strengths.setText("-0.06,0,0.06")
    assert not setup.warning.isHidden() and "±0.04" in setup.warning.text() and "+0.06" in setup.warning.text()
    setup.seeds.setValue(5)
    setup.set_emotions(["happy"])
    store = QSettings(str(tmp_path / "sweep.ini"), QSettings.Format.IniFormat)
    setup.save(store)
    from ui.tabs.experiments.sweep_setup import SweepSetup

    again = SweepSetup()
    again.restore(store)
    again.set_emotion_choices(list(BUILT_IN_ORDER))
    assert again.strengths.text() == "-0.06,0,0.06" and again.seeds.value() == 5 and again.emotions() == ["happy"]
    a, b = dodged([0.0, 0.02], 0, 2), dodged([0.0, 0.02], 1, 2)
    assert a[0] < b[0] and b[0] - a[0] < 0.02, "equal rates of two checks are drawn side by side"


def test_settings_live_in_emotion_lab_home(lab_home, monkeypatch, tmp_path):
    from ui.shell.main_window import app_settings

    monkeypatch.setenv("EMOTION_LAB_HOME", str(tmp_path / "lab"))
    assert app_settings().fileName() == str(tmp_path / "lab" / "settings.ini")


def test_small_saved_geometry_opens_maximised(qapp, tmp_path, lab_home, tiny_lm, twenty_emotions):
    from PySide6.QtCore import QSettings

    store = tmp_path / "s.ini"
    first = shown_window(qapp, tmp_path, tiny_lm, twenty_emotions)
    first.showNormal()
    first.resize(400, 300)  # as if saved on a much smaller screen
    first.close()
    assert QSettings(str(store), QSettings.Format.IniFormat).value("window/geometry") is not None
    again = shown_window(qapp, tmp_path, tiny_lm, twenty_emotions)
    screen = again.screen().availableGeometry()
    assert again.width() >= 0.9 * screen.width() and again.height() >= 0.9 * screen.height()
    assert again.help.width() >= 260
    again.close()


def test_a_session_that_began_unsteered_says_so_in_its_title(qapp, window):
    from lab.store.titles import SteeredTitle

    title = SteeredTitle("Hi")
    title.note_unsteered()
    assert title.text() == "Hi" and title.add({"desperate": 0.04})
    assert title.text() == "Hi — unsteered, then desperate +0.04"
    _chat_with_answers(qapp, window, answers=1)  # unsteered
    window.emotions.rows["happy"].spin.setValue(0.04)
    _chat_with_answers(qapp, window, answers=1)
    session = window.recorder.store.list_sessions()[0]
    assert session.title.endswith("— unsteered, then happy +0.04"), session.title


def test_token_tints_are_readable_on_the_presentation_black(qapp, window):
    from PySide6.QtGui import QTextCursor

    from lab.common.palette import DARK_BACKGROUND, painted, text_on_dark_tint, tint
    from ui.widgets.palette import qcolor

    for reading in (-3.0, -1.5, -0.5, 0.5, 1.5, 3.0):
        light = tint(reading)
        assert contrast_ratio(painted(light, WHITE), BLACK) >= 4.5, reading
        dark = tint(reading, dark=True)
        assert contrast_ratio(painted(dark, DARK_BACKGROUND), text_on_dark_tint(dark)) >= 4.5, reading
    for reading in (-3.0, 3.0):
        strong = painted(tint(reading, dark=True), DARK_BACKGROUND)
        assert contrast_ratio(strong, DARK_BACKGROUND) >= 5, "a strong reading stands out from the black background"
    _chat_with_answers(qapp, window, answers=1)
    window.set_presentation(True)
    view = window.chat.transcript
    generated = [dataclasses.replace(e, text=f"w{i} ") for i, e in enumerate(window.chat.last_events) if not e.is_prompt]
    view.begin_answer()  # the real readings, as readable words (the tiny model writes odd bytes)
    view.add_tokens(generated)
    emotion = window.tint.currentText()
    for span in view.spans[-len(generated):]:
        cursor = QTextCursor(view.document())
        cursor.setPosition(span.start + 1)
        shown = cursor.charFormat()
        colour = tint(tint_reading(span.event.shown_readings(False), emotion), dark=True)
        assert shown.background().color().rgba() == qcolor(colour).rgba()
        assert shown.foreground().color().name() == text_on_dark_tint(colour)
    window.set_presentation(False)
    span = view.spans[-1]
    cursor = QTextCursor(view.document())
    cursor.setPosition(span.start + 1)
    assert cursor.charFormat().background().color().rgba() == qcolor(tint(tint_reading(span.event.shown_readings(False), emotion))).rgba()


def test_presentation_mode_is_remembered_without_its_full_screen_geometry(qapp, tmp_path, lab_home, tiny_lm,
                                                                         twenty_emotions):
    first = shown_window(qapp, tmp_path, tiny_lm, twenty_emotions)
    first.set_presentation(True)
    first.close()
    again = shown_window(qapp, tmp_path, tiny_lm, twenty_emotions)
    assert again.theme.presentation and again.windowState() & again.windowState().WindowFullScreen
    again.set_presentation(False)
    _settle(qapp)
    assert not again.windowState() & again.windowState().WindowFullScreen
    assert again.windowState() & again.windowState().WindowMaximized, "back to the maximised first window"
    again.close()


def test_wheel_over_the_sliders_scrolls_the_list_one_row_and_never_steers(qapp, window):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    window.resize(1280, 720)
    _settle(qapp)
    rows = list(window.emotions.rows.values())
    bar = window.emotions._scroll.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == 0
    slider = rows[1].slider

    def notch(widget):
        centre = QPointF(widget.rect().center())
        return QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(), QPoint(0, -120),
                           Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)

    over_slider = notch(slider)
    QApplication.sendEvent(slider, over_slider)
    assert not over_slider.isAccepted(), "an unfocused slider passes the wheel on to the list (a real wheel event goes up)"
    assert slider.value() == 0 and window.state.steering.strength(rows[1].name) == 0
    QApplication.sendEvent(window.emotions._scroll.viewport(), notch(window.emotions._scroll.viewport()))
    _settle(qapp)
    pitch = rows[1].check.y() - rows[0].check.y()
    assert abs(bar.value() - pitch) <= 2, f"one notch scrolled {bar.value()} px, a row is {pitch} px"
    spin = rows[1].spin
    over_spin = notch(spin)
    QApplication.sendEvent(spin, over_spin)
    assert not over_spin.isAccepted() and spin.value() == 0
