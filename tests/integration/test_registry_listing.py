"""Listing the registry hands back the same record objects while its rows are unchanged (so a
quote finds what it kept for an offer set), and new ones the moment a row changes; on both
databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from suanli.domain.registry import Offer
from suanli.services.quotes import live_offers
from suanli.store.repositories import registry as repo
from suanli.store.uow import UnitOfWork
from tests.conftest import ApiClient


def _listed(api: ApiClient) -> list[Offer]:
    with UnitOfWork(api.engine, read_only=True) as uow:
        return repo.list_all(uow.conn, Offer)


def test_unchanged_rows_give_the_same_records(api: ApiClient, world: Any) -> None:
    first, again = _listed(api), _listed(api)
    assert first and all(a is b for a, b in zip(first, again, strict=True))
    again.clear()  # a caller's list is its own
    assert len(_listed(api)) == len(first)


def test_a_changed_row_is_read_afresh(api: ApiClient, world: Any) -> None:
    before = _listed(api)
    offer = before[0]
    auth = api.token("officer")
    new_price = offer.price_fen_per_accel_hour + 1
    resp = api.http.patch(f"/api/v1/offers/{offer.id}",
                          json={"price_fen_per_accel_hour": new_price}, headers=auth)  # fmt: skip
    assert resp.status_code == 200, resp.text
    after = {o.id: o for o in _listed(api)}
    assert after[offer.id].price_fen_per_accel_hour == new_price
    assert after[offer.id] is not offer
    retired = api.http.post(f"/api/v1/offers/{before[1].id}/retire", headers=auth)
    assert retired.status_code in (200, 204), retired.text
    assert before[1].id not in {o.id for o in _listed(api)}


def test_live_offers_keep_their_views_until_the_registry_changes(
    api: ApiClient, world: Any
) -> None:
    now = datetime.now(UTC)
    with UnitOfWork(api.engine, read_only=True) as uow:
        first = live_offers(uow, now)
    with UnitOfWork(api.engine, read_only=True) as uow:
        again = live_offers(uow, now)
    assert first and all(a is b for a, b in zip(first, again, strict=True))
    site = first[0].site
    auth = api.token("officer")
    resp = api.http.patch(f"/api/v1/sites/{site.id}", json={"pue": 1.31}, headers=auth)
    assert resp.status_code == 200, resp.text
    with UnitOfWork(api.engine, read_only=True) as uow:
        changed = live_offers(uow, now)
    assert {v.site.pue for v in changed if v.site.id == site.id} == {1.31}
