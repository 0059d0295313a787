"""``suanli catalog``: chips and systems with their sourced figures, and two side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.table import Table

from suanli.cli.common import console, handle_errors, print_json
from suanli.domain.catalog import Accelerator, Figure
from suanli.domain.systems import System, check_totals, power_overhead
from suanli.errors import NotFoundError
from suanli.estimate.workload import Workload
from suanli.schemas.views import accelerator_json, system_json
from suanli.services.catalog import find_hardware, load_catalog, load_systems

if TYPE_CHECKING:  # the comparison's estimates (and the stored measurements) load with it
    from suanli.services import compare as comparing

app = typer.Typer(help="The accelerator catalog: sourced specs, origin, export status; systems.")


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@app.command("list")
@handle_errors
def list_(
    origin: Annotated[str | None, typer.Option(help="domestic or foreign")] = None,
    systems: Annotated[bool, typer.Option("--systems", help="list systems, not chips")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List accelerator models (or, with --systems, rack-scale systems and nodes)."""
    if origin not in (None, "domestic", "foreign"):
        raise typer.BadParameter("must be 'domestic' or 'foreign'", param_hint="--origin")
    if systems:
        _list_systems(origin, as_json)
        return
    accs = [a for a in load_catalog().all() if origin in (None, a.origin)]
    if as_json:
        print_json([accelerator_json(a) for a in accs])
        return
    table = Table(title=f"{len(accs)} accelerator models (dense peaks)")
    for col in ("id", "vendor", "model", "origin", "BF16 TF", "FP8 TF", "mem GB", "TB/s", "W",
                "export", "conf."):  # fmt: skip
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


def _list_systems(origin: str | None, as_json: bool) -> None:
    chips = load_catalog()
    rows = [s for s in load_systems() if origin in (None, chips.get(s.chip_id).origin)]
    if as_json:
        print_json([system_json(s) for s in rows])
        return
    table = Table(title=f"{len(rows)} systems (scale-up per chip and direction, GB/s)")
    for col in ("id", "vendor", "chip", "chips", "domain", "up GB/s", "out GB/s", "BF16 PF",
                "wall kW", "conf."):  # fmt: skip
        table.add_column(col)
    for s in rows:
        ic = s.interconnect()
        table.add_row(
            s.id, s.vendor, s.chip_id, str(s.chips), str(ic.scale_up_domain_chips),
            _fmt(ic.scale_up_gbps_per_chip), _fmt(ic.scale_out_gbps_per_chip),
            _fmt(s.figure("bf16_pflops")), _fmt(s.power_kw), s.confidence,
        )  # fmt: skip
    console.print(table)


def _print_figure(name: str, fig: Figure) -> None:
    note = f"  — {fig.note}" if fig.note else ""
    # markup off: "[medium]" is a figure's confidence, not a Rich style
    console.print(f"  {name:24} {fig.value:>12g}  [{fig.confidence}]{note}", markup=False)


