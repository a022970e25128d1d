"""Session titles that say how a session was steered: 'How was your day? — happy +0.04'."""
from __future__ import annotations

from collections.abc import Mapping

from lab.common.steering_text import strength_text

SEPARATOR = " — "
MAX_EMOTIONS = 3  # named in a title; the rest are counted


class SteeredTitle:
    """A session's title followed by a summary of every steering strength seen in the session."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._seen: dict[str, set[float]] = {}  # emotion -> the non-zero strengths it was steered with
        self._began_unsteered = False  # an answer before any steering: the title says "unsteered, then ..."

    def note_unsteered(self) -> None:
        """An answer ran without steering; if nothing was steered before it, the title will say so."""
        if not self._seen:
            self._began_unsteered = True

    def add(self, strengths: Mapping[str, float]) -> bool:
        """Note the strengths of a steering change; True if that changed the title."""
        before = self.text()
        for name, value in strengths.items():
            if round(value, 3):
                self._seen.setdefault(name, set()).add(round(value, 3))
        return self.text() != before

    def summary(self) -> str:
        """'happy +0.04, calm -0.02 to +0.01, +1 more'; '' when nothing was steered."""
        ranked = sorted(self._seen.items(), key=lambda item: (-max(abs(v) for v in item[1]), item[0]))
        parts = []
        for name, values in ranked[:MAX_EMOTIONS]:
            low, high = min(values), max(values)
            parts.append(f"{name} {strength_text(low)}" if low == high else
                         f"{name} {strength_text(low)} to {strength_text(high)}")
        if len(ranked) > MAX_EMOTIONS:
            parts.append(f"+{len(ranked) - MAX_EMOTIONS} more")
        steered = ", ".join(parts)
        return f"unsteered, then {steered}" if steered and self._began_unsteered else steered

    def text(self) -> str:
        summary = self.summary()
        return f"{self.base}{SEPARATOR}{summary}" if summary else self.base
