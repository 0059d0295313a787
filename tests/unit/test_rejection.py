"""One rejection type: every per-operation failure code is in the closed set, and the kind of
each decides the HTTP status and the CLI exit status in one place."""

from __future__ import annotations

import pytest
import typer
from fastapi import Response

from suanli.api.errors import answer_rejection
from suanli.cli.common import exit_if_rejected
from suanli.domain.vouchers import ReviewResult
from suanli.ledger.model import TransferResult
from suanli.rejection import Code, Kind, Rejection

ESTIMATOR_CODES = (
    "precision_unsupported",
    "too_large",
    "count_too_small",
    "missing_figures",
    "rate",
)


def test_every_failure_of_a_result_enum_has_a_code() -> None:
    for enum in (TransferResult, ReviewResult):
        failures = [member for member in enum if not member.ok]
        assert failures
        for member in failures:
            assert Code(member.value).value == member.value
    for code in ESTIMATOR_CODES:
        assert Code(code)


def test_the_kind_decides_the_http_status() -> None:
    conflict = Rejection(Code.INSUFFICIENT_FUNDS, "account has 0 available", "amount_fen")
    invalid = Rejection(Code.OVER_ENTITLEMENT, "above what the rates pay", "amount_fen")
    assert conflict.kind is Kind.CONFLICT and invalid.kind is Kind.INVALID
    for rejection, status in ((conflict, 409), (invalid, 422)):
        response = Response(status_code=201)
        body = answer_rejection(response, rejection)
        assert response.status_code == status
        assert body == {"code": rejection.code.value, "kind": rejection.kind.value,
                        "field": "amount_fen", "message": rejection.message}  # fmt: skip
    accepted = Response(status_code=201)
    assert answer_rejection(accepted, None) is None and accepted.status_code == 201


@pytest.mark.parametrize(("code", "status"), [(Code.VOUCHER_EXPIRED, 1), (Code.MEMORY, 2)])
def test_the_kind_decides_the_exit_status(code: Code, status: int) -> None:
    with pytest.raises(typer.Exit) as stopped:
        exit_if_rejected(Rejection(code, "no"))
    assert stopped.value.exit_code == status
    exit_if_rejected(None)  # accepted: no exit
