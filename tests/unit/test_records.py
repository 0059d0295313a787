"""quick_init: the same record as the dataclass's own ``__init__`` makes, only made faster."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from datetime import UTC, datetime

import pytest

from suanli.ledger.batch import TransferSpec
from suanli.ledger.model import Transfer, TransferKind, TransferOutcome, TransferResult
from suanli.ledger.model import TransferStatus as Status
from suanli.records import quick_init

AT = datetime(2026, 12, 7, tzinfo=UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class Plain:
    a: str
    b: int
    c: str | None = None
    d: tuple[int, ...] = ()


@quick_init
@dataclasses.dataclass(frozen=True, slots=True)
class Quick:
    a: str
    b: int
    c: str | None = None
    d: tuple[int, ...] = ()


def test_positional_keyword_and_default_arguments_store_the_same_fields() -> None:
    for args, kwargs in [(("x", 1), {}), (("x", 1, "y"), {}), (("x",), {"b": 2, "d": (3,)})]:
        plain, quick = Plain(*args, **kwargs), Quick(*args, **kwargs)
        assert dataclasses.astuple(quick) == dataclasses.astuple(plain)


def test_the_signature_is_the_dataclass_own() -> None:
    assert list(inspect.signature(Quick).parameters) == ["a", "b", "c", "d"]
    assert Quick.__init__.__qualname__ == "Quick.__init__"
    assert Quick.__init__.__module__ == __name__
    with pytest.raises(TypeError):
        Quick("x")  # b is required
    with pytest.raises(TypeError):
        Quick("x", 1, e=2)


def test_the_record_stays_frozen_hashable_and_comparable() -> None:
    q = Quick("x", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.a = "y"  # type: ignore[attr-defined]
    assert q == Quick("x", 1) and q != Quick("x", 2)
    assert hash(q) == hash(Quick("x", 1))
    assert dataclasses.replace(q, b=5) == Quick("x", 5)  # type: ignore[type-var]
    assert pickle.loads(pickle.dumps(q)) == q
    assert repr(q) == "Quick(a='x', b=1, c=None, d=())"


def test_the_ledger_records_are_made_with_it() -> None:
    t = Transfer("t1", TransferKind.SINGLE, "a", "b", 5, "CNY", Status.POSTED, None, None, None,
                 "", AT)  # fmt: skip
    assert t.resolved_at is None  # the default
    assert TransferOutcome(TransferResult.OK, t).reason == ""
    assert TransferSpec("t1", "a", "b", 5, "CNY").applied(AT) == t
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.amount_minor = 6  # type: ignore[misc]


def test_only_plain_frozen_slotted_dataclasses_are_accepted() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (NoSlots, NotFrozen, Factory, PostInit, int):
        with pytest.raises(TypeError):
            quick_init(cls)
