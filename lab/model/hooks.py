"""Forward hooks on decoder-layer outputs (the residual stream), installed in a context manager.

One mechanism serves both steering (edit the hidden state) and reading (observe it), so reading
costs no extra forward pass. Hooks are always removed, even when the body raises.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

Edit = Callable[[int, torch.Tensor], torch.Tensor]
Observe = Callable[[int, torch.Tensor], None]


@contextmanager
def residual_hooks(
    layers: nn.ModuleList,
    layer_ids: Iterable[int],
    edit: Edit | None = None,
    observe: Observe | None = None,
) -> Iterator[None]:
    """On each layer in layer_ids: hidden = edit(layer, hidden), then observe(layer, hidden)."""

    def make_hook(layer: int):
        def hook(_module: nn.Module, _inputs: tuple, output):
            hidden = output[0] if isinstance(output, tuple) else output
            if edit is not None:
                hidden = edit(layer, hidden)
            if observe is not None:
                observe(layer, hidden)
            if isinstance(output, tuple):
                return (hidden, *output[1:])
            return hidden

        return hook

    handles = [layers[layer].register_forward_hook(make_hook(layer)) for layer in sorted(set(layer_ids))]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
