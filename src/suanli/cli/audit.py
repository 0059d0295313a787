"""``suanli audit``: verify the hash-chained audit log, print its head, export it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from suanli.cli.common import console, err_console, handle_errors, print_json, unit_of_work
from suanli.domain.audit import Head, parse_head
from suanli.domain.roles import SYSTEM
from suanli.errors import ValidationError
from suanli.services import audit

app = typer.Typer(help="The append-only, hash-chained audit log.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="audit")


def _saved_head(path: Path) -> Head:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError("head", f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValidationError("head", f"{path} does not hold a head (a JSON object)")
    return parse_head(data)


@app.command("verify")
@handle_errors
def verify(
    head: Annotated[
        Path | None,
        typer.Option("--head", help="a head saved by `audit head --json`: also catches a cut tail"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Recompute the chain and check every transfer and decision has its entry; exit 1 naming
    the first broken sequence."""
    saved = _saved_head(head) if head is not None else None
    with unit_of_work() as uow:
        report = audit.verify(uow, SYSTEM, saved)
    if as_json:
        print_json(report.as_json())
    elif report.ok:
        h = report.chain.head
        console.print(
            f"audit log intact: {report.chain.entries} entries, head {h.seq} {h.hash}; every "
            "ledger transfer and decision has its entry", highlight=False,
        )  # fmt: skip
    else:
        err_console.print(f"[red]broken:[/red] {report.problem()}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command("head")
@handle_errors
def show_head(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """The newest entry's sequence and hash; keep it to check later that nothing was cut."""
    with unit_of_work() as uow:
        h = audit.head(uow, SYSTEM)
    if as_json:
        print_json({"seq": h.seq, "hash": h.hash})
    else:
        console.print(f"{h.seq} {h.hash}", highlight=False)


@app.command("export")
@handle_errors
def export(
    object_kind: Annotated[str | None, typer.Option(help="only entries on this kind")] = None,
    object_id: Annotated[str | None, typer.Option(help="only entries on this object")] = None,
    actor: Annotated[str | None, typer.Option(help="a token id, role or organisation")] = None,
) -> None:
    """Every entry (or those matching) as JSON Lines on standard output, oldest first."""
    with unit_of_work() as uow:
        for entry in audit.export(
            uow, SYSTEM, actor=actor, object_kind=object_kind, object_id=object_id
        ):
            sys.stdout.write(json.dumps(entry.as_json(), ensure_ascii=False) + "\n")
