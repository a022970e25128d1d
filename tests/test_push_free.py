"""Push-free readings: while steering, a reading shows the model's own state, not the slider.

The proof: a tiny model that never reads one hidden dimension (every norm sees it zeroed). Steering
along that dimension cannot change anything the model computes, so push-free readings must equal
unsteered ones at the same tokens, while raw readings differ by exactly the push.
"""
from __future__ import annotations

import dataclasses

import pytest
import torch

from lab.common.events import SamplingSettings
from lab.runtime.generator import generate
from lab.runtime.steering import SteeringState

BLIND = 31  # the hidden dimension the model never reads (width 32)
PROMPT = [{"role": "user", "content": "tell me about the sun"}]


@pytest.fixture
def blind_lm(tiny_model_dir):
    from lab.model.loader import load_model

    lm = load_model(str(tiny_model_dir), dtype="float32")  # the subtraction is checked exactly
    mask = torch.ones(lm.width)
    mask[BLIND] = 0.0
    for module in lm.model.modules():
        if type(module).__name__.endswith("RMSNorm"):
            module.register_forward_pre_hook(lambda _module, args: (args[0] * mask.to(args[0].dtype), *args[1:]))
    return lm


@pytest.fixture
def blind_directions(tiny_directions):
    """The tiny directions with 'joy' replaced by the blind dimension, steered before the reading layer."""
    depth = tiny_directions.depth
    vectors = tiny_directions.vectors.clone()
    vectors[:, tiny_directions.index("joy")] = torch.nn.functional.one_hot(torch.tensor(BLIND), vectors.shape[-1]).float()
    return dataclasses.replace(tiny_directions, vectors=vectors, reading_layer=depth - 1, steering_layers=tuple(range(depth - 1)))


def _run(lm, directions, strengths: dict[str, float]):
    state = SteeringState(directions)
    state.set_all(strengths)
    events = list(generate(lm, directions, lm.chat_ids(PROMPT), state, SamplingSettings(max_new_tokens=12)))
    return [e.token_id for e in events], [e for e in events]


def test_steering_a_direction_the_model_ignores_leaves_push_free_readings_unchanged(blind_lm, blind_directions):
    plain_tokens, plain = _run(blind_lm, blind_directions, {})
    steered_tokens, steered = _run(blind_lm, blind_directions, {"joy": 2.0})
    assert steered_tokens == plain_tokens  # the model cannot see the push
    for a, b in zip(plain, steered):
        assert a.push == {}
        assert b.readings == pytest.approx(a.readings, abs=2e-3)
    pushed = [b.raw_readings()["joy"] - a.readings["joy"] for a, b in zip(plain[1:], steered[1:])]
    assert min(abs(p) for p in pushed) > 1.0  # the raw reading carries the push (its sign: the reading vector's); push-free takes exactly that out
    assert steered[-1].push["joy"] == pytest.approx(pushed[-1], abs=2e-3)


def test_push_is_recorded_only_while_steering(tiny_lm, tiny_directions):
    _, plain = _run(tiny_lm, tiny_directions, {})
    _, steered = _run(tiny_lm, tiny_directions, {"fear": 0.5})
    assert all(e.push == {} for e in plain)
    assert all(e.push and e.push["fear"] != 0 for e in steered)
    assert all(e.raw_readings()[n] == pytest.approx(e.readings[n] + e.push[n]) for e in steered for n in e.readings)
