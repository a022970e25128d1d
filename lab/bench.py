"""Benchmarks on the embedded model. Variants alternate round by round; the best round counts."""
from __future__ import annotations

import os
import tempfile
import time

import torch

from lab.directions import extract
from lab.emotions import load_emotions, load_neutral_texts
from lab.events import SamplingSettings
from lab.generate import generate
from lab.model import LoadedModel, load_model
from lab.steering import SteeringState

PROMPT = "Write a long story about a lighthouse keeper and a storm."
TOKENS = 48
STEER = {"happy": 0.02, "calm": 0.02, "desperate": -0.02}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _plain_tokens_per_s(lm: LoadedModel, ids: list[int]) -> float:
    inputs = torch.tensor([ids], device=lm.device)
    with torch.inference_mode():
        start = time.perf_counter()
        out = lm.model.generate(inputs, max_new_tokens=TOKENS, min_new_tokens=TOKENS, do_sample=False, pad_token_id=lm.stop_token_ids[0])
        elapsed = time.perf_counter() - start
    return (out.shape[1] - len(ids)) / elapsed


def _lab_tokens_per_s(lm: LoadedModel, directions, ids: list[int]) -> float:
    steering = SteeringState(directions)
    steering.set_all(STEER)
    start = time.perf_counter()
    count = sum(1 for e in generate(lm, directions, ids, steering, SamplingSettings(max_new_tokens=TOKENS)) if not e.is_prompt)
    return count / (time.perf_counter() - start)


def cold_load_seconds() -> float:
    """Load the embedded model with an empty cache (GGUF dequantized from scratch)."""
    saved = os.environ.get("EMOTION_LAB_HOME")
    with tempfile.TemporaryDirectory() as home:
        os.environ["EMOTION_LAB_HOME"] = home
        try:
            return _timed(lambda: load_model("embedded"))
        finally:
            if saved is None:
                os.environ.pop("EMOTION_LAB_HOME")
            else:
                os.environ["EMOTION_LAB_HOME"] = saved


def run_benchmarks(spec: str = "embedded", rounds: int = 3) -> dict[str, float]:
    load_model(spec)  # make sure the cache is warm
    warm = min(_timed(lambda: load_model(spec)) for _ in range(2))
    cold = cold_load_seconds() if spec == "embedded" else float("nan")
    lm = load_model(spec)
    emotions, neutral = load_emotions(), load_neutral_texts()
    start = time.perf_counter()
    directions = extract(lm, emotions, neutral)
    extract_s = time.perf_counter() - start
    ids = lm.chat_ids([{"role": "user", "content": PROMPT}])
    _plain_tokens_per_s(lm, ids)  # warm-up
    plain, steered = [], []
    for _ in range(rounds):
        plain.append(_plain_tokens_per_s(lm, ids))
        steered.append(_lab_tokens_per_s(lm, directions, ids))
    return {
        "plain_tok_s": round(max(plain), 2),
        "lab_tok_s": round(max(steered), 2),
        "ratio": round(max(steered) / max(plain), 3),
        "cold_load_s": round(cold, 2),
        "warm_load_s": round(warm, 2),
        "extract_s": round(extract_s, 2),
    }
