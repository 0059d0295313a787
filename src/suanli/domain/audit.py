"""The audit log's hash chain: canonical encoding, an entry's hash, and the chain's check.

Each entry names its sequence number, time, actor, action, object and request, carries the
digest of its change (SHA-256 over the change's canonical JSON) and the hash of the entry
before it; its own hash is SHA-256 over the canonical JSON of all of that. Changing any field,
dropping an entry or reordering two breaks the chain at the first entry touched. Dropping the
newest entries leaves a shorter chain that is still whole, so a head saved earlier (sequence and
hash) is the check against a truncated tail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from suanli.errors import ValidationError

GENESIS_HASH = "0" * 64  # the "previous hash" of sequence 1
FORMAT_VERSION = 1
# A ledger batch's one entry: its change lists every transfer the batch applied, one row each.
BATCH_ACTION = "ledger.batch"
BATCH_COLUMNS = ("id", "kind", "debit", "credit", "amount_minor", "currency", "timeout_s", "memo")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} has no canonical form")


def canonical(value: Any) -> str:
    """One text for one value: JSON, keys sorted, no spaces, UTF-8 kept, no NaN."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_plain,
    )


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def utc_text(at: datetime) -> str:
    """A time as the chain hashes it: UTC, microseconds, always the same length."""
    if at.tzinfo is None:
        raise ValueError("an audit time must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: the token's id, its role and organisation, and the holder's name."""

    token_id: str
    role: str
    org_id: str | None
    name: str = ""


@dataclass(frozen=True, slots=True)
class Draft:
    """What a use case did, before the log gives it a place in the chain. ``actor`` None: the
    unit of work's actor (a ledger transfer is made on behalf of whoever made the operation)."""

    action: str
    object_kind: str
    object_id: str
    change: str  # canonical JSON
    actor: Actor | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    at: datetime
    actor: Actor
    action: str
    object_kind: str
    object_id: str
    request_id: str
    change: str
    change_digest: str
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": utc_text(self.at),
            "actor": {
                "token_id": self.actor.token_id,
                "role": self.actor.role,
                "org_id": self.actor.org_id,
                "name": self.actor.name,
            },
            "action": self.action,
            "object_kind": self.object_kind,
            "object_id": self.object_id,
            "request_id": self.request_id,
            "change": json.loads(self.change),
            "change_digest": self.change_digest,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class Head:
    """The newest entry's sequence and hash (sequence 0 and the genesis hash: an empty log)."""

    seq: int
    hash: str


EMPTY = Head(0, GENESIS_HASH)


def entry_hash(
    seq: int, at: datetime, actor: Actor, action: str, object_kind: str, object_id: str,
    request_id: str, change_digest: str, prev_hash: str,
) -> str:  # fmt: skip
    return sha256_hex(
        canonical(
            {
                "v": FORMAT_VERSION,
                "seq": seq,
                "at": utc_text(at),
                "actor": [actor.token_id, actor.role, actor.org_id, actor.name],
                "action": action,
                "object": [object_kind, object_id],
                "request_id": request_id,
                "change_digest": change_digest,
                "prev_hash": prev_hash,
            }
        )
    )


def seal(
    drafts: Iterable[Draft], head: Head, at: datetime, actor: Actor, request_id: str
) -> list[Entry]:
    """Chain ``drafts`` after ``head``, in order; a draft without an actor gets ``actor``."""
    entries = []
    prev = head
    for draft in drafts:
        who = draft.actor or actor
        seq = prev.seq + 1
        digest = sha256_hex(draft.change)
        own = entry_hash(seq, at, who, draft.action, draft.object_kind, draft.object_id,
                         request_id, digest, prev.hash)  # fmt: skip
        entries.append(
            Entry(
                seq,
                at,
                who,
                draft.action,
                draft.object_kind,
                draft.object_id,
                request_id,
                draft.change,
                digest,
                prev.hash,
                own,
            )  # fmt: skip
        )
        prev = Head(seq, own)
    return entries


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The chain's verdict: whole, or broken first at ``first_broken_seq`` and why."""

    entries: int
    head: Head
    first_broken_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken_seq is None


def _entry_fault(entry: Entry, expected_seq: int, prev_hash: str) -> str:
    if entry.seq != expected_seq:
        return f"sequence {expected_seq} is missing (the next entry is {entry.seq})"
    if entry.prev_hash != prev_hash:
        return "its previous hash is not the hash of the entry before it"
    if sha256_hex(entry.change) != entry.change_digest:
        return "its change does not match its digest"
    recomputed = entry_hash(
        entry.seq, entry.at, entry.actor, entry.action, entry.object_kind, entry.object_id,
        entry.request_id, entry.change_digest, entry.prev_hash,
    )  # fmt: skip
    if recomputed != entry.hash:
        return "its hash does not match its contents"
    return ""


def verify_chain(entries: Iterable[Entry], saved_head: Head | None = None) -> ChainCheck:
    """Recompute the chain over ``entries`` (in sequence order). With ``saved_head`` (a head
    read earlier), the log must still hold that entry unchanged: a shorter log is truncated."""
    count = 0
    prev = EMPTY
    saved_hash_seen = saved_head is None or saved_head.seq == 0
    for entry in entries:
        fault = _entry_fault(entry, prev.seq + 1, prev.hash)
        if fault:
            return ChainCheck(count, prev, prev.seq + 1, fault)
        count += 1
        prev = Head(entry.seq, entry.hash)
        if saved_head is not None and entry.seq == saved_head.seq:
            if entry.hash != saved_head.hash:
                reason = "its hash differs from the saved head's"
                return ChainCheck(count, prev, entry.seq, reason)
            saved_hash_seen = True
    if not saved_hash_seen:
        assert saved_head is not None
        reason = f"the log ends at sequence {prev.seq}; the saved head is at {saved_head.seq}"
        return ChainCheck(count, prev, prev.seq + 1, f"truncated: {reason}")
    return ChainCheck(count, prev)


def batch_transfer_ids(change: str) -> list[str]:
    """The ids of the transfers a ``ledger.batch`` entry's change lists (none if malformed)."""
    try:
        rows = json.loads(change).get("transfers", [])
        return [row[0] for row in rows if isinstance(row, list) and row and isinstance(row[0], str)]
    except (ValueError, AttributeError, TypeError):
        return []


def parse_head(data: Mapping[str, Any]) -> Head:
    """A head as ``suanli audit head --json`` writes it: {"seq": int, "hash": hex}."""
    seq, digest = data.get("seq"), data.get("hash")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise ValidationError("seq", "must be a whole number >= 0")
    if not isinstance(digest, str) or len(digest) != 64 or digest.strip("0123456789abcdef"):
        raise ValidationError("hash", "must be 64 lower-case hex digits")
    return Head(seq, digest)
