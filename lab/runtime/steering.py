"""Steering: add strength x unit direction x typical residual norm at the steering layers.

Strength 0.1 adds 10% of that layer's typical residual norm, so units mean the same on every model.
Strengths live in a SteeringState that any thread may update between tokens; the hook reads it at
every forward step, so a slider moved mid-generation acts on the next token. Each batch row may
have its own strengths (batched sweeps). All-zero strengths leave the forward pass untouched.
"""
from __future__ import annotations

import math
import threading

import torch

from lab.emotions.direction_set import DirectionSet
from lab.common.errors import LabError


def parse_steer(items: list[str]) -> dict[str, float]:
    """'happy=0.1' items (CLI) -> {'happy': 0.1}."""
    strengths: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            strength = float(value)
            if not sep or not name.strip() or not math.isfinite(strength):  # nan/inf would fill the model with nan
                raise ValueError
            strengths[name.strip().lower()] = strength
        except ValueError:
            raise LabError(f"Cannot read steering '{item}'. Write it as EMOTION=STRENGTH, for example desperate=0.1.") from None
    return strengths


class SteeringState:
    """Live-editable strengths per batch row, read by the hooks at every forward step."""

    def __init__(self, directions: DirectionSet, rows: int = 1, layers: tuple[int, ...] | None = None) -> None:
        self.directions = directions
        self.layers = tuple(layers if layers is not None else directions.steering_layers)
        self._lock = threading.Lock()
        self._matrix = torch.zeros(rows, len(directions.emotions), dtype=torch.float64)  # exact as typed
        self._version = 0

    @property
    def rows(self) -> int:
        return self._matrix.shape[0]

    @property
    def version(self) -> int:
        """Increases whenever strengths change (lets the generator record steering events)."""
        return self._version

    def set(self, emotion: str, strength: float, row: int | None = None) -> None:
        """Set one emotion's strength for one row (or every row)."""
        column = self.directions.index(emotion)
        with self._lock:
            matrix = self._matrix.clone()
            if row is None:
                matrix[:, column] = float(strength)
            else:
                matrix[row, column] = float(strength)
            self._matrix, self._version = matrix, self._version + 1

    def set_all(self, strengths: dict[str, float], row: int | None = None) -> None:
        """Replace a row's (or every row's) strengths with `strengths`; unnamed emotions go to 0."""
        columns = {self.directions.index(name): value for name, value in strengths.items()}
        with self._lock:
            matrix = self._matrix.clone()
            target = slice(None) if row is None else slice(row, row + 1)
            matrix[target] = 0.0
            for column, value in columns.items():
                matrix[target, column] = float(value)
            self._matrix, self._version = matrix, self._version + 1

    def strengths(self, row: int = 0) -> dict[str, float]:
        """The non-zero strengths of one row."""
        values = self._matrix[row]
        return {name: float(values[i]) for i, name in enumerate(self.directions.emotions) if values[i] != 0}

    def snapshot(self) -> torch.Tensor:
        return self._matrix


class Steerer:
    """The edit function for residual_hooks: adds each row's steering at the steering layers."""

    def __init__(self, state: SteeringState) -> None:
        self.state = state
        self.layers = set(state.layers)
        self._basis = {layer: state.directions.steering_basis(layer) for layer in self.layers}
        self._version = -1
        self._active = False
        self._additions: dict[int, torch.Tensor] = {}
        self.matrix_in_force = state.snapshot()
        self.push_version = 0  # increases whenever the additions change

    def push_up_to(self, layer: int) -> torch.Tensor | None:
        """[rows, width]: the sum of what the hooks add at the steering layers up to and including
        `layer` (the residual stream carries every addition forward); None when nothing is added."""
        if not self._active:
            return None
        added = [addition for steered, addition in self._additions.items() if steered <= layer]
        return torch.stack(added).sum(0) if added else None

    def begin_step(self) -> torch.Tensor:
        """Freeze the strengths for one forward pass; returns them."""
        version = self.state.version
        if version != self._version:
            self.matrix_in_force = self.state.snapshot()
            self._version = version
            self._active = bool(self.matrix_in_force.any())
            self._additions = {layer: self.matrix_in_force.float() @ basis for layer, basis in self._basis.items()}
            self.push_version += 1
        return self.matrix_in_force

    def additions(self) -> dict[int, torch.Tensor]:
        """{layer: [rows, width]} what begin_step's strengths add at each steering layer; {} when nothing is added."""
        return dict(self._additions) if self._active else {}

    def __call__(self, layer: int, hidden: torch.Tensor) -> torch.Tensor:
        if not self._active or layer not in self.layers:
            return hidden
        addition = self._additions[layer].to(device=hidden.device, dtype=hidden.dtype)
        return hidden + addition[:, None, :]
