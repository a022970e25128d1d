""""Can you train the feeling away?": suppression training and its measurement (claim: suppression_verdict).

1. The base model answers the held-out prompts (greedy); its replies are read while writing.
2. A suppression adapter (LoRA) is trained on prompts that invite the emotion with composed
   replies; it answers the same held-out prompts. 3. A control adapter is trained the same way,
   for the same steps and seed, on prompts that do not invite the emotion with the same replies.
4. Every reply is re-read fresh by the unadapted model (expression) and its emotion words counted.

"While writing" is the reading of each reply token's residual stream in the model that wrote it,
push-free (nothing is steered), averaged over the reply; it is taken in one forward pass over
prompt + reply, which gives the same states as generation did (the model is causal). Both adapters
are saved in the user's data folder (lab.model.adapter), the result beside them (`cached_result`);
the model is left without an adapter.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch

from lab.common.atomic import write_text
from lab.common.errors import LabError
from lab.common.names import check_name, inside
from lab.common.paths import asset_path
from lab.common.progress import Progress, SilentProgress, check_cancelled
from lab.model.adapter import AdapterInfo, adapter_dir, remove_lora, save_adapter
from lab.model.hooks import residual_hooks
from lab.model.loader import LoadedModel
from lab.model.lora_training import train_lora
from lab.runtime.engine import Engine
from lab.common.events import SamplingSettings
from lab.runtime.generator import generate_rows
from lab.runtime.reading import text_reading
from lab.runtime.steering import SteeringState
from lab.scenarios.suppression_data import SuppressionSet, load_suppression_set
from lab.scenarios.suppression_verdict import CLAIM, Measures, SuppressionVerdict, decide

DEFAULT_STEPS = 24
DEFAULT_SEED = 0
REPLY_TOKENS = 40
SUPPRESS, CONTROL = "suppression", "control"


def adapter_name(kind: str, emotion: str) -> str:
    """'suppress-desperate' (the adapter the app switches on) or 'control-desperate'."""
    return f"{'suppress' if kind == SUPPRESS else 'control'}-{emotion}"


@dataclass(frozen=True)
class SuppressionResult:
    verdict: SuppressionVerdict
    adapters: list[AdapterInfo]  # suppression, control
    measures: dict[str, Measures]  # "base", "suppression", "control"
    held_out: list[str]
    seconds: float

    def summary(self) -> str:
        return f"{self.verdict.summary()} ({self.adapters[0].steps} training steps per adapter, {self.seconds:.0f} s)"

    def to_json(self) -> dict:
        return {
            "claim": CLAIM, **self.verdict.to_json(), "seconds": round(self.seconds, 1), "held_out": self.held_out,
            "adapters": [asdict(a) for a in self.adapters],
            "measures": {name: _json_measures(m) for name, m in self.measures.items()},
        }


def run_suppression(
    engine: Engine, emotion: str, steps: int = DEFAULT_STEPS, seed: int = DEFAULT_SEED,
    progress: Progress | None = None, reply_tokens: int = REPLY_TOKENS,
) -> SuppressionResult:
    """Train both adapters on the loaded model and measure before and after (module docstring)."""
    progress = progress or SilentProgress()
    if engine.backend != "local":
        raise LabError("Suppression training runs on the local engine. Leave out --engine nnsight.")
    if steps < 1 or reply_tokens < 1:
        raise LabError("Training needs at least 1 step and replies of at least 1 token (--steps, --max-tokens).")
    engine.directions.index(emotion)
    data = load_suppression_set(emotion)
    start = time.perf_counter()
    lm = engine.lm
    remove_lora(lm)
    writing: dict[str, tuple[list[str], list[float], list[list[float]]]] = {}
    adapters: list[AdapterInfo] = []
    try:
        progress.set_status("Measuring the model before training")
        writing["base"] = measure_writing(engine, data, reply_tokens, progress)
        for kind in (SUPPRESS, CONTROL):
            progress.set_status(f"Training the {kind} adapter ({steps} steps)")
            pairs = list(data.invite if kind == SUPPRESS else data.control)
            losses = train_lora(lm, pairs, steps, seed, progress)
            info = AdapterInfo(adapter_name(kind, emotion), emotion, kind, steps, seed, lm.identity, losses=losses)
            adapters.append(save_adapter(lm, info))
            progress.set_status(f"Measuring the model with the {kind} adapter")
            writing[kind] = measure_writing(engine, data, reply_tokens, progress)
            remove_lora(lm)
        progress.set_status("Re-reading every reply as an observer")
        measures = {name: _measures(engine, data, *values) for name, values in writing.items()}
    finally:
        remove_lora(lm)
    verdict = decide(emotion, measures["base"], measures[SUPPRESS], measures[CONTROL])
    result = SuppressionResult(verdict, adapters, measures, list(data.held_out), time.perf_counter() - start)
    save_result(lm, result)
    return result


def result_path(model_identity: str, emotion: str) -> Path:
    """The model's last suppression result for `emotion`, kept beside its adapters."""
    return inside(adapter_dir(model_identity), f"{check_name(emotion)}.result.json")


