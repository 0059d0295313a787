"""The quote's shared-work pricing (``Pricer``) against the general per-offer path
(``price_offer``), offer by offer, and whole quotes against the per-offer ``compute_subsidy``
path; the estimator's uncapped training estimate against the capped one."""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.domain.compliance import Decision, Flag
from suanli.domain.exchange import Busy, JobRequest, OfferRefusal
from suanli.domain.quote_pricing import Pricer, price_offer
from suanli.domain.quotes import quote_offers
from suanli.domain.registry import Offer, Provider, Site, Tenant
from suanli.domain.subsidy_plan import OfferView, VoucherView, _Subsidies
from suanli.estimate.api import _estimate_core, estimate_core
from suanli.estimate.memory import MAX_COUNT
from suanli.estimate.workload import Workload
from suanli.services.catalog import load_catalog
from suanli.services.compliance import load_rules
from suanli.services.estimates import default_model
from suanli.services.programs import get_program, parse_program_file, programs_dir

T0 = datetime(2025, 9, 1, 8, tzinfo=UTC)
TENANT = Tenant("qiantang-llm", "Qiantang", "Hangzhou", date(2024, 1, 10), 22, 300_000_000,
                "CNY", "ai-model", True)  # fmt: skip
CHIPS = ("huawei-ascend-910b", "nvidia-h20-96gb", "nvidia-a800-sxm4-80gb", "cambricon-mlu370-x8",
         "nvidia-h800-sxm5-80gb", "huawei-ascend-910c")  # fmt: skip
PROVIDERS = [Provider("hz-xixi-compute", "Xixi", "Hangzhou"),
             Provider("sh-1", "One", "Shanghai"), Provider("sh-2", "Two", "Shanghai"),
             Provider("bj-1", "Three", "Beijing", related_parties=("qiantang-llm",))]  # fmt: skip


