"""``suanli program list|check|show`` and ``suanli subsidy``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError as PydanticValidationError
from rich.table import Table

from suanli.cli.common import console, handle_errors, print_json, unit_of_work
from suanli.domain.money import Money
from suanli.domain.roles import SYSTEM
from suanli.domain.subsidy_facts import percent
from suanli.errors import ValidationError
from suanli.schemas.programs import SubsidyIn
from suanli.schemas.views import decision_json, program_json
from suanli.services.programs import (
    check_program_file,
    decide_subsidy,
    explain,
    get_program,
    load_programs,
)

app = typer.Typer(help="Subsidy programs declared as files under data/programs/.")


@app.command("list")
@handle_errors
def list_(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """List the programs."""
    found = load_programs()
    if as_json:
        print_json([program_json(p) for p in found.values()])
        return
    table = Table(title=f"{len(found)} programs")
    for col in ("id", "kind", "jurisdiction", "domestic", "foreign", "cap / entity", "valid"):
        table.add_column(col)
    for p in found.values():
        cap = "" if p.cap_per_entity_fen is None else str(Money(p.cap_per_entity_fen, p.currency))
        rates = [percent(r) if r is not None else "—" for r in (p.rates.domestic, p.rates.foreign)]
        valid = " to ".join(str(d) for d in (p.valid_from, p.valid_until) if d) or "open"
        table.add_row(p.id, p.kind, p.jurisdiction, *rates, cap, valid)
    console.print(table)


@app.command("check")
@handle_errors
def check(path: Path) -> None:
    """Validate a program file; exit 2 with the field at fault if it is malformed."""
    program = check_program_file(path)
    typer.echo(f"ok: {program.id} ({program.kind}, {len(program.eligibility)} rules)")


@app.command("show")
@handle_errors
def show(
    program_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Explain a program in words."""
    program = get_program(program_id)
    if as_json:
        print_json(program_json(program, words=True))
        return
    for line in explain(program):
        console.print(line, highlight=False, markup=False)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError(what, f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(what, f"{path} is not valid JSON: {exc}") from None


def _body(data: dict[str, Any]) -> SubsidyIn:
    try:
        return SubsidyIn.model_validate(data)
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        raise ValidationError(".".join(str(p) for p in err["loc"]), err["msg"]) from None


@handle_errors
def subsidy(
    program: Annotated[str, typer.Option(help="program id, e.g. hangzhou-2025")],
    tenant: Annotated[str, typer.Option(help="tenant JSON file, or a registered tenant id")],
    contract: Annotated[Path, typer.Option(help="contract JSON file")],
    already: Annotated[int, typer.Option(help="subsidy already paid this year, fen")] = 0,
    other: Annotated[int, typer.Option(help="other subsidies on this cost, fen")] = 0,
    tier: Annotated[str | None, typer.Option(help="credit tier, for credit allocations")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The subsidy a program pays a tenant on one contract, line by line."""
    data: dict[str, Any] = {
        "program_id": program,
        "contract": _read_json(contract, "contract"),
        "already_subsidised_this_year_fen": already,
        "other_subsidies_fen": other,
        "tier": tier,
    }
    by_file = Path(tenant).is_file()
    data["tenant" if by_file else "tenant_id"] = (
        _read_json(Path(tenant), "tenant") if by_file else tenant
    )
    body = _body(data)
    if by_file and not body.contract.provider_city:  # resolve the provider from the registry
        by_file = False
    if by_file:
        decision = decide_subsidy(None, SYSTEM, **body.question())
    else:
        with unit_of_work() as uow:
            decision = decide_subsidy(uow, SYSTEM, **body.question())
    if as_json:
        print_json(decision_json(decision))
        return
    verdict = "eligible" if decision.eligible else "NOT eligible"
    console.print(f"[bold]{decision.program_id}[/bold]: {verdict}", highlight=False)
    for v in decision.reasons:
        console.print(f"  {'✓' if v.passed else '✗'} {v.check}: {v.reason}", highlight=False)
    for line in decision.lines:
        console.print(f"  {line}", highlight=False)


def register(main: typer.Typer) -> None:
    main.add_typer(app, name="program")
    main.command("subsidy")(subsidy)