def save_result(lm: LoadedModel, result: SuppressionResult) -> None:
    """Keep the result (with date and precision) beside the adapters, for pages that show it without a rerun."""
    path = result_path(lm.identity, result.verdict.emotion)
    data = {**result.to_json(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "runtime": lm.runtime}
    write_text(path, json.dumps(data))


def shipped_result_path(model_identity: str, emotion: str) -> Path:
    """The result measured for a model the lab ships (the embedded one), kept in assets/lessons/."""
    return asset_path("lessons") / f"suppression-{model_identity[:24]}-{check_name(emotion)}.json"


def known_result(model_identity: str, emotion: str) -> dict | None:
    """The model's latest suppression result: measured on this computer, else the one shipped with the lab."""
    cached = cached_result(model_identity, emotion)
    if cached is not None:
        return cached
    try:
        data = json.loads(shipped_result_path(model_identity, emotion).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def result_sentence(data: dict) -> str:
    """One line for a saved result: the verdict, why, and when and how it was measured."""
    runtime = data.get("runtime") if isinstance(data.get("runtime"), dict) else {}
    return (f"{data.get('verdict', 'not measured')}. {data.get('reason', '')} (measured {str(data.get('date', '?'))[:10]} in "
            f"{runtime.get('dtype', '?')}, {len(data.get('held_out') or [])} held-out prompts; `lab suppress --json` for every number)")


def cached_result(model_identity: str, emotion: str) -> dict | None:
    """The last saved result for this model and emotion (save_result), or None if there is none that reads."""
    try:
        data = json.loads(result_path(model_identity, emotion).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def measure_writing(
    engine: Engine, data: SuppressionSet, reply_tokens: int, progress: Progress
) -> tuple[list[str], list[float], list[list[float]]]:
    """(replies, the reading while writing at the reading layer, the same per layer), one per held-out prompt."""
    lm, directions = engine.lm, engine.directions
    column = directions.index(data.emotion)
    prompts = [lm.chat_ids([{"role": "user", "content": p}]) for p in data.held_out]
    replies_ids = greedy_replies(engine, prompts, reply_tokens)
    replies, reading, per_layer = [], [], []
    for done, (prompt, reply) in enumerate(zip(prompts, replies_ids)):
        check_cancelled(progress)
        layers = writing_readings(engine, prompt, reply)[:, column].tolist()
        replies.append(lm.tokenizer.decode(reply, skip_special_tokens=True).strip())
        per_layer.append(layers)
        reading.append(layers[directions.reading_layer])
        progress.set_progress(done + 1, len(prompts))
    return replies, reading, per_layer


def greedy_replies(engine: Engine, prompts: list[list[int]], reply_tokens: int) -> list[list[int]]:
    """Each prompt's greedy reply (token ids, end of turn left out), all prompts as the rows of one batch."""
    steering = SteeringState(engine.directions, rows=len(prompts))
    replies: list[list[int]] = [[] for _ in prompts]
    for event in generate_rows(engine.lm, engine.directions, prompts, steering, SamplingSettings(max_new_tokens=reply_tokens)):
        if not event.is_prompt:
            replies[event.row].append(event.token_id)
    return replies


def writing_readings(engine: Engine, prompt: list[int], reply: list[int]) -> torch.Tensor:
    """[depth, n_emotions]: every layer's readings while writing `reply`, averaged over its tokens (NaN if empty)."""
    lm, directions = engine.lm, engine.directions
    if not reply:
        return torch.full((lm.depth, len(directions.emotions)), math.nan)
    captured: dict[int, torch.Tensor] = {}
    observe = lambda layer, hidden: captured.__setitem__(layer, hidden[0, len(prompt):].float().cpu())  # noqa: E731
    with torch.inference_mode(), residual_hooks(lm.layers, range(lm.depth), observe=observe):
        lm.model.base_model(input_ids=torch.tensor([prompt + reply], device=lm.device), use_cache=False)
    return torch.stack([directions.project(captured[layer], layer).mean(0) for layer in range(lm.depth)])


def _measures(engine: Engine, data: SuppressionSet, replies: list[str], reading: list[float], per_layer: list[list[float]]) -> Measures:
    """Add the observer's side to what was read while writing: each reply re-read fresh, and its emotion words."""
    expression = [text_reading(engine.lm, engine.directions, r).readings[data.emotion] if r else math.nan for r in replies]
    return Measures(replies, expression, [data.word_rate(r) for r in replies], reading, per_layer)


def _json_measures(m: Measures) -> dict:
    rounded = lambda values: [round(v, 4) if math.isfinite(v) else None for v in values]  # noqa: E731
    return {"replies": m.replies, "expression": rounded(m.expression), "words": rounded(m.words),
            "representation": rounded(m.representation), "per_layer": [rounded(row) for row in m.per_layer]}
