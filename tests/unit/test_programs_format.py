"""Malformed program files are refused, each naming the file and the field."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from suanli.errors import ValidationError
from suanli.services.programs import check_program_file, programs_dir

GOOD = (programs_dir() / "hangzhou-2025.toml").read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str, name: str = "test-prog.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_checks_and_its_id_is_the_stem(tmp_path: Path) -> None:
    program = check_program_file(_write(tmp_path, GOOD, "my-city-2025.toml"))
    assert program.id == "my-city-2025"


BAD = [
    ('domestic = "30%"', 'domestic = "130%"', "rates.domestic", "between 0 and 1"),
    ('domestic = "30%"', 'domestic = "lots"', "rates.domestic", "rate"),
    ('kind = "compute-voucher"', 'kind = "lottery"', "kind", "must be one of"),
    ('currency = "CNY"', 'currency = "XYZ"', "currency", "unknown currency"),
    ("format = 1", "format = 7", "format", "must be 1"),
    ("per_entity_fen = 800_000_000", "per_entity_fen = -5", "cap.per_entity_fen", "non-negative"),
    ("per_year_fen = 25_000_000_000", "per_year_fen = 2.5", "budget.per_year_fen", "whole"),
    ('period = "calendar-year"', 'period = "fortnight"', "cap.period", "must be one of"),
    (
        'expr = "contract.provider_id != applicant.id"',
        'expr = "contract.provider_id !="',
        "eligibility[0] (end-user).expr",
        "not a valid CEL",
    ),
    (
        'expr = "contract.provider_id != applicant.id"',
        'expr = "contract.provder_id != applicant.id"',
        "eligibility[0] (end-user)",
        "provder_id",
    ),
    (
        'expr = "contract.provider_id != applicant.id"',
        'expr = "applicant.headcount"',
        "eligibility[0] (end-user)",
        "true or false",
    ),
    (
        'expr = "contract.provider_id != applicant.id"',
        'expr = "weather.sunny"',
        "eligibility[0] (end-user).expr",
        "unknown name",
    ),
    ('name = "', 'nmae = "x"\nname = "', "nmae", "unknown field"),
    (
        'accredited_providers = ["hz-xixi-compute"]',
        "accredited_providers = 3",
        "accredited_providers",
        "any",
    ),
]


@pytest.mark.parametrize(("old", "new", "field", "message"), BAD, ids=[b[2] for b in BAD])
def test_bad_files_are_refused_naming_the_field(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ValidationError) as err:
        check_program_file(path)
    assert err.value.field.startswith(f"test-prog.toml: {field}"), err.value.field
    assert message in err.value.message


def test_missing_sources_and_bad_toml(tmp_path: Path) -> None:
    no_source = "\n".join(
        line for line in GOOD.splitlines() if not line.startswith(("source", '  "', "]"))
    )
    with pytest.raises(ValidationError, match="source"):
        check_program_file(_write(tmp_path, no_source))
    with pytest.raises(ValidationError, match="not valid TOML"):
        check_program_file(_write(tmp_path, "rates = ["))


def test_tranches_must_add_up(tmp_path: Path) -> None:
    text = GOOD + '\n[[tranches]]\nshare = "50%"\non = "award"\n'
    with pytest.raises(ValidationError) as err:
        check_program_file(_write(tmp_path, text))
    assert err.value.field.endswith("tranches")


def test_every_shipped_file_is_valid_toml_with_a_source() -> None:
    for path in programs_dir().glob("*.toml"):
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        assert raw["source"], path
