"""The body of an officer's decision on a compliance flag (API and CLI)."""

from __future__ import annotations

from pydantic import Field

from suanli.schemas.base import Body


class FlagDecisionIn(Body):
    rule_id: str = Field(min_length=1, max_length=100, description="the rule that flags the offer")
    reason: str = Field(min_length=1, max_length=2000, description="why, kept with the decision")
