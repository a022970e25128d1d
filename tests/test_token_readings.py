"""Per-token readings against human ratings (lab.diagnostics.token_readings), the tint rule
(lab.common.tint_rule) and the emotion map's fitted axes (lab.emotions.emotion_map)."""
from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
import torch

from lab.common.tint_rule import CLEAR_MARGIN, CLEAR_Z, tint_reading
from lab.diagnostics.token_readings import WordReading, read_word, report_lines, spearman, summarise
from lab.emotions.definitions import Norm, RatedWord, load_norms, load_rated_words
from lab.emotions.emotion_map import emotion_map
from lab.runtime.reading import read_ids


def test_a_token_is_tinted_only_where_its_reading_stands_clearly_out():
    clear = {"happy": CLEAR_Z + CLEAR_MARGIN, "sad": CLEAR_Z - 0.1}
    assert tint_reading(clear, "happy") == clear["happy"]
    assert tint_reading(clear, "sad") == 0.0  # high, but not clearly above "happy"
    close = {"happy": CLEAR_Z + 0.5, "afraid": CLEAR_Z + 0.4}
    assert tint_reading(close, "happy") == 0.0  # "anxious" reading high on happy and on afraid alike: no tint
    assert tint_reading({"happy": 1.9}, "happy") == 0.0
    assert tint_reading({"happy": -CLEAR_Z}, "happy") == -CLEAR_Z  # clearly below neutral: blue
    assert tint_reading({"sad": 1.0}, "happy") is None
    assert tint_reading({"happy": float("nan")}, "happy") is None


def test_the_rated_words_cover_the_built_in_emotions_and_cite_their_source():
    words = load_rated_words()
    norms = load_norms()
    assert len(words) >= 50 and {w.emotion for w in words if w.emotion} <= set(norms)
    assert all(-4 <= w.valence <= 4 for w in words)
    pleasant = {w.word: w.valence > 0 for w in words}
    assert pleasant["happy"] and not pleasant["anxious"] and not pleasant["stressed"]


def test_spearman_uses_ranks():
    assert spearman(np.array([1.0, 2, 3, 4]), np.array([1.0, 4, 9, 100])) == pytest.approx(1.0)
    assert spearman(np.array([1.0, 2, 3]), np.array([3.0, 2, 1])) == pytest.approx(-1.0)
    assert np.isnan(spearman(np.array([1.0, 1, 1]), np.array([1.0, 2, 3])))


def _reading(word: str, valence: float, emotion: str | None, values: list[float], context: str = "alone") -> WordReading:
    return WordReading(RatedWord(word, valence, emotion), context, np.array(values), np.zeros((2 if context != "alone" else 0, 2)))


def test_summary_counts_own_emotions_valence_agreement_and_misleading_tints():
    """Two emotions, four words with known readings: the answers are counted by hand."""
    directions = type("D", (), {"emotions": ["happy", "sad"]})()
    norms = {"happy": Norm(8.5, 6.0), "sad": Norm(2.1, 3.5)}
    readings = [
        _reading("glad", 2.0, "happy", [4.0, 0.0]),      # own emotion on top, orange on a pleasant word
        _reading("unhappy", -2.0, "sad", [0.0, 4.0]),    # own emotion on top
        _reading("anxious", -1.0, None, [6.0, 0.5]),     # a strong happy reading on an unpleasant word
        _reading("lonely", -1.5, "sad", [1.0, 0.5]),     # own emotion not on top
    ]
    result = summarise(readings, directions, norms)["alone"]
    assert result["own_top"]["text"].startswith("2 of 3")
    every = result["tint"]["every reading"]
    orange_happy = 1.0 + 1.0 + 1 / 3  # glad, anxious (both clipped at 3), lonely
    orange_sad = 4 / 3 * 0 + 1.0 + 0.5 / 3 + 0.5 / 3  # unhappy, anxious, lonely
    contradicted = 1.0 + 1 / 3  # happy on anxious and lonely; sad on no pleasant word
    assert every["contradicted_share"] == pytest.approx(contradicted / (orange_happy + orange_sad), abs=1e-3)
    assert every["most_orange_for_happy"][0] in {"glad", "anxious"}
    clear = result["tint"]["clear readings only"]
    assert clear["contradicted_share"] == pytest.approx(1.0 / 3.0, abs=1e-3)  # glad, unhappy and anxious stand clearly out
    assert result["agreeing"] == {"emotions": 2, "of": 2}  # happy rises with valence, sad falls
    assert any("opposite valence" in line for line in report_lines({"alone": result}))


def test_a_word_is_read_at_its_own_last_token(tiny_lm_float32, tiny_directions, torch_one_thread):
    """Inside a carrier, the reading is the one at the word's last token, and the carrier's own tokens
    are the others (sink excluded); alone, it is the reading at the word's last token."""
    lm, word = tiny_lm_float32, RatedWord("smile", 2.0, "joy")
    carrier = "the table {} is wood"
    inside = read_word(lm, tiny_directions, word, carrier)
    full = read_ids(lm, tiny_directions, lm.text_ids("the table smile is wood")).double().numpy()
    end = len(lm.text_ids("the table smile"))
    assert np.allclose(inside.at_word, full[end - 1])
    assert len(inside.around) == len(full) - 1 - len("smile")  # one token per byte in the tiny tokenizer
    alone = read_word(lm, tiny_directions, word, None)
    assert np.allclose(alone.at_word, read_ids(lm, tiny_directions, lm.text_ids("smile")).double().numpy()[-1])
    assert alone.context == "alone" and len(alone.around) == 0


