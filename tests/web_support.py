"""A world for the dashboard's tests: the demo world, a funded Hangzhou tenant with a voucher,
a second application waiting for review, and a token for each role."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from fractions import Fraction

from sqlalchemy import Engine

from suanli.domain.roles import SYSTEM
from suanli.domain.subsidy_facts import Contract
from suanli.services import applications as apps
from suanli.services.tokens import create_token
from suanli.services.world import load_world
from suanli.store.uow import UnitOfWork
from tests.integration.exchange_support import TENANT, give_voucher

PENDING = "web-pending-1"
OTHER_TENANT = "deepharbor-ai"
PROVIDER = "hz-xixi-compute"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def seed(engine: Engine) -> dict[str, str]:
    """Load the world and return a token per role (tenant: TENANT; provider: PROVIDER)."""
    load_world(engine)
    give_voucher(engine)
    at = datetime(2025, 3, 3, tzinfo=UTC)
    day = date(2025, 3, 3)
    contract = Contract("hz-xixi-compute", "910B", Fraction(2_000), 1_800_000, "CNY", day)
    with UnitOfWork(engine) as uow:
        apps.apply(
            uow, SYSTEM, application_id=PENDING, program_id="hangzhou-2025", tenant_id=TENANT,
            requested_fen=300_000, contract=contract, now=at,
        )  # fmt: skip
    orgs = {"officer": None, "reviewer": None, "auditor": None, "tenant": TENANT,
            "provider": PROVIDER, "agent": "hz-xx-1"}  # fmt: skip
    out = {}
    with UnitOfWork(engine) as uow:
        for role, org in orgs.items():
            out[role] = create_token(uow, role, org, name=f"{role}-web")
        out["other_tenant"] = create_token(uow, "tenant", OTHER_TENANT, name="other")
        uow.commit()
    return out
