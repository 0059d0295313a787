"""Small builders for program tests: tenants, contracts and catalog accelerators."""

from __future__ import annotations

import dataclasses
from datetime import date
from fractions import Fraction
from typing import Any

from suanli.domain.catalog import Accelerator
from suanli.domain.registry import Tenant
from suanli.domain.subsidy_facts import Contract
from suanli.services.catalog import load_catalog

YUAN = 100  # fen


def acc(name: str) -> Accelerator:
    return load_catalog().get(name)


def tenant(**changes: Any) -> Tenant:
    base = Tenant(
        id="acme-ai",
        name="Acme AI",
        registered_city="Beijing",
        founded_on=date(2022, 1, 1),
        headcount=30,
        annual_revenue_fen=5_000_000 * YUAN,
        currency="CNY",
        sector="ai-model",
        is_startup=True,
    )
    return dataclasses.replace(base, **changes)


def contract(**changes: Any) -> Contract:
    base = Contract(
        provider_id="bj-zhongguancun-dc",
        accelerator_id="huawei-ascend-910b",
        accelerator_hours=Fraction(10_000),
        amount_fen=1_000_000 * YUAN,
        currency="CNY",
        start_on=date(2025, 3, 1),
        end_on=date(2025, 12, 31),
        provider_city="Beijing",
    )
    return dataclasses.replace(base, **changes)