def _directions_with(tiny_directions, names: list[str], points: np.ndarray):
    depth, _, width = tiny_directions.vectors.shape
    vectors = torch.zeros(depth, len(names), width)
    vectors[tiny_directions.reading_layer, :, : points.shape[1]] = torch.from_numpy(points).float()
    return dataclasses.replace(tiny_directions, emotions=names, vectors=vectors, read_vectors=vectors, extras={"builtin": names})


def test_fitted_axes_recover_ratings_that_the_directions_encode_and_become_the_default(tiny_directions):
    """Twelve emotions whose valence and arousal are linear in their directions (plus noise spread in
    other dimensions): the fitted axes predict held-out ratings almost exactly and win over the
    principal components, which follow the larger noise dimensions."""
    rng = np.random.default_rng(1)
    names = [f"e{i}" for i in range(12)]
    valence, arousal = rng.uniform(1, 9, 12), rng.uniform(1, 9, 12)
    points = np.column_stack([valence, arousal, rng.normal(size=(12, 6)) * 2.0])
    directions = _directions_with(tiny_directions, names, points)
    norms = {n: Norm(float(v), float(a)) for n, v, a in zip(names, valence, arousal)}
    picture = emotion_map(directions, norms)
    assert picture.picture == "fitted"
    assert all(a.held_out_r > 0.95 for a in picture.axes)
    assert np.abs(picture.coordinates - np.column_stack([valence, arousal])).max() < 0.5  # ratings run from 1 to 9
    assert picture.axes[0].label.startswith("unpleasant \u2194 pleasant (fitted to human ratings; held-out r = ")
    principal = emotion_map(directions, norms, picture="principal")
    assert principal.picture == "principal" and principal.axes[0].held_out_r is None


def test_fitted_axes_say_so_when_ratings_are_not_in_the_directions(tiny_directions):
    """Ratings unrelated to the directions: the held-out r is low, the label says the axis is too weak,
    and the map stays on the principal components by default."""
    rng = np.random.default_rng(2)
    names = [f"e{i}" for i in range(12)]
    points = rng.normal(size=(12, 8))
    directions = _directions_with(tiny_directions, names, points)
    norms = {n: Norm(float(v), float(a)) for n, v, a in zip(names, rng.uniform(1, 9, 12), rng.uniform(1, 9, 12))}
    fitted = emotion_map(directions, norms, picture="fitted")
    assert all(a.held_out_r < 0.6 for a in fitted.axes)
    assert fitted.axes[0].label.startswith("not clearly valence (fitted to human ratings; held-out r = ")
    assert emotion_map(directions, norms).picture == "principal"


def test_help_states_the_tint_rule_in_use():
    from ui.help.help import HELP_HTML

    assert f"at least +{CLEAR_Z:g} <i>and</i>" in HELP_HTML and f"by at least {CLEAR_MARGIN:g}." in HELP_HTML
    assert f"−{CLEAR_Z:g} or lower" in HELP_HTML


def test_the_html_report_tints_by_the_same_rule(tmp_path):
    """A token whose happy reading stands clearly out is tinted; one that reads as high on happy
    as on afraid is not, yet its reading stays in its hover title."""
    from store_helpers import SAMPLING, register

    from lab.common.events import TokenEvent
    from lab.store.lab_file import open_store
    from lab.store.report import to_html

    with open_store(tmp_path / "lab.db") as store:
        model, directions = register(store)
        with store.start_session("tints", model, directions, SAMPLING, app_version="t") as rec:
            rec.begin_turn("assistant")
            rec.add_token(TokenEvent(0, 0, 1, "glad", False, {"happy": 3.5, "afraid": 0.2, "calm": 0.1}, {}))
            rec.add_token(TokenEvent(0, 1, 2, "anxious", False, {"happy": 2.6, "afraid": 2.5, "calm": 0.1}, {}))
            rec.end_turn()
        html = to_html(store.load_session(rec.session_id), "happy")
    glad = re.search(r'<span[^>]*title="happy \+3.50"[^>]*>', html).group(0)
    anxious = re.search(r'<span[^>]*title="happy \+2.60"[^>]*>', html).group(0)
    assert "background" in glad and "background" not in anxious


@pytest.mark.parametrize("presentation", [False, True])
def test_the_shipped_maps_axis_labels_fit_at_1280x720(qapp, presentation):
    """The embedded model's map (shipped directions, no model needed) at 1280x720: the fitted axes
    are the default and every label, with its held-out r, lies inside the figure."""
    from layout_checks import chart_problems

    from lab.common.paths import asset_path
    from lab.emotions.direction_file import load_directions
    from ui.tabs.emotions.map_view import MapTab
    from ui.widgets.theme import presentation_pixels

    (shipped,) = asset_path("directions").glob("*.safetensors")
    tab = MapTab()
    tab.resize(1280, 720)
    tab.show()
    tab.chart.set_presentation(presentation, presentation_pixels(720))
    tab.chart.show_directions(load_directions(shipped))
    tab.chart.redraw()
    assert "held-out r = " in tab.chart.figure.axes[0].get_xlabel()
    assert chart_problems(tab.chart, "map") == []
    tab.close()
