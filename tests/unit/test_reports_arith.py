"""The reports' arithmetic: shares, trends and projections, Jain's index, run-out dates, energy,
and the builders on small hand-made facts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.reports.arith import (
    energy_kwh,
    jain_index,
    linear_trend,
    percentile,
    project_share,
    runs_out_on,
    share,
)
from suanli.reports.burn import burn_report
from suanli.reports.domestic import domestic_share_report
from suanli.reports.facts import AwardFact, BudgetFact, OfferFact, RunFact, Source, Target
from suanli.reports.usage import fairness_report

SEEDED = settings(derandomize=True, max_examples=200, deadline=None)
amounts = st.floats(min_value=0, max_value=1e9, allow_nan=False)


@SEEDED
@given(part=amounts, whole=amounts)
def test_share_is_in_unit_interval(part: float, whole: float) -> None:
    value = share(min(part, whole), whole)
    assert value is None if whole == 0 else 0.0 <= value <= 1.0


@SEEDED
@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=50))
def test_jain_index_between_one_over_n_and_one(values: list[float]) -> None:
    index = jain_index(values)
    if sum(v * v for v in values) == 0:
        assert index is None
    else:
        assert index is not None and 1 / len(values) - 1e-9 <= index <= 1.0 + 1e-9


def test_jain_index_extremes() -> None:
    assert jain_index([5.0, 5.0, 5.0, 5.0]) == pytest.approx(1.0)
    assert jain_index([8.0, 0.0, 0.0, 0.0]) == pytest.approx(0.25)
    assert jain_index([]) is None


@SEEDED
@given(
    shares=st.lists(st.floats(min_value=0, max_value=1), min_size=2, max_size=24),
    later=st.integers(min_value=0, max_value=60),
)
def test_projection_stays_in_unit_interval_and_follows_the_slope(
    shares: list[float], later: int
) -> None:
    points = [(float(i), s) for i, s in enumerate(shares)]
    fit = linear_trend(points)
    assert fit is not None
    at = float(len(shares) - 1)
    now, after = project_share(points, at), project_share(points, at + later)
    assert now is not None and after is not None
    assert 0.0 <= after <= 1.0
    # Monotonic in the target date: a rising trend never projects less further out.
    if fit[0] >= 0:
        assert after >= now - 1e-9
    else:
        assert after <= now + 1e-9


def test_single_month_projects_itself() -> None:
    assert linear_trend([(1.0, 0.4)]) is None
    assert project_share([(1.0, 0.4)], 30.0) == 0.4
    assert project_share([], 3.0) is None
    assert project_share([(0.0, 0.5), (1.0, 0.6)], 3.0) == pytest.approx(0.8)


@SEEDED
@given(
    remaining=st.integers(min_value=1, max_value=10**12), rate=st.floats(min_value=1, max_value=1e9)
)
def test_runs_out_later_with_more_left(remaining: int, rate: float) -> None:
    today = date(2026, 1, 1)
    first, more = runs_out_on(remaining, rate, today), runs_out_on(remaining * 2, rate, today)
    if first is not None and more is not None:
        assert today < first <= more


def test_runs_out_edges() -> None:
    today = date(2026, 3, 1)
    assert runs_out_on(0, 10.0, today) == today
    assert runs_out_on(100, 0.0, today) is None
    assert runs_out_on(100, 10.0, today) == today + timedelta(days=10)


def test_energy_and_percentile() -> None:
    # 700 W for one chip-hour at PUE 1.3: 0.91 kWh.
    assert energy_kwh(700.0, 3600.0, 1.3) == pytest.approx(0.91)
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    assert percentile([], 0.9) is None


T0 = datetime(2026, 1, 10, tzinfo=UTC)


def _run(
    run_id: str, acc: str, month: int, acc_s: float, *, startup: bool = True, tenant: str = "t1"
) -> RunFact:
    at = T0.replace(month=month)
    return RunFact(
        run_id, tenant, startup, "p1", "s1", "Beijing", 1.2, "o1", None, acc, 2, "prog", "CNY",
        100, 30, acc_s, acc_s / 2, at, at + timedelta(seconds=60), at + timedelta(hours=1),
    )  # fmt: skip


def test_domestic_share_rows_and_trend_to_target() -> None:
    runs = [_run("a", "dom", 1, 3600), _run("b", "for", 1, 3600), _run("c", "dom", 2, 7200)]
    offer = OfferFact(
        "o1", "s1", "p1", "Beijing", "dom", 4, T0.replace(day=1), T0.replace(month=12), None
    )
    source = Source("https://example.org/target", "a report", date(2025, 8, 21))
    target = Target("bj", "Beijing", 0.7, date(2027, 12, 31), "accelerator_hours", "all", source)
    report = domestic_share_report(
        runs, [offer], {"dom": True, "for": False}, ["2026-01", "2026-02"], [target]
    )
    rows = {r.month: r for r in report.rows}  # type: ignore[attr-defined]
    assert rows["2026-01"].hours_domestic_share == pytest.approx(0.5)
    assert rows["2026-02"].hours_domestic_share == pytest.approx(1.0)
    assert rows["2026-01"].offered_domestic_share == 1.0
    judged = report.summary["targets"][0]
    assert judged["status"] == "on track" and judged["projected_share"] == 1.0
    assert judged["slope_per_month"] == pytest.approx(0.5)


def test_burn_runs_out_at_the_rate_of_commitment() -> None:
    awards = [AwardFact("prog", 1_000_000, "CNY", datetime(2026, 1, 5, tzinfo=UTC))]
    budgets = [BudgetFact("prog", 2026, 3_100_000, "CNY")]
    report = burn_report(awards, [], [_run("a", "dom", 1, 3600)], budgets, date(2026, 1, 31))
    (row,) = report.rows
    assert row.to_dict()["remaining_fen"] == 2_100_000 and row.to_dict()["spent_fen"] == 30
    (program,) = report.summary["programs"]
    # 1,000,000 fen over 31 days; 2,100,000 left lasts 66 more days.
    assert program["runs_out_on"] == (date(2026, 1, 31) + timedelta(days=66)).isoformat()


def test_fairness_by_size_class() -> None:
    runs = [
        _run("a", "dom", 1, 3600, tenant="small"),
        _run("b", "dom", 1, 3600, tenant="big", startup=False),
        _run("c", "dom", 1, 3600, tenant="big", startup=False),
    ]
    report = fairness_report(runs)
    classes = {c["size_class"]: c for c in report.summary["classes"]}
    assert classes["large"]["hours_share"] == pytest.approx(2 / 3)
    assert report.summary["jain_index"] == pytest.approx(0.9)
    assert fairness_report(runs[:1], own_only=True).summary == {}


def test_sourced_targets_and_grid_factors_load() -> None:
    from suanli.errors import CatalogError
    from suanli.reports.sourced import parse_targets
    from suanli.services.reports import load_grid_factors, load_targets, provinces

    targets = {t.id: t for t in load_targets()}
    assert targets["beijing-2027-100pct"].share == 1.0
    assert targets["shanghai-2027-70pct"].share == 0.7
    assert all(t.source.url.startswith("https://") for t in targets.values())
    grid = load_grid_factors()
    # Every Chinese province a site's city can be in has a factor.
    cn = {p for p in provinces().values() if p in grid}
    assert {"Beijing", "Shanghai", "Guangdong", "Zhejiang", "Sichuan"} <= cn
    assert grid["Sichuan"].basis == "provincial" and grid["Sichuan"].kg_co2_per_kwh == 0.1404
    with pytest.raises(CatalogError, match="share"):
        parse_targets({"target": [{"id": "x", "share": 1.5}]}, "bad.toml")
