"""The shipped accelerator catalog (data/accelerators.toml) and the parser's refusals."""

from __future__ import annotations

import copy
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from suanli.domain.catalog import (
    COMPUTE_FIELDS,
    Accelerator,
    Catalog,
    parse_accelerator,
)
from suanli.errors import CatalogError

CATALOG_PATH = Path(__file__).resolve().parents[2] / "data" / "accelerators.toml"

DOMESTIC_VENDORS = (
    "Huawei",
    "Cambricon",
    "Hygon",
    "Kunlunxin",
    "Biren",
    "Moore Threads",
    "MetaX",
    "Iluvatar",
    "T-Head",
)

# Alias -> the model it must resolve to (lookups are case-insensitive).
REQUIRED_ALIASES = {
    "A100": "A100 SXM4 80GB",
    "A100-80GB": "A100 SXM4 80GB",
    "A100-40GB": "A100 SXM4 40GB",
    "H100": "H100 SXM5 80GB",
    "H100-80GB": "H100 SXM5 80GB",
    "H800": "H800 SXM5 80GB",
    "H20": "H20 96GB",
    "H200": "H200 SXM 141GB",
    "B200": "B200 (HGX, ~1000 W)",
    "L40S": "L40S 48GB",
    "L20": "L20 48GB",
    "A800": "A800 SXM4 80GB",
    "RTX 4090": "GeForce RTX 4090 24GB",
    "MI300X": "Instinct MI300X 192GB",
    "MI308X": "Instinct MI308X",
    "910": "Ascend 910 (910A)",
    "Ascend 910": "Ascend 910 (910A)",
    "910B": "Ascend 910B",
    "Ascend 910B": "Ascend 910B",
    "910C": "Ascend 910C",
    "Ascend 910C": "Ascend 910C",
    "MLU370-X8": "MLU370-X8",
    "BR100": "BR100",
}

CHINA_SKUS = ("H20", "H800", "A800", "L20", "MI308X")


@pytest.fixture(scope="module")
def raw_entries() -> list[dict[str, Any]]:
    with CATALOG_PATH.open("rb") as fh:
        entries: list[dict[str, Any]] = tomllib.load(fh)["accelerator"]
    return entries


@pytest.fixture(scope="module")
def catalog(raw_entries: list[dict[str, Any]]) -> Catalog:
    return Catalog(parse_accelerator(raw, row) for row, raw in enumerate(raw_entries, start=1))


def test_catalog_has_enough_models(catalog: Catalog) -> None:
    assert len(catalog) >= 25


def test_domestic_vendors_all_present(catalog: Catalog) -> None:
    domestic = [acc for acc in catalog if acc.origin == "domestic"]
    assert len(domestic) >= 9
    for vendor in DOMESTIC_VENDORS:
        assert any(acc.vendor.startswith(vendor) for acc in domestic), vendor


def test_domestic_entries_have_domestic_export_status(catalog: Catalog) -> None:
    for acc in catalog:
        if acc.origin == "domestic":
            assert acc.export_control.status == "domestic", acc.id
            assert not acc.china_specific, acc.id
        else:
            assert acc.export_control.status != "domestic", acc.id


def test_china_specific_skus_present_and_foreign(catalog: Catalog) -> None:
    for alias in CHINA_SKUS:
        acc = catalog.find(alias)
        assert acc is not None, alias
        assert acc.origin == "foreign", alias
        assert acc.china_specific, alias


def test_every_entry_is_sourced_and_named(catalog: Catalog) -> None:
    for acc in catalog:
        assert len(acc.sources) >= 1, acc.id
        assert all(s.strip() for s in acc.sources), acc.id
        assert acc.aliases, acc.id
        assert acc.id == acc.id.lower(), acc.id


