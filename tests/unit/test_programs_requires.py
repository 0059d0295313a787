"""A program that pays only together with another (``[stacking] requires``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from suanli.cli import app
from suanli.domain.subsidy import compute_subsidy
from suanli.errors import ValidationError
from suanli.services.programs import (
    check_program_file,
    explain,
    get_program,
    load_programs,
    programs_dir,
)
from tests.unit.programs_helpers import YUAN, acc, contract, tenant

CITY, DISTRICT = "shanghai-2025", "shanghai-2025-district-topup"
ONE_YEAR = contract(
    provider_id="sh-lingang-ai",
    provider_city="Shanghai",
    start_on=date(2025, 9, 1),
    end_on=date(2026, 8, 31),
)


def test_the_district_top_up_alone_pays_nothing_and_says_why() -> None:
    d = compute_subsidy(get_program(DISTRICT), tenant(), ONE_YEAR, acc("910B"))
    assert not d.eligible and d.subsidy_fen == 0
    failed = {v.check: v.reason for v in d.reasons if not v.passed}
    assert set(failed) == {"requires"}
    assert "only together with shanghai-2025" in failed["requires"]
    # another program on the cost is not the one it requires
    other = compute_subsidy(
        get_program(DISTRICT), tenant(), ONE_YEAR, acc("910B"),
        other_subsidies_fen=100 * YUAN, other_programs=["hangzhou-2025"],
    )  # fmt: skip
    assert "requires" in {v.check for v in other.reasons if not v.passed}


def test_city_and_district_together_pay_at_most_the_cost() -> None:
    t = tenant(registered_city="Shanghai")
    city = compute_subsidy(get_program(CITY), t, ONE_YEAR, acc("910B"))
    district = compute_subsidy(
        get_program(DISTRICT), t, ONE_YEAR, acc("910B"),
        other_subsidies_fen=city.subsidy_fen, other_programs=[CITY],
    )  # fmt: skip
    assert city.eligible and district.eligible
    assert city.subsidy_fen + district.subsidy_fen == ONE_YEAR.amount_fen
    passed = {v.check for v in district.reasons if v.passed}
    assert "requires" in passed


def test_show_explains_the_requirement() -> None:
    words = explain(get_program(DISTRICT))
    assert any(w.startswith("Pays only together with shanghai-2025") for w in words)
    assert not any("only together" in w for w in explain(get_program(CITY)))
    result = CliRunner().invoke(app, ["program", "show", DISTRICT])
    assert result.exit_code == 0 and "only together with shanghai-2025" in result.output


def _copy(folder: Path, old: str, new: str) -> Path:
    text = (programs_dir() / f"{DISTRICT}.toml").read_text(encoding="utf-8")
    assert old in text
    path = folder / f"{DISTRICT}.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


REQUIRES = 'requires = ["shanghai-2025"]'


def test_an_unknown_required_program_is_refused_when_the_set_loads(tmp_path: Path) -> None:
    both = 'with = ["shanghai-2025"]\n' + REQUIRES
    _copy(tmp_path, both, 'with = ["no-such"]\nrequires = ["no-such"]')
    with pytest.raises(ValidationError) as err:
        load_programs(tmp_path)
    assert err.value.field == f"{DISTRICT}.toml: stacking.requires[0]"
    assert "unknown program 'no-such'" in err.value.message
    with pytest.raises(ValidationError) as err:
        check_program_file(tmp_path / f"{DISTRICT}.toml")
    assert err.value.field == f"{DISTRICT}.toml: stacking.requires[0]"


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ('requires = ["shanghai-2025-district-topup"]', "cannot require itself"),
        ('requires = ["hangzhou-2025"]', "must also be listed in stacking.with"),
        ('requires = "shanghai-2025"', "list of program ids"),
    ],
)
def test_a_bad_requirement_is_refused_naming_the_field(
    tmp_path: Path, new: str, message: str
) -> None:
    with pytest.raises(ValidationError) as err:
        check_program_file(_copy(tmp_path, REQUIRES, new))
    assert err.value.field.startswith(f"{DISTRICT}.toml: stacking.requires")
    assert message in err.value.message


def test_a_known_requirement_beside_the_file_checks(tmp_path: Path) -> None:
    path = _copy(tmp_path, REQUIRES, REQUIRES)
    assert check_program_file(path).stacking.requires == (CITY,)
