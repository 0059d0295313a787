"""Filed generative-AI services (生成式人工智能服务备案), and the rule that a public-facing
inference service names one.

Under China's interim measures for generative AI services (in force 2023-08-15), a service
offered to the public with "public-opinion attributes or social-mobilisation capability" is
filed with the Cyberspace Administration (CAC), which publishes the filed services in batches
with a filing number such as ``Beijing-DeepseekChat-202404280016``. A public-facing inference
request on the exchange must name the filing of the model it serves; a program may require a
filed model for everything its vouchers pay. Plain Python: the list is given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from suanli.errors import ValidationError
from suanli.rejection import Code, Rejection

# As the CAC prints them: jurisdiction, the service in pinyin or latin letters, a date-based
# serial, joined by hyphens (ZheJiang-TongYiQianWen-20230901, ZhongYangQiYe-JiuTian-20240123).
FILING_NUMBER = re.compile(r"^[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+){2,}$")
MAX_NUMBER_CHARS = 80
CONFIDENCES = ("vendor", "registry", "secondary")
_KEYS = {"filing_number", "name", "developer", "filed_on", "jurisdiction", "source_url",
         "source_title", "source_date", "confidence", "note"}  # fmt: skip
_LIMITS = {"name": 200, "developer": 200, "jurisdiction": 64, "source_url": 500,
           "source_title": 300}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ModelFiling:
    """One filed service: what the published list says of it, and where that was read.

    ``confidence``: ``vendor`` (the developer or the platform serving it publishes the number),
    ``registry`` (a transcription of the CAC's published list), ``secondary`` (a third party
    quotes it)."""

    filing_number: str
    name: str
    developer: str
    source_url: str
    source_title: str
    source_date: date
    confidence: str = "vendor"
    filed_on: date | None = None  # the filing date in the CAC list, where a source gives it
    jurisdiction: str = ""
    note: str = ""

    def validate(self, today: date | None = None) -> ModelFiling:
        check_filing_number(self.filing_number)
        for name, limit in _LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, str) or (name != "jurisdiction" and not value.strip()):
                raise ValidationError(name, "must not be blank")
            if len(value) > limit:
                raise ValidationError(name, f"at most {limit} characters")
        if not self.source_url.startswith(("https://", "http://")):
            raise ValidationError("source_url", "must be an http(s) address")
        if self.confidence not in CONFIDENCES:
            raise ValidationError("confidence", f"must be one of {', '.join(CONFIDENCES)}")
        for name in ("source_date", "filed_on"):
            day = getattr(self, name)
            if day is not None and today is not None and day > today:
                raise ValidationError(name, "must not be in the future")
        return self


def check_filing_number(value: object, field: str = "filing_number") -> str:
    ok = isinstance(value, str) and len(value) <= MAX_NUMBER_CHARS
    if not ok or not FILING_NUMBER.fullmatch(str(value)):  # whole, no trailing newline
        raise ValidationError(
            field, "must be a CAC filing number such as Beijing-DeepseekChat-202404280016"
        )
    assert isinstance(value, str)
    return value


def parse_filings(raw: Mapping[str, Any], where: str = "filings") -> list[ModelFiling]:
    """The ``[[filing]]`` entries of a data file, each validated; a bad one names its field."""
    items = raw.get("filing", [])
    if not isinstance(items, list):
        raise ValidationError(where, "must be a list of [[filing]] tables")
    out: list[ModelFiling] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise ValidationError(at, "must be a table")
        unknown = sorted(set(item) - _KEYS)
        if unknown:
            raise ValidationError(f"{at}.{unknown[0]}", "unknown field")
        try:
            filing = ModelFiling(**dict(item)).validate()
        except TypeError as exc:
            raise ValidationError(at, str(exc)) from None
        except ValidationError as exc:
            raise ValidationError(f"{at}.{exc.field}", exc.message) from None
        if filing.filing_number in seen:
            raise ValidationError(f"{at}.filing_number", f"{filing.filing_number} listed twice")
        seen.add(filing.filing_number)
        out.append(filing)
    return out


def model_filing_refusal(
    public_facing: bool,
    model_filing: str | None,
    filed: ModelFiling | None,
    requiring_programs: Iterable[str] = (),
) -> Rejection | None:
    """Why a request may not run as stated (None if it may): a public-facing inference service,
    or any work paid by a program that requires it, names a model in the filing registry."""
    programs: Sequence[str] = tuple(requiring_programs)
    if not public_facing and not programs:
        return None
    why = ("a public-facing inference service" if public_facing
           else f"work paid by {', '.join(programs)}")  # fmt: skip
    if model_filing is None:
        return Rejection(
            Code.MODEL_NOT_FILED,
            f"{why} must name the filing number of a filed generative-AI model "
            "(生成式人工智能服务备案)",
            "model_filing",
        )
    if filed is None:
        return Rejection(
            Code.MODEL_NOT_FILED,
            f"{model_filing} is not in the filing registry; {why} must run a filed model",
            "model_filing",
        )
    return None
