"""``suanli calibrate``: measure dense matmul TFLOPS here and keep it as a site's measured peak."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from suanli.cli.common import console, handle_errors, print_json, unit_of_work
from suanli.domain.roles import SYSTEM
from suanli.services.calibrate import measure_matmul_tflops, record_measured_peak


@handle_errors
def calibrate(
    site: Annotated[str | None, typer.Option(help="store the result as this site's peak")] = None,
    precision: Annotated[str, typer.Option(help="bf16|fp16|tf32|fp32")] = "bf16",
    size: Annotated[int, typer.Option(help="square matrix size")] = 8192,
    iterations: Annotated[int, typer.Option(help="timed matmuls")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Measure dense matmul TFLOPS on the local accelerator (needs PyTorch and a GPU)."""
    m = measure_matmul_tflops(precision, size, iterations)
    if site is not None:
        with unit_of_work() as uow:
            record_measured_peak(uow, SYSTEM, site, m)
    if as_json:
        print_json({**dataclasses.asdict(m), "site": site})
        return
    stored = f"; stored for site {site}" if site else ""
    console.print(f"{m.device}: {m.tflops:,.1f} TFLOPS dense {m.precision} ({m.size}²){stored}")


def register(root: typer.Typer) -> None:
    root.command("calibrate")(calibrate)
