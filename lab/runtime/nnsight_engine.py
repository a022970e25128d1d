"""The nnsight engine: the same generation as lab.runtime.generator, run as one nnsight `generate` trace.

The whole reply is one trace, locally (`remote=None`) or on an NDIF server (lab.runtime.ndif): at
every decoding step (`tracer.all()`) the trace adds each row's steering at the steering layers,
keeps the reading layer's residual for the tokens the step took in, and picks the next token
(greedy, or the lab's own seeded sampler forced through the logits). Only those residuals and
token ids come back; readings, push-free corrections and events are made here with the lab's own
Steerer, ReadingTap and event helpers, so they equal the local engine's. Strengths are frozen when
the reply starts and the reply arrives whole (no streaming, no mid-reply slider changes).
"""
from __future__ import annotations

import copy
import functools
import threading
import warnings
from collections.abc import Callable, Iterator

import torch

from lab.emotions.direction_set import DirectionSet
from lab.model.families import LAYER_PATHS
from lab.model.loader import LoadedModel
from lab.common.events import SamplingSettings, TokenEvent
from lab.runtime import sampler as sampler_module
from lab.runtime.generator import Decoder, check_batch, left_padded, prompt_events, row_generators, token_event
from lab.runtime.ndif import RemoteTarget, remote_backend, remote_errors
from lab.runtime.reading import ReadingTap
from lab.runtime.steering import Steerer, SteeringState

UNREACHED_STEP = ".*was never reached"  # nnsight's note that the open tracer.all() loop outlived the reply


class NnsightRunner:
    """Runs replies of one model through nnsight traces (the model wrapped once, on first use)."""

    def __init__(self, lm: LoadedModel, remote: RemoteTarget | None = None, report: Callable[[str], None] | None = None) -> None:
        self.lm = lm
        self.remote = remote
        self.report = report  # where a remote job's state goes while the reply waits (lab.runtime.ndif.JobStatus)
        self._wrapped = None

    @property
    def wrapped(self):
        """The nnsight TransformersModel around the loaded model (its own tokenizer copy: nnsight re-pads it);
        a model built empty stays on the meta device, as nnsight's own `dispatch=False` build."""
        if self._wrapped is None:
            from nnsight.modeling.transformers import TransformersModel

            empty = {"device": "meta"} if self.lm.device.type == "meta" else {}
            self._wrapped = TransformersModel(self.lm.model, tokenizer=copy.deepcopy(self.lm.tokenizer), **empty)
        return self._wrapped

    def generate_rows(
        self,
        directions: DirectionSet,
        prompts: list[list[int]],
        steering: SteeringState,
        settings: SamplingSettings = SamplingSettings(),
        seeds: list[int] | None = None,
        stop: threading.Event | None = None,
    ) -> Iterator[TokenEvent]:
        """Like lab.runtime.generator.generate_rows, from one trace; `stop` is honoured before it starts."""
        lm = self.lm
        check_batch(lm, directions, prompts, steering)
        if stop is not None and stop.is_set():
            return
        steerer = Steerer(steering)
        matrix = steerer.begin_step()
        ids, mask = left_padded(lm, prompts)
        choices, hiddens = self._trace(ids, mask, steerer.additions(), directions.reading_layer, settings, row_generators(settings, seeds, len(prompts)))
        tap = ReadingTap(directions, steerer)
        tap(directions.reading_layer, hiddens[0])
        yield from prompt_events(lm, directions, prompts, tap, steering.directions, matrix)
        done = torch.zeros(len(prompts), dtype=torch.bool)
        decoders = [Decoder(lm.tokenizer) for _ in prompts]
        stop_ids = torch.tensor(lm.stop_token_ids)
        for step in range(min(settings.max_new_tokens, len(hiddens) - 1)):
            next_ids = choices[step].cpu()
            done |= torch.isin(next_ids, stop_ids)
            if bool(done.all()):
                return
            tap(directions.reading_layer, hiddens[step + 1])
            for row, prompt in enumerate(prompts):
                if not done[row]:
                    yield token_event(directions, tap, steering.directions, matrix, row, len(prompt) + step, int(next_ids[row]), decoders[row])

    def _trace(
        self, ids: torch.Tensor, mask: torch.Tensor, additions: dict[int, torch.Tensor], reading_layer: int,
        settings: SamplingSettings, generators: list[torch.Generator] | None,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """One generate trace: per step, the chosen next token [rows] and the reading layer's residual
        for the tokens the step took in ([rows, tokens, width])."""
        from nnsight import save
        from transformers import GenerationConfig

        lm, model = self.lm, self.wrapped
        layers = functools.reduce(getattr, LAYER_PATHS[lm.family], model)
        head = _envoy(model, lm.model.get_output_embeddings())
        adds = {layer: vector.to(lm.input_device, torch.float32)[:, None, :] for layer, vector in additions.items()}
        order = sorted(set(adds) | {reading_layer})  # an nnsight trace must visit layers in the order they run
        sampler = None
        if generators is not None:
            sampler = functools.partial(sampler_module.pick_tokens, temperature=settings.temperature, top_p=settings.top_p, generators=generators)
        pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else lm.stop_token_ids[0]
        config = GenerationConfig(  # max_new_tokens + 1: the last token is read by the pass that takes it in
            do_sample=False, max_new_tokens=settings.max_new_tokens + 1, eos_token_id=list(lm.stop_token_ids), pad_token_id=pad,
        )
        backend = None
        if self.remote is not None:
            from nnsight.ndif import register

            register(sampler_module)  # the sampler runs on the server: ship its code with the request
            backend = remote_backend(self.remote, self.report)
        with remote_errors(self.remote), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=UNREACHED_STEP, category=UserWarning)
            with model.generate(ids, attention_mask=mask, generation_config=config, backend=backend) as tracer:
                choices, hiddens = save(list()), save(list())
                for _step in tracer.all():
                    for layer in order:
                        output = layers[layer].output
                        hidden = output[0] if isinstance(output, tuple) else output
                        if layer in adds:
                            hidden = hidden + adds[layer].to(hidden.device, hidden.dtype)
                            layers[layer].output = (hidden, *output[1:]) if isinstance(output, tuple) else hidden
                        if layer == reading_layer:
                            hiddens.append(hidden.detach().float().cpu())
                    logits = head.output
                    if sampler is None:
                        choices.append(logits[:, -1].argmax(-1).cpu())
                    else:
                        choice = sampler(logits[:, -1])
                        forced = torch.full_like(logits, float("-inf"))
                        forced[:, -1].scatter_(-1, choice[:, None], 0.0)
                        head.output = forced
                        choices.append(choice.cpu())
        return choices, hiddens


def _envoy(model, module: torch.nn.Module):
    """The nnsight envoy of `module` inside the wrapped model."""
    name = next(name for name, candidate in model._module.named_modules() if candidate is module)
    return functools.reduce(getattr, name.split("."), model)
