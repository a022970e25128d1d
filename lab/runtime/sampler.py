"""Picking the next token from logits, on torch alone: it also runs inside an NDIF trace, shipped by value
(the server has no lab installed), so it names nothing else of the lab."""
from __future__ import annotations

import torch


def pick_tokens(logits: torch.Tensor, temperature: float, top_p: float, generators: list[torch.Generator] | None) -> torch.Tensor:
    """Next token per row: greedy at temperature 0, else temperature + nucleus (top-p) sampling."""
    if temperature <= 0 or generators is None:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        outside = sorted_probs.cumsum(-1) - sorted_probs > top_p
        sorted_probs[outside] = 0.0
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return torch.stack([torch.multinomial(probs[r].cpu(), 1, generator=g)[0] for r, g in enumerate(generators)]).to(logits.device)
