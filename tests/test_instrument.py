"""The instrument on a tiny model: a neutral answer, intervals instead of bare rates, user-made
emotions placed into a fixed picture, a stable labelled map, and per-text caching."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from conftest import TINY_WORDS
from lab.emotions.activations import TextMeanCache
from lab.emotions.definitions import Emotion, NeutralTexts, Norm
from lab.emotions.direction_set import NEUTRAL_LABEL
from lab.emotions.emotion_map import emotion_map
from lab.emotions.evaluation import TOO_FEW, accuracy_summary, describe
from lab.emotions.extraction import extract
from lab.runtime.reading import text_reading


def _user_emotion(name: str, words: str, count: int, seed: int = 1) -> Emotion:
    rng = random.Random(seed)
    return Emotion(name, f"user {name}", tuple(" ".join(rng.choice(words.split()) for _ in range(8)) for _ in range(count)), builtin=False)


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory, tiny_lm):
    return TextMeanCache(tiny_lm, tmp_path_factory.mktemp("text-means"))


def test_neutral_text_reads_no_clear_emotion_and_emotional_text_keeps_its_label(tiny_lm, tiny_directions, tiny_emotions):
    emotions, neutral = tiny_emotions
    neutral_labels = [text_reading(tiny_lm, tiny_directions, text).top for text in neutral]
    assert sum(label == NEUTRAL_LABEL for label in neutral_labels) / len(neutral_labels) >= 0.8
    emotional = [text_reading(tiny_lm, tiny_directions, text).top for e in emotions for text in e.examples]
    assert sum(label != NEUTRAL_LABEL for label in emotional) / len(emotional) >= 0.8
    counts = tiny_directions.evaluation()["neutral"]["held_out"]
    assert counts[1] == len(neutral) // 5  # every fifth neutral text is held out to calibrate the threshold


def test_rates_come_with_counts_and_intervals_and_small_sets_are_not_judged():
    assert describe([2, 2]) == "2 of 2 (100%, 95% CI 34%-100%)"
    assert describe([5, 8], min_total=TOO_FEW).startswith("too few examples to judge")
    assert describe([0, 0]).startswith("too few")


def test_user_emotion_is_placed_without_moving_the_builtin_picture(tiny_lm, tiny_emotions, tiny_cache):
    emotions, neutral = tiny_emotions
    base = extract(tiny_lm, emotions, neutral, cache=tiny_cache)
    calm = _user_emotion("hush", "soft quiet still slow breathe rest gentle hum", 24)
    grown = extract(tiny_lm, emotions + [calm], neutral, cache=tiny_cache)
    n = len(emotions)
    assert grown.emotions == base.emotions + ["hush"]
    for name in ("vectors", "read_vectors", "calib_mean", "calib_std"):
        assert torch.allclose(getattr(grown, name)[:, :n], getattr(base, name), atol=1e-5), name
    assert grown.reading_layer == base.reading_layer
    before, after = emotion_map(base, {}).coordinates, emotion_map(grown, {}).coordinates
    assert np.allclose(after[:n], before, atol=1e-4)  # the map's axes come from the built-in emotions only
    assert grown.kind("hush") == "user-made" and emotion_map(grown, {}).placed == [False] * n + [True]
    entry = grown.evaluation()["emotions"]["hush"]
    assert entry["cross_validated"][1] == 24 and entry["too_few"] is False
    assert accuracy_summary(grown, "hush").startswith("cross-validated: ")


def test_user_emotion_with_few_examples_is_labelled_too_few_to_judge(tiny_lm, tiny_emotions, tiny_cache):
    emotions, neutral = tiny_emotions
    few = extract(tiny_lm, emotions + [_user_emotion("tiny", "soft quiet still", 9)], neutral, cache=tiny_cache)
    assert "too few examples to judge" in accuracy_summary(few, "tiny")


def test_adding_an_emotion_reads_only_its_own_texts(tiny_lm, tiny_emotions, tiny_cache, monkeypatch):
    import lab.emotions.activations as activations

    emotions, neutral = tiny_emotions
    extract(tiny_lm, emotions, neutral, cache=tiny_cache)  # fills the cache
    read: list[str] = []
    original = activations.text_means

    def counting(lm, texts, progress=None, neutral=False, reader=None):
        read.extend(texts)
        return original(lm, texts, progress, neutral, reader)

    monkeypatch.setattr(activations, "text_means", counting)
    new = _user_emotion("zest", "zing zap zoom zip", 12, seed=5)
    extract(tiny_lm, emotions + [new], neutral, cache=tiny_cache)
    assert sorted(set(read)) == sorted(set(new.examples))


def test_map_axis_is_named_only_when_ratings_support_it(tiny_directions):
    picture = emotion_map(tiny_directions, {})
    first = picture.coordinates[:, 0]
    order = {name: float(first[i]) for i, name in enumerate(picture.names)}
    # ratings that follow the first axis exactly name it; ratings that do not, do not
    following = {name: Norm(valence=5 + value, arousal=5.0 + (i % 2)) for i, (name, value) in enumerate(order.items())}
    named = emotion_map(tiny_directions, following)
    assert named.axes[0].label.startswith("unpleasant \u2194 pleasant")
    assert named.axes[0].valence_r == pytest.approx(1.0, abs=1e-6)
    flat = {name: Norm(valence=5.0, arousal=5.0) for name in order}
    assert "principal component" in emotion_map(tiny_directions, flat).axes[0].label


def test_style_shifted_validation_texts_are_never_used_to_extract(tiny_lm, tiny_emotions, tiny_cache):
    emotions, neutral = tiny_emotions
    rng = random.Random(3)
    with_validation = [
        Emotion(e.name, e.description, e.examples, True, tuple(" ".join(rng.choice(TINY_WORDS[e.name].split()) for _ in range(3)) for _ in range(6)))
        for e in emotions
    ]
    plain = extract(tiny_lm, emotions, NeutralTexts(tuple(neutral)), cache=tiny_cache)
    validated = extract(tiny_lm, with_validation, NeutralTexts(tuple(neutral), ("a chair", "the window")), cache=tiny_cache)
    assert torch.equal(plain.vectors, validated.vectors) and torch.equal(plain.read_vectors, validated.read_vectors)
    totals = validated.evaluation()["totals"]
    assert totals["validation"][1] == 18 and validated.evaluation()["neutral"]["validation"][1] == 2


def test_placing_into_a_saved_builtin_set_needs_only_the_new_texts_and_matches_full_extraction(
        tiny_lm, tiny_emotions, tiny_cache, tmp_path, monkeypatch):
    """The fast path (a shipped or cached built-in set + the user's texts, on a fresh cache) gives the
    columns a full extraction gives, so adding an emotion never re-reads the built-in texts."""
    import lab.emotions.activations as activations
    from lab.emotions.definitions import data_hash
    from lab.emotions.direction_file import load_directions, save_directions
    from lab.emotions.placement import place_user_emotions

    emotions, neutral = tiny_emotions
    hush = _user_emotion("hush", "soft quiet still slow breathe rest gentle hum", 24)
    full = extract(tiny_lm, emotions + [hush], neutral, cache=tiny_cache)
    save_directions(extract(tiny_lm, emotions, neutral, cache=tiny_cache), tmp_path / "builtin.safetensors")
    base = load_directions(tmp_path / "builtin.safetensors")
    read: list[str] = []
    original = activations.text_means
    monkeypatch.setattr(activations, "text_means", lambda lm, texts, progress=None, neutral=False, reader=None: (read.extend(texts), original(lm, texts, progress, neutral, reader))[1])
    placed = place_user_emotions(base, [hush], TextMeanCache(tiny_lm, tmp_path / "fresh-cache"), full.data_hash)
    assert sorted(set(read)) == sorted(set(hush.examples))
    assert placed.emotions == full.emotions and placed.data_hash == full.data_hash == data_hash(emotions + [hush], neutral)
    layer, column = full.reading_layer, full.index("hush")
    for layer_index in (*full.steering_layers, layer):
        assert torch.allclose(placed.vectors[layer_index, column], full.vectors[layer_index, column], atol=1e-4)
    assert torch.allclose(placed.read_vectors[layer, column], full.read_vectors[layer, column], atol=1e-4)
    assert placed.calib_mean[layer, column] == pytest.approx(float(full.calib_mean[layer, column]), abs=1e-3)
    assert torch.allclose(placed.classifier_weights[layer], full.classifier_weights[layer], atol=1e-3)
    assert placed.evaluation()["emotions"]["hush"] == full.evaluation()["emotions"]["hush"]
    text = hush.examples[0]
    assert text_reading(tiny_lm, placed, text).top == text_reading(tiny_lm, full, text).top
