"""The HTML reports (validation, sweep) come from autoescaped templates: text from a model, a scenario or
a user reaches the page as text, never as markup, and the plot stays an embedded PNG. (The session report's
escaping is tested in tests/test_export.py.)"""
from __future__ import annotations

import base64

from html_page import Page
from lab.diagnostics.validation_report import render_html
from lab.scenarios.runner import RunResult, TurnResult
from lab.scenarios.sweep import SweepPlan, SweepResult, SweepRun
from lab.scenarios.sweep_report import to_html as sweep_html

HOSTILE = "<script>alert('x')</script> \"quoted\" & <b>bold</b>"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256))).decode("ascii")


def validation_report() -> dict:
    return {
        "model": {"identity": "id", "family": HOSTILE, "depth": 30, "width": 576}, "reading_layer": 12,
        "summary": [HOSTILE], "emotions": [{"emotion": HOSTILE, "kind": "built-in", "recognised": "7 of 10"}],
        "estimators": [{"estimator": HOSTILE, "layer": 9, "held_out": 0.714, "validation": 0.655}],
        "map": {"axes": [{"label": HOSTILE}, {"label": "arousal"}]},
        "precision": {"running": "float32", "measured": "float32", "device": "cpu"},
        "map_png": PNG,
        "steering_efficacy": [{"emotion": "happy", "rate": HOSTILE, "mean_gain": 0.1234}],
        "lessons": [{"verdict": "shows", "summary": HOSTILE}],
    }


def test_validation_page_shows_every_text_as_text_and_embeds_the_map():
    html = render_html(validation_report())
    page = Page(html)
    assert page.tags == {"meta", "title", "style", "h1", "h2", "p", "b", "ul", "li", "table", "tr", "th", "td", "img"}
    assert sum(HOSTILE in text for text in page.text) == 7  # family, summary, emotion, estimator, axis, rate, lesson
    assert "<script" not in html and "<b>bold" not in html
    assert page.images == [f"data:image/png;base64,{PNG}"]
    assert f"data:image/png;base64,{PNG}" in html  # the app swaps this exact string for its map image
    assert "71%" in page.text and "66%" in page.text and "+0.12" in page.text


def test_validation_page_opens_on_the_plain_answer():
    from lab.diagnostics.validation_words import plain_answer

    report = {**validation_report(), "totals": {"held_out": [170, 200]}, "neutral": {"held_out": [9, 20]},
              "emotions": [{"emotion": f"e{i}", "kind": "built-in", "recognised": "8 of 10"} for i in range(20)],
              "steering_efficacy": [{"emotion": "happy", "raised": 8, "prompts": 10, "rate": "8 of 10", "mean_gain": 0.2},
                                    {"emotion": "sad", "raised": 9, "prompts": 10, "rate": "9 of 10", "mean_gain": 0.3}],
              "known_lessons": [{"verdict": "shows"}, {"verdict": "does not show on this model"}, {"verdict": "inconclusive"}]}
    del report["lessons"]
    assert plain_answer(report) == [
        "Yes, it recognises emotions well. Shown example texts it had never seen, it named the right one of 20 emotions "
        "170 times out of 200; guessing would get about 10 right.",
        "It does not reliably tell plain, unemotional text apart: 9 of 20 neutral texts read as \"no clear emotion\".",
        "Steering works: pushing an emotion made the reply read more of it on 17 of 20 prompts (2 emotions).",
        "Lessons: 1 of 3 measured so far show on this model (1 do not, the rest cannot tell yet); Help → Lessons says "
        "each in one sentence."]
    text = Page(render_html(report)).text
    assert text.index("In short") < text.index(plain_answer(report)[0]) < text.index("The details") < text.index("Recognising emotions")
    assert plain_answer({"totals": {"held_out": [12, 200]}, "emotions": [{"kind": "built-in"}] * 20})[0].startswith(
        "No: it recognises emotions no better than guessing")


def test_validation_page_leaves_out_the_parts_not_measured():
    report = validation_report()
    del report["steering_efficacy"], report["lessons"]
    text = " ".join(Page(render_html(report)).text)
    assert "Steering efficacy" not in text and "Lessons" not in text and "The emotion map" in text


def test_sweep_page_shows_titles_settings_replies_and_checks_as_text():
    reply = TurnResult(1, "assistant", HOSTILE, generated=True, token_readings=({"joy": 0.3},), checks=("says <b>",))
    run = RunResult(HOSTILE, None, {"joy": 0.5}, 1, (reply,), session_id=7)
    result = SweepResult(HOSTILE, SweepPlan(("joy",), (0.5,), seeds=(1,), control=False, perplexity=False), ("says <b>",),
                         (SweepRun("joy", 0.5, 1, run),), cancelled=True, settings={"<i>name</i>": HOSTILE})
    html = sweep_html(result)
    page = Page(html)
    assert page.tags == {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "table", "tr", "th", "td", "img"}
    assert f"{HOSTILE} (stopped early: partial results)" in page.text
    assert "<i>name</i>" in page.text and HOSTILE in page.text and "says <b>: fired in" in page.text
    assert [src[:22] for src in page.images] == ["data:image/png;base64,"]
    assert base64.b64decode(page.images[0][22:]).startswith(b"\x89PNG")
