"""The filing registry of generative-AI services: the shipped list (``data/filings/*.toml``)
and the entries officers add, read by every role; and the check a request's model must pass.

An officer's addition is a decision: it goes through ``add_filing`` alone, which writes it and
commits in one unit of work.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

from suanli.domain.exchange import JobRequest
from suanli.domain.filings import (
    ModelFiling,
    check_filing_number,
    model_filing_refusal,
    parse_filings,
)
from suanli.domain.roles import Principal, Role
from suanli.domain.subsidy_plan import VoucherView
from suanli.errors import (
    CatalogError,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from suanli.paths import data_dir
from suanli.rejection import Rejection
from suanli.services import audit
from suanli.store.repositories import filings as repo
from suanli.store.uow import UnitOfWork


def filings_dir() -> Path:
    return data_dir() / "filings"


@lru_cache(maxsize=4)
def _shipped(folder: str, stamp: tuple[tuple[str, int], ...]) -> dict[str, ModelFiling]:
    out: dict[str, ModelFiling] = {}
    for name, _ in stamp:
        path = Path(folder) / name
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
            entries = parse_filings(raw, path.name)
        except tomllib.TOMLDecodeError as exc:
            raise CatalogError(str(path), f"not valid TOML: {exc}") from exc
        except ValidationError as exc:
            raise CatalogError(str(path), f"{exc.field}: {exc.message}") from exc
        for filing in entries:
            if filing.filing_number in out:
                raise CatalogError(str(path), f"{filing.filing_number} is in two files")
            out[filing.filing_number] = filing
    return out


def shipped_filings(folder: Path | None = None) -> dict[str, ModelFiling]:
    """The shipped list, by filing number (read again when a file changes)."""
    folder = folder or filings_dir()
    files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    return _shipped(str(folder), tuple((p.name, p.stat().st_mtime_ns) for p in files))


def list_filings(uow: UnitOfWork, who: Principal) -> list[ModelFiling]:
    """Every filed service, shipped and added, by filing number. Public registry data."""
    found = {**shipped_filings(), **{f.filing_number: f for f in repo.list_all(uow.conn)}}
    return [found[k] for k in sorted(found)]


def find_filing(uow: UnitOfWork, filing_number: str) -> ModelFiling | None:
    return shipped_filings().get(filing_number) or repo.get(uow.conn, filing_number)


def get_filing(uow: UnitOfWork, who: Principal, filing_number: str) -> ModelFiling:
    check_filing_number(filing_number)
    found = find_filing(uow, filing_number)
    if found is None:
        raise NotFoundError("filing", filing_number)
    return found


def add_filing(
    uow: UnitOfWork, who: Principal, filing: ModelFiling, *, now: datetime | None = None
) -> ModelFiling:
    """An officer records a filed service. Idempotent by filing number: the same entry again
    returns it; other content under a known number is a conflict."""
    if who.role is not Role.OFFICER:
        raise PermissionDenied(f"{who.role} may not add model filings")
    at = now or datetime.now(UTC)
    filing.validate(today=at.date())
    existing = shipped_filings().get(filing.filing_number) or repo.get(
        uow.conn, filing.filing_number, lock=True
    )
    if existing is not None:
        if existing == filing:
            return existing
        raise ConflictError(f"filing {filing.filing_number} exists with other content")
    repo.add(uow.conn, filing, added_by=who.describe(), added_at=at)
    audit.record(uow, who, "filing.add", "filing", filing.filing_number,
                 {"name": filing.name, "developer": filing.developer,
                  "source_url": filing.source_url})  # fmt: skip
    uow.commit()
    return filing


def request_refusal(
    uow: UnitOfWork, request: JobRequest, vouchers: Sequence[VoucherView]
) -> Rejection | None:
    """Why the request's model may not run as stated: a public-facing inference service, or work
    a voucher of a program requiring it pays for, must name a filed model."""
    requiring = sorted({v.program.id for v in vouchers if v.program.requires_model_filing})
    filed = None if request.model_filing is None else find_filing(uow, request.model_filing)
    return model_filing_refusal(request.public_facing, request.model_filing, filed, requiring)


def parse_day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(field, f"not an ISO date: {value!r}") from None
