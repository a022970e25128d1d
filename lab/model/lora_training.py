"""Fine-tune a LoRA adapter on (prompt, reply) chat pairs: the loss counts the reply's tokens only.

Runs on whatever device the model is on (CPU included), reports each step through a Progress
and stops at the next step when cancelled (the half-trained adapter is removed).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from lab.common.errors import LabError
from lab.common.progress import Progress, SilentProgress, check_cancelled
from lab.model.adapter import add_lora, lora_parameters, remove_lora
from lab.model.loader import LoadedModel

IGNORE = -100  # label of a token the loss does not count
BATCH = 4
LEARNING_RATE = 2e-3


@dataclass(frozen=True)
class Pair:
    """A user prompt and the reply the model should learn to give."""

    prompt: str
    reply: str


def pair_ids(lm: LoadedModel, pair: Pair) -> tuple[list[int], list[int]]:
    """(prompt ids up to the opening of the model's turn, the reply's ids with its end of turn)."""
    user = [{"role": "user", "content": pair.prompt}]
    prompt = lm.chat_ids(user, add_generation_prompt=True)
    full = lm.chat_ids([*user, {"role": "assistant", "content": pair.reply}], add_generation_prompt=False)
    if full[: len(prompt)] != prompt or len(full) <= len(prompt):
        raise LabError("This model's chat template does not put the reply after the prompt, so it cannot be fine-tuned here.")
    return prompt, full[len(prompt):]


def batch_tensors(lm: LoadedModel, items: list[tuple[list[int], list[int]]]) -> dict[str, torch.Tensor]:
    """Right-padded input ids, attention mask and labels (prompt and padding ignored by the loss)."""
    width = max(len(p) + len(r) for p, r in items)
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else lm.stop_token_ids[0]
    ids, mask, labels = [], [], []
    for prompt, reply in items:
        fill = width - len(prompt) - len(reply)
        ids.append(prompt + reply + [pad] * fill)
        mask.append([1] * (len(prompt) + len(reply)) + [0] * fill)
        labels.append([IGNORE] * len(prompt) + reply + [IGNORE] * fill)
    as_tensor = lambda rows: torch.tensor(rows, device=lm.device)  # noqa: E731
    return {"input_ids": as_tensor(ids), "attention_mask": as_tensor(mask), "labels": as_tensor(labels)}


def train_lora(
    lm: LoadedModel, pairs: list[Pair], steps: int, seed: int, progress: Progress | None = None,
    batch: int = BATCH, learning_rate: float = LEARNING_RATE,
) -> list[float]:
    """Inject a fresh adapter (seeded) and train it for `steps` steps of `batch` pairs, cycling
    through the pairs in a seeded order; returns the loss of every step. The adapter stays injected."""
    if steps < 1 or not pairs:
        raise LabError("Training needs at least one step and one training pair.")
    progress = progress or SilentProgress()
    torch.manual_seed(seed)
    add_lora(lm)
    encoded = [pair_ids(lm, pair) for pair in pairs]
    order = _cycle(len(encoded), steps * batch, seed)
    optimizer = torch.optim.AdamW(lora_parameters(lm), lr=learning_rate, weight_decay=0.0)
    losses: list[float] = []
    try:
        for step in range(steps):
            check_cancelled(progress)
            chosen = [encoded[i] for i in order[step * batch:(step + 1) * batch]]
            with torch.enable_grad():
                loss = lm.model(**batch_tensors(lm, chosen), use_cache=False).loss
                loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(round(float(loss.detach()), 5))
            progress.set_progress(step + 1, steps)
    except BaseException:
        remove_lora(lm)
        raise
    return losses


def _cycle(count: int, length: int, seed: int) -> list[int]:
    """`length` indices into `count` items: shuffled passes, each item once per pass."""
    rng = random.Random(seed)
    order: list[int] = []
    while len(order) < length:
        epoch = list(range(count))
        rng.shuffle(epoch)
        order.extend(epoch)
    return order[:length]
