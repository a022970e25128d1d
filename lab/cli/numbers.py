"""Types for the CLI's numeric options: argparse calls them on the text, so a seed too large for
the random generator, a NaN temperature or a negative top-p is a one-line usage error, not a crash
deep inside generation."""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable

MAX_SEED = 2**63 - 1  # torch.manual_seed takes any 64-bit value; numpy's generators take this range too


def whole(low: int, high: int, what: str) -> Callable[[str], int]:
    """A whole number in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10) if len(text) <= 40 else None
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"'{text[:40]}' is not {what}: give a whole number from {low} to {high}")
        return value

    return parse


def number(low: float, high: float, what: str, *, low_open: bool = False) -> Callable[[str], float]:
    """A finite number in [low, high] (or (low, high] with low_open)."""

    def parse(text: str) -> float:
        try:
            value = float(text) if len(text) <= 40 else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not (low < value if low_open else low <= value) or value > high:
            bound = f"more than {low:g} and at most {high:g}" if low_open else f"from {low:g} to {high:g}"
            raise argparse.ArgumentTypeError(f"'{text[:40]}' is not {what}: give a number {bound}")
        return value

    return parse


def numbers(low: float, high: float, what: str) -> Callable[[str], tuple[float, ...]]:
    """Comma-separated finite numbers in [low, high], at least one."""
    one = number(low, high, what)

    def parse(text: str) -> tuple[float, ...]:
        values = tuple(one(part) for part in text.split(",")[:1000] if part.strip())
        if not values:
            raise argparse.ArgumentTypeError(f"'{text[:40]}' holds no {what}: write numbers separated by commas, e.g. -0.06,0,0.06")
        return values

    return parse


seed = whole(0, MAX_SEED, "a seed")
temperature = number(0.0, 10.0, "a temperature")
top_p = number(0.0, 1.0, "a top-p", low_open=True)
tokens = whole(0, 100_000, "a number of tokens")
count = whole(1, 10_000, "a count")
strength = number(-1e6, 1e6, "a strength")


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line on stderr (with the command's name), like every other error."""

    def error(self, message: str):  # type: ignore[override]
        from lab.common.errors import write_line

        write_line(f"error: {self.prog}: {message}. See `{self.prog} --help`.")
        raise SystemExit(2)
