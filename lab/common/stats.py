"""95% intervals for sweep results (Wilson for rates, Student's t for means), and rates in plain words."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959964
TOO_FEW_RUNS = 5  # a rate from fewer runs than this is shown as "too few to tell"
# two-sided 95% quantiles of Student's t for 1..30 degrees of freedom
T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
       2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


@dataclass(frozen=True)
class Estimate:
    """A value with its 95% interval (NaN bounds where the data cannot give one)."""

    value: float
    low: float
    high: float
    n: int


def finite_number(value: float) -> float | None:
    """`value` rounded for JSON, or None where it is NaN or infinite (JSON has neither)."""
    return round(float(value), 4) if math.isfinite(value) else None


def estimate_json(e: Estimate) -> dict[str, float | int | None]:
    return {"value": finite_number(e.value), "low": finite_number(e.low), "high": finite_number(e.high), "n": e.n}


def estimate_text(e: Estimate) -> str:
    """'+0.25 [+0.08, +0.42]'; 'n/a' without a value, '[no interval]' without both bounds."""
    if not math.isfinite(e.value):
        return "n/a"
    interval = f" [{e.low:+.2f}, {e.high:+.2f}]" if math.isfinite(e.low) and math.isfinite(e.high) else " [no interval]"
    return f"{e.value:+.2f}{interval}"


def wilson(k: int, n: int) -> Estimate:
    """Rate k/n with its Wilson score interval."""
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), n)


def mean_interval(values: list[float]) -> Estimate:
    """Mean of the finite values with a t interval (bounds NaN under two values)."""
    values = [v for v in values if math.isfinite(v)]
    n = len(values)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = sum(values) / n
    if n < 2:
        return Estimate(mean, math.nan, math.nan, 1)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = (T95[n - 2] if n - 1 <= len(T95) else Z95) * sd / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n)


def mean_text(e: Estimate, spec: str = ".2f") -> str:
    """A mean with its 95% interval, '0.12 [0.05, 0.20]'; '–' without a value, no interval without one."""
    if not math.isfinite(e.value):
        return "–"
    if not math.isfinite(e.low):
        return format(e.value, spec)
    return f"{e.value:{spec}} [{e.low:{spec}}, {e.high:{spec}}]"


def rate_text(e: Estimate) -> str:
    """A rate as a count: '2 of 10 runs', or '0 of 3 runs (too few to tell)' under TOO_FEW_RUNS runs."""
    if e.n == 0:
        return "no runs"
    text = f"{round(e.value * e.n)} of {e.n} run{'s' if e.n != 1 else ''}"
    return f"{text} (too few to tell)" if e.n < TOO_FEW_RUNS else text


def rate_interval(e: Estimate) -> str:
    """The rate's 95% interval in words: 'likely 6% to 51%'."""
    return f"likely {e.low:.0%} to {e.high:.0%}" if e.n else "no runs yet"


def rate_sentence(e: Estimate) -> str:
    """The rate and its 95% interval as a sentence for a teacher."""
    if e.n == 0:
        return "No runs yet."
    fired = round(e.value * e.n)
    sentence = (f"Fired in {fired} of {e.n} run{'s' if e.n != 1 else ''} ({e.value:.0%}). Over many more runs "
                f"it would most likely settle between {e.low:.0%} and {e.high:.0%} (95% interval).")
    if e.n < TOO_FEW_RUNS:
        sentence += f" Too few runs to tell: use at least {TOO_FEW_RUNS} seeds per strength."
    return sentence


def t_quantile(p: float, df: int) -> float:
    """The p-quantile (0.5 < p < 1) of Student's t with df degrees of freedom, by bisection on its CDF."""
    low, high = 0.0, 1e4
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if _t_cdf(mid, df) < p else (low, mid)
    return (low + high) / 2


def mean_interval_at(values: list[float], confidence: float) -> Estimate:
    """Mean of the finite values with a t interval at `confidence` (e.g. 1 - 0.05/k for Bonferroni over k)."""
    values = [v for v in values if math.isfinite(v)]
    n = len(values)
    if n < 2:
        return Estimate(values[0] if values else math.nan, math.nan, math.nan, n)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(1 - (1 - confidence) / 2, n - 1) * sd / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n)


def _t_cdf(t: float, df: int) -> float:
    """P(T <= t) for t >= 0: 1 - I_x(df/2, 1/2) / 2 with x = df / (df + t^2)."""
    return 1 - 0.5 * _incomplete_beta(df / (df + t * t), df / 2, 0.5)


def _incomplete_beta(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta function I_x(a, b) (continued fraction, Lentz's method)."""
    if x <= 0 or x >= 1:
        return 0.0 if x <= 0 else 1.0
    if x > (a + 1) / (a + b + 2):
        return 1 - _incomplete_beta(1 - x, b, a)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x)) / a
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, 300):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1) < 1e-12:
            break
    return front * f


def ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 of `values`, ties sharing their mean rank."""
    values = np.asarray(values, dtype=float)
    order = values.argsort(kind="stable")
    result = np.empty(len(values))
    result[order] = np.arange(len(values), dtype=float)
    for v in np.unique(values):
        tied = values == v
        result[tied] = result[tied].mean()
    return result


def rank_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (mean ranks for ties); NaN when either side is constant."""
    rx, ry = ranks(x), ranks(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])
