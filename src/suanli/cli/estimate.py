"""``suanli estimate``: what a workload costs on an accelerator or offer; ``validate`` the model."""

from __future__ import annotations

from typing import Annotated, Any, cast

import typer
from rich.table import Table

from suanli.cli.common import console, err_console, handle_errors, print_json, unit_of_work
from suanli.errors import ValidationError
from suanli.estimate.api import Estimate, Infeasible
from suanli.estimate.calibration import load_runs
from suanli.estimate.validation import ValidationReport, leave_one_out
from suanli.estimate.workload import Workload
from suanli.paths import data_dir
from suanli.services import estimates
from suanli.services.catalog import load_catalog
from suanli.services.estimates import default_model

app = typer.Typer(help="Estimate hours, chips, energy and cost of a workload; validate the model.")


@app.callback(invoke_without_command=True)
@handle_errors
def estimate_cmd(
    ctx: typer.Context,
    params_b: Annotated[float | None, typer.Option(help="parameters, billions")] = None,
    tokens_b: Annotated[float, typer.Option(help="training tokens, billions")] = 0.0,
    accelerator: Annotated[str | None, typer.Option(help="catalog id or alias")] = None,
    offer: Annotated[str | None, typer.Option(help="an offer id (price, PUE, size)")] = None,
    kind: Annotated[str, typer.Option(help="pretrain|finetune|lora|inference")] = "pretrain",
    active_params_b: Annotated[float | None, typer.Option(help="MoE active params, B")] = None,
    count: Annotated[int | None, typer.Option(help="chips; default the fewest that fit")] = None,
    precision: Annotated[str, typer.Option(help="fp32|tf32|bf16|fp16|fp8|int8")] = "bf16",
    allow_fallback: Annotated[
        bool, typer.Option(help="fall back to bf16 if fp8 is absent")
    ] = False,
    seq_len: Annotated[int, typer.Option(help="sequence length, tokens")] = 4096,
    layers: Annotated[int | None, typer.Option(help="layers (adds the attention term)")] = None,
    hidden: Annotated[int | None, typer.Option(help="hidden size (with --layers)")] = None,
    optimizer: Annotated[str, typer.Option(help="adam|adamw|lion|sgd|adafactor")] = "adam",
    requests: Annotated[int, typer.Option(help="inference requests")] = 0,
    tokens_in: Annotated[int, typer.Option(help="inference prompt tokens per request")] = 0,
    tokens_out: Annotated[int, typer.Option(help="inference output tokens per request")] = 0,
    target_tokens_per_s: Annotated[float | None, typer.Option(help="inference rate")] = None,
    duration_h: Annotated[float, typer.Option(help="hours to sustain the rate")] = 1.0,
    price_fen: Annotated[int | None, typer.Option(help="price per accelerator-hour, fen")] = None,
    pue: Annotated[float, typer.Option(help="site PUE for energy")] = 1.0,
    currency: Annotated[str, typer.Option(help="currency of --price-fen")] = "CNY",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Estimate a workload, e.g. --params-b 70 --tokens-b 2000 --accelerator A100-80GB."""
    if ctx.invoked_subcommand is not None:
        return
    if params_b is None:
        raise ValidationError("params_b", "give --params-b (or run 'suanli estimate validate')")
    workload = Workload(
        kind=cast(Any, kind),
        params_b=params_b,
        active_params_b=active_params_b,
        tokens_b=tokens_b,
        seq_len=seq_len,
        layers=layers,
        hidden=hidden,
        precision=cast(Any, precision),
        allow_precision_fallback=allow_fallback,
        optimizer=cast(Any, optimizer),
        requests=requests,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        target_tokens_per_s=target_tokens_per_s,
        duration_h=duration_h,
    )
    if offer is not None:
        with unit_of_work() as uow:
            outcome = estimates.estimate_offer(uow, workload, offer, count=count).outcome
    elif accelerator is not None:
        outcome = estimates.estimate(
            workload,
            accelerator,
            count=count,
            pue=pue,
            price_fen_per_accel_hour=price_fen,
            currency=currency,
        )
    else:
        raise ValidationError("accelerator", "give --accelerator or --offer")
    if as_json:
        print_json(outcome.to_dict())
    else:
        _show(outcome)
    if isinstance(outcome, Infeasible):
        raise typer.Exit(1)


def _show(outcome: Estimate | Infeasible) -> None:
    if isinstance(outcome, Infeasible):
        err_console.print(f"[red]infeasible[/red] ({outcome.code}): {outcome.reason}")
        return
    e = outcome
    table = Table(title=f"{e.kind} on {e.count} × {e.accelerator_id} ({e.precision_used})")
    table.add_column("")
    table.add_column("value", justify="right")
    rows = [
        ("FLOPs", f"{e.flops:.3e}"),
        ("utilisation", f"{e.utilization:.1%}"),
        ("accelerator-hours", f"{e.accelerator_hours:,.0f}"),
        ("  p10 – p90", f"{e.accelerator_hours_p10:,.0f} – {e.accelerator_hours_p90:,.0f}"),
        ("wall hours", f"{e.wall_hours:,.1f}"),
        ("min count", str(e.min_count)),
        ("memory per chip, GB", f"{e.memory_per_accel_gb:.1f}"),
        ("energy kWh", "unknown" if e.energy_kwh is None else f"{e.energy_kwh:,.0f}"),
    ]
    if e.cost_fen is not None:
        rows.append(("cost", f"{e.cost_fen / 100:,.2f} {e.currency}"))
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    for note in e.notes:
        console.print(f"note: {note}", highlight=False)


@app.command("validate")
@handle_errors
def validate_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Leave-one-out over the published runs: predicted vs published accelerator-hours."""
    report = leave_one_out(load_runs(data_dir() / "training-runs.csv", load_catalog()))
    if as_json:
        print_json(report_json(report))
        return
    for title, checks in (
        ("Reported hours: leave-one-out (fitted)", report.fitted),
        ("Derived / upper-bound hours: compared, not fitted", report.compared),
    ):
        table = Table(title=title)
        for col in ("run", "chip", "count", "kind", "published h", "predicted h", "util", "APE"):
            table.add_column(col, justify="left" if col in ("run", "chip", "kind") else "right")
        for c in checks:
            table.add_row(
                c.run.model,
                c.run.hardware,
                str(c.run.count or "?"),
                c.run.hours_kind,
                f"{c.run.accel_hours:,.0f}",
                f"{c.predicted_hours:,.0f}",
                f"{c.utilization:.3f}",
                f"{c.ape:.1%}",
            )
        console.print(table)
    for run in report.excluded:
        console.print(f"excluded: {run.model}: {run.excluded}", highlight=False)
    m = default_model()
    offsets = ", ".join(f"{k} {v:+.3f}" for k, v in m.offsets.items())
    console.print(
        f"model: log u = {m.b0:.3f} + {m.b_size:.3f}·log(params B) + family ({offsets}) "
        f"+ count term; σ(log) = {m.sigma_log:.3f}",
        highlight=False,
    )
    console.print(
        f"[bold]median absolute percentage error (leave-one-out, {len(report.fitted)} "
        f"reported-hours runs): {report.mdape:.1%}[/bold]"
    )


def report_json(report: ValidationReport) -> dict[str, Any]:
    def row(c: Any) -> dict[str, Any]:
        return {
            "model": c.run.model,
            "hardware": c.run.hardware,
            "count": c.run.count,
            "hours_kind": c.run.hours_kind,
            "published_hours": c.run.accel_hours,
            "predicted_hours": c.predicted_hours,
            "utilization": c.utilization,
            "ape": c.ape,
        }

    return {
        "mdape": report.mdape,
        "fitted": [row(c) for c in report.fitted],
        "compared": [row(c) for c in report.compared],
        "excluded": [{"model": r.model, "reason": r.excluded} for r in report.excluded],
    }
