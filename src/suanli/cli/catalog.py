from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from suanli.cli.common import console, handle_errors, print_json
from suanli.schemas.views import accelerator_json
from suanli.services.catalog import get_accelerator, load_catalog

app = typer.Typer(help="The accelerator catalog: sourced specs, origin, export status.")


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@app.command("list")
@handle_errors
def list_(
    origin: Annotated[str | None, typer.Option(help="domestic or foreign")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List accelerator models."""
    if origin not in (None, "domestic", "foreign"):
        raise typer.BadParameter("must be 'domestic' or 'foreign'", param_hint="--origin")
    accs = [a for a in load_catalog().all() if origin in (None, a.origin)]
    if as_json:
        print_json([accelerator_json(a) for a in accs])
        return
    table = Table(title=f"{len(accs)} accelerator models (dense peaks)")
    for col in (
        "id",
        "vendor",
        "model",
        "origin",
        "BF16 TF",
        "FP8 TF",
        "mem GB",
        "TB/s",
        "W",
        "export",
        "conf.",
    ):
        table.add_column(col)
    for a in accs:
        table.add_row(
            a.id,
            a.vendor,
            a.model,
            a.origin,
            _fmt(a.peak_tflops("bf16")),
            _fmt(a.peak_tflops("fp8")),
            _fmt(a.memory_gb),
            _fmt(a.bandwidth_tbps),
            _fmt(a.tdp_w),
            a.export_control.status,
            a.confidence,
        )
    console.print(table)


@app.command("show")
@handle_errors
def show(
    model: str,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show one model (by id or alias) with every figure's confidence and the sources."""
    acc = get_accelerator(model)
    data = accelerator_json(acc)
    if as_json:
        print_json(data)
        return
    console.print(f"[bold]{acc.vendor} {acc.model}[/bold]  ({acc.id}; {acc.origin})")
    if acc.aliases:
        console.print(f"aliases: {', '.join(acc.aliases)}")
    console.print(f"precisions: {', '.join(sorted(acc.precisions))}")
    for name, fig in acc.figures.items():
        note = f"  — {fig.note}" if fig.note else ""
        console.print(f"  {name:15} {fig.value:>10g}  [{fig.confidence}]{note}", highlight=False)
    ec = acc.export_control
    console.print(f"export control: {ec.status} (as of {ec.as_of or 'unknown'}): {ec.note}")
    console.print(f"confidence: {acc.confidence}")
    for src in acc.sources:
        console.print(f"  source: {src}", highlight=False)
