"""The capacity calendar (hand-checked and Hypothesis) and the quote's subsidy fast path."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.domain.exchange import Busy, JobRequest, earliest_start, fits, peak_use
from suanli.domain.programs import facts_read
from suanli.domain.registry import Offer, Provider, Site, Tenant
from suanli.domain.subsidy import compute_subsidy
from suanli.domain.subsidy_facts import Contract
from suanli.domain.subsidy_plan import OfferView, VoucherView, _limit, _Subsidies, per_offer_rules
from suanli.errors import ValidationError
from suanli.services.catalog import load_catalog
from suanli.services.programs import load_programs
from suanli.services.rules import CelRule

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def h(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def test_peak_and_earliest_start_by_hand() -> None:
    busy = [Busy(h(0), h(4), 6), Busy(h(2), h(6), 3), Busy(h(6), h(8), 8)]
    assert peak_use(busy, h(0), h(8)) == 9
    assert peak_use(busy, h(4), h(6)) == 3
    assert peak_use(busy, h(5.5), h(6.5)) == 8  # [2,6) then [6,8): never both
    assert earliest_start(10, busy, 4, timedelta(hours=1), h(0), h(24)) == h(0)
    assert earliest_start(10, busy, 5, timedelta(hours=1), h(0), h(24)) == h(4)
    assert earliest_start(10, busy, 7, timedelta(hours=1), h(0), h(24)) == h(4)
    assert earliest_start(10, busy, 7, timedelta(hours=3), h(0), h(24)) == h(8)
    assert earliest_start(10, busy, 7, timedelta(hours=3), h(0), h(10)) is None
    assert earliest_start(10, busy, 11, timedelta(hours=1), h(0), h(24)) is None
    assert fits(10, busy, 1, h(0), h(8)) and not fits(10, busy, 2, h(0), h(8))


@settings(derandomize=True, max_examples=200)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(1, 12), st.integers(1, 16)), max_size=12),
    st.integers(16, 32),
)
def test_reserving_at_the_earliest_start_never_over_commits(jobs, capacity) -> None:
    busy: list[Busy] = []
    for ready, length, need in jobs:
        start = earliest_start(capacity, busy, need, timedelta(hours=length), h(ready), h(200))
        assert start is not None and start >= h(ready)
        # Earliest: no earlier candidate start (the ready time or a reservation's end) fits.
        for t in {h(ready)} | {b.end for b in busy}:
            if h(ready) <= t < start:
                assert not fits(capacity, busy, need, t, t + timedelta(hours=length))
        busy.append(Busy(start, start + timedelta(hours=length), need))
        assert peak_use(busy, h(0), h(300)) <= capacity


def test_request_validation_names_the_field() -> None:
    ok = JobRequest("r-1", "t-1", workload=None)
    assert ok.validate() is ok
    for bad, field in (
        (JobRequest("r-1", "t-1", None, accelerators=0), "accelerators"),
        (JobRequest("r-1", "t-1", None, allowed_origins=frozenset({"mars"})), "allowed_origins"),
        (JobRequest("r-1", "t-1", None, objective="speed"), "objective"),  # type: ignore[arg-type]
        (JobRequest("r-1", "t-1", None, deadline=datetime(2026, 1, 1)), "deadline"),
        (JobRequest("r-1", "t-1", None, voucher_ids=("v", "v")), "voucher_ids"),
        (JobRequest("R 1", "t-1", None), "id"),
    ):
        try:
            bad.validate()
        except ValidationError as exc:
            assert exc.field == field
        else:
            raise AssertionError(f"{field} accepted")


TENANT = Tenant("qt", "Qiantang", "Hangzhou", date(2024, 1, 10), 22, 300_000_000, "CNY",
                "ai-model", True)  # fmt: skip
PROVIDERS = (("hz-xixi-compute", "Hangzhou"), ("sh-lingang-ai", "Shanghai"),
             ("bj-zhongguancun-dc", "Beijing"), ("cd-tianfu-ai", "Chengdu"))  # fmt: skip


@settings(derandomize=True, max_examples=60)
@given(
    st.integers(0, 10**10),
    st.sampled_from(PROVIDERS),
    st.sampled_from(["910B", "H20", "A800", "MLU370-X8"]),
)
def test_fast_path_subsidy_equals_compute_subsidy(cost_fen, provider, accelerator) -> None:
    acc = load_catalog().get(accelerator)
    day = date(2025, 6, 1)
    prov = Provider(provider[0], provider[0], provider[1])
    site = Site("s-1", prov.id, "hall", prov.city)
    offer = Offer("o-1", site.id, acc.id, 64, 1000, "CNY", T0, T0 + timedelta(days=9))
    view = OfferView(offer, site, prov)
    hours = cost_fen / 1000
    for program in load_programs().values():
        if program.kind != "compute-voucher" or program.currency != "CNY":
            continue
        contract = Contract(prov.id, acc.id, Fraction(round(hours * 1e6), 10**6), cost_fen, "CNY",
                            day, None, prov.city)  # fmt: skip
        want = compute_subsidy(program, TENANT, contract, acc)
        subsidies = _Subsidies(TENANT, day)
        # every shipped program without credits takes the fast path (Shanghai's per-offer rule too)
        assert (subsidies.plan(program) is None) == (program.credits is not None), program.id
        ok, rate, amount, _ = subsidies.decide(program, view, acc, hours, cost_fen)
        assert (ok, amount) == (want.eligible, want.subsidy_fen), program.id
        if ok:
            assert rate == want.rate and _limit(program, rate, cost_fen) == amount
        if subsidies.plan(program) is not None:  # refused before sizing only if never eligible
            voucher = VoucherView("v", program, "voucher:v", 10**12, "CNY")
            assert not (subsidies.blocked(voucher, view, acc) and want.eligible), program.id
        again = subsidies.decide(program, view, acc, hours, cost_fen)  # memoised: the same
        assert again[:3] == (ok, rate, amount)


def test_rules_say_which_facts_they_read() -> None:
    assert CelRule("contract.provider_id != applicant.id").reads == {
        "contract.provider_id", "applicant.id"}  # fmt: skip
    assert CelRule("'contract.amount_fen' == applicant.sector").reads == {"applicant.sector"}
    whole = CelRule("size(contract) > 3 && contract.amount_fen > 0")
    assert whole.reads == {"contract", "contract.amount_fen"}  # used as a whole: any field
    assert whole({"contract": {"amount_fen": 1, "a": 1, "b": 2, "c": 3}})
    assert facts_read(lambda facts: True) == {"applicant", "contract", "purchase"}
    by_id = load_programs()
    assert per_offer_rules(by_id["hangzhou-2025"]) == ()
    assert [r.id for r in per_offer_rules(by_id["shanghai-2025"])] == ["renting-compute"]


def test_per_offer_rules_are_decided_per_offer() -> None:
    """Shanghai's rule reads the hours: one provider and chip, two offers, two verdicts."""
    program = load_programs()["shanghai-2025"]
    acc = load_catalog().get("910B")
    prov = Provider("sh-lingang-ai", "Lingang", "Shanghai")
    site = Site("s-1", prov.id, "hall", prov.city)
    view = OfferView(Offer("o-1", site.id, acc.id, 64, 1000, "CNY", T0, T0 + timedelta(days=9)),
                     site, prov)  # fmt: skip
    subsidies = _Subsidies(TENANT, date(2025, 9, 1))
    assert subsidies.decide(program, view, acc, 0.0, 0)[:3] == (False, Fraction(0), 0)
    assert subsidies.decide(program, view, acc, 5.0, 5000)[:3] == (True, Fraction(3, 10), 1500)
    assert subsidies.decide(program, view, acc, 0.0, 0)[0] is False
    voucher = VoucherView("v", program, "voucher:v", 10**9, "CNY")
    assert subsidies.blocked(voucher, view, acc) == ""  # not refused before sizing
