"""Did a row's steering change since its last token? The one answer for every recorder."""
from __future__ import annotations

from lab.common.events import SteeringChange, TokenEvent


class SteeringChanges:
    """Turns the strengths carried by a run's token events into SteeringChanges, one per change.

    A row's first token yields a change only when it is steered (unsteered is the default)."""

    def __init__(self, layers: tuple[int, ...]) -> None:
        self.layers = layers
        self._last: dict[int, dict[str, float]] = {}

    def change(self, event: TokenEvent) -> SteeringChange | None:
        """The change `event` brings for its row, or None when its strengths are as before."""
        previous = self._last.get(event.row)
        if previous == event.strengths:
            return None
        self._last[event.row] = dict(event.strengths)
        if previous is None and not event.strengths:
            return None
        return SteeringChange(event.position, dict(event.strengths), self.layers)
