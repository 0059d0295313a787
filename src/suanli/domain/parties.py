"""Related parties: who an organisation belongs to, and when two organisations are affiliated.

Two organisations are affiliated when one is the other's parent, when they share a parent, when
they share a beneficial owner (a natural or legal person), or when either lists the other as a
related party. A program that forbids affiliated suppliers refuses to pay a provider affiliated
with the tenant: else a voucher would be cash a group pays to itself. Plain Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from suanli.errors import ValidationError

MAX_PARTIES = 100
MAX_PARTY_CHARS = 64


@dataclass(frozen=True, slots=True)
class Parties:
    """An organisation's ownership as the registry records it."""

    org_id: str
    parent_id: str | None = None
    beneficial_owners: tuple[str, ...] = ()
    related_parties: tuple[str, ...] = ()


def affiliation(a: Parties, b: Parties) -> str:
    """Why ``a`` and ``b`` are affiliated, in words ("" if they are not). Symmetric: the answer
    is empty for (a, b) exactly when it is empty for (b, a)."""
    if a.org_id == b.org_id:
        return f"{a.org_id} is the same organisation"
    if a.parent_id == b.org_id:
        return f"{b.org_id} is the parent of {a.org_id}"
    if b.parent_id == a.org_id:
        return f"{a.org_id} is the parent of {b.org_id}"
    if a.parent_id is not None and a.parent_id == b.parent_id:
        return f"{a.org_id} and {b.org_id} share the parent {a.parent_id}"
    shared = sorted(set(a.beneficial_owners) & set(b.beneficial_owners))
    if shared:
        return f"{a.org_id} and {b.org_id} share the beneficial owner {shared[0]}"
    if b.org_id in a.related_parties:
        return f"{a.org_id} lists {b.org_id} as a related party"
    if a.org_id in b.related_parties:
        return f"{b.org_id} lists {a.org_id} as a related party"
    return ""


def check_parties(
    org_id: str, parent_id: str | None, owners: Iterable[str], related: Iterable[str]
) -> None:
    """Bad ownership facts, named by field: a blank or overlong name, an organisation that is its
    own parent, a party named twice."""
    if parent_id is not None:
        _check_name(parent_id, "parent_id")
        if parent_id == org_id:
            raise ValidationError("parent_id", "an organisation is not its own parent")
    for field, names in (("beneficial_owners", tuple(owners)), ("related_parties", tuple(related))):
        if len(names) > MAX_PARTIES:
            raise ValidationError(field, f"at most {MAX_PARTIES}")
        for i, name in enumerate(names):
            _check_name(name, f"{field}[{i}]")
        if len(set(names)) != len(names):
            raise ValidationError(field, "names a party twice")


def _check_name(value: str, field: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must not be blank")
    if len(value) > MAX_PARTY_CHARS:
        raise ValidationError(field, f"at most {MAX_PARTY_CHARS} characters")
