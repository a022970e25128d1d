"""Residual-stream activations of many texts, gathered in one batched pass per batch.

Every text gets the model's fixed sink token in front (position 0), and the sink is left out of
every mean: its residual norm dwarfs the rest and would swamp the statistics.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from lab.common.paths import cache_dir
from lab.common.progress import Progress, SilentProgress, check_cancelled
from lab.model.hooks import residual_hooks
from lab.model.loader import LoadedModel

BATCH_SIZE = 16


@dataclass
class NeutralStats:
    """Per-layer token statistics of neutral texts: mean, covariance and typical norm."""

    mean: torch.Tensor  # [depth, width]
    covariance: torch.Tensor  # [depth, width, width], float64
    norm: torch.Tensor  # [depth] mean residual-stream norm per token


def text_means(lm: LoadedModel, texts: list[str], progress: Progress | None = None, neutral: bool = False) -> tuple[torch.Tensor, NeutralStats | None]:
    """Mean activation over each text's tokens at every layer: [n_texts, depth, width].

    With neutral=True also returns token-level statistics (for calibration and neutral PCA).
    """
    progress = progress or SilentProgress()
    depth, width = lm.depth, lm.width
    encoded = [lm.text_ids(text) for text in texts]
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
    means = torch.zeros(len(texts), depth, width)
    token_sum = torch.zeros(depth, width, dtype=torch.float64)
    token_outer = torch.zeros(depth, width, width, dtype=torch.float64)
    norm_sum = torch.zeros(depth, dtype=torch.float64)
    token_count = 0
    state: dict[str, object] = {}

    def observe(layer: int, hidden: torch.Tensor) -> None:
        mask = state["mask"]
        rows = state["rows"]
        hidden = hidden.float()
        weights = mask.unsqueeze(-1).float()
        means[rows, layer] = ((hidden * weights).sum(1) / weights.sum(1)).float().cpu()
        if neutral:
            tokens = hidden[mask].double().cpu()
            token_sum[layer] += tokens.sum(0)
            token_outer[layer] += tokens.T @ tokens
            norm_sum[layer] += tokens.norm(dim=-1).sum()

    backbone = lm.model.base_model
    with torch.inference_mode(), residual_hooks(lm.layers, range(depth), observe=observe):
        for start in range(0, len(order), BATCH_SIZE):
            check_cancelled(progress)
            rows = order[start : start + BATCH_SIZE]
            length = max(len(encoded[i]) for i in rows)
            pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
            ids = torch.full((len(rows), length), pad, dtype=torch.long)
            attention = torch.zeros((len(rows), length), dtype=torch.long)
            for r, i in enumerate(rows):
                ids[r, : len(encoded[i])] = torch.tensor(encoded[i])
                attention[r, : len(encoded[i])] = 1
            content = attention.bool().clone()
            content[:, 0] = False  # the sink
            state["mask"], state["rows"] = content.to(lm.device), torch.tensor(rows)
            token_count += int(content.sum())
            backbone(input_ids=ids.to(lm.device), attention_mask=attention.to(lm.device), use_cache=False)
            progress.set_progress(min(start + BATCH_SIZE, len(order)), len(order))
    if not neutral:
        return means, None
    mean = token_sum / token_count
    covariance = token_outer / token_count - mean.unsqueeze(-1) * mean.unsqueeze(-2)
    return means, NeutralStats(mean=mean.float(), covariance=covariance, norm=(norm_sum / token_count).float())


class TextMeanCache:
    """Per-text activation means of one model, kept on disk (float16) keyed by a hash of the text.

    Extraction reads only the texts the cache lacks, so a user-made emotion reads just its own
    examples and the built-in texts are read once per model."""

    def __init__(self, lm: LoadedModel, folder: Path | None = None) -> None:
        self.lm = lm
        self.path = (folder or cache_dir() / "text-means") / f"{lm.identity[:24]}.safetensors"
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
            fresh, _ = text_means(self.lm, missing, progress)
            stored.update({self.key(text): fresh[i].half() for i, text in enumerate(missing)})
            self._save(stored)
        if not texts:
            return torch.zeros(0, self.lm.depth, self.lm.width)
        return torch.stack([stored[key] for key in keys]).float()

    def _save(self, stored: dict[str, torch.Tensor]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        save_file({key: value.contiguous() for key, value in stored.items()}, str(partial))
        partial.replace(self.path)


def neutral_token_stats(lm: LoadedModel, texts: list[str], progress: Progress | None = None, folder: Path | None = None) -> NeutralStats:
    """Token-level statistics of neutral texts (calibration, neutral PCs), cached per model and texts."""
    digest = hashlib.sha256("\n\x00".join(texts).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    path = (folder or cache_dir() / "text-means") / f"{lm.identity[:24]}-neutral-{digest}.safetensors"
    if path.is_file():
        try:
            stored = load_file(str(path))
            return NeutralStats(mean=stored["mean"], covariance=stored["covariance"].double(), norm=stored["norm"])
        except (OSError, SafetensorError, ValueError, KeyError):
            path.unlink(missing_ok=True)
    _, fresh = text_means(lm, texts, progress, neutral=True)
    assert fresh is not None
    stats = NeutralStats(mean=fresh.mean, covariance=fresh.covariance.float().double(), norm=fresh.norm)  # as stored
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    save_file({"mean": stats.mean.contiguous(), "covariance": stats.covariance.float().contiguous(), "norm": stats.norm.contiguous()}, str(partial))
    partial.replace(path)
    return stats
