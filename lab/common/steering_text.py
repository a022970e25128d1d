"""Steering strengths as every report, title and table shows them: 'happy +0.04, calm -0.025'."""
from __future__ import annotations

from collections.abc import Mapping


def strength_text(value: float) -> str:
    """'+0.04', '-0.025', '+0': a strength with its sign."""
    return f"{value:+g}"


def steering_text(strengths: Mapping[str, float], empty: str = "") -> str:
    """'happy +0.04, calm -0.025' in the mapping's order; `empty` when nothing is steered."""
    return ", ".join(f"{name} {strength_text(value)}" for name, value in strengths.items()) or empty
