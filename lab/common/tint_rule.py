"""Which tokens get a tint, and by how much: one rule for the app's transcript and the HTML report.

A single token's reading is noisy: tinting every reading put a third of the orange on words of the
opposite valence ("sorrowful" orange for happy), this rule about 3 in 100 (emotion words in carrier
sentences on the embedded model, lab.diagnostics.token_readings). So a token is tinted for an
emotion only when that emotion's reading stands clearly out: at least CLEAR_Z above neutral and the
highest of all the token's readings by at least CLEAR_MARGIN (orange); or at least CLEAR_Z below
neutral (blue). Every other token stays untinted; hovering it still shows all its readings.
"""
from __future__ import annotations

CLEAR_Z = 2.0  # how far from neutral a reading must be to be tinted at all
CLEAR_MARGIN = 1.0  # how far an orange reading must stand above the token's next-highest reading


def tint_reading(readings: dict[str, float], emotion: str) -> float | None:
    """The reading that `emotion`'s tint shows on a token: the reading itself where it stands clearly
    out, 0.0 (no tint) where it does not, None where the token has no reading for `emotion`."""
    value = readings.get(emotion)
    if value is None or value != value:  # missing or NaN
        return None
    if value <= -CLEAR_Z:
        return value
    others = [v for name, v in readings.items() if name != emotion and v == v]
    if value >= CLEAR_Z and value - max(others, default=float("-inf")) >= CLEAR_MARGIN:
        return value
    return 0.0
