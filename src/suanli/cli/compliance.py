"""``suanli compliance``: the compliance rules, the flags they raise on offers, and an
officer's decision on a flag (clear or confirm, with a reason)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from suanli.cli.common import console, handle_errors, print_json, unit_of_work
from suanli.domain.compliance import Flag
from suanli.domain.roles import SYSTEM, Principal, Role
from suanli.services import compliance
from suanli.services.catalog import load_catalog

app = typer.Typer(help="Compliance rules (data/compliance/*.toml) and the offers they flag.")
AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]


@app.command("rules")
@handle_errors
def rules(as_json: AsJson = False) -> None:
    """List the rules, each with its effect, the date it takes effect and its first source."""
    book = compliance.load_rules()
    if as_json:
        print_json([r.to_dict() for r in book.rules])
        return
    table = Table(title=f"{len(book.rules)} compliance rules")
    for col in ("id", "effect", "takes effect", "chips", "where", "tenants", "source"):
        table.add_column(col)
    for r in book.rules:
        table.add_row(
            r.id, r.effect, r.takes_effect.isoformat(), ", ".join(sorted(r.chips)),
            ", ".join(sorted(r.countries)), ", ".join(sorted(r.tenant_classes)) or "any",
            r.sources[0].url,
        )  # fmt: skip
    console.print(table)


@app.command("offers")
@handle_errors
def offers(as_json: AsJson = False) -> None:
    """List the live offers the rules flag, each with its rule and whether it excludes."""
    with unit_of_work() as uow:
        flags = compliance.flagged_offers(uow, SYSTEM)
    if as_json:
        print_json([f.to_dict() for f in flags])
        return
    _flag_table(flags)


def _flag_table(flags: list[Flag]) -> None:
    table = Table(title=f"{len(flags)} compliance flags on live offers (--json for the reasons)")
    for col in ("offer", "chip", "rule", "effect", "tenants", "status", "excludes"):
        table.add_column(col)
    catalog = load_catalog()
    for f in flags:
        table.add_row(
            f.offer_id, catalog.get(f.accelerator_id).model, f.rule.id, f.rule.effect,
            ", ".join(sorted(f.rule.tenant_classes)) or "any", f.status,
            "yes" if f.excludes else "no",
        )  # fmt: skip
    console.print(table)


def _decide(
    offer_id: str, rule_id: str, decision: str, reason: str, by: str, as_json: bool
) -> None:
    who = Principal(Role.OFFICER, None, name=by) if by else SYSTEM
    with unit_of_work() as uow:
        flag = compliance.decide(uow, who, offer_id, rule_id, decision, reason)
    if as_json:
        print_json(flag.to_dict())
        return
    console.print(f"{flag.offer_id}: rule {flag.rule.id} {flag.status} by "
                  f"{by or SYSTEM.describe()}: {reason.strip()}")  # fmt: skip


Rule = Annotated[str, typer.Option("--rule", help="the rule id of the flag")]
Reason = Annotated[str, typer.Option("--reason", help="why (stored with the decision)")]
By = Annotated[str, typer.Option("--by", help="the officer's name, as the record shows it")]


@app.command("clear")
@handle_errors
def clear(offer_id: str, rule: Rule, reason: Reason, by: By = "", as_json: AsJson = False) -> None:
    """Clear a flag: the offer is no longer left out by this rule."""
    _decide(offer_id, rule, "cleared", reason, by, as_json)


@app.command("confirm")
@handle_errors
def confirm(
    offer_id: str, rule: Rule, reason: Reason, by: By = "", as_json: AsJson = False
) -> None:
    """Confirm a flag: the offer stays left out, and the record says why."""
    _decide(offer_id, rule, "confirmed", reason, by, as_json)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="compliance")
