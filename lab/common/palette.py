"""One colour-blind-safe look per emotion and one token tint, for the app and the reports alike.

Qt-free and in lab.common because reports are made in lab/ (HTML, PNG); ui.palette only turns these
'#rrggbb' and '#rrggbbaa' strings into QColors, so the app and a report never differ.

Hues are Okabe & Ito's colour-blind-safe set; each is set to the one lightness at which it has at
least 4.5:1 contrast (WCAG AA for text) against both white and black, so the same colour serves
labels and lines on the light and on the presentation (black) theme. Beyond seven emotions the
hues repeat with another line style, so no two of 28 emotions look alike. Built-in emotions keep
their look in every direction set (the ones plotted by default come first).
"""
from __future__ import annotations

import colorsys

# Okabe & Ito (2008): orange, blue, reddish purple, bluish green, vermillion, yellow, grey (black
# left out; sky blue too: at equal lightness it cannot be told from blue).
OKABE_ITO = ("#E69F00", "#0072B2", "#CC79A7", "#009E73", "#D55E00", "#F0E442", "#999999")
BUILT_IN_ORDER = (
    "happy", "sad", "afraid", "calm", "angry", "loving", "desperate",
    "proud", "surprised", "guilty", "frustrated", "disgusted", "hopeful", "lonely",
    "grateful", "jealous", "nostalgic", "bored", "curious", "relieved",
)
DASHES = ("-", "--", "-.", ":")  # matplotlib line styles, one per round of the hues
WHITE, BLACK = "#ffffff", "#000000"
TARGET_LUMINANCE = 0.179  # contrast (0.179 + 0.05) / 0.05 = 4.58 on black, 1.05 / 0.229 = 4.58 on white
Z_LIMIT = 3.0  # readings at or beyond +-3 (calibrated z-score) get the strongest tint
ABOVE, BELOW = "#d55e00", "#0072b2"  # Okabe-Ito vermillion and blue: above and below neutral
ABOVE_ON_DARK, BELOW_ON_DARK = "#e69f00", "#56b4e9"  # orange and sky blue: bright enough on black
DARK_BACKGROUND = "#101010"  # the transcripts' background in presentation mode


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of '#rrggbb'."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio of two '#rrggbb' colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _at_luminance(colour: str, target: float) -> str:
    """The same hue and saturation at the lightness whose luminance is closest to `target`."""
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    hue, _, saturation = colorsys.rgb_to_hls(r, g, b)
    best = colour
    for step in range(1001):
        rgb = colorsys.hls_to_rgb(hue, step / 1000, saturation)
        candidate = "#" + "".join(f"{round(c * 255):02x}" for c in rgb)
        if abs(relative_luminance(candidate) - target) < abs(relative_luminance(best) - target):
            best = candidate
    return best


EMOTION_COLOURS = tuple(_at_luminance(colour, TARGET_LUMINANCE) for colour in OKABE_ITO)


def emotion_slot(name: str, emotions: list[str] | tuple[str, ...]) -> int:
    """A built-in emotion's fixed place; other emotions follow in the order of `emotions`."""
    if name in BUILT_IN_ORDER:
        return BUILT_IN_ORDER.index(name)
    others = [e for e in emotions if e not in BUILT_IN_ORDER]
    return len(BUILT_IN_ORDER) + (others.index(name) if name in others else len(others))


def emotion_color(name: str, emotions: list[str] | tuple[str, ...]) -> str:
    """'#rrggbb' of emotion `name` among `emotions` (readable on white and on black)."""
    return EMOTION_COLOURS[emotion_slot(name, emotions) % len(EMOTION_COLOURS)]


def emotion_dash(name: str, emotions: list[str] | tuple[str, ...]) -> str:
    """The matplotlib line style of emotion `name` among `emotions` (solid for the first seven)."""
    return DASHES[(emotion_slot(name, emotions) // len(EMOTION_COLOURS)) % len(DASHES)]


def tint(reading: float, strength: float = 0.75, dark: bool = False) -> str:
    """'#rrggbbaa' background for a token: orange above neutral, blue below, transparent at 0. On a
    dark background (presentation mode) the brighter pair, so faint tints do not turn brown or navy."""
    if dark:
        colour = ABOVE_ON_DARK if reading >= 0 else BELOW_ON_DARK
    else:
        colour = ABOVE if reading >= 0 else BELOW
    alpha = min(abs(reading) / Z_LIMIT, 1.0) * (0.9 if dark else strength)
    return f"{colour}{round(255 * alpha):02x}"


def painted(colour: str, background: str) -> str:
    """'#rrggbb' of a translucent '#rrggbbaa' `colour` painted over the '#rrggbb' `background`."""
    a = int(colour[7:9], 16) / 255 if len(colour) == 9 else 1.0
    return "#" + "".join(
        f"{round(int(colour[i:i + 2], 16) * a + int(background[i:i + 2], 16) * (1 - a)):02x}" for i in (1, 3, 5)
    )


def text_on_dark_tint(colour: str) -> str:
    """Black or white text, whichever reads better on `colour` painted over the dark background."""
    shown = painted(colour, DARK_BACKGROUND)
    return BLACK if contrast_ratio(shown, BLACK) > contrast_ratio(shown, WHITE) else WHITE