@pytest.mark.parametrize(("alias", "model"), sorted(REQUIRED_ALIASES.items()))
def test_required_alias_resolves(catalog: Catalog, alias: str, model: str) -> None:
    for spelling in (alias, alias.lower(), alias.upper(), f"  {alias} "):
        acc = catalog.find(spelling)
        assert acc is not None, spelling
        assert acc.model == model, spelling


def test_fp8_follows_figures(catalog: Catalog) -> None:
    # A chip that has an FP8 figure runs FP8; the FP8 precision needs no figure (MI308X).
    for acc in catalog:
        if acc.figure("fp8_tflops") is not None:
            assert "fp8" in acc.precisions, acc.id
        if acc.figure("int8_tops") is not None:
            assert "int8" in acc.precisions, acc.id


def test_spot_check_figures(catalog: Catalog) -> None:
    h100 = catalog.get("H100")
    assert h100.peak_tflops("bf16") == 989
    assert h100.peak_tflops("fp16") == 989
    assert h100.export_control.status == "license-required"
    assert h100.export_control.as_of == date(2023, 10, 17)
    assert h100.is_export_controlled

    h20 = catalog.get("H20")
    assert h20.peak_tflops("bf16") == 148
    assert h20.bandwidth_tbps == 4.0
    assert h20.memory_gb == 96

    a100_40 = catalog.get("A100-40GB")
    assert a100_40.memory_gb == 40
    assert a100_40.bandwidth_tbps == 1.555
    assert a100_40.tdp_w == 400
    assert a100_40.peak_tflops("bf16") == 312
    assert "fp8" not in a100_40.precisions
    assert a100_40.export_control == catalog.get("A100-80GB").export_control

    ascend_910b = catalog.get("910B")
    assert "fp8" not in ascend_910b.precisions
    assert ascend_910b.figure("fp8_tflops") is None
    assert ascend_910b.peak_tflops("bf16") == 328
    assert ascend_910b.figures["bf16_tflops"].confidence == "uncertain"
    assert ascend_910b.export_control.status == "domestic"


def test_models_without_public_specs_are_kept(catalog: Catalog) -> None:
    # The K100 left this list when a sourced K100-AI table was found (hblas-bench).
    for alias in ("MLU590", "P800", "Enflame T20"):
        acc = catalog.get(alias)
        assert acc.figures == {}
        assert acc.confidence == "uncertain"
        assert acc.sources
        assert set(acc.missing_reason) == {"compute", "tdp_w"}


def test_no_blank_compute_or_tdp_without_a_reason(catalog: Catalog) -> None:
    for acc in catalog:
        has_compute = any(acc.figure(f) is not None for f in COMPUTE_FIELDS)
        assert has_compute or acc.missing_reason.get("compute"), acc.id
        assert acc.tdp_w is not None or acc.missing_reason.get("tdp_w"), acc.id


def test_named_next_parts_are_listed_as_rumoured(catalog: Catalog) -> None:
    for alias, vendor in (("910D", "Huawei"), ("Siyuan 690", "Cambricon"), ("MLU690", "Cambricon")):
        acc = catalog.get(alias)
        assert acc.vendor == vendor
        assert acc.confidence == "rumoured"
        assert acc.sources and acc.missing_reason["compute"]
        assert acc.figures == {}  # a rumour is not turned into a number


def test_filled_blanks_are_sourced(catalog: Catalog) -> None:
    k100 = catalog.get("K100-AI")
    assert k100.peak_tflops("bf16") == 196
    assert k100.figures["bf16_tflops"].confidence == "medium"
    ascend_910b = catalog.get("910B")
    assert ascend_910b.peak_tflops("fp16") == 280  # its own FP16 figure, apart from BF16
    assert ascend_910b.peak_tflops("bf16") == 328
    assert "tdp_w" in catalog.get("910C").missing_reason
    gb200 = catalog.get("GB200")
    assert gb200.peak_tflops("bf16") == 2500 and gb200.tdp_w == 1200


# --- malformed input is refused, naming the row and the field -------------------------------


