"""The audit log's use cases: record what an operation did, read the log, verify it.

``record`` is the one call every state-changing use case makes, right before its commit: it
drafts the entry and the unit of work chains it into the log in the same transaction
(``store.uow``). Ledger transfers record themselves, one entry each, so every transfer has
its entry whichever use case made it; a ledger batch records one entry listing all of its
transfers (``record_batch``), and that entry counts as each listed transfer's.

``verify`` recomputes the chain (``domain.audit.verify_chain``), optionally against a head saved
earlier (which catches a truncated tail), and checks that every ledger transfer and every
decided application and claim has its entry. Auditors and officers read and verify the log;
no one changes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from suanli.domain.audit import (
    BATCH_ACTION,
    BATCH_COLUMNS,
    Actor,
    ChainCheck,
    Draft,
    Entry,
    Head,
    canonical,
    verify_chain,
)
from suanli.domain.roles import Principal, Role
from suanli.errors import PermissionDenied, ValidationError
from suanli.ledger.model import TEXT_OF, Transfer, TransferOutcome, TransferResult
from suanli.store.repositories import audit as repo
from suanli.store.uow import UnitOfWork

READERS = frozenset({Role.AUDITOR, Role.OFFICER})
MAX_PAGE = 1000
MAX_LISTED = 20  # unlogged objects named in a report; the count says how many in all


def actor_of(who: Principal) -> Actor:
    return Actor(who.token_id, who.role.value, who.org_id, who.name)


def acting(uow: UnitOfWork, who: Principal) -> None:
    """Who this unit of work acts for (the authenticated caller): the actor of the entries
    that do not name their own, such as the ledger transfers an operation makes."""
    uow.actor = actor_of(who)


def record(
    uow: UnitOfWork,
    who: Principal | None,
    action: str,
    object_kind: str,
    object_id: str,
    change: Mapping[str, Any] | None = None,
) -> None:
    """Say what this unit of work did; it is logged when the work commits, with the change's
    digest. ``who`` None: the unit of work's actor."""
    text = canonical(dict(change or {}))
    uow.audit.add(Draft(action, object_kind, object_id, text, actor_of(who) if who else None))


def record_transfer(uow: UnitOfWork, t: Transfer, action: str = "") -> None:
    """A ledger transfer made (or, with ``action``, a hold changed) by this unit of work."""
    change = {
        "kind": t.kind.value, "debit": t.debit_account_id, "credit": t.credit_account_id,
        "amount_minor": t.amount_minor, "currency": t.currency, "pending_id": t.pending_id,
        "timeout_s": t.timeout_s, "memo": t.memo,
    }  # fmt: skip
    record(uow, None, action or f"ledger.{t.kind.value}", "transfer", t.id, change)


def record_batch(uow: UnitOfWork, transfers: Sequence[Transfer]) -> None:
    """The transfers a ledger batch applied, in one entry: one canonical JSON and one digest
    for the batch, not one per transfer (which was a fifth of a batch's time)."""
    record_drafted(uow, batch_draft(transfers))


def batch_draft(transfers: Sequence[Transfer]) -> Draft | None:
    """The entry ``record_batch`` adds (None for no transfers), drafted on its own so that a
    batch can draft it while the database writes the transfers; ``record_drafted`` adds it."""
    if not transfers:
        return None
    rows = [
        [t.id, TEXT_OF[t.kind], t.debit_account_id, t.credit_account_id, t.amount_minor,
         t.currency, t.timeout_s, t.memo]
        for t in transfers
    ]  # fmt: skip
    change = {"columns": list(BATCH_COLUMNS), "count": len(rows), "transfers": rows}
    return Draft(BATCH_ACTION, "transfer_batch", transfers[0].id, canonical(change), None)


def record_drafted(uow: UnitOfWork, draft: Draft | None) -> None:
    """Add an entry drafted earlier (``batch_draft``) to this unit of work's log."""
    if draft is not None:
        uow.audit.add(draft)


