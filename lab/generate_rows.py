"""Generation for batch rows whose prompts differ (multi-turn sweeps, where each row's conversation
has diverged): prompts are left-padded into one batch so every row shares each forward pass.

Events are those of lab.generate.generate (positions count from each row's own first token), and
each row may have its own sampling seed. Steering comes from `steering.directions`, which may hold
more directions than the `directions` read (a random control direction, for example).
"""
from __future__ import annotations

import threading
from collections.abc import Iterator

import torch
from transformers import DynamicCache

from lab.directions import DirectionSet
from lab.errors import LabError
from lab.events import SamplingSettings, TokenEvent
from lab.generate import _Decoder, _row_strengths, _sample
from lab.hooks import residual_hooks
from lab.model import LoadedModel
from lab.reading import ReadingTap, readings_dict
from lab.steering import Steerer, SteeringState


def generate_rows(
    lm: LoadedModel,
    directions: DirectionSet,
    prompts: list[list[int]],
    steering: SteeringState,
    settings: SamplingSettings = SamplingSettings(),
    seeds: list[int] | None = None,
    stop: threading.Event | None = None,
) -> Iterator[TokenEvent]:
    """Yield each row's prompt events, then one event per generated token and row.

    seeds gives one sampling seed per row (default: settings.seed for every row)."""
    rows = len(prompts)
    if rows != steering.rows or not all(prompts):
        raise LabError("Every batch row needs a non-empty prompt and its own steering row.")
    if directions.model_identity != lm.identity or steering.directions.model_identity != lm.identity:
        raise LabError("These emotion directions were made for a different model. Extract them for the loaded model first.")
    stop = stop or threading.Event()
    generators = None
    if settings.temperature > 0:
        fallback = settings.seed if settings.seed is not None else int(torch.seed() % (2**31))
        generators = [torch.Generator().manual_seed(s if s is not None else fallback) for s in (seeds or [None] * rows)]
    steerer, tap = Steerer(steering), ReadingTap(directions)
    cache = DynamicCache()
    stop_ids = torch.tensor(lm.stop_token_ids, device=lm.device)
    done = torch.zeros(rows, dtype=torch.bool, device=lm.device)
    decoders = [_Decoder(lm.tokenizer) for _ in range(rows)]
    width = max(len(p) for p in prompts)
    padded = any(len(p) != width for p in prompts)
    pad_id = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else lm.stop_token_ids[0]
    ids = torch.tensor([[pad_id] * (width - len(p)) + p for p in prompts], device=lm.device)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=lm.device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)

    def forward(step_ids: torch.Tensor, step_positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        matrix = steerer.begin_step()
        output = lm.model(
            input_ids=step_ids, attention_mask=mask if padded else None, position_ids=step_positions,
            past_key_values=cache, use_cache=True, logits_to_keep=1,
        )
        return output.logits[:, -1], matrix

    hooked = set(steering.layers) | {directions.reading_layer}
    with torch.inference_mode(), residual_hooks(lm.layers, hooked, edit=steerer, observe=tap):
        logits, matrix = forward(ids, positions)
        assert tap.last is not None
        for row, prompt in enumerate(prompts):
            offset = width - len(prompt)
            strengths = _row_strengths(steering.directions, matrix[row])
            for position, token_id in enumerate(prompt):
                values = tap.last[row, offset + position] if position else torch.zeros(len(directions.emotions))
                piece = lm.tokenizer.decode([token_id], skip_special_tokens=False)
                yield TokenEvent(row, position, token_id, piece, True, readings_dict(directions, values), strengths)
        last = positions[:, -1:]
        for step in range(settings.max_new_tokens):
            if stop.is_set():
                return
            next_ids = _sample(logits, settings, generators)
            done |= torch.isin(next_ids, stop_ids)
            if bool(done.all()):
                return
            if padded:
                mask = torch.cat([mask, torch.ones(rows, 1, dtype=mask.dtype, device=lm.device)], dim=1)
            last = last + 1
            logits, matrix = forward(next_ids[:, None], last)
            for row, prompt in enumerate(prompts):
                if done[row]:
                    continue
                token_id = int(next_ids[row])
                yield TokenEvent(
                    row, len(prompt) + step, token_id, decoders[row].push(token_id), False,
                    readings_dict(directions, tap.last[row, -1]), _row_strengths(steering.directions, matrix[row]),
                )
