"""Quantiles of Student's t distribution with whole degrees of freedom, exact to rounding.

The utilisation fit needs one number from it: the 0.90 quantile at the fit's residual degrees
of freedom. The distribution has a closed form for whole degrees of freedom (Abramowitz and
Stegun 26.7.3 and 26.7.4); inverting it by bisection gives the quantile to the last bits of a
float without loading a statistics library, whose import alone costs every command about a
second.
"""

from __future__ import annotations

import math

_BISECTIONS = 200  # far more than a float needs; the loop stops once the bracket stops shrinking


def central_mass(theta: float, df: int) -> float:
    """P(|T| ≤ √df · tan θ) for T ~ t(df), with θ in [0, π/2]."""
    cos_sq = math.cos(theta) ** 2
    if df % 2:
        # odd: (2/π)(θ + sin θ (cos θ + 2/3 cos³ θ + … + (2·4…(df-3))/(1·3…(df-2)) cos^(df-2) θ))
        if df == 1:
            return 2 * theta / math.pi
        term = series = math.cos(theta)
        for k in range(2, df - 1, 2):
            term *= k / (k + 1) * cos_sq
            series += term
        return 2 / math.pi * (theta + math.sin(theta) * series)
    # even: sin θ (1 + 1/2 cos² θ + (1·3)/(2·4) cos⁴ θ + … + (1·3…(df-3))/(2·4…(df-2)) cos^(df-2) θ)
    term = series = 1.0
    for k in range(1, df - 2, 2):
        term *= k / (k + 1) * cos_sq
        series += term
    return math.sin(theta) * series


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (``df`` ≥ 1, whole)."""
    if not 0 < p < 1:
        raise ValueError(f"p must lie strictly between 0 and 1, got {p}")
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    if p == 0.5:
        return 0.0
    target = 2 * p - 1  # P(|T| ≤ t) at the p quantile, which is ≥ 0
    lo, hi = 0.0, math.pi / 2
    for _ in range(_BISECTIONS):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if central_mass(mid, df) < target:
            lo = mid
        else:
            hi = mid
    return math.sqrt(df) * math.tan((lo + hi) / 2)
