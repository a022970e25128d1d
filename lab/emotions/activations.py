"""Residual-stream activations of many texts, gathered in one batched pass per batch.

Every text gets the model's fixed sink token in front (position 0), and the sink is left out of
every mean: its residual norm dwarfs the rest and would swamp the statistics. Texts are sorted by
token length and batched up to TOKENS_PER_BATCH (padded) tokens, so short texts share big batches
and little is padding. Batches are read by an ActivationReader (lab.emotions.token_sums): local
hooks here, which stop the forward pass at the deepest layer read (no final norm, no LM head), or
an nnsight trace (lab.runtime.nnsight_reader), which returns only the sums this module combines.
Caches are kept per model and precision: a bfloat16 reading is never mixed with a float32 one.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from lab.common.atomic import write_bytes
from lab.common.paths import cache_dir
from lab.common.progress import Progress, SilentProgress, check_cancelled
from lab.emotions.token_sums import ActivationReader, Batch, BatchSums, LayerSums, text_mean, token_sums
from lab.model.hooks import residual_hooks
from lab.model.loader import LoadedModel

TOKENS_PER_BATCH = 2048  # padded tokens per forward pass
MAX_ROWS = 64


class _Deepest(Exception):
    """Raised by the deepest layer's hook: nothing after it is needed."""


@dataclass
class NeutralStats:
    """Per-layer token statistics of neutral texts: mean, covariance and typical norm."""

    mean: torch.Tensor  # [depth, width]
    covariance: torch.Tensor  # [depth, width, width], float64
    norm: torch.Tensor  # [depth] mean residual-stream norm per token


def text_means(
    lm: LoadedModel, texts: list[str], progress: Progress | None = None, neutral: bool = False, reader: ActivationReader | None = None,
) -> tuple[torch.Tensor, NeutralStats | None]:
    """Mean activation over each text's tokens at every layer: [n_texts, depth, width].

    With neutral=True also returns token-level statistics (for calibration and neutral PCA).
    `reader` runs the model on each batch (default: local hooks; the nnsight engine brings its own).
    """
    progress = progress or SilentProgress()
    reader = reader or local_reader(lm)
    depth, width = lm.depth, lm.width
    encoded = [lm.text_ids(text) for text in texts]
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
    means = torch.zeros(len(texts), depth, width)
    token_sum = torch.zeros(depth, width, dtype=torch.float64)
    token_outer = torch.zeros(depth, width, width, dtype=torch.float64)
    norm_sum = torch.zeros(depth, dtype=torch.float64)
    token_count = 0
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    done = 0
    for rows in length_batches([len(encoded[i]) for i in order], order):
        check_cancelled(progress)
        sums = reader(padded_batch([encoded[i] for i in rows], pad), neutral)
        means[rows] = sums.means
        if neutral:
            token_sum += sums.token_sum
            norm_sum += sums.norm_sum
            token_outer += sums.outer_sum()
            token_count += sums.count
        done += len(rows)
        progress.set_progress(done, len(order))
    if not neutral:
        return means, None
    mean = token_sum / token_count
    covariance = token_outer / token_count - mean.unsqueeze(-1) * mean.unsqueeze(-2)
    return means, NeutralStats(mean=mean.float(), covariance=covariance, norm=(norm_sum / token_count).float())


def length_batches(lengths: list[int], order: list[int]) -> list[list[int]]:
    """`order` (sorted by ascending `lengths`) cut into batches of at most TOKENS_PER_BATCH padded
    tokens and MAX_ROWS rows."""
    batches: list[list[int]] = []
    for index, length in zip(order, lengths, strict=True):
        if batches and len(batches[-1]) < MAX_ROWS and (len(batches[-1]) + 1) * length <= TOKENS_PER_BATCH:
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches


def padded_batch(encoded: list[list[int]], pad: int) -> Batch:
    """Right-padded ids and attention for token lists, and the content mask (no sink, no padding)."""
    length = max(len(ids) for ids in encoded)
    ids = torch.full((len(encoded), length), pad, dtype=torch.long)
    attention = torch.zeros((len(encoded), length), dtype=torch.long)
    for row, tokens in enumerate(encoded):
        ids[row, : len(tokens)] = torch.tensor(tokens)
        attention[row, : len(tokens)] = 1
    content = attention.bool().clone()
    content[:, 0] = False  # the sink
    return Batch(ids=ids, attention=attention, content=content)


