"""Seeded synthetic instances for benchmarks and property tests."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from suanli.placement.candidates import PairHours, build_candidates
from suanli.placement.model import Instance, IntArray, Pool, Request
from suanli.placement.policy import Policy, ProgramPolicy

# (accelerator id, domestic, speed relative to the reference, price range fen/accel-hour, scarce)
MODELS = (
    ("huawei-ascend-910b", True, 1.0, (800, 1000), False),
    ("huawei-ascend-910c", True, 2.0, (1500, 1800), False),
    ("cambricon-mlu370-x8", True, 0.3, (350, 450), False),
    ("nvidia-h800-sxm5-80gb", False, 3.0, (2000, 2600), True),
    ("nvidia-a800-sxm4-80gb", False, 1.0, (1100, 1300), False),
    ("nvidia-h20-96gb", False, 0.6, (750, 900), False),
)
PROGRAMS = ("beijing-voucher", "shanghai-voucher", "shenzhen-voucher")
RATES = {p: (Fraction(1, 2), Fraction(3, 10)) for p in PROGRAMS}


def instance(
    n_requests: int,
    n_offers: int,
    seed: int,
    *,
    n_slots: int = 14,
    slot_hours: float = 12.0,
    tenants: int = 200,
    offers_per_request: int = 100,
    policy: Policy | None = None,
) -> Instance:
    """Requests, offers and a policy; each request can run on ``offers_per_request`` offers
    drawn at random (all of them where there are no more), so memory grows with the pairs."""
    rng = np.random.default_rng(seed)
    kinds = rng.integers(0, len(MODELS), n_offers)
    pools = [
        Pool(
            id=f"offer-{j}",
            accelerator_id=MODELS[k][0],
            domestic=MODELS[k][1],
            count=int(rng.choice([64, 128, 256, 512])),
            price_fen_per_accel_hour=int(rng.integers(*MODELS[k][3])),
            scarce=MODELS[k][4],
            # City programs accredit their own city's sites only.
            programs=frozenset({PROGRAMS[j % len(PROGRAMS)]}),
        )
        for j, k in enumerate(kinds)
    ]
    speed = np.array([MODELS[k][2] for k in kinds]) * rng.uniform(0.9, 1.1, n_offers)
    ref_hours = np.clip(rng.lognormal(np.log(24), 0.8, n_requests), 1, 120)
    accels = rng.choice([1, 2, 4, 8, 16], n_requests, p=[0.3, 0.2, 0.2, 0.2, 0.1])
    submit = rng.integers(0, n_slots // 2, n_requests)
    slack = rng.integers(4, n_slots, n_requests)
    tenant = rng.integers(0, tenants, n_requests)
    requests = [
        Request(
            id=f"job-{i}",
            tenant=f"tenant-{tenant[i]}",
            accels=int(accels[i]),
            value_fen=int(3 * 1000 * accels[i] * ref_hours[i]),
            submit_slot=int(submit[i]),
            deadline_slot=int(submit[i] + slack[i]),
            program=PROGRAMS[i % len(PROGRAMS)] if i % 4 else None,
        )
        for i in range(n_requests)
    ]
    pairs = _pairs(rng, n_requests, n_offers, offers_per_request)
    # Workloads suit chips differently (kernels, memory): a per-pair factor around 1.
    fit = rng.lognormal(0.0, 0.25, pairs.shape[1])
    hours = PairHours(pairs[0], pairs[1], ref_hours[pairs[0]] / speed[pairs[1]] * fit)
    policy = policy or Policy(
        programs={
            p: ProgramPolicy(p, budget_fen=n_requests * 2_000_000, domestic_floor=Fraction(7, 10))
            for p in PROGRAMS
        },
        fair_share_cap=Fraction(1, 20),
        candidates_per_request=6,
        time_limit_s=30.0,
        mip_rel_gap=0.01,
    )
    return build_candidates(
        requests, pools, hours, policy, n_slots=n_slots, slot_hours=slot_hours, rates=RATES
    )


def _pairs(rng: np.random.Generator, n_requests: int, n_offers: int, per_request: int) -> IntArray:
    """(2, n_pairs): request and offer of each pair, sorted by request, no pair twice."""
    if n_offers <= per_request:
        offer = np.tile(np.arange(n_offers, dtype=np.int64), (n_requests, 1))
    else:
        # Drawn with replacement, then each request's repeats dropped: a few fewer than asked.
        offer = np.sort(rng.integers(0, n_offers, (n_requests, per_request)), axis=1)
    request = np.repeat(np.arange(n_requests, dtype=np.int64), offer.shape[1])
    offer = offer.ravel()
    fresh = np.ones(offer.size, dtype=bool)
    fresh[1:] = (offer[1:] != offer[:-1]) | (request[1:] != request[:-1])
    return np.stack([request[fresh], offer[fresh]])
