"""Measured calibration: dense matmul TFLOPS on the local accelerator, kept as a site's figure.

A datasheet peak is a ceiling; what a site's chips, drivers and cooling deliver can be lower. The
measurement runs square matmuls with PyTorch (CUDA or ROCm builds) and stores the result in the
site's ``measured_peak_tflops`` by precision. Without PyTorch or an accelerator it says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from suanli.domain.registry import Site
from suanli.domain.roles import Principal
from suanli.errors import BackendError, ValidationError
from suanli.services import registry
from suanli.store.uow import UnitOfWork

PRECISIONS = ("bf16", "fp16", "tf32", "fp32")


@dataclass(frozen=True, slots=True)
class Measurement:
    device: str
    precision: str
    size: int
    iterations: int
    tflops: float


def _torch() -> Any:
    try:
        import torch  # type: ignore[import-not-found]
    except ImportError as exc:
        raise BackendError(
            "PyTorch is not installed here: install a CUDA or ROCm build of torch to calibrate"
        ) from exc
    if not torch.cuda.is_available():
        raise BackendError("PyTorch found no accelerator (torch.cuda.is_available() is False)")
    return torch


def measure_matmul_tflops(
    precision: str = "bf16", size: int = 8192, iterations: int = 50
) -> Measurement:
    if precision not in PRECISIONS:
        raise ValidationError("precision", f"must be one of {', '.join(PRECISIONS)}")
    if size < 256 or iterations < 1:
        raise ValidationError("size", "size must be ≥ 256 and iterations ≥ 1")
    torch = _torch()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    a = torch.randn(size, size, device="cuda", dtype=dtype)
    b = torch.randn(size, size, device="cuda", dtype=dtype)
    for _ in range(5):  # warm-up: kernel selection, clocks
        a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iterations):
        a @ b
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    tflops = 2 * size**3 * iterations / elapsed / 1e12
    return Measurement(torch.cuda.get_device_name(0), precision, size, iterations, tflops)


def record_measured_peak(uow: UnitOfWork, who: Principal, site_id: str, m: Measurement) -> Site:
    """Store a measurement as the site's measured peak for its precision (commits)."""
    site = registry.get(uow, who, Site, site_id)
    peaks = {**site.measured_peak_tflops, m.precision: round(m.tflops, 1)}
    return registry.amend(uow, who, Site, site_id, {"measured_peak_tflops": peaks})
