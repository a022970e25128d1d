"""Token-by-token generation with live steering and per-token readings from the same forward pass.

`generate` yields one TokenEvent per token and row: first the prompt tokens, then each new token
as soon as its forward pass has run (that pass gives both its readings and the next token's logits).
`generate` gives every row the same prompt; rows differ in steering, and every row samples from its
own generator seeded with the same seed, so a row's tokens do not depend on what else is in the
batch. `generate_rows` takes one prompt per row (diverged multi-turn sweeps): prompts are
left-padded into one batch, positions count from each row's own first token, and each row may have
its own seed. Steering comes from `steering.directions`, which may hold more directions than the
`directions` read (a random control direction, for example). A row stops at an end-of-turn token.
Setting `stop` (a threading.Event) ends generation before the next token.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator

import torch
from transformers import DynamicCache

from lab.emotions.direction_set import DirectionSet
from lab.common.errors import LabError
from lab.common.events import SamplingSettings, TokenEvent
from lab.model.hooks import residual_hooks
from lab.model.loader import LoadedModel
from lab.runtime.reading import ReadingTap, readings_dict
from lab.runtime.sampler import pick_tokens
from lab.runtime.steering import Steerer, SteeringState


class Decoder:
    """Turns one row's growing token list into text pieces without splitting multi-byte characters."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.text = ""

    def push(self, token_id: int) -> str:
        self.ids.append(token_id)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=False)
        if text.endswith("\ufffd"):
            return ""
        piece, self.text = text[len(self.text) :], text
        return piece


def generate(
    lm: LoadedModel,
    directions: DirectionSet,
    prompt_ids: list[int],
    steering: SteeringState,
    settings: SamplingSettings = SamplingSettings(),
    stop: threading.Event | None = None,
) -> Iterator[TokenEvent]:
    """Yield TokenEvents for the prompt, then for each generated token of every row (one shared prompt)."""
    return generate_rows(lm, directions, shared_prompt(prompt_ids, steering.rows), steering, settings, stop=stop)


def shared_prompt(prompt_ids: list[int], rows: int) -> list[list[int]]:
    """The same prompt for every row; an empty prompt is refused."""
    if not prompt_ids:
        raise LabError("The prompt is empty. Type something for the model to answer.")
    return [prompt_ids] * rows


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
    check_batch(lm, directions, prompts, steering)
    stop = stop or threading.Event()
    generators = row_generators(settings, seeds, rows)
    steerer = Steerer(steering)
    tap = ReadingTap(directions, steerer)
    cache = DynamicCache()
    stop_ids = torch.tensor(lm.stop_token_ids, device=lm.device)
    done = torch.zeros(rows, dtype=torch.bool, device=lm.device)
    decoders = [Decoder(lm.tokenizer) for _ in range(rows)]
    ids, mask = left_padded(lm, prompts)
    width = ids.shape[1]
    padded = any(len(p) != width for p in prompts)
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
        yield from prompt_events(lm, directions, prompts, tap, steering.directions, matrix)
        last = positions[:, -1:]
        for step in range(settings.max_new_tokens):
            if stop.is_set():
                return
            next_ids = pick_tokens(logits, settings.temperature, settings.top_p, generators)
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
                yield token_event(directions, tap, steering.directions, matrix, row, len(prompt) + step, int(next_ids[row]), decoders[row])


def check_batch(lm: LoadedModel, directions: DirectionSet, prompts: list[list[int]], steering: SteeringState) -> None:
    """Refuse a batch whose rows lack a prompt or a steering row, or directions made for another model."""
    if len(prompts) != steering.rows or not all(prompts):
        raise LabError("Every batch row needs a non-empty prompt and its own steering row.")
    if directions.model_identity != lm.identity or steering.directions.model_identity != lm.identity:
        raise LabError("These emotion directions were made for a different model. Extract them for the loaded model first.")


def row_generators(settings: SamplingSettings, seeds: list[int] | None, rows: int) -> list[torch.Generator] | None:
    """One sampling generator per row (None when greedy), seeded from `seeds` or settings.seed."""
    if settings.temperature <= 0:
        return None
    fallback = settings.seed if settings.seed is not None else int(torch.seed() % (2**31))
    return [torch.Generator().manual_seed(s if s is not None else fallback) for s in (seeds or [None] * rows)]


def left_padded(lm: LoadedModel, prompts: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, attention mask) [rows, longest prompt]: every prompt left-padded to the longest one."""
    width = max(len(p) for p in prompts)
    pad_id = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else lm.stop_token_ids[0]
    ids = torch.tensor([[pad_id] * (width - len(p)) + p for p in prompts], device=lm.input_device)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=lm.input_device)
    return ids, mask


def prompt_events(
    lm: LoadedModel, directions: DirectionSet, prompts: list[list[int]], tap: ReadingTap, steered: DirectionSet, matrix: torch.Tensor
) -> Iterator[TokenEvent]:
    """Every row's prompt tokens, read from the tap after the prompt's forward pass (position 0, the sink, reads 0)."""
    assert tap.last is not None
    width = tap.last.shape[1]
    for row, prompt in enumerate(prompts):
        offset = width - len(prompt)
        strengths = _row_strengths(steered, matrix[row])
        for position, token_id in enumerate(prompt):
            values = tap.last[row, offset + position] if position else torch.zeros(len(directions.emotions))
            piece = lm.tokenizer.decode([token_id], skip_special_tokens=False)
            yield TokenEvent(row, position, token_id, piece, True, readings_dict(directions, values), strengths, _row_push(directions, tap, row))


def token_event(
    directions: DirectionSet, tap: ReadingTap, steered: DirectionSet, matrix: torch.Tensor, row: int, position: int, token_id: int, decoder: Decoder
) -> TokenEvent:
    """One generated token of `row`, read from the tap after the forward pass that took it in."""
    assert tap.last is not None
    return TokenEvent(
        row, position, token_id, decoder.push(token_id), False,
        readings_dict(directions, tap.last[row, -1]), _row_strengths(steered, matrix[row]), _row_push(directions, tap, row),
    )


def _row_push(directions: DirectionSet, tap: ReadingTap, row: int) -> dict[str, float]:
    """What the steering added to this row's readings (empty when nothing is steered)."""
    return {} if tap.last_push is None else readings_dict(directions, tap.last_push[row])


def _row_strengths(directions: DirectionSet, values: torch.Tensor) -> dict[str, float]:
    return {name: float(v) for name, v in zip(directions.emotions, values.tolist()) if v != 0}
