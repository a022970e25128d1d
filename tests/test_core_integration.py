"""Integration tests on the embedded SmolLM2-135M-Instruct model (fixture `engine` in conftest.py).

The first run converts the model and extracts directions into the user cache (about a minute);
later runs load both from the cache in a few seconds. Generations are short and greedy.
"""
from __future__ import annotations

import threading

import pytest
import torch

from lab.emotions.extraction import split_holdout
from lab.emotions.definitions import load_emotions
from lab.emotions.direction_set import NEUTRAL_LABEL
from lab.common.events import SamplingSettings
from lab.runtime.generator import generate
from lab.runtime.reading import text_reading
from lab.runtime.steering import SteeringState

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("torch_one_thread")]

MORNING = "Write one sentence about your morning."
ARITHMETIC = "What is 2+2? Answer with a number only."  # SmolLM2 answers in a few tokens, then ends its turn


def reply(engine, prompt: str, strengths: dict[str, float] | None = None, max_new_tokens: int = 30, stop: threading.Event | None = None):
    """Greedy reply: (token ids, text, generated events)."""
    state = SteeringState(engine.directions)
    state.set_all(strengths or {})
    ids = engine.chat_ids([{"role": "user", "content": prompt}])
    events = [
        event
        for event in generate(engine.lm, engine.directions, ids, state, SamplingSettings(max_new_tokens=max_new_tokens), stop=stop)
        if not event.is_prompt
    ]
    return [e.token_id for e in events], "".join(e.text for e in events), events


def hf_greedy(engine, prompt: str, max_new_tokens: int) -> list[int]:
    lm = engine.lm
    ids = engine.chat_ids([{"role": "user", "content": prompt}])
    with torch.inference_mode():
        output = lm.model.generate(
            torch.tensor([ids], device=lm.device), do_sample=False, max_new_tokens=max_new_tokens,
            eos_token_id=list(lm.stop_token_ids), pad_token_id=lm.tokenizer.pad_token_id or 0,
        )
    return output[0, len(ids):].tolist()


def test_engine_is_the_embedded_model_with_builtin_emotions(engine):
    lm, directions = engine.lm, engine.directions
    assert lm.family == "llama" and lm.depth == 30 and lm.width == 576
    assert directions.emotions == [e.name for e in load_emotions(include_user=False)]
    assert directions.model_identity == lm.identity
    assert 0 <= directions.reading_layer < lm.depth
    assert all(0 <= layer < lm.depth for layer in directions.steering_layers)


def test_builtin_emotions_classify_held_out_texts_well_above_chance(engine):
    directions = engine.directions
    builtin = [directions.index(name) for name in directions.extras["builtin"]]
    assert len(builtin) == len(load_emotions(include_user=False))
    correct, total = directions.evaluation()["totals"]["held_out"]
    # measured 494 of 691 (71%, 95% CI 68%-75%) for the shipped directions; chance is 1/20
    assert total >= 10 * len(builtin) and correct / total > 0.68
    # the same held-out texts read again through the user-facing path (full precision, one text at a time)
    hits = []
    for emotion in load_emotions(include_user=False):
        _, held_out = split_holdout(emotion.examples)
        hits += [text_reading(engine.lm, directions, text).top == emotion.name for text in held_out[:3]]
    assert sum(hits) >= 34, f"{sum(hits)} of {len(hits)}"  # measured 37 of 60 in float32, 38 in bfloat16


def test_steering_raises_the_emotion_read_from_the_reply(engine):
    directions = engine.directions
    _, plain_text, _ = reply(engine, MORNING)
    plain = text_reading(engine.lm, directions, plain_text).readings
    raised = {}
    for emotion in ["happy", "sad", "afraid", "angry"]:
        _, steered_text, events = reply(engine, MORNING, {emotion: 0.04})
        assert events and all(e.strengths == pytest.approx({emotion: 0.04}) for e in events)
        steered = text_reading(engine.lm, directions, steered_text).readings  # re-read as an observer, unsteered
        change = {name: steered[name] - plain[name] for name in steered}
        others = sum(v for name, v in change.items() if name != emotion) / (len(change) - 1)
        raised[emotion] = change[emotion] > 0 and change[emotion] > others  # up, and more than the rest on average
    assert sum(raised.values()) >= 3, raised


def test_zero_strengths_give_the_same_tokens_as_plain_greedy_generate(engine_float32):
    engine = engine_float32  # exact equality with transformers' generate: float32 whatever the default precision
    tokens, _, events = reply(engine, MORNING, {"happy": 0.0, "sad": 0.0}, max_new_tokens=20)
    assert len(tokens) == 20
    assert all(e.strengths == {} for e in events)
    assert tokens == hf_greedy(engine, MORNING, 20)


def test_generation_stops_at_end_of_turn(engine_float32):
    engine = engine_float32  # compared token for token with transformers' generate
    lm = engine.lm
    vocab = lm.tokenizer.get_vocab()
    assert lm.tokenizer.chat_template
    assert vocab["<|im_end|>"] == 2 and vocab["<|endoftext|>"] == 0
    assert {0, 2} <= set(lm.stop_token_ids)
    tokens, text, _ = reply(engine, ARITHMETIC, max_new_tokens=40)
    assert 0 < len(tokens) < 40
    assert "4" in text
    assert not set(tokens) & set(lm.stop_token_ids)
    assert hf_greedy(engine, ARITHMETIC, 40) == tokens + [2]  # the next token would have been <|im_end|>


def test_cancel_stops_within_one_token(engine):
    stop = threading.Event()
    state = SteeringState(engine.directions)
    ids = engine.chat_ids([{"role": "user", "content": MORNING}])
    generated = 0
    for event in generate(engine.lm, engine.directions, ids, state, SamplingSettings(max_new_tokens=200), stop=stop):
        if not event.is_prompt:
            generated += 1
            if generated == 3:
                stop.set()
    assert generated in (3, 4)


PLAIN_SENTENCES = {  # written for this test, none of them an example or validation text
    "I finally got the job, I can't stop smiling!": "happy",
    "The funeral was quiet and grey.": "sad",
    "Something scratched at the door in the dark, and I held my breath.": "afraid",
    "How dare you read my diary! Get out of my room!": "angry",
    "Please, I have tried everything, nothing works, I am running out of time.": "desperate",
    "I sat by the lake and let my breathing slow down.": "calm",
    "The meeting is on Tuesday at 3 pm in room 204.": NEUTRAL_LABEL,
    "The train to Leeds leaves from platform four.": NEUTRAL_LABEL,
}


def test_plain_sentences_get_the_label_a_reader_would_give(engine):
    for text, expected in PLAIN_SENTENCES.items():
        result = text_reading(engine.lm, engine.directions, text)
        assert result.top == expected, (text, result.top)
        if expected != NEUTRAL_LABEL:
            assert max(result.readings, key=result.readings.get) == expected, (text, result.readings)
