"""The body that adds a filed generative-AI service, and a filing as JSON (API and CLI)."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any, Literal

from pydantic import Field

from suanli.domain.filings import ModelFiling
from suanli.schemas.base import Body


class FilingIn(Body):
    filing_number: str = Field(
        min_length=1, max_length=80, description="as the CAC publishes it, e.g. Beijing-X-2024..."
    )
    name: str = Field(min_length=1, max_length=200, description="the filed service's name")
    developer: str = Field(min_length=1, max_length=200, description="the filing entity")
    source_url: str = Field(min_length=1, max_length=500, description="where it was read")
    source_title: str = Field(min_length=1, max_length=300)
    source_date: date = Field(strict=False, description="the source's date (ISO)")
    confidence: Literal["vendor", "registry", "secondary"] = "registry"
    filed_on: date | None = Field(None, strict=False, description="the filing date, if given")
    jurisdiction: str = Field("", max_length=64)
    note: str = Field("", max_length=2000)

    def record(self) -> ModelFiling:
        return ModelFiling(**self.model_dump())


def filing_json(filing: ModelFiling) -> dict[str, Any]:
    out = dataclasses.asdict(filing)
    for name in ("filed_on", "source_date"):
        out[name] = None if out[name] is None else out[name].isoformat()
    return out