def _valid() -> dict[str, Any]:
    return {
        "id": "test-chip",
        "vendor": "Test",
        "model": "Test Chip",
        "origin": "foreign",
        "year": 2024,
        "aliases": ["TC1"],
        "precisions": ["bf16"],
        "confidence": "solid",
        "sources": ["example.org/datasheet"],
        "figures": {
            "memory_gb": {"value": 80, "confidence": "solid"},
            "bf16_tflops": {"value": 100, "confidence": "solid"},
            "tdp_w": {"value": 300, "confidence": "solid"},
        },
        "export_control": {"status": "not-controlled", "as_of": date(2024, 1, 1), "note": ""},
    }


def test_valid_fixture_parses() -> None:
    acc = parse_accelerator(_valid(), 7)
    assert isinstance(acc, Accelerator)
    assert acc.memory_gb == 80


def test_negative_figure_refused() -> None:
    raw = _valid()
    raw["figures"]["memory_gb"]["value"] = -80
    with pytest.raises(CatalogError) as exc:
        parse_accelerator(raw, 7)
    assert "row 7" in str(exc.value)
    assert "memory_gb" in str(exc.value)


def test_unknown_origin_refused() -> None:
    raw = _valid()
    raw["origin"] = "martian"
    with pytest.raises(CatalogError) as exc:
        parse_accelerator(raw, 3)
    assert "row 3" in str(exc.value)
    assert "origin" in str(exc.value)


@pytest.mark.parametrize("sources", [None, []])
def test_missing_sources_refused(sources: list[str] | None) -> None:
    raw = _valid()
    if sources is None:
        del raw["sources"]
    else:
        raw["sources"] = sources
    with pytest.raises(CatalogError) as exc:
        parse_accelerator(raw, 12)
    assert "row 12" in str(exc.value)
    assert "sources" in str(exc.value)


def test_unknown_figure_refused() -> None:
    raw = _valid()
    raw["figures"]["fp4_tflops"] = {"value": 9000, "confidence": "solid"}
    with pytest.raises(CatalogError) as exc:
        parse_accelerator(raw, 5)
    assert "row 5" in str(exc.value)
    assert "figures" in str(exc.value)
    assert "fp4_tflops" in str(exc.value)


def test_duplicate_alias_across_entries_refused() -> None:
    first = _valid()
    second = copy.deepcopy(_valid())
    second["id"] = "other-chip"
    second["model"] = "Other Chip"
    second["aliases"] = ["tc1"]  # same alias, other case
    entries = [parse_accelerator(first, 1), parse_accelerator(second, 2)]
    with pytest.raises(CatalogError) as exc:
        Catalog(entries)
    assert "other-chip" in str(exc.value)
    assert "aliases" in str(exc.value)
    assert "test-chip" in str(exc.value)


def test_shipped_file_has_no_duplicate_alias(raw_entries: list[dict[str, Any]]) -> None:
    seen: dict[str, str] = {}
    for raw in raw_entries:
        for name in {raw["id"], raw["model"], *raw.get("aliases", [])}:
            key = name.casefold()
            assert seen.setdefault(key, raw["id"]) == raw["id"], name


def test_blank_tdp_without_reason_refused() -> None:
    raw = _valid()
    del raw["figures"]["tdp_w"]
    with pytest.raises(CatalogError) as exc:
        parse_accelerator(raw, 4)
    assert "row 4" in str(exc.value) and "missing_reason.tdp_w" in str(exc.value)
    raw["missing_reason"] = {"tdp_w": "not published"}
    assert parse_accelerator(raw, 4).missing_reason == {"tdp_w": "not published"}


def test_reason_for_a_given_figure_refused() -> None:
    raw = _valid()
    raw["missing_reason"] = {"compute": "none"}
    with pytest.raises(CatalogError) as exc:
        parse_accelerator(raw, 6)
    assert "missing_reason.compute" in str(exc.value)