@app.command("show")
@handle_errors
def show(
    model: str,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show one chip or system (by id or alias) with every figure's confidence and sources."""
    found = find_hardware(model)
    if found is None:
        raise NotFoundError("accelerator or system", model)
    if isinstance(found, System):
        _show_system(found, as_json)
    else:
        _show_chip(found, as_json)


def _show_chip(acc: Accelerator, as_json: bool) -> None:
    if as_json:
        print_json(accelerator_json(acc))
        return
    console.print(f"[bold]{acc.vendor} {acc.model}[/bold]  ({acc.id}; {acc.origin})")
    if acc.aliases:
        console.print(f"aliases: {', '.join(acc.aliases)}")
    console.print(f"precisions: {', '.join(sorted(acc.precisions)) or 'none published'}")
    for name, fig in acc.figures.items():
        _print_figure(name, fig)
    for name, reason in acc.missing_reason.items():
        console.print(f"  {name:24} {'—':>12}  (missing: {reason})", markup=False)
    ec = acc.export_control
    console.print(f"export control: {ec.status} (as of {ec.as_of or 'unknown'}): {ec.note}")
    console.print(f"confidence: {acc.confidence}")
    for src in acc.sources:
        console.print(f"  source: {src}", highlight=False)


def _show_system(system: System, as_json: bool) -> None:
    chip = load_catalog().get(system.chip_id)
    checks = check_totals(system, chip)
    if as_json:
        print_json(system_json(system, checks))
        return
    console.print(f"[bold]{system.vendor} {system.name}[/bold]  ({system.id}; {system.kind})")
    if system.aliases:
        console.print(f"aliases: {', '.join(system.aliases)}", highlight=False)
    console.print(f"chips: {system.chips} × {chip.vendor} {chip.model} ({chip.id})")
    console.print(
        f"scale-up domain: {system.scale_up_domain_chips} chips — {system.scale_up_domain_note}",
        highlight=False,
    )
    console.print(f"wall power covers: {system.power_covers}", highlight=False)
    for name, fig in system.figures.items():
        _print_figure(name, fig)
    for name, reason in system.missing_reason.items():
        console.print(f"  {name:24} {'—':>12}  (missing: {reason})", markup=False)
    for c in checks:
        verdict = "within" if c.within else "OUTSIDE"
        console.print(
            f"  check {c.figure}: published {c.published:g} vs {system.chips} × chip = "
            f"{c.from_chips:.4g} (ratio {c.ratio:.3f}; {verdict} ±{c.tolerance:.0%}, "
            f"{c.confidence})",
            highlight=False,
        )
    overhead = power_overhead(system, chip)
    if overhead is not None:
        console.print(f"  wall power / chips' TDP: {overhead:.2f}×", highlight=False)
    if system.notes:
        console.print(f"notes: {system.notes}", highlight=False)
    console.print(f"confidence: {system.confidence}")
    for src in system.sources:
        console.print(f"  source: {src}", highlight=False)


@app.command("compare")
@handle_errors
def compare_cmd(
    a: Annotated[str, typer.Argument(help="chip or system, by id or alias")],
    b: Annotated[str, typer.Argument(help="chip or system, by id or alias")],
    params_b: Annotated[float, typer.Option(help="parameters, billions")] = 70.0,
    tokens_b: Annotated[float, typer.Option(help="training tokens, billions")] = 2000.0,
    kind: Annotated[str, typer.Option(help="pretrain|finetune|lora|inference")] = "pretrain",
    active_params_b: Annotated[float | None, typer.Option(help="MoE active params, B")] = None,
    precision: Annotated[str, typer.Option(help="fp32|tf32|bf16|fp16|fp8|int8")] = "bf16",
    allow_fallback: Annotated[bool, typer.Option(help="fall back to bf16 if fp8 is absent")] = (
        False
    ),
    price_fen_a: Annotated[int | None, typer.Option(help="A's price per chip-hour, fen")] = None,
    price_fen_b: Annotated[int | None, typer.Option(help="B's price per chip-hour, fen")] = None,
    pue: Annotated[float, typer.Option(help="site PUE for energy")] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Two chips or systems side by side for one workload (default: 70B params, 2T tokens)."""
    from suanli.services import compare as comparing

    workload = Workload(
        kind=cast(Any, kind),
        params_b=params_b,
        active_params_b=active_params_b,
        tokens_b=tokens_b,
        precision=cast(Any, precision),
        allow_precision_fallback=allow_fallback,
    )
    sides = comparing.compare(
        a, b, workload, price_fen_a=price_fen_a, price_fen_b=price_fen_b, pue=pue
    )
    if as_json:
        print_json({"workload": _workload_json(workload), "sides": [_side_json(s) for s in sides]})
        return
    _show_comparison(workload, sides)


def _workload_json(w: Workload) -> dict[str, Any]:
    return {"kind": w.kind, "params_b": w.params_b, "tokens_b": w.tokens_b,
            "active_params_b": w.active_params_b, "precision": w.precision}  # fmt: skip


def _side_json(s: comparing.Side) -> dict[str, Any]:
    return {
        "name": s.name,
        "label": s.label,
        "chip": s.chip.id,
        "system": None if s.system is None else s.system.id,
        "systems_used": s.systems_used,
        "estimate": s.outcome.to_dict(),
        "energy_kwh": s.energy_kwh,
        "energy_basis": s.energy_basis,
        "flop_per_joule": s.flop_per_joule,
        "price_fen_per_chip_hour": s.price_fen_per_chip_hour,
        "price_basis": s.price_basis,
        "cost_fen": s.cost_fen,
        "fp8": s.runs_fp8,
        "fits": s.fits,
    }


def _rows(s: comparing.Side) -> list[str]:
    e = s.estimate
    where = f"{s.systems_used} × {s.system.id}" if s.system is not None else s.chip.id
    if e is None:
        reason = getattr(s.outcome, "reason", "")
        return [where, "—", "—", "—", "—", "—", "—", "yes" if s.runs_fp8 else "no",
                f"no: {reason}" if not s.fits else reason]  # fmt: skip
    fpj = s.flop_per_joule
    return [
        f"{where} ({e.count} chips)",
        f"{e.wall_hours:,.1f}",
        f"{e.accelerator_hours:,.0f}",
        "—" if s.energy_kwh is None else f"{s.energy_kwh:,.0f}",
        "—" if fpj is None else f"{fpj:.3e}",
        "—" if s.cost_fen is None else f"{s.cost_fen / 100:,.0f} CNY",
        f"{e.utilization:.1%} of {e.peak_tflops:g} TF ({e.precision_used})",
        "yes" if s.runs_fp8 else "no",
        f"yes: {e.memory_per_accel_gb:.0f} of {s.chip.memory_gb:g} GB per chip",
    ]


def _show_comparison(w: Workload, sides: tuple[comparing.Side, comparing.Side]) -> None:
    title = f"{w.kind} {w.params_b:g}B params, {w.tokens_b:g}B tokens ({w.precision})"
    table = Table(title=title)
    table.add_column("")
    for s in sides:
        table.add_column(s.label, justify="right")
    labels = ("runs on", "wall hours", "chip-hours", "energy kWh", "FLOP per joule", "cost",
              "utilisation", "FP8", "memory fit")  # fmt: skip
    columns = [_rows(s) for s in sides]
    for i, label in enumerate(labels):
        table.add_row(label, *(col[i] for col in columns))
    console.print(table)
    first, second = sides
    if first.flop_per_joule and second.flop_per_joule:
        ratio = second.flop_per_joule / first.flop_per_joule
        console.print(
            f"energy per FLOP: {first.name} uses {ratio:.2f}× what {second.name} uses",
            highlight=False,
        )
    for s in sides:
        console.print(f"{s.name} energy: {s.energy_basis}", highlight=False)
        console.print(f"{s.name} cost: {s.price_basis}", markup=False, highlight=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="catalog")
