"""Benchmarks on the embedded model. Variants alternate round by round; the best round counts."""
from __future__ import annotations

import contextlib
import os
import platform
import resource
import tempfile
import time
from collections.abc import Iterator

from pathlib import Path

import torch

from lab.diagnostics.bench_store import bytes_per_token
from lab.diagnostics.bench_sweep import sweep_ratio
from lab.emotions.extraction import extract
from lab.runtime.engine import Engine
from lab.emotions.activations import TextMeanCache
from lab.emotions.definitions import Emotion, load_emotions, load_neutral
from lab.emotions.direction_set import DirectionSet
from lab.emotions.placement import place_user_emotions
from lab.common.events import SamplingSettings
from lab.runtime.generator import generate
from lab.model.loader import LoadedModel, load_model
from lab.model.precision import cpu_has_native_bfloat16
from lab.runtime.reading import hidden_states
from lab.sessions.recording import recorded, start_recording
from lab.runtime.steering import SteeringState
from lab.scenarios.prepare import FITTING, NEUTRAL, READING, PrepareEstimate, full_work, model_parameters
from lab.runtime.strength_range import calibrate
from lab.scenarios.suppression import run_suppression
from lab.store.lab_file import SessionStore, open_store

PROMPT = "Write a long story about a lighthouse keeper and a storm."
TOKENS = 48
STEER = {"happy": 0.02, "calm": 0.02, "desperate": -0.02}
ADDED_EXAMPLES = 20  # the yardstick for adding an emotion: 20 example texts, the fewest the editor judges


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


def _lab_tokens_per_s(lm: LoadedModel, directions, ids: list[int], store: SessionStore | None = None) -> float:
    steering = SteeringState(directions)
    steering.set_all(STEER)
    settings = SamplingSettings(max_new_tokens=TOKENS)
    start = time.perf_counter()
    events = generate(lm, directions, ids, steering, settings)
    if store is None:
        count = sum(1 for e in events if not e.is_prompt)
    else:
        with start_recording(store, Engine(lm, directions), "benchmark", settings) as recorder:
            recorder.begin_turn("assistant")
            count = sum(1 for e in recorded(recorder, events, steering.layers) if not e.is_prompt)
            recorder.end_turn()
            recorder.finish()
    return count / (time.perf_counter() - start)


@contextlib.contextmanager
def _empty_home() -> Iterator[None]:
    """A temporary, empty EMOTION_LAB_HOME (user data and cache) for the block."""
    saved = os.environ.get("EMOTION_LAB_HOME")
    with tempfile.TemporaryDirectory() as home:
        os.environ["EMOTION_LAB_HOME"] = home
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("EMOTION_LAB_HOME")
            else:
                os.environ["EMOTION_LAB_HOME"] = saved


def cold_load_seconds() -> float:
    """Load the embedded model with an empty cache (GGUF dequantized from scratch)."""
    with _empty_home():
        return _timed(lambda: load_model("embedded"))


def suppression_seconds(engine: Engine) -> float:
    """The default suppression experiment (`lab suppress`), its adapters saved in a temporary home."""
    with _empty_home():
        return _timed(lambda: run_suppression(engine, "desperate"))


def cpu_description() -> str:
    """The CPU's model name and whether it does bfloat16 in hardware (precision speed depends on it)."""
    name = platform.processor() or "unknown CPU"
    try:
        name = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    kind = "native bfloat16 (AVX512-BF16/AMX)" if cpu_has_native_bfloat16() else "no native bfloat16"
    return f"{name}, {torch.get_num_threads()} threads, {kind}"


def _texts_per_s(lm: LoadedModel, texts: list[str]) -> float:
    """Texts read per second, one forward pass each to the deepest layer (what extraction does per text)."""
    start = time.perf_counter()
    for text in texts:
        hidden_states(lm, lm.depth - 1, lm.text_ids(text))
    return len(texts) / (time.perf_counter() - start)