def _world() -> tuple[list[OfferView], dict[str, list[Busy]]]:
    views, busy = [], {}
    for j in range(72):
        provider = PROVIDERS[j % len(PROVIDERS)]
        site = Site(f"site-{j % 8}", provider.id, "hall", provider.city, pue=1.1 + (j % 5) / 10)
        until = T0 + timedelta(days=2 if j % 9 == 4 else 365)
        currency = "USD" if j == 70 else "CNY"
        offer = Offer(f"offer-{j}", site.id, CHIPS[j % len(CHIPS)], (8, 64, 128, 512)[j % 4],
                      500 + 37 * j, currency, T0 - timedelta(days=1), until)  # fmt: skip
        views.append(OfferView(offer, site, provider))
        if j % 5 == 0:
            later = T0 + timedelta(hours=20)
            busy[offer.id] = [Busy(T0, T0 + timedelta(hours=8), offer.count // 2),
                              Busy(later, later + timedelta(hours=10), 3)]  # fmt: skip
    return views, busy


VIEWS, BUSY = _world()


def _variant(program_id: str, expr: str) -> Any:
    """Shanghai's program with its one per-offer rule replaced: the quote's other ways of
    deciding a program (a rule reading the amount; one reading the provider and the hours)."""
    text = (programs_dir() / "shanghai-2025.toml").read_text()
    text = text.replace('expr = "contract.accelerator_hours > 0.0"', f"expr = {expr!r}")
    assert expr in text
    folder = tempfile.mkdtemp()
    path = f"{folder}/{program_id}.toml"
    with open(path, "w") as f:
        f.write(text)
    from pathlib import Path

    return parse_program_file(Path(path))


VARIANTS = {
    "v-3": _variant("sh-amount", "contract.amount_fen > 2000000"),
    "v-4": _variant(
        "sh-provider", 'contract.provider_id == "sh-1" || contract.accelerator_hours > 400.0'
    ),
}
REQUESTS = st.builds(
    dict,
    kind=st.sampled_from(["finetune", "pretrain"]),
    params=st.sampled_from([1.0, 7.0, 13.0, 70.0, 405.0]),
    tokens=st.floats(0.1, 60),
    accelerators=st.sampled_from([None, None, 8, 64, 300]),
    deadline_h=st.sampled_from([None, None, 6.0, 30.0, 400.0]),
    ceiling=st.sampled_from([None, None, 50_000, 5_000_000]),
    vouchers=st.sampled_from(
        [("v-1", "v-2"), ("v-2",), ("v-1",), (), ("v-1", "v-3"), ("v-4", "v-2"), ("v-3", "v-4")]
    ),
    balance=st.sampled_from([10**9, 30_000, 0]),
    objective=st.sampled_from(["net_cost", "finish_time", "energy"]),
)


def _quote_inputs(r: dict[str, Any]) -> tuple[JobRequest, list[VoucherView]]:
    w = Workload(r["kind"], r["params"], tokens_b=r["tokens"])
    deadline = None if r["deadline_h"] is None else T0 + timedelta(hours=r["deadline_h"])
    request = JobRequest("r", TENANT.id, w, accelerators=r["accelerators"], deadline=deadline,
                         max_net_fen=r["ceiling"], voucher_ids=r["vouchers"],
                         objective=r["objective"])  # fmt: skip
    programs = {"v-1": "hangzhou-2025", "v-2": "shanghai-2025"}
    vouchers = [VoucherView(v, VARIANTS[v] if v in VARIANTS else get_program(programs[v]),
                            f"voucher:{v}", r["balance"], "CNY")
                for v in r["vouchers"]]  # fmt: skip
    return request, vouchers


@settings(derandomize=True, max_examples=40, deadline=None)
@given(REQUESTS)
def test_pricer_prices_every_offer_as_price_offer_does(r: dict[str, Any]) -> None:
    request, vouchers = _quote_inputs(r)
    catalog, model = load_catalog(), default_model()
    subsidies = _Subsidies(TENANT, T0.date())
    assert Pricer.applies(request, vouchers, subsidies)
    pricer = Pricer(request, vouchers, _Subsidies(TENANT, T0.date()), BUSY, T0, model)
    for view in VIEWS:
        acc = catalog.get(view.offer.accelerator_id)
        want = price_offer(request, view, acc, vouchers, subsidies, BUSY, T0, model)
        got = pricer.price(view, acc)
        assert type(got) is type(want), view.offer.id
        assert got == want, view.offer.id
        if isinstance(got, OfferRefusal):
            assert got.reason == want.reason


@settings(derandomize=True, max_examples=25, deadline=None)
@given(REQUESTS)
def test_quote_rows_equal_the_per_offer_compute_subsidy_path(r: dict[str, Any]) -> None:
    request, vouchers = _quote_inputs(r)
    kw = {"catalog": load_catalog(), "model": default_model()}
    fast = quote_offers(request, VIEWS, TENANT, vouchers, BUSY, T0, **kw)
    slow = quote_offers(
        request,
        VIEWS,
        TENANT,
        vouchers,
        BUSY,
        T0,
        fast_subsidy=False,
        **kw,
    )
    assert [row.to_dict() for row in fast.rows] == [row.to_dict() for row in slow.rows]
    # the same offers refused; the code may differ: the fast path refuses an offer no voucher
    # pays on before sizing it, the per-offer path after
    assert {x.offer_id for x in fast.refused} == {x.offer_id for x in slow.refused}


def _flags() -> dict[str, tuple[Flag, ...]]:
    """Flags on every third offer, under each rule of the book in turn, some cleared."""
    out: dict[str, tuple[Flag, ...]] = {}
    rules = load_rules().rules
    for j, view in enumerate(VIEWS[::3]):
        o, rule = view.offer, rules[j % len(rules)]
        cleared = Decision(o.id, rule.id, "cleared", "ok", "officer", T0) if j % 4 == 3 else None
        out[o.id] = (Flag(o.id, view.site.id, o.accelerator_id, rule, view.site.city, cleared),)
    return out


@settings(derandomize=True, max_examples=40, deadline=None)
@given(REQUESTS, st.booleans(), st.booleans())
def test_quote_in_arrays_equals_the_per_offer_loop(
    r: dict[str, Any], flagged: bool, placing: bool
) -> None:
    request, vouchers = _quote_inputs(r)
    kw: dict[str, Any] = {"catalog": load_catalog(), "model": default_model(), "placing": placing,
                          "flags": _flags() if flagged else None}  # fmt: skip
    slow = quote_offers(request, VIEWS, TENANT, vouchers, BUSY, T0, arrays=False, **kw)
    # a read-only screening (as ``screen_offers`` answers) has its verdicts kept: asked twice
    kept = {**kw, "flags": MappingProxyType(kw["flags"] or {})}
    for fast in (quote_offers(request, VIEWS, TENANT, vouchers, BUSY, T0, **kw),
                 *(quote_offers(request, VIEWS, TENANT, vouchers, BUSY, T0, **kept)
                   for _ in range(2))):  # fmt: skip
        assert [row.to_dict() for row in fast.rows] == [row.to_dict() for row in slow.rows]
        assert [(x.to_dict(), x.reason) for x in fast.refused] == [
            (x.to_dict(), x.reason) for x in slow.refused
        ]
        assert fast.to_dict() == slow.to_dict()


def test_uncapped_training_estimate_is_the_capped_one_where_it_fits() -> None:
    catalog, model = load_catalog(), default_model()
    for params, count in ((7.0, None), (70.0, None), (13.0, 16), (405.0, None), (70.0, 600)):
        w = Workload("finetune", params, tokens_b=2.0)
        for chip in CHIPS:
            acc = catalog.get(chip)
            for limit in (8, 64, 128, 512, MAX_COUNT):
                want = _estimate_core(w, acc, count, min(limit, MAX_COUNT), model, None)
                got = estimate_core(w, acc, count=count, max_count=limit, model=model)
                assert dataclasses.asdict(got) == dataclasses.asdict(want), (params, chip, limit)


@settings(derandomize=True, max_examples=60, deadline=None)
@given(st.integers(0, 200), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_ranked_reads_the_lexsort_order_from_the_first_place(
    n: int, spread: int, seed: int
) -> None:
    """The quote's order, its first places from a partition: the same as sorting them all,
    with many ties in the primary key."""
    import numpy as np

    from suanli.domain.quote_batch import _Ranked

    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(1000, size=n, replace=False)).astype(np.intp)
    keys = (rng.permutation(n), rng.integers(0, spread, n), rng.integers(0, spread, n))
    ranked = _Ranked(idx, keys)
    assert [ranked.at(p) for p in range(len(ranked))] == idx[np.lexsort(keys)].tolist()


def test_training_estimates_kept_per_shape_equal_fresh_ones() -> None:
    """A training estimate from the shape kept for another token count (``estimate.training``)
    is the estimate a model with nothing kept gives."""
    catalog, model = load_catalog(), default_model()
    for kind, params, count in (
        ("finetune", 7.0, None),
        ("pretrain", 70.0, 512),
        ("lora", 13.0, 8),
    ):
        for chip in CHIPS:
            acc = catalog.get(chip)
            first = Workload(kind, params, tokens_b=1.5)
            estimate_core(first, acc, count=count, max_count=MAX_COUNT, model=model)
            later = dataclasses.replace(first, tokens_b=37.25)
            kept = estimate_core(later, acc, count=count, max_count=MAX_COUNT, model=model)
            fresh_model = dataclasses.replace(model, memo={})
            fresh = estimate_core(later, acc, count=count, max_count=MAX_COUNT, model=fresh_model)
            assert dataclasses.asdict(kept) == dataclasses.asdict(fresh), (kind, chip)
