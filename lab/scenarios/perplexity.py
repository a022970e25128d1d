"""How coherent a steered reply is to the unsteered model: its perplexity (the word measures,
repetition and distinct-2, are in lab.common.text_coherence)."""
from __future__ import annotations

import math

import torch

from lab.model.loader import LoadedModel


def reply_perplexities(lm: LoadedModel, prompts: list[list[int]], replies: list[list[int]]) -> list[float]:
    """Perplexity of each reply after its prompt, under the unsteered model, in one padded batch.
    NaN for an empty reply."""
    keep = [i for i, reply in enumerate(replies) if reply]
    result = [math.nan] * len(replies)
    if not keep:
        return result
    sequences = [prompts[i] + replies[i] for i in keep]
    width = max(map(len, sequences))
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else lm.stop_token_ids[0]
    ids = torch.tensor([[pad] * (width - len(s)) + s for s in sequences], device=lm.device)
    mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in sequences], device=lm.device)
    with torch.inference_mode():
        logits = lm.model(input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0), use_cache=False).logits
        log_probs = torch.log_softmax(logits[:, :-1].float(), dim=-1).gather(-1, ids[:, 1:, None])[..., 0]
    for row, i in enumerate(keep):
        n = len(replies[i])
        result[i] = math.exp(-float(log_probs[row, -n:].mean()))
    return result