def local_reader(lm: LoadedModel) -> ActivationReader:
    """Read batches on the loaded model with forward hooks on every layer (one pass per batch, on the
    model's device, stopped after the last decoder layer)."""

    def read(batch: Batch, neutral: bool) -> BatchSums:
        means = torch.zeros(len(batch.ids), lm.depth, lm.width)
        per_layer: list[LayerSums] = []
        content = batch.content.to(lm.device)

        def observe(layer: int, hidden: torch.Tensor) -> None:
            means[:, layer] = text_mean(hidden, content).cpu()
            if neutral:
                per_layer.append(token_sums(hidden[content].cpu()))
            if layer == lm.depth - 1:
                raise _Deepest

        with torch.inference_mode(), residual_hooks(lm.layers, range(lm.depth), observe=observe):
            try:
                lm.model.base_model(input_ids=batch.ids.to(lm.device), attention_mask=batch.attention.to(lm.device), use_cache=False)
            except _Deepest:
                pass
        return BatchSums.collect(means, per_layer, int(batch.content.sum()))

    return read


def cache_stem(lm: LoadedModel) -> str:
    """What names a model's cached readings: its identity and the precision it ran in."""
    return f"{lm.identity[:24]}-{lm.runtime['dtype']}"


class TextMeanCache:
    """Per-text activation means of one model, kept on disk (float16) keyed by a hash of the text.

    Extraction reads only the texts the cache lacks, so a user-made emotion reads just its own
    examples and the built-in texts are read once per model."""

    def __init__(self, lm: LoadedModel, folder: Path | None = None, reader: ActivationReader | None = None) -> None:
        self.lm = lm
        self.reader = reader  # None: local hooks (see text_means)
        self.path = (folder or cache_dir() / "text-means") / f"{cache_stem(lm)}.safetensors"
        self._means: dict[str, torch.Tensor] | None = None

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def _load(self) -> dict[str, torch.Tensor]:
        if self._means is None:
            try:
                self._means = dict(load_file(str(self.path))) if self.path.is_file() else {}
            except (OSError, SafetensorError, ValueError):
                self._means = {}  # a damaged cache is rebuilt as texts are read again
        return self._means

    def means(self, texts: list[str], progress: Progress | None = None) -> torch.Tensor:
        """[n_texts, depth, width] float32: cached means, reading only the missing texts."""
        stored = self._load()
        keys = [self.key(text) for text in texts]
        missing = list(dict.fromkeys(text for text, key in zip(texts, keys) if key not in stored))
        if missing:
            fresh, _ = text_means(self.lm, missing, progress, False, self.reader)
            stored.update({self.key(text): fresh[i].half() for i, text in enumerate(missing)})
            self._save(stored)
        if not texts:
            return torch.zeros(0, self.lm.depth, self.lm.width)
        return torch.stack([stored[key] for key in keys]).float()

    def _save(self, stored: dict[str, torch.Tensor]) -> None:
        write_bytes(self.path, save({key: value.contiguous() for key, value in stored.items()}))


def neutral_token_stats(
    lm: LoadedModel, texts: list[str], progress: Progress | None = None, folder: Path | None = None, reader: ActivationReader | None = None,
) -> NeutralStats:
    """Token-level statistics of neutral texts (calibration, neutral PCs), cached per model and texts."""
    digest = hashlib.sha256("\n\x00".join(texts).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    path = (folder or cache_dir() / "text-means") / f"{cache_stem(lm)}-neutral-{digest}.safetensors"
    if path.is_file():
        try:
            stored = load_file(str(path))
            return NeutralStats(mean=stored["mean"], covariance=stored["covariance"].double(), norm=stored["norm"])
        except (OSError, SafetensorError, ValueError, KeyError):
            path.unlink(missing_ok=True)
    _, fresh = text_means(lm, texts, progress, True, reader)
    assert fresh is not None
    stats = NeutralStats(mean=fresh.mean, covariance=fresh.covariance.float().double(), norm=fresh.norm)  # as stored
    write_bytes(path, save({"mean": stats.mean.contiguous(), "covariance": stats.covariance.float().contiguous(), "norm": stats.norm.contiguous()}))
    return stats
