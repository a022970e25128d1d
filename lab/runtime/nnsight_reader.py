"""Reading batches of texts for direction extraction through one nnsight trace per batch (local or NDIF).

Inside the trace every layer's residual is reduced to what extraction needs (lab.emotions.token_sums):
each text's mean over its content tokens ([rows, width] per layer) and, for neutral texts, the
token sums. Narrow models (width <= DENSE_WIDTH) send the sum of token outer products whole; wider
ones send a rank-SKETCH_RANK factor per batch and layer ([k, width] instead of [width, width],
e.g. 32 x 8192 instead of 8192 x 8192 for a 70B model), keeping the total variance exact.
"""
from __future__ import annotations

import functools

import torch

from lab.emotions import token_sums as sums_module
from lab.emotions.token_sums import Batch, BatchSums, LayerSums, text_mean, token_sums
from lab.model.families import LAYER_PATHS
from lab.runtime.ndif import remote_backend, remote_errors
from lab.runtime.nnsight_engine import NnsightRunner

DENSE_WIDTH = 1024
SKETCH_RANK = 32


class NnsightReader:
    """An ActivationReader (lab.emotions.token_sums) running the runner's model through nnsight traces."""

    def __init__(self, runner: NnsightRunner, rank: int | None = None) -> None:
        self.runner = runner
        self.rank = rank if rank is not None else (None if runner.lm.width <= DENSE_WIDTH else SKETCH_RANK)

    def __call__(self, batch: Batch, neutral: bool) -> BatchSums:
        from nnsight import save

        lm, model, rank = self.runner.lm, self.runner.wrapped, self.rank
        layers, depth = functools.reduce(getattr, LAYER_PATHS[lm.family], model), lm.depth  # the trace names no lab object
        backend = None
        if self.runner.remote is not None:
            from nnsight.ndif import register

            register(sums_module)  # the reductions run on the server: ship their code with the request
            backend = remote_backend(self.runner.remote, self.runner.report)
        with remote_errors(self.runner.remote), torch.inference_mode():
            with model.trace(batch.ids, attention_mask=batch.attention, use_cache=False, backend=backend):
                means, per_layer = save(list()), save(list())
                for layer in range(depth):
                    output = layers[layer].output
                    hidden = output[0] if isinstance(output, tuple) else output
                    content = batch.content.to(hidden.device)
                    means.append(text_mean(hidden, content).cpu())
                    if neutral:
                        per_layer.append(tuple(value.cpu() for value in token_sums(hidden[content], rank)))
        layer_sums: list[LayerSums] = list(per_layer)
        return BatchSums.collect(torch.stack(list(means), 1), layer_sums, int(batch.content.sum()), low_rank=rank is not None)
