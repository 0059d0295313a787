"""Compliance rules: the shipped files parse, each rule sourced and dated; malformed rules are
refused naming the file and field; matching by chip, place, date, evidence and tenant class."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.domain.compliance import (
    ComplianceError,
    Decision,
    exclusion,
    has_evidence,
    screen_offer,
)
from suanli.domain.compliance_rules import build_book, parse_rule
from suanli.domain.registry import Offer, Site, Tenant
from suanli.services.catalog import load_catalog
from suanli.services.compliance import load_rules, parse_rules_dir, rules_dir

H100 = "nvidia-h100-sxm5-80gb"
RAW: dict[str, Any] = {
    "id": "r-1", "title": "a licence requirement", "regime": "export", "authority": "BIS",
    "effect": "require_evidence", "takes_effect": date(2022, 10, 7), "chips": ["H100"],
    "countries": ["CN"], "evidence": ["export_licence", "acquired_before"],
    "source": [{"title": "87 FR 62186", "url": "https://example.org/r",
                "published": date(2022, 10, 13)}],
}  # fmt: skip


def _offer(**kw: Any) -> Offer:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    values: dict[str, Any] = dict(
        id="o-1", site_id="s-1", accelerator_id=H100, count=8, price_fen_per_accel_hour=100,
        currency="CNY", available_from=at, available_until=at + timedelta(days=30),
    )  # fmt: skip
    return Offer(**{**values, **kw})


def _site(city: str = "Shenzhen") -> Site:
    return Site("s-1", "p-1", "hall", city)


def _tenant(ownership: str = "private") -> Tenant:
    return Tenant("t-1", "T", "Beijing", date(2020, 1, 1), 5, 0, "CNY", "ai", True,
                  ownership=ownership)  # fmt: skip


def _book(**kw: Any) -> Any:
    rule = parse_rule({**RAW, **kw}, "test.toml: rule[0]", load_catalog())
    return build_book([rule], {"shenzhen": "CN", "urbana": "US"})


def test_shipped_rules_are_sourced_dated_and_in_force() -> None:
    book = load_rules()
    assert {"us-ear-2022-10-3a090", "us-ear-2023-10-3a090", "us-licence-2025-04-h20",
            "us-licence-2025-08-revenue-share", "cn-cac-2025-07-h20-inquiry",
            "cn-2025-08-h20-government-work"} <= {r.id for r in book.rules}  # fmt: skip
    for rule in book.rules:
        assert rule.sources and all(s.url.startswith("https://") for s in rule.sources)
        assert rule.takes_effect <= date.today()
        assert all(s.published >= date(2022, 1, 1) for s in rule.sources)
    assert {r.effect for r in book.rules} == {"block", "require_evidence", "warn"}
    assert book.country_of("Beijing") == "CN" and book.country_of("urbana") == "US"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"effect": "ban"}, "rule[0].effect", "one of"),
        ({"chips": ["H9000"]}, "rule[0].chips", "unknown catalog chip"),
        ({"takes_effect": "2022-10-07"}, "rule[0].takes_effect", "TOML date"),
        ({"countries": ["China"]}, "rule[0].countries", "alpha-2"),
        ({"evidence": []}, "rule[0].evidence", "says which"),
        ({"tenant_classes": ["military"]}, "rule[0].tenant_classes", "not one of"),
        ({"source": []}, "rule[0].source", "at least one"),
        ({"colour": "red"}, "rule[0].colour", "unknown field"),
        ({"chips": [], "export_status": []}, "rule[0].chips", "names chips"),
    ],
)
def test_a_malformed_rule_names_its_file_and_field(change: dict, field: str, words: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ComplianceError) as err:
        parse_rule({**RAW, **change}, "test.toml: rule[0]", load_catalog())
    assert err.value.field == f"test.toml: {field}" and words in err.value.message


def test_a_bad_file_and_a_duplicate_id_are_refused(tmp_path: Path) -> None:
    for name in ("us-ear.toml", "places.toml"):
        (tmp_path / name).write_text((rules_dir() / name).read_text())
    (tmp_path / "again.toml").write_text((rules_dir() / "us-ear.toml").read_text())
    with pytest.raises(ComplianceError, match="duplicate rule id"):
        parse_rules_dir(tmp_path)
    (tmp_path / "again.toml").write_text("[[rule]\n")
    with pytest.raises(ComplianceError) as err:
        parse_rules_dir(tmp_path)
    assert err.value.field == "again.toml"


def test_screening_by_place_date_and_decision() -> None:
    book = _book()
    today = date(2026, 3, 1)
    [flag] = screen_offer(book, _offer(), _site(), "license-required", {}, today)
    assert flag.excludes and "2022-10-07" in flag.why
    assert screen_offer(book, _offer(), _site("Urbana"), "license-required", {}, today) == ()
    # A city the places do not list is screened as if inside.
    assert screen_offer(book, _offer(), _site("Atlantis"), "license-required", {}, today)
    assert screen_offer(book, _offer(), _site(), "license-required", {}, date(2022, 10, 6)) == ()
    cleared = Decision("o-1", "r-1", "cleared", "seen", "officer", datetime.now(UTC))
    [flag] = screen_offer(book, _offer(), _site(), "license-required", {("o-1", "r-1"): cleared},
                          today)  # fmt: skip
    assert flag.status == "cleared" and not flag.excludes
    assert exclusion([flag], _tenant(), paid_or_placed=True) is None


def test_a_status_selector_names_every_chip_of_that_status() -> None:
    book = _book(chips=[], export_status=["license-required"])
    offer = _offer(accelerator_id="nvidia-a800-sxm4-80gb")
    assert screen_offer(book, offer, _site(), "license-required", {}, date(2026, 1, 1))
    assert screen_offer(book, offer, _site(), "domestic", {}, date(2026, 1, 1)) == ()


def test_what_each_effect_leaves_out() -> None:
    today = date(2026, 3, 1)
    needs = screen_offer(_book(), _offer(), _site(), "", {}, today)
    assert exclusion(needs, _tenant(), paid_or_placed=False) is None  # wallet-only, not placed
    assert exclusion(needs, _tenant(), paid_or_placed=True) is not None
    block = screen_offer(_book(effect="block", tenant_classes=["government"], evidence=[]),
                         _offer(), _site(), "", {}, today)  # fmt: skip
    assert exclusion(block, _tenant("government"), paid_or_placed=False) is not None
    assert exclusion(block, _tenant("private"), paid_or_placed=True) is None
    warn = screen_offer(_book(effect="warn", evidence=[]), _offer(), _site(), "", {}, today)
    assert warn and exclusion(warn, _tenant(), paid_or_placed=True) is None


@settings(derandomize=True, max_examples=200, deadline=None)
@given(
    acquired=st.one_of(st.none(), st.dates(date(2015, 1, 1), date(2030, 1, 1))),
    licence=st.one_of(st.none(), st.just("D123")),
    declaration=st.one_of(st.none(), st.just("2223-0001")),
    accepted=st.lists(
        st.sampled_from(["export_licence", "import_declaration", "acquired_before"]),
        min_size=1,
        unique=True,
    ),  # fmt: skip
)
def test_evidence_satisfies_exactly_the_kinds_a_rule_accepts(
    acquired: date | None, licence: str | None, declaration: str | None, accepted: list[str]
) -> None:
    rule = _book(evidence=accepted).rules[0]
    offer = _offer(acquired_on=acquired, export_licence=licence, import_declaration=declaration)
    expected = (
        ("export_licence" in accepted and licence is not None)
        or ("import_declaration" in accepted and declaration is not None)
        or ("acquired_before" in accepted and acquired is not None and acquired < rule.takes_effect)
    )
    assert has_evidence(rule, offer) is expected
    flags = screen_offer(_book(evidence=accepted), offer, _site(), "", {}, date(2026, 1, 1))
    assert bool(flags) is not expected
