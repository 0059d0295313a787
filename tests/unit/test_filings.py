"""The shipped filing registry, the rule a request's model passes, and a program requiring it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from suanli.domain.filings import ModelFiling, model_filing_refusal, parse_filings
from suanli.errors import ValidationError
from suanli.rejection import Code, Kind
from suanli.services.filings import shipped_filings
from suanli.services.programs import check_program_file, programs_dir


def test_the_shipped_list_is_sourced() -> None:
    shipped = shipped_filings()
    assert len(shipped) >= 17
    for number, filing in shipped.items():
        assert filing.filing_number == number and filing.name and filing.developer
        assert filing.source_url.startswith("https://") and filing.source_title
        assert filing.source_date <= date.today()
        assert filing.filed_on is None or filing.filed_on <= filing.source_date
    assert shipped["Beijing-DeepseekChat-202404280016"].filed_on == date(2024, 5, 13)


def test_a_bad_entry_names_its_row_and_field() -> None:
    good = {"filing_number": "Beijing-X-20240101", "name": "X", "developer": "X Co",
            "source_url": "https://example.org", "source_title": "t",
            "source_date": date(2025, 1, 1)}  # fmt: skip
    assert parse_filings({"filing": [good]})[0].name == "X"
    for change, field in (
        ({"filing_number": "X"}, "filings[0].filing_number"),
        ({"source_url": "example.org"}, "filings[0].source_url"),
        ({"developer": " "}, "filings[0].developer"),
        ({"confidence": "rumour"}, "filings[0].confidence"),
        ({"extra": 1}, "filings[0].extra"),
    ):
        with pytest.raises(ValidationError) as bad:
            parse_filings({"filing": [{**good, **change}]})
        assert bad.value.field == field
    with pytest.raises(ValidationError, match="twice"):
        parse_filings({"filing": [good, good]})


FILED = ModelFiling("Beijing-X-20240101", "X", "X Co", "https://e.org", "t", date(2025, 1, 1))


def test_a_public_service_or_a_requiring_program_needs_a_filed_model() -> None:
    assert model_filing_refusal(False, None, None) is None
    assert model_filing_refusal(True, FILED.filing_number, FILED) is None
    missing = model_filing_refusal(True, None, None)
    assert missing is not None and missing.code is Code.MODEL_NOT_FILED
    assert missing.field == "model_filing" and missing.kind is Kind.CONFLICT
    unknown = model_filing_refusal(False, "Beijing-Y-20240101", None, ["city-ai-2026"])
    assert unknown is not None and "work paid by city-ai-2026" in unknown.message
    assert model_filing_refusal(False, FILED.filing_number, FILED, ["city-ai-2026"]) is None


def test_a_program_may_require_a_filed_model(tmp_path: Path) -> None:
    # The worked example of data/programs/README.md: a top-level `requires_model_filing`.
    text = (programs_dir() / "hangzhou-2025.toml").read_text(encoding="utf-8")
    path = tmp_path / "city-ai-2026.toml"
    path.write_text("requires_model_filing = true\n" + text, encoding="utf-8")
    assert check_program_file(path).requires_model_filing
    path.write_text('requires_model_filing = "yes"\n' + text, encoding="utf-8")
    with pytest.raises(ValidationError) as bad:
        check_program_file(path)
    assert "requires_model_filing" in bad.value.field
    assert not check_program_file(programs_dir() / "hangzhou-2025.toml").requires_model_filing
