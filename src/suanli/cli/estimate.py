"""``suanli estimate``: what a workload costs on an accelerator or offer; ``validate`` the model."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer
from rich.table import Table

from suanli.cli.common import console, err_console, handle_errors, print_json, unit_of_work
from suanli.errors import ValidationError
from suanli.estimate import mfu
from suanli.estimate.api import Estimate, Infeasible
from suanli.estimate.benchmarks import ServingCheck, check_serving, load_benchmarks
from suanli.estimate.benchmarks import median_abs_error as serving_error
from suanli.estimate.calibration import load_runs
from suanli.estimate.validation import RunCheck, ValidationReport, leave_one_out
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
    vocab: Annotated[int | None, typer.Option(help="vocabulary size (embedding term)")] = None,
    tied_embeddings: Annotated[bool, typer.Option(help="input/output embeddings tied")] = False,
    recompute: Annotated[str, typer.Option(help="activation recompute: none|selective|full")] = (
        "none"
    ),
    experts: Annotated[int | None, typer.Option(help="MoE routed experts per layer")] = None,
    experts_active: Annotated[int | None, typer.Option(help="MoE experts per token")] = None,
    expert_parallel: Annotated[int | None, typer.Option(help="MoE expert-parallel chips")] = None,
    global_batch_tokens: Annotated[int | None, typer.Option(help="tokens per step")] = None,
    kv_heads: Annotated[int | None, typer.Option(help="grouped-query KV heads")] = None,
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
    workload = _workload(ctx.params)
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


_WORKLOAD_FIELDS = frozenset(f.name for f in dataclasses.fields(Workload))


def _workload(options: dict[str, Any]) -> Workload:
    """The Workload from the command's options (same names, but --allow-fallback)."""
    values = {k: v for k, v in options.items() if k in _WORKLOAD_FIELDS}
    values["allow_precision_fallback"] = options["allow_fallback"]
    return Workload(**values)


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
    for warning in e.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)


@app.command("validate")
@handle_errors
def validate_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Leave-one-out and leave-one-family-out over the published runs; serving benchmarks."""
    report = leave_one_out(load_runs(data_dir() / "training-runs.csv", load_catalog()))
    serving = check_serving(
        load_benchmarks(data_dir() / "inference-benchmarks.csv"), load_catalog(), default_model()
    )
    if as_json:
        print_json(report_json(report, serving))
        return
    _runs_table("Fitted runs: leave-one-out (LOO) and leave-one-family-out (LOFO)", report)
    _compared_table(report.compared)
    for run in report.excluded:
        console.print(f"excluded: {run.model}: {run.excluded}", highlight=False)
    _serving_table(serving)
    m = default_model()
    offsets = ", ".join(f"{k} {v:+.3f}" for k, v in m.offsets.items())
    console.print(
        f"model: log u = {m.b0:.3f} + family ({offsets}) "
        f"− log(1 + {mfu.ROOFLINE_C:.2f}·peak/bandwidth/d); communication overlap {m.overlap:.2f}; "
        f"σ(log) = {m.sigma_log:.3f}",
        highlight=False,
    )
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(report.kinds().items()))
    err = serving_error(serving)
    console.print(
        f"[bold]median absolute percentage error (leave-one-out, {len(report.fitted)} fitted "
        f"runs): {report.mdape:.1%}; leave-one-family-out: {report.family_mdape:.1%}[/bold]\n"
        f"[bold]p10–p90 coverage: leave-one-out {report.coverage:.0%}, leave-one-family-out "
        f"{report.family_coverage:.0%}[/bold]\n"
        f"[bold]serving benchmarks, median absolute error of output tokens/s: "
        f"{'n/a' if err is None else f'{err:.1%}'} ({len(serving)} benchmarks)[/bold]\n"
        f"runs by class: {kinds}",
        highlight=False,
    )


def _runs_table(title: str, report: ValidationReport) -> None:
    table = Table(title=title)
    cols = ("run", "org", "chip", "count", "kind", "published h", "LOO h", "LOO err", "in band")
    for col in (*cols, "LOFO err", "in band "):
        table.add_column(col, justify="left" if col in ("run", "org", "chip", "kind") else "right")
    for c, f in zip(report.fitted, report.by_family, strict=True):
        table.add_row(
            c.run.model,
            c.run.org,
            c.run.hardware,
            str(c.run.count or "?"),
            c.run.hours_kind,
            f"{c.run.accel_hours:,.0f}",
            f"{c.predicted_hours:,.0f}",
            f"{c.error:+.1%}",
            "yes" if c.covered else "no",
            f"{f.error:+.1%}",
            "yes" if f.covered else "no",
        )
    console.print(table)


def _compared_table(checks: list[RunCheck]) -> None:
    table = Table(title="Upper-bound hours: compared, not fitted")
    for col in ("run", "chip", "count", "published h", "predicted h", "error"):
        table.add_column(col, justify="left" if col in ("run", "chip") else "right")
    for c in checks:
        table.add_row(
            c.run.model,
            c.run.hardware,
            str(c.run.count or "?"),
            f"{c.run.accel_hours:,.0f}",
            f"{c.predicted_hours:,.0f}",
            f"{c.error:+.1%}",
        )
    console.print(table)


def _serving_table(checks: list[ServingCheck]) -> None:
    table = Table(title="Serving: published output tokens/s vs the estimate (not fitted)")
    for col in ("benchmark", "model", "chips", "batch", "in/out", "published", "predicted", "err"):
        table.add_column(col, justify="left" if col in ("benchmark", "model") else "right")
    for c in checks:
        b = c.benchmark
        table.add_row(
            b.name,
            b.model,
            f"{b.count} × {b.hardware}",
            str(b.workload.requests),
            f"{b.workload.tokens_in}/{b.workload.tokens_out}",
            f"{b.tokens_per_s:,.0f}",
            "—" if c.predicted_tokens_per_s is None else f"{c.predicted_tokens_per_s:,.0f}",
            "—" if c.error is None else f"{c.error:+.1%}",
        )
    console.print(table)


def report_json(report: ValidationReport, serving: list[ServingCheck]) -> dict[str, Any]:
    def row(c: RunCheck) -> dict[str, Any]:
        return {
            "model": c.run.model,
            "org": c.run.org,
            "hardware": c.run.hardware,
            "count": c.run.count,
            "hours_kind": c.run.hours_kind,
            "published_hours": c.run.accel_hours,
            "predicted_hours": c.predicted_hours,
            "p10_hours": c.p10_hours,
            "p90_hours": c.p90_hours,
            "utilization": c.utilization,
            "ape": c.ape,
            "in_band": c.covered,
            "warnings": list(c.warnings),
        }

    return {
        "mdape": report.mdape,
        "family_mdape": report.family_mdape,
        "coverage": report.coverage,
        "family_coverage": report.family_coverage,
        "runs_by_class": report.kinds(),
        "fitted": [row(c) for c in report.fitted],
        "by_family": [row(c) for c in report.by_family],
        "compared": [row(c) for c in report.compared],
        "excluded": [{"model": r.model, "reason": r.excluded} for r in report.excluded],
        "serving_mdape": serving_error(serving),
        "serving": [
            {
                "benchmark": c.benchmark.name,
                "model": c.benchmark.model,
                "hardware": c.benchmark.hardware,
                "count": c.benchmark.count,
                "published_tokens_per_s": c.benchmark.tokens_per_s,
                "predicted_tokens_per_s": c.predicted_tokens_per_s,
                "error": c.error,
                "source": c.benchmark.source,
                "note": c.note,
            }
            for c in serving
        ],
    }


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="estimate")
