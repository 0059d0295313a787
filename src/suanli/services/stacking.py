"""Applications on one cost: a contract as stored with an application, which applications of a
tenant are on the same cost (the same contract number, or the same provider, chip, hours and
amount), and what that cost is. Programs stack on a cost within their own rates and together
within 100 %."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from suanli.domain.programs import Program
from suanli.domain.subsidy_facts import Contract
from suanli.domain.vouchers import Application, Status
from suanli.services import awards
from suanli.services.catalog import load_catalog
from suanli.store.repositories import vouchers as repo
from suanli.store.uow import UnitOfWork


def contract_json(contract: Contract) -> dict[str, Any]:
    data = {
        "provider_id": contract.provider_id,
        "accelerator_id": contract.accelerator_id,
        "accelerator_hours": str(contract.accelerator_hours),
        "amount_fen": contract.amount_fen,
        "currency": contract.currency,
        "start_on": contract.start_on.isoformat(),
        "end_on": None if contract.end_on is None else contract.end_on.isoformat(),
    }
    if contract.contract_id:  # only when given, so records stored before it compare equal
        data["contract_id"] = contract.contract_id
    return data


def contract_from_json(data: Mapping[str, Any]) -> Contract:
    end_on = data.get("end_on")
    return Contract(
        str(data["provider_id"]), str(data["accelerator_id"]),
        Fraction(str(data["accelerator_hours"])), int(data["amount_fen"]), str(data["currency"]),
        date.fromisoformat(str(data["start_on"])),
        None if end_on is None else date.fromisoformat(str(end_on)),
        contract_id=str(data.get("contract_id") or ""),
    )  # fmt: skip


def cost_key(contract: Mapping[str, Any]) -> tuple[Any, ...]:
    """What makes two contracts stated without a number one cost: provider, accelerator model
    (an alias is the same model), amount, currency and start. Restating the term or hours
    does not make a new cost."""
    acc = load_catalog().find(str(contract["accelerator_id"]))
    model = acc.id if acc is not None else str(contract["accelerator_id"]).lower()
    return (
        contract["provider_id"], model, contract["amount_fen"], contract["currency"],
        contract["start_on"],
    )  # fmt: skip


def same_cost(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Two contracts of one tenant are one cost when both name the same ``contract_id``,
    whatever else they state; when either names none, when they state the same details.
    Two different numbers are two contracts."""
    a_id, b_id = a.get("contract_id"), b.get("contract_id")
    if a_id and b_id:
        return bool(a_id == b_id)
    return cost_key(a) == cost_key(b)


@dataclass(frozen=True, slots=True)
class OnCost:
    """Another application on the same cost: its program, what it pays (approved) or may
    pay (pending), and the amount its contract states."""

    program: Program
    amount_fen: int
    stated_fen: int
    approved: bool


def stacked_on(
    uow: UnitOfWork, tenant_id: str, contract: Mapping[str, Any], *, but: str, approved_only: bool
) -> list[OnCost]:
    """The subsidies on the same cost: each other application of the tenant on it (approved,
    or also pending) with its program and amount (approved, or what it may be approved)."""
    out = []
    for other in repo.list_all(uow.conn, Application, tenant_id=tenant_id):
        if other.id == but or not same_cost(other.facts["contract"], contract):
            continue
        stated = int(other.facts["contract"]["amount_fen"])
        program = awards.known_program(other.program_id)
        if other.status is Status.APPROVED:
            out.append(OnCost(program, other.approved_fen or 0, stated, True))
        elif other.status is Status.PENDING and not approved_only:
            may_pay = min(other.requested_fen, other.entitled_fen)
            out.append(OnCost(program, may_pay, stated, False))
    return out


def cost_of(contract: Mapping[str, Any], on_cost: Sequence[OnCost]) -> int:
    """The cost the applications on it are judged against: one contract stated with several
    amounts counts at the smallest."""
    return min([int(contract["amount_fen"]), *(o.stated_fen for o in on_cost)])
