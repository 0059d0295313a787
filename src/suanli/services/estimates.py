"""Estimates against a bare accelerator, one offer, or every live offer.

An offer supplies the accelerator, the price per accelerator-hour, the largest count it can give,
and (through its site) the PUE that energy is multiplied by. Reads only; nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from suanli.domain.catalog import Accelerator, Precision
from suanli.domain.registry import Offer, Site
from suanli.errors import NotFoundError, ValidationError
from suanli.estimate import api, mfu
from suanli.estimate.api import EstimateOutcome, check_terms, estimate_checked
from suanli.estimate.calibration import fit, load_runs
from suanli.estimate.interconnect import Interconnect
from suanli.estimate.workload import Workload
from suanli.paths import data_dir
from suanli.services.catalog import get_accelerator, load_catalog
from suanli.store.repositories import registry as repo
from suanli.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class OfferEstimate:
    offer_id: str
    site_id: str
    outcome: EstimateOutcome

    def to_dict(self) -> dict[str, Any]:
        return {"offer_id": self.offer_id, "site_id": self.site_id, **self.outcome.to_dict()}


@lru_cache(maxsize=1)
def default_model() -> mfu.MfuModel:
    """The utilisation model fitted on the shipped calibration runs, once per process."""
    return fit(load_runs(data_dir() / "training-runs.csv", load_catalog()))


def resolve(accelerator: Accelerator | str) -> Accelerator:
    """An Accelerator from itself, a catalog id or any alias (NotFoundError otherwise)."""
    return accelerator if isinstance(accelerator, Accelerator) else get_accelerator(accelerator)


def estimate(
    workload: Workload,
    accelerator: Accelerator | str,
    *,
    count: int | None = None,
    pue: float = 1.0,
    price_fen_per_accel_hour: int | None = None,
    currency: str = "CNY",
    max_count: int | None = None,
    model: mfu.MfuModel | None = None,
    interconnect: Interconnect | None = None,
) -> EstimateOutcome:
    """``suanli.estimate.api.estimate`` by accelerator name, with the shipped utilisation model;
    ``interconnect`` overrides the chip's default network (a rack-scale system, say)."""
    return api.estimate(
        workload,
        resolve(accelerator),
        model=model or default_model(),
        count=count,
        pue=pue,
        price_fen_per_accel_hour=price_fen_per_accel_hour,
        currency=currency,
        max_count=max_count,
        interconnect=interconnect,
    )


def relative_speed(
    reference: Accelerator | str, accelerator: Accelerator | str, precision: Precision = "bf16"
) -> float:
    """Effective training throughput of one accelerator over another, by name or record."""
    return api.relative_speed(resolve(reference), resolve(accelerator), default_model(), precision)


def estimate_offer(
    uow: UnitOfWork, workload: Workload, offer_id: str, *, count: int | None = None
) -> OfferEstimate:
    offer = repo.get(uow.conn, Offer, offer_id)
    if offer is None:
        raise NotFoundError("offer", offer_id)
    if offer.retired_at is not None:
        raise ValidationError("offer_id", f"offer {offer_id} is retired")
    site = _site(uow, offer.site_id)
    outcome = estimate(
        workload,
        offer.accelerator_id,
        count=count,
        pue=site.pue,
        price_fen_per_accel_hour=offer.price_fen_per_accel_hour,
        currency=offer.currency,
        max_count=offer.count,
    )
    return OfferEstimate(offer.id, offer.site_id, outcome)


def estimate_all_offers(
    uow: UnitOfWork,
    workload: Workload,
    *,
    count: int | None = None,
    now: datetime | None = None,
) -> list[OfferEstimate]:
    """Every live offer (not retired, window not over): feasible ones and refusals with reasons."""
    workload.validate()
    check_terms(count=count, pue=1.0, price=None, currency="CNY")
    now = now or datetime.now(UTC)
    sites = {s.id: s for s in repo.list_all(uow.conn, Site)}
    model = default_model()
    results = []
    for offer in repo.list_all(uow.conn, Offer):
        site = sites.get(offer.site_id)
        if offer.available_until <= now or site is None:
            continue
        outcome = estimate_checked(
            workload,
            resolve(offer.accelerator_id),
            count=count,
            pue=site.pue,
            price_fen_per_accel_hour=offer.price_fen_per_accel_hour,
            currency=offer.currency,
            max_count=offer.count,
            model=model,
        )
        results.append(OfferEstimate(offer.id, offer.site_id, outcome))
    return results


def _site(uow: UnitOfWork, site_id: str) -> Site:
    site = repo.get(uow.conn, Site, site_id)
    if site is None:
        raise NotFoundError("site", site_id)
    return site