def _precision(spec: str, ids: list[int], rounds: int, texts: list[str]) -> dict[str, float | str]:
    """Plain greedy tokens/s, texts read per second (extraction's work) and weight memory in float32 and
    bfloat16, alternating round by round."""
    models = {name: load_model(spec, dtype=name) for name in ("float32", "bfloat16")}
    speeds: dict[str, list[float]] = {name: [] for name in models}
    reading: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(rounds):
        for name, lm in models.items():
            speeds[name].append(_plain_tokens_per_s(lm, ids))
            reading[name].append(_texts_per_s(lm, texts))
    results: dict[str, float | str] = {"cpu": cpu_description()}
    for name, lm in models.items():
        results[f"{name}_tok_s"] = round(max(speeds[name]), 2)
        results[f"{name}_texts_s"] = round(max(reading[name]), 2)
        results[f"{name}_weights_mb"] = round(sum(p.numel() * p.element_size() for p in lm.model.parameters()) / 2**20, 1)
    results["bfloat16_ratio"] = round(max(speeds["bfloat16"]) / max(speeds["float32"]), 3)
    results["bfloat16_texts_ratio"] = round(max(reading["bfloat16"]) / max(reading["float32"]), 3)
    return results


def _add_emotion_seconds(lm: LoadedModel, builtin: DirectionSet, emotions: list[Emotion]) -> float:
    """Adding a user-made emotion of ADDED_EXAMPLES texts to the built-in set, nothing cached."""
    texts = tuple(text for emotion in emotions for text in emotion.validation)[:ADDED_EXAMPLES]
    added = Emotion("bench-feeling", "texts borrowed from the validation sets", texts, builtin=False)
    with tempfile.TemporaryDirectory() as empty_cache:
        return _timed(lambda: place_user_emotions(builtin, [added], TextMeanCache(lm, Path(empty_cache)), "bench"))


def run_benchmarks(spec: str = "embedded", rounds: int = 3) -> dict[str, float]:
    load_model(spec)  # make sure the cache is warm
    warm = min(_timed(lambda: load_model(spec)) for _ in range(2))
    cold = cold_load_seconds() if spec == "embedded" else float("nan")
    lm = load_model(spec)
    emotions, neutral = load_emotions(include_user=False), load_neutral()
    with tempfile.TemporaryDirectory() as empty_cache:  # every text read: the cost of a first extraction
        start = time.perf_counter()
        directions = extract(lm, emotions, neutral, cache=TextMeanCache(lm, Path(empty_cache)))
        extract_s = time.perf_counter() - start
    with _empty_home():  # the slider range measured afresh: with extraction, preparing a model from nothing
        range_s = _timed(lambda: calibrate(Engine(lm, directions)))
    work = full_work(lm)
    per_token = extract_s / (work[READING] + work[NEUTRAL] + work[FITTING]) / model_parameters(lm)
    add_emotion_s = _add_emotion_seconds(lm, directions, emotions)
    ids = lm.chat_ids([{"role": "user", "content": PROMPT}])
    _plain_tokens_per_s(lm, ids)  # warm-up
    plain, steered, recording = [], [], []
    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder) / "bench.db") as store:
        for _ in range(rounds):
            plain.append(_plain_tokens_per_s(lm, ids))
            steered.append(_lab_tokens_per_s(lm, directions, ids))
            recording.append(_lab_tokens_per_s(lm, directions, ids, store))
    ratio_of_sweep = sweep_ratio(Engine(lm, directions), rounds=rounds)
    precision = _precision(spec, ids, rounds, [text for emotion in emotions for text in emotion.examples[:3]])
    suppress_s = suppression_seconds(Engine(lm, directions))
    return {
        "plain_tok_s": round(max(plain), 2),
        "lab_tok_s": round(max(steered), 2),
        "ratio": round(max(steered) / max(plain), 3),
        "cold_load_s": round(cold, 2),
        "warm_load_s": round(warm, 2),
        "extract_s": round(extract_s, 2),
        "prepare_s": round(extract_s + range_s, 1),
        "ms_per_token_per_billion": round(per_token * 1e12, 3),
        "prepare_1.7b_4_cores_min": round(PrepareEstimate(1_710_000_000, sum(work.values()), 4, per_token).seconds / 60, 1),
        "add_emotion_s": round(add_emotion_s, 2),
        "recorded_tok_s": round(max(recording), 2),
        "record_ratio": round(max(recording) / max(steered), 3),
        "bytes_per_token": round(bytes_per_token(with_raw=False)),
        "bytes_per_token_raw": round(bytes_per_token(with_raw=True)),
        "sweep_ratio": ratio_of_sweep,
        "suppress_s": round(suppress_s, 1),
        **precision,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
