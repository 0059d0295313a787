"""Many ledger transfers in one transaction: the batch, and hold expiry in bulk.

``transfer_batch`` applies up to ``MAX_BATCH`` transfers (single or pending) in order, as if each
were made by ``ledger.transfer`` one after another in the caller's unit of work, and answers a
``TransferOutcome`` per transfer: a refused transfer is refused on its own (the ones before and
after it still apply), exactly as it would be alone, with the balances the earlier transfers of
the batch left (``ledger.batch.plan`` decides, in memory). The batch costs a handful of
statements whatever its size: the accounts are read and locked in one statement (id order, as
every writer takes them); on PostgreSQL the new transfers and the changed totals are written in
one more (an id found stored there undoes it and the batch is decided again, knowing the stored
ones); on SQLite the ids are looked up first, then the transfers and the totals written. The
applied transfers share one audit entry, ``ledger.batch``,
whose change lists every one of them (its digest covers them all; ``audit verify`` counts a
transfer listed there as logged).

Idempotency per transfer id, as in ``ledger.transfer``: an id already stored answers ``exists``
(same content) or ``exists_with_different_content``; an id repeated inside the batch is judged
against its first applied occurrence. Input that is malformed on its face, anywhere in the
batch, raises ``ValidationError`` naming ``transfers[i].field`` before anything is read, so a bad
batch writes nothing.

Who may call it. The platform derives every money movement itself (settlement from usage,
vouchers from decisions); the HTTP batch names accounts and amounts directly, so it is an
officer's operation (the platform's operator), like ``suanli ledger`` on the console.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from suanli.domain.money import MINOR_UNITS
from suanli.domain.roles import Principal, Role
from suanli.errors import ConflictError, PermissionDenied, ValidationError
from suanli.ledger.batch import PENDING_CREDITS, PENDING_DEBITS, Plan, TransferSpec, plan
from suanli.ledger.model import Account, TransferOutcome, TransferStatus
from suanli.ledger.rules import ID_PATTERN, MAX_AMOUNT
from suanli.services import audit
from suanli.services.common import aware_now
from suanli.services.ledger import MAX_MEMO_CHARS, _check_transfer
from suanli.store.repositories import ledger as repo
from suanli.store.repositories import ledger_batch as batch_repo
from suanli.store.uow import UnitOfWork

__all__ = ["MAX_BATCH", "TransferSpec", "check_batch", "check_one", "expire_pending",
           "submit_batch", "transfer_batch"]  # fmt: skip

MAX_BATCH = 8190  # transfers per batch, as in TigerBeetle's batches


def check_batch(specs: Sequence[TransferSpec]) -> None:
    """A ValidationError naming ``transfers[i].field`` for the first malformed transfer."""
    if len(specs) > MAX_BATCH:
        raise ValidationError(
            "transfers", f"at most {MAX_BATCH} transfers a batch, got {len(specs)}"
        )
    known_ids: set[str] = set()  # account ids found well formed: a batch names few, many times
    for i, s in enumerate(specs):
        if not _plainly_valid(s, known_ids):
            check_one(i, s)


def check_one(i: int, s: TransferSpec) -> None:
    """The full check of the batch's ``i``-th transfer: a ValidationError naming the field."""
    if not isinstance(s.pending, bool):
        raise ValidationError(f"transfers[{i}].pending", "must be true or false")
    try:
        _check_transfer(s.id, s.debit_account_id, s.credit_account_id, s.amount_minor,
                        s.currency, s.pending, s.timeout_s, s.memo)  # fmt: skip
    except ValidationError as exc:
        field = "id" if exc.field == "transfer_id" else exc.field
        raise ValidationError(f"transfers[{i}].{field}", exc.message) from None


def _plainly_valid(s: TransferSpec, known_ids: set[str]) -> bool:
    """The usual transfer (no timeout), found well formed at a fraction of the full check's cost;
    False sends it to the full check, which names what is wrong (or finds nothing wrong)."""
    debit, credit, amount = s.debit_account_id, s.credit_account_id, s.amount_minor
    if not (type(s.id) is str and ID_PATTERN.fullmatch(s.id) and type(debit) is str
            and type(credit) is str and debit != credit and type(amount) is int
            and 0 < amount < MAX_AMOUNT and type(s.currency) is str
            and s.currency in MINOR_UNITS and type(s.pending) is bool and s.timeout_s is None
            and type(s.memo) is str and len(s.memo) <= MAX_MEMO_CHARS):  # fmt: skip
        return False
    for account_id in (debit, credit):
        if account_id not in known_ids:
            if not ID_PATTERN.fullmatch(account_id):
                return False
            known_ids.add(account_id)
    return True


