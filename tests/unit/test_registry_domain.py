"""Validation of registry records names the offending field."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from suanli.domain.money import Money, apply_rate
from suanli.domain.registry import Offer, Site, Tenant
from suanli.errors import ValidationError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 6, 1, tzinfo=UTC)


def _offer(**changes: object) -> Offer:
    values: dict[str, object] = dict(
        id="o1",
        site_id="s1",
        accelerator_id="h20",
        count=8,
        price_fen_per_accel_hour=800,
        currency="CNY",
        available_from=T0,
        available_until=T1,
    )
    values.update(changes)
    return Offer(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"count": 0}, "count"),
        ({"price_fen_per_accel_hour": -1}, "price_fen_per_accel_hour"),
        ({"currency": "XYZ"}, "currency"),
        ({"available_until": T0}, "available_until"),
        ({"id": "Bad Id"}, "id"),
    ],
)
def test_offer_validation_names_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        _offer(**changes).validate()
    assert err.value.field == field


def test_site_backend_and_pue() -> None:
    with pytest.raises(ValidationError) as err:
        Site("s1", "p1", "hall", "Beijing", backend="mainframe").validate()
    assert err.value.field == "backend"
    with pytest.raises(ValidationError) as err:
        Site("s1", "p1", "hall", "Beijing", pue=0.5).validate()
    assert err.value.field == "pue"


def test_tenant_founded_in_future_refused() -> None:
    tenant = Tenant("t1", "T", "Beijing", date(2030, 1, 1), 5, 0, "CNY", "ai", True)
    with pytest.raises(ValidationError) as err:
        tenant.validate(today=date(2026, 11, 27))
    assert err.value.field == "founded_on"


def test_money_is_integral_and_typed() -> None:
    assert str(Money(123456, "CNY")) == "1,234.56 CNY"
    with pytest.raises(TypeError):
        Money(1.5, "CNY")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(1, "CNY") + Money(1, "USD")


def test_apply_rate_rounds_down() -> None:
    from fractions import Fraction

    assert apply_rate(999, Fraction(1, 3)) == 333
    assert apply_rate(1_000_000, Fraction(3, 10)) == 300_000


# --- an offer naming a system ---------------------------------------------------------------


def _system_offer(**changes: object) -> Offer:
    base = Offer(
        id="o-sys", site_id="s1", accelerator_id="huawei-ascend-910c", count=768,
        price_fen_per_accel_hour=1000, currency="CNY",
        available_from=datetime(2026, 1, 1, tzinfo=UTC),
        available_until=datetime(2026, 12, 31, tzinfo=UTC),
        system_id="cloudmatrix-384", capacity_unit="systems", chips_per_system=384,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_offer_counted_in_systems_or_chips() -> None:
    assert _system_offer().validate().systems == 2
    chips = _system_offer(capacity_unit="chips", count=16).validate()
    assert chips.systems is None and chips.count == 16


def test_offer_in_systems_must_be_whole_systems() -> None:
    for changes, field in (
        ({"count": 500}, "count"),
        ({"system_id": None, "chips_per_system": None}, "capacity_unit"),
        ({"capacity_unit": "racks"}, "capacity_unit"),
        ({"chips_per_system": None}, "chips_per_system"),
    ):
        with pytest.raises(ValidationError) as exc:
            _system_offer(**changes).validate()
        assert exc.value.field == field, changes


def test_an_id_is_matched_whole() -> None:
    from suanli.domain.registry import check_id

    assert check_id("bj-zgc.1") == "bj-zgc.1"
    for bad in ("bj-zgc\n", "bj zgc", "", "Bj"):
        with pytest.raises(ValidationError):
            check_id(bad)
