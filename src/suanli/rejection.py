"""Business rejections: one result type with a closed set of codes.

A use case that the rules refuse (insufficient funds, over budget, an expired voucher, no
feasible offer) returns a ``Rejection`` on its outcome; it does not raise. A rejection changes
nothing: the unit of work that produced it is not committed. Failures of the environment and
malformed input are exceptions instead (``suanli.errors``).

Each code has one kind, and the kind alone decides how an adapter answers, in one place each:

    kind       meaning                                          HTTP   CLI exit
    conflict   well-formed, but the current state refuses it     409    1
    invalid    can never succeed as stated (fix the request)     422    2

The codes are a closed set (like TigerBeetle's result codes): a per-operation result enum
(``ledger.model.TransferResult``, ``domain.vouchers.ReviewResult``) converts its failures with
``Code(result.value)``, and a test checks that every failure value has a code here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    CONFLICT = "conflict"
    INVALID = "invalid"


class Code(StrEnum):
    # Ledger transfers (ledger.model.TransferResult's failures).
    EXISTS_WITH_DIFFERENT_CONTENT = "exists_with_different_content"
    ACCOUNT_NOT_FOUND = "account_not_found"
    CURRENCY_MISMATCH = "currency_mismatch"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    PENDING_NOT_FOUND = "pending_not_found"
    NOT_A_PENDING_TRANSFER = "not_a_pending_transfer"
    PENDING_ALREADY_POSTED = "pending_already_posted"
    PENDING_ALREADY_VOIDED = "pending_already_voided"
    PENDING_EXPIRED = "pending_expired"
    EXCEEDS_PENDING_AMOUNT = "exceeds_pending_amount"
    # Reviews of applications and purchase claims (domain.vouchers.ReviewResult's failures).
    NOT_PENDING = "not_pending"
    OVER_REQUESTED = "over_requested"
    OVER_ENTITLEMENT = "over_entitlement"
    OVER_BUDGET = "over_budget"
    OVER_CAP = "over_cap"
    OVER_STACKING = "over_stacking"
    MISSING_REQUIRED = "missing_required"
    LEDGER_REFUSED = "ledger_refused"
    # Vouchers.
    VOUCHER_NOT_YET_VALID = "voucher_not_yet_valid"
    VOUCHER_EXPIRED = "voucher_expired"
    # The exchange: a request, and each offer a quote leaves out.
    NO_FEASIBLE_OFFER = "no_feasible_offer"
    CAPACITY_TAKEN = "capacity_taken"
    ORIGIN = "origin"  # the request allows only the other origin
    EXPORT_CONTROLLED = "export_controlled"
    PRECISION = "precision"
    MEMORY = "memory"
    CAPACITY = "capacity"
    CATALOG = "catalog"  # the catalog lacks a figure the estimate needs
    NOT_ACCREDITED = "not_accredited"
    RELATED_PARTY = "related_party"  # the program forbids paying the tenant's own affiliate
    MODEL_NOT_FILED = "model_not_filed"  # a public inference service needs a filed model
    DEADLINE = "deadline"
    CEILING = "ceiling"
    POLICY = "policy"
    COMPLIANCE = "compliance"  # a compliance rule's flag on the offer (domain.compliance)
    # The estimator, per accelerator.
    PRECISION_UNSUPPORTED = "precision_unsupported"
    TOO_LARGE = "too_large"
    COUNT_TOO_SMALL = "count_too_small"
    MISSING_FIGURES = "missing_figures"
    RATE = "rate"


# Codes whose request can never succeed as stated; every other code is a conflict with state
# (RELATED_PARTY and MODEL_NOT_FILED among them: the registry may change, the request need not).
_INVALID = frozenset(
    {
        Code.ACCOUNT_NOT_FOUND,
        Code.CURRENCY_MISMATCH,
        Code.PENDING_NOT_FOUND,
        Code.NOT_A_PENDING_TRANSFER,
        Code.EXCEEDS_PENDING_AMOUNT,
        Code.OVER_REQUESTED,
        Code.OVER_ENTITLEMENT,
        Code.ORIGIN,
        Code.EXPORT_CONTROLLED,
        Code.PRECISION,
        Code.MEMORY,
        Code.CATALOG,
        Code.PRECISION_UNSUPPORTED,
        Code.TOO_LARGE,
        Code.COUNT_TOO_SMALL,
        Code.MISSING_FIGURES,
    }
)


def kind_of(code: Code) -> Kind:
    return Kind.INVALID if code in _INVALID else Kind.CONFLICT


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a use case refused: a code, a message for people, and the field it concerns."""

    code: Code
    message: str
    field: str = ""

    @property
    def kind(self) -> Kind:
        return kind_of(self.code)

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "kind": self.kind.value, "field": self.field,
                "message": self.message}  # fmt: skip
