"""Colours: one stable colour and line style per emotion (lab.common.palette) and the token tint."""
from __future__ import annotations

from PySide6.QtGui import QColor

from lab.common.palette import contrast_ratio, emotion_color, emotion_dash

__all__ = ["emotion_color", "emotion_dash", "tint", "Z_LIMIT"]
Z_LIMIT = 3.0  # readings at or beyond +-3 (calibrated z-score) get the strongest tint
_ABOVE = (213, 94, 0)  # Okabe-Ito vermillion: above neutral
_BELOW = (0, 114, 178)  # Okabe-Ito blue: below neutral (a colour-blind-safe pair)
_ABOVE_ON_DARK = (230, 159, 0)  # Okabe-Ito orange and sky blue: bright enough to show on black
_BELOW_ON_DARK = (86, 180, 233)
DARK_BACKGROUND = "#101010"  # the transcripts' background in presentation mode (ui.widgets.theme)


def tint(reading: float, strength: float = 0.75, dark: bool = False) -> QColor:
    """Background for a token: orange above neutral, blue below, transparent at 0. On a dark
    background (presentation mode) the brighter pair, so faint tints do not turn into brown or navy."""
    if dark:
        r, g, b = _ABOVE_ON_DARK if reading >= 0 else _BELOW_ON_DARK
    else:
        r, g, b = _ABOVE if reading >= 0 else _BELOW
    alpha = min(abs(reading) / Z_LIMIT, 1.0) * (0.9 if dark else strength)
    return QColor(r, g, b, round(255 * alpha))


def painted(colour: QColor, background: str) -> str:
    """'#rrggbb' of a translucent `colour` painted over `background`."""
    a = colour.alphaF()
    under = (int(background[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c * a + b * (1 - a)):02x}" for c, b in zip(colour.getRgb()[:3], under))


def text_on_dark_tint(colour: QColor) -> str:
    """Black or white text, whichever reads better on `colour` painted over the dark background."""
    shown = painted(colour, DARK_BACKGROUND)
    return "#000000" if contrast_ratio(shown, "#000000") > contrast_ratio(shown, "#ffffff") else "#ffffff"
