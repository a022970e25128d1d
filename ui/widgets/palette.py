"""The palette as Qt colours: lab.common.palette holds every colour and the tint rule, this only
converts its '#rrggbb' / '#rrggbbaa' strings to QColor."""
from __future__ import annotations

from PySide6.QtGui import QColor

from lab.common import palette


def qcolor(colour: str) -> QColor:
    """QColor of '#rrggbb' or '#rrggbbaa' (CSS order: alpha last, unlike Qt's '#aarrggbb')."""
    alpha = int(colour[7:9], 16) if len(colour) == 9 else 255
    return QColor(int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16), alpha)


def tint(reading: float, strength: float = 0.75, dark: bool = False) -> QColor:
    """The token tint of lab.common.palette.tint as a QColor."""
    return qcolor(palette.tint(reading, strength, dark))
