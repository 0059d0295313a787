"""``check_batch``'s short path for the usual transfer accepts exactly what the full check
accepts, and a bad batch names the same field with the same message either way (Hypothesis)."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.errors import ValidationError
from suanli.ledger.batch import TransferSpec
from suanli.services.ledger_batch import check_batch, check_one

ANY_ID = st.one_of(
    st.sampled_from(["a", "wallet:1", "issuer:sh", "x" * 128, "x" * 129, "", " a", "a\n",
                     "a b", "ü", "a/b@c-d.e_f"]),
    st.text(min_size=0, max_size=6),
    st.integers(0, 3),
    st.none(),
)  # fmt: skip
ANY = {
    "id": ANY_ID,
    "debit_account_id": ANY_ID,
    "credit_account_id": ANY_ID,
    "amount_minor": st.one_of(st.integers(-2, 5), st.none(),
                              st.sampled_from([2**62 - 1, 2**62, True, 1.0, "5"])),
    "currency": st.sampled_from(["CNY", "USD", "cny", "XXX", "", 1, None]),
    "pending": st.sampled_from([False, True, 0, None]),
    "timeout_s": st.sampled_from([None, 60, 0, -1, True]),
    "memo": st.sampled_from(["", "m", "x" * 500, "x" * 501, None, 3]),
}  # fmt: skip
DEBITS = st.sampled_from(["issuer:sh", "wallet:1"])
CREDITS = st.sampled_from(["wallet:2", "wallet:3", "wallet:1"])  # now and then the debit


@st.composite
def specs(draw: st.DrawFn) -> TransferSpec:
    """A well-formed transfer, often with one field swapped for any value, good or bad."""
    fields: dict[str, object] = {
        "id": draw(st.sampled_from(["t1", "t2", "x" * 128])),
        "debit_account_id": draw(DEBITS),
        "credit_account_id": draw(CREDITS),
        "amount_minor": draw(st.integers(1, 10**6)),
        "currency": draw(st.sampled_from(["CNY", "USD"])),
        "pending": draw(st.booleans()),
        "timeout_s": None,
        "memo": draw(st.sampled_from(["", "memo"])),
    }
    swapped = draw(st.sampled_from([None, *ANY]))
    if swapped is not None:
        fields[swapped] = draw(ANY[swapped])
    return TransferSpec(**fields)  # type: ignore[arg-type]


def _full_check(specs: Sequence[TransferSpec]) -> None:
    """The check every transfer went through before the short path: its errors are the truth."""
    for i, s in enumerate(specs):
        check_one(i, s)


def _verdict(check: object, specs: Sequence[TransferSpec]) -> tuple[str, str] | None:
    try:
        check(specs)  # type: ignore[operator]
    except ValidationError as exc:
        return exc.field, exc.message
    return None


@settings(max_examples=1000, derandomize=True)
@given(st.lists(specs(), max_size=4))
def test_the_short_path_agrees_with_the_full_check(specs: list[TransferSpec]) -> None:
    assert _verdict(check_batch, specs) == _verdict(_full_check, specs)


def test_well_formed_batches_pass_both() -> None:
    good = [TransferSpec(f"t{i}", "issuer:sh", f"wallet:{i % 3}", 100 + i, "CNY") for i in range(9)]
    good.append(TransferSpec("h", "wallet:1", "wallet:2", 5, "CNY", pending=True, timeout_s=60))
    assert _verdict(check_batch, good) is None and _verdict(_full_check, good) is None
