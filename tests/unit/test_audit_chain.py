"""The audit chain in memory: canonical text, sealing, and every kind of tampering found."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from suanli.domain.audit import (
    EMPTY,
    GENESIS_HASH,
    Actor,
    Draft,
    Entry,
    Head,
    canonical,
    parse_head,
    seal,
    sha256_hex,
    verify_chain,
)
from suanli.errors import ValidationError

AT = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
WHO = Actor("t0k3n", "reviewer", None, "Wang Fang")


def _chain(n: int = 6) -> list[Entry]:
    entries = []
    head = EMPTY
    for i in range(n):
        draft = Draft("application.review", "application", f"a-{i}", canonical({"i": i}))
        (entry,) = seal([draft], head, AT + timedelta(seconds=i), WHO, f"req-{i}")
        entries.append(entry)
        head = Head(entry.seq, entry.hash)
    return entries


def test_canonical_text_is_one_per_value() -> None:
    assert canonical({"b": 1, "a": [date(2026, 1, 2), (1, 2)], "c": "算力"}) == (
        '{"a":["2026-01-02",[1,2]],"b":1,"c":"算力"}'
    )
    with pytest.raises(ValueError):
        canonical({"x": float("nan")})


def test_a_sealed_chain_verifies_and_links() -> None:
    entries = _chain()
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    assert entries[2].change_digest == sha256_hex('{"i":2}')
    check = verify_chain(entries)
    assert check.ok and check.entries == 6 and check.head == Head(6, entries[-1].hash)
    assert verify_chain([]).ok and verify_chain([], EMPTY).ok


def test_a_draft_with_its_own_actor_keeps_it() -> None:
    officer = Actor("o", "officer", None)
    entries = seal(
        [Draft("x", "k", "1", "{}"), Draft("y", "k", "2", "{}", officer)], EMPTY, AT, WHO, "r"
    )
    assert [e.actor for e in entries] == [WHO, officer]


@pytest.mark.parametrize(
    "field, value",
    [("object_id", "a-other"), ("actor", Actor("x", "officer", None)), ("change", '{"i":9}'),
     ("at", AT), ("request_id", "forged"), ("hash", "f" * 64)],
)  # fmt: skip
def test_changing_any_field_breaks_the_chain_there(field: str, value: object) -> None:
    entries = _chain()
    entries[3] = dataclasses.replace(entries[3], **{field: value})
    check = verify_chain(entries)
    assert check.first_broken_seq == 4 and check.entries == 3


def test_a_deleted_and_a_swapped_entry_are_found() -> None:
    entries = _chain()
    check = verify_chain(entries[:2] + entries[3:])
    assert check.first_broken_seq == 3 and "missing" in check.reason
    swapped = entries[:2] + [dataclasses.replace(entries[3], seq=3),
                             dataclasses.replace(entries[2], seq=4)] + entries[4:]  # fmt: skip
    assert verify_chain(swapped).first_broken_seq == 3


def test_a_cut_tail_is_found_only_against_a_saved_head() -> None:
    entries = _chain()
    saved = Head(entries[-1].seq, entries[-1].hash)
    assert verify_chain(entries[:4]).ok
    check = verify_chain(entries[:4], saved)
    assert check.first_broken_seq == 5 and check.reason.startswith("truncated")
    assert verify_chain(entries, saved).ok
    assert verify_chain(entries, Head(3, "0" * 64)).first_broken_seq == 3


def test_a_saved_head_is_checked_for_shape() -> None:
    assert parse_head({"seq": 4, "hash": "a" * 64}) == Head(4, "a" * 64)
    for bad, field in (
        ({"seq": True, "hash": "a" * 64}, "seq"),
        ({"seq": 1, "hash": "xyz"}, "hash"),
    ):
        with pytest.raises(ValidationError) as err:
            parse_head(bad)
        assert err.value.field == field
