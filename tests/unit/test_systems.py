"""The shipped systems (data/systems.toml): the arithmetic against their chips, the parser's
refusals, and the figures the estimator's interconnect model takes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from suanli.domain.catalog import Catalog
from suanli.domain.systems import (
    InterconnectFigures,
    SystemCatalog,
    check_totals,
    parse_system,
    power_overhead,
)
from suanli.errors import ValidationError
from suanli.services.catalog import load_catalog, load_systems


@pytest.fixture(scope="module")
def chips() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def systems() -> SystemCatalog:
    return load_systems()


REQUIRED = ("cloudmatrix-384", "gb200-nvl72", "nvidia-hgx-h100-8gpu", "nvidia-hgx-h800-8gpu",
            "nvidia-hgx-h20-8gpu", "huawei-atlas-800t-a2", "huawei-atlas-800-9000")  # fmt: skip


def test_required_systems_present_and_sourced(systems: SystemCatalog) -> None:
    ids = {s.id for s in systems}
    assert set(REQUIRED) <= ids
    for s in systems:
        assert s.sources and s.power_covers
        for name in ("power_kw", "scale_up_gbps_per_chip", "scale_out_gbps_per_chip"):
            assert s.figure(name) is not None or s.missing_reason.get(name), (s.id, name)
        for fig in s.figures.values():
            assert fig.confidence in ("solid", "medium", "uncertain", "derived", "rumoured")


def test_aliases_resolve(systems: SystemCatalog) -> None:
    for alias in ("CloudMatrix384", "CM384", "Atlas 900 A3 SuperPoD", "cloudmatrix 384"):
        found = systems.find(alias)
        assert found is not None and found.id == "cloudmatrix-384", alias
    nvl = systems.find("NVL72")
    assert nvl is not None and nvl.id == "gb200-nvl72"


def test_published_totals_match_chips_within_their_confidence(
    systems: SystemCatalog, chips: Catalog
) -> None:
    checked = 0
    for s in systems:
        for c in check_totals(s, chips.get(s.chip_id)):
            assert c.within, (s.id, c.figure, c.published, c.from_chips, c.tolerance)
            checked += 1
    assert checked >= 10


def test_cloudmatrix_against_nvl72(systems: SystemCatalog, chips: Catalog) -> None:
    cm, nvl = systems.find("cloudmatrix-384"), systems.find("gb200-nvl72")
    assert cm is not None and nvl is not None
    assert (cm.chips, cm.scale_up_domain_chips, cm.chip_id) == (384, 384, "huawei-ascend-910c")
    assert (nvl.chips, nvl.scale_up_domain_chips) == (72, 72)
    # 384 × ~781 TFLOPS ≈ 300 PFLOPS; 72 × 2500 = 180 PFLOPS.
    cm_bf16 = cm.chips * (chips.get(cm.chip_id).peak_tflops("bf16") or 0) / 1000
    nvl_bf16 = nvl.chips * (chips.get(nvl.chip_id).peak_tflops("bf16") or 0) / 1000
    assert cm_bf16 == pytest.approx(300, rel=0.01)
    assert nvl_bf16 == pytest.approx(180, rel=0.01)
    assert cm.power_kw == 559 and nvl.power_kw == 145
    # The press's "about 2.3× the power per FLOP", from the published totals.
    per_flop = (cm.power_kw / 300) / (nvl.power_kw / 180)
    assert per_flop == pytest.approx(2.3, abs=0.05)
    assert cm.figures["power_kw"].confidence == "uncertain"  # an analyst's estimate


def test_wall_power_is_at_least_the_chips(systems: SystemCatalog, chips: Catalog) -> None:
    for s in systems:
        overhead = power_overhead(s, chips.get(s.chip_id))
        if overhead is not None:
            assert 1.0 <= overhead < 3.0, (s.id, overhead)


def test_interconnect_figures(systems: SystemCatalog) -> None:
    cm = systems.find("cloudmatrix-384")
    h100 = systems.find("HGX H100")
    assert cm is not None and h100 is not None
    assert cm.interconnect() == InterconnectFigures(384, 392.0, 50.0)
    assert h100.interconnect() == InterconnectFigures(8, 450.0, 50.0)
    h800 = systems.find("HGX H800")
    assert h800 is not None and h800.interconnect().scale_up_gbps_per_chip == 200


# --- malformed input is refused, naming the row and the field -------------------------------


def _valid() -> dict[str, Any]:
    return {
        "id": "test-node",
        "vendor": "Test",
        "name": "Test Node",
        "kind": "node",
        "chip": "nvidia-h100-sxm5-80gb",
        "chips": 8,
        "scale_up_domain_chips": 8,
        "power_covers": "the node",
        "confidence": "medium",
        "sources": ["example.org/node"],
        "figures": {
            "power_kw": {"value": 10, "confidence": "medium"},
            "scale_up_gbps_per_chip": {"value": 450, "confidence": "solid"},
            "scale_out_gbps_per_chip": {"value": 50, "confidence": "medium"},
        },
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"chips": 0}, "chips"),
        ({"scale_up_domain_chips": 9}, "scale_up_domain_chips"),
        ({"kind": "cloud"}, "kind"),
        ({"sources": []}, "sources"),
    ],
)
def test_bad_system_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    raw = {**_valid(), **change}
    with pytest.raises(ValidationError) as exc:
        parse_system(raw, 3)
    assert "system row 3" in str(exc.value) and field in str(exc.value)


def test_blank_power_needs_a_reason() -> None:
    raw = copy.deepcopy(_valid())
    del raw["figures"]["power_kw"]
    with pytest.raises(ValidationError) as exc:
        parse_system(raw, 2)
    assert "missing_reason.power_kw" in str(exc.value)
    raw["missing_reason"] = {"power_kw": "not published"}
    assert parse_system(raw, 2).power_kw is None


def test_system_must_name_a_catalog_chip(chips: Catalog) -> None:
    raw = {**_valid(), "chip": "H100"}  # an alias, not the id
    with pytest.raises(ValidationError) as exc:
        SystemCatalog([parse_system(raw, 1)], chips)
    assert "chip" in str(exc.value)
    clash = {**_valid(), "aliases": ["H20"]}  # a chip's name
    with pytest.raises(ValidationError) as exc:
        SystemCatalog([parse_system(clash, 1)], chips)
    assert "aliases" in str(exc.value)


def test_a_system_gives_the_estimator_its_own_domain_and_bandwidths() -> None:
    from suanli.services.catalog import find_hardware
    from suanli.services.compare import system_interconnect

    cm384 = find_hardware("cloudmatrix-384")
    net = system_interconnect(cm384)  # type: ignore[arg-type]
    assert net is not None and net.scale_up_domain_chips == 384
    # 392 GB/s and 50 GB/s each way in the catalog; the estimator takes gigabits.
    assert (net.scale_up_gbps_per_chip, net.scale_out_gbps_per_chip) == (392 * 8, 50 * 8)