def transferred(uow: UnitOfWork, t: Transfer) -> TransferOutcome:
    """The outcome of a transfer this unit of work made, its entry drafted."""
    record_transfer(uow, t)
    return TransferOutcome(TransferResult.OK, t)


def _check_reader(who: Principal) -> None:
    if who.role not in READERS:
        raise PermissionDenied(f"{who.role} may not read the audit log")


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The chain's check, and the transfers and decisions that have no entry."""

    chain: ChainCheck
    unlogged: list[tuple[str, str]] = field(default_factory=list)  # (kind, id)

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.unlogged

    def problem(self) -> str:
        if not self.chain.ok:
            return (
                f"audit log broken at sequence {self.chain.first_broken_seq}: {self.chain.reason}"
            )
        if self.unlogged:
            kind, object_id = self.unlogged[0]
            more = f" (and {len(self.unlogged) - 1} more)" if len(self.unlogged) > 1 else ""
            return f"{kind} {object_id} has no audit entry{more}"
        return ""

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.chain.entries,
            "head": {"seq": self.chain.head.seq, "hash": self.chain.head.hash},
            "first_broken_seq": self.chain.first_broken_seq,
            "problem": self.problem(),
            "unlogged": [{"kind": k, "id": i} for k, i in self.unlogged[:MAX_LISTED]],
            "unlogged_count": len(self.unlogged),
        }


def verify(uow: UnitOfWork, who: Principal, saved_head: Head | None = None) -> AuditReport:
    _check_reader(who)
    chain = verify_chain(repo.all_entries(uow.conn), saved_head)
    unlogged = [("transfer", t) for t in repo.unlogged_transfers(uow.conn)]
    unlogged += repo.unlogged_decisions(uow.conn)
    if unlogged:
        adopted = _adopted(uow)
        unlogged = [(kind, i) for kind, i in unlogged if i not in adopted.get(kind, ())]
    return AuditReport(chain, unlogged)


def _adopted(uow: UnitOfWork) -> dict[str, set[str]]:
    """Records made before the log, by kind, as its first entry (migration 0007) adopted them.
    Only sequence 1 may adopt: an entry appended later names only what it changed."""
    first = repo.search(uow.conn, limit=1)
    if not first or first[0].seq != 1 or first[0].action != "audit.start":
        return {}
    adopted = json.loads(first[0].change).get("adopted", {})
    return {kind: set(ids) for kind, ids in adopted.items()}


def head(uow: UnitOfWork, who: Principal) -> Head:
    _check_reader(who)
    return repo.head(uow.conn)


def entries(
    uow: UnitOfWork, who: Principal, *, actor: str | None = None, object_kind: str | None = None,
    object_id: str | None = None, since: datetime | None = None, until: datetime | None = None,
    after_seq: int = 0, limit: int = 100,
) -> list[Entry]:  # fmt: skip
    """A page of entries after ``after_seq``, oldest first, matching every filter given."""
    _check_reader(who)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValidationError("limit", f"must be a whole number from 1 to {MAX_PAGE}")
    if isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0:
        raise ValidationError("after_seq", "must be a whole number >= 0")
    for name, at in (("since", since), ("until", until)):
        if at is not None and at.tzinfo is None:
            raise ValidationError(name, "must carry a time zone (e.g. 2026-11-01T00:00:00Z)")
    return repo.search(
        uow.conn, actor=actor, object_kind=object_kind, object_id=object_id, since=since,
        until=until, after_seq=after_seq, limit=limit,
    )  # fmt: skip


def export(uow: UnitOfWork, who: Principal, **filters: Any) -> Iterator[Entry]:
    """Every entry matching the filters, oldest first, a page at a time (for JSON Lines)."""
    after = 0
    while True:
        page = entries(uow, who, after_seq=after, limit=MAX_PAGE, **filters)
        yield from page
        if len(page) < MAX_PAGE:
            return
        after = page[-1].seq
