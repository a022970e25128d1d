"""Colours: one stable colour and line style per emotion (lab.common.palette) and the token tint."""
from __future__ import annotations

from PySide6.QtGui import QColor

from lab.common.palette import emotion_color, emotion_dash

__all__ = ["emotion_color", "emotion_dash", "tint", "Z_LIMIT"]
Z_LIMIT = 3.0  # readings at or beyond +-3 (calibrated z-score) get the strongest tint
_ABOVE = (213, 94, 0)  # Okabe-Ito vermillion: above neutral
_BELOW = (0, 114, 178)  # Okabe-Ito blue: below neutral (a colour-blind-safe pair)


def tint(reading: float, strength: float = 0.75) -> QColor:
    """Background for a token: orange above neutral, blue below, transparent at 0."""
    r, g, b = _ABOVE if reading >= 0 else _BELOW
    alpha = min(abs(reading) / Z_LIMIT, 1.0) * strength
    return QColor(r, g, b, round(255 * alpha))