def transfer_batch(
    uow: UnitOfWork, specs: Sequence[TransferSpec], *, now: datetime | None = None
) -> list[TransferOutcome]:
    """Apply ``specs`` in order in the caller's unit of work (no commit); one outcome each."""
    check_batch(specs)
    if not specs:
        return []
    at = aware_now(now)
    accounts = repo.lock_accounts(
        uow.conn, {a for s in specs for a in (s.debit_account_id, s.credit_account_id)}
    )
    decided = _applied_if_new(uow, accounts, specs, at) if uow.dialect == "postgresql" else None
    if decided is None:
        # Read after the locks: a concurrent writer of one of these ids on these accounts has
        # committed by now, so its transfer is seen here and answered as a replay.
        stored = batch_repo.get_transfers(uow.conn, (s.id for s in specs))
        decided = plan(accounts, stored, specs, at)
        if batch_repo.insert_transfers(uow.conn, decided.new) != len(decided.new):
            # An id was stored by a concurrent writer on other accounts after the lookup: roll
            # the whole batch back; its retry answers that id as a replay.
            raise ConflictError(
                "a transfer id of the batch was stored concurrently; retry the batch"
            )
        batch_repo.add_to_many(uow.conn, decided.deltas)
        audit.record_batch(uow, decided.new)
    return decided.outcomes


def _applied_if_new(
    uow: UnitOfWork, accounts: Mapping[str, Account], specs: Sequence[TransferSpec], at: datetime
) -> Plan | None:
    """PostgreSQL: the batch decided as if none of its ids were stored, its transfers and totals
    written in one statement and its audit entry drafted meanwhile; None (nothing written) when
    an id turns out to be stored.

    Ids are seldom replayed, so the lookup of every id before the insert was a round trip (and a
    scan of the ids) spent for nothing: the insert itself says which ids were taken. A refused
    transfer is not inserted, so its id is looked up here, only when the batch has one."""
    decided = plan(accounts, {}, specs, at)
    refused = [s.id for s, o in zip(specs, decided.outcomes, strict=True) if o.transfer is None]
    if refused and batch_repo.get_transfers(uow.conn, refused):
        return None
    with batch_repo.inserting_and_adding(uow.conn, decided.new, decided.deltas) as written:
        draft = audit.batch_draft(decided.new)  # while PostgreSQL writes the batch
    if not written.stored:
        return None  # an id was stored (before, or by a concurrent writer): nothing was written
    audit.record_drafted(uow, draft)
    return decided


def submit_batch(
    uow: UnitOfWork, who: Principal, specs: Sequence[TransferSpec]
) -> list[TransferOutcome]:
    """The HTTP batch: an officer's; every applied transfer is logged as theirs; committed."""
    if who.role is not Role.OFFICER:
        raise PermissionDenied(f"{who.role} may not make ledger transfers")
    audit.acting(uow, who)
    outcomes = transfer_batch(uow, specs)
    uow.commit()
    return outcomes


def expire_pending(uow: UnitOfWork, now: datetime | None = None) -> int:
    """Release every open hold whose timeout has passed, in bulk; return how many.

    The same effect and entries as releasing them one by one (``ledger.expire``), in four
    statements however many holds are due."""
    at = aware_now(now)
    due = repo.holds_due(uow.conn, at)
    if not due:
        return 0
    repo.lock_accounts(
        uow.conn, {a for h in due for a in (h.debit_account_id, h.credit_account_id)}
    )
    deltas: dict[str, list[int]] = {}
    for hold in due:
        released = hold.amount_minor
        deltas.setdefault(hold.debit_account_id, [0, 0, 0, 0])[PENDING_DEBITS] -= released
        deltas.setdefault(hold.credit_account_id, [0, 0, 0, 0])[PENDING_CREDITS] -= released
        audit.record_transfer(uow, hold, "ledger.expire")
    repo.resolve_holds(uow.conn, [h.id for h in due], TransferStatus.EXPIRED, at)
    batch_repo.add_to_many(uow.conn, deltas)
    return len(due)
