"""The t quantile the utilisation fit uses, against SciPy's, which it replaced at start-up."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from suanli.estimate.student_t import central_mass, t_quantile


@pytest.mark.parametrize("df", [*range(1, 41), 57, 100, 333])
@pytest.mark.parametrize("p", [0.6, 0.75, 0.9, 0.95, 0.975, 0.99, 0.999])
def test_quantile_agrees_with_scipy(df: int, p: float) -> None:
    assert t_quantile(p, df) == pytest.approx(float(stats.t.ppf(p, df)), rel=1e-11)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.floats(min_value=0.001, max_value=0.999), st.integers(min_value=1, max_value=200))
def test_quantile_is_symmetric_and_inverts_the_cdf(p: float, df: int) -> None:
    t = t_quantile(p, df)
    assert t_quantile(1 - p, df) == pytest.approx(-t, rel=1e-9, abs=1e-12)
    assert float(stats.t.cdf(t, df)) == pytest.approx(p, rel=1e-9, abs=1e-12)


def test_median_and_the_cauchy_case() -> None:
    assert t_quantile(0.5, 7) == 0.0
    assert t_quantile(0.9, 1) == pytest.approx(math.tan(math.pi * 0.4), rel=1e-12)
    assert central_mass(math.pi / 2, 5) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(("p", "df"), [(0.0, 3), (1.0, 3), (0.9, 0)])
def test_out_of_range_is_refused(p: float, df: int) -> None:
    with pytest.raises(ValueError):
        t_quantile(p, df)
