"""Jobs, runs and their rules: the spec a site runs, exit classes, fallback choice and cost split.

Plain Python: the agent, the services and the API all share these definitions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any

from suanli.domain.money import apply_rate
from suanli.errors import ValidationError

# A job that finds its accelerator stack broken exits with this code or prints the marker, so the
# platform can tell "your code failed" (billed, not retried) from "the hardware failed" (fallback).
STACK_ERROR_EXIT_CODE = 86
STACK_ERROR_MARKER = "SUANLI-STACK-ERROR"

# The variable each vendor's runtime reads to pick the visible devices.
VISIBILITY_VARS: dict[str, str] = {
    "nvidia": "CUDA_VISIBLE_DEVICES",
    "amd": "HIP_VISIBLE_DEVICES",
    "hygon": "HIP_VISIBLE_DEVICES",
    "huawei": "ASCEND_RT_VISIBLE_DEVICES",
    "cambricon": "MLU_VISIBLE_DEVICES",
    "kunlunxin": "XPU_VISIBLE_DEVICES",
}
FALLBACK_STEPS = ("same-model", "foreign", "domestic", "any")


class ExitClass(StrEnum):
    SUCCESS = "success"
    USER_ERROR = "user_error"
    STACK_ERROR = "stack_error"
    CANCELLED = "cancelled"


class RunStatus(StrEnum):
    QUEUED = "queued"
    LEASED = "leased"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.LEASED, RunStatus.RUNNING)
FINAL_STATUS = {
    ExitClass.SUCCESS: RunStatus.SUCCEEDED,
    ExitClass.USER_ERROR: RunStatus.FAILED,
    ExitClass.STACK_ERROR: RunStatus.FAILED,
    ExitClass.CANCELLED: RunStatus.CANCELLED,
}


def vendor_key(vendor: str) -> str:
    """'Kunlunxin (Baidu)' -> 'kunlunxin': the catalog's vendor name reduced to a lookup key."""
    return vendor.split("(")[0].strip().lower().replace(" ", "")


def visibility_env(vendor: str, device_ids: Sequence[int]) -> dict[str, str]:
    name = VISIBILITY_VARS.get(vendor_key(vendor), "CUDA_VISIBLE_DEVICES")
    return {name: ",".join(str(i) for i in device_ids)}


def classify_exit(returncode: int | None, output_tail: str, *, cancelled: bool) -> ExitClass:
    if cancelled:
        return ExitClass.CANCELLED
    if returncode == STACK_ERROR_EXIT_CODE or STACK_ERROR_MARKER in output_tail:
        return ExitClass.STACK_ERROR
    return ExitClass.SUCCESS if returncode == 0 else ExitClass.USER_ERROR


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What a site runs: a command with its environment, resources and checkpoint location."""

    command: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    accelerators: int = 1
    cpus: int = 1
    time_limit_s: int = 3600
    checkpoint_dir: str = ""
    workdir: str = ""

    def validate(self) -> JobSpec:
        if not self.command or not all(isinstance(p, str) and p for p in self.command):
            raise ValidationError("spec.command", "must be a non-empty list of strings")
        if not 0 <= self.accelerators <= 1024:
            raise ValidationError("spec.accelerators", "must be between 0 and 1024")
        if not 1 <= self.cpus <= 1024:
            raise ValidationError("spec.cpus", "must be between 1 and 1024")
        if not 1 <= self.time_limit_s <= 30 * 86400:
            raise ValidationError("spec.time_limit_s", "must be between 1 s and 30 days")
        for key, value in self.env.items():
            if not key or "=" in key or not isinstance(value, str):
                raise ValidationError("spec.env", f"bad variable {key!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": list(self.command),
            "env": dict(self.env),
            "accelerators": self.accelerators,
            "cpus": self.cpus,
            "time_limit_s": self.time_limit_s,
            "checkpoint_dir": self.checkpoint_dir,
            "workdir": self.workdir,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> JobSpec:
        try:
            return cls(
                command=tuple(raw["command"]),
                env=dict(raw.get("env") or {}),
                accelerators=int(raw.get("accelerators", 1)),
                cpus=int(raw.get("cpus", 1)),
                time_limit_s=int(raw.get("time_limit_s", 3600)),
                checkpoint_dir=str(raw.get("checkpoint_dir", "")),
                workdir=str(raw.get("workdir", "")),
            ).validate()
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError("spec", f"malformed job spec: {exc}") from exc


def check_fallback(policy: Sequence[str]) -> tuple[str, ...]:
    for step in policy:
        if step not in FALLBACK_STEPS:
            raise ValidationError("fallback", f"unknown step {step!r}; use {FALLBACK_STEPS}")
    return tuple(policy)


@dataclass(frozen=True, slots=True)
class OfferChoice:
    """The facts fallback needs about one offer."""

    offer_id: str
    accelerator_id: str
    origin: str
    price_fen_per_accel_hour: int
    free_count: int


def choose_fallback(
    step: str, failed: OfferChoice, accelerators: int, offers: Sequence[OfferChoice]
) -> OfferChoice | None:
    """The cheapest offer that fits ``step``; the failed offer itself only for 'same-model'."""
    if step == "same-model":
        fits = [o for o in offers if o.accelerator_id == failed.accelerator_id]
    elif step in ("foreign", "domestic"):
        fits = [o for o in offers if o.origin == step and o.offer_id != failed.offer_id]
    else:
        fits = [o for o in offers if o.offer_id != failed.offer_id]
    fits = [o for o in fits if o.free_count >= accelerators]
    # Prefer another offer of the same model to the one that just failed, then the cheapest.
    fits.sort(key=lambda o: (o.offer_id == failed.offer_id, o.price_fen_per_accel_hour, o.offer_id))
    return fits[0] if fits else None


def cost_fen(price_fen_per_accel_hour: int, accelerator_s: Fraction | int) -> int:
    """Cost of metered accelerator-seconds, rounded down to a whole fen."""
    return apply_rate(price_fen_per_accel_hour, Fraction(accelerator_s) / 3600)


def hold_fen(price_fen_per_accel_hour: int, spec: JobSpec) -> int:
    """The most a run can cost: every accelerator for its whole time limit (rounded up)."""
    units = max(spec.accelerators, 1) * spec.time_limit_s * price_fen_per_accel_hour
    return -(-units // 3600)


@dataclass(frozen=True, slots=True)
class Split:
    voucher_fen: int
    wallet_fen: int


def split_cost(total_fen: int, rate: Fraction, voucher_cap_fen: int, wallet_cap_fen: int) -> Split:
    """The voucher pays ``rate`` of the cost (down), the wallet the rest, each ≤ its hold."""
    voucher = min(apply_rate(total_fen, rate), voucher_cap_fen)
    wallet = min(total_fen - voucher, wallet_cap_fen)
    return Split(voucher, wallet)
