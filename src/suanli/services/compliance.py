"""Compliance screening: the rules in ``data/compliance/*.toml``, the flags they raise on live
offers, and officers' decisions on those flags.

The rule files are read and validated once (cached by their modification times); every quote
screens its offers with them (``screen``), and ``decide`` is the one way a flag's decision is
written.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from suanli.domain.compliance import (
    DECISIONS,
    ComplianceError,
    Decision,
    Flag,
    Rule,
    RuleBook,
    Screening,
    screen_offers,
)
from suanli.domain.compliance_rules import build_book, parse_places, parse_rule
from suanli.domain.roles import READ_ALL_ROLES, Principal, Role
from suanli.domain.subsidy_plan import OfferView
from suanli.errors import NotFoundError, PermissionDenied, ValidationError
from suanli.paths import data_dir
from suanli.services import audit
from suanli.services.catalog import load_catalog
from suanli.services.common import aware_now
from suanli.store.repositories import compliance as repo
from suanli.store.uow import UnitOfWork

REASON_MAX = 2000


def rules_dir() -> Path:
    return Path(os.environ.get("SUANLI_COMPLIANCE_DIR") or data_dir() / "compliance")


def parse_rules_dir(folder: Path) -> RuleBook:
    """Every ``*.toml`` under ``folder``: ``[[rule]]`` and ``[[place]]`` tables. An error names
    the file, the rule and the field."""
    catalog = load_catalog()
    rules: list[Rule] = []
    places: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ComplianceError(path.name, f"not valid TOML: {exc}") from exc
        unknown = sorted(set(raw) - {"rule", "place"})
        if unknown:
            raise ComplianceError(f"{path.name}: {unknown[0]}", "expects [[rule]] or [[place]]")
        items = raw.get("rule", [])
        if not isinstance(items, list):
            raise ComplianceError(f"{path.name}: rule", "must be an array of tables")
        rules += [parse_rule(r, f"{path.name}: rule[{i}]", catalog) for i, r in enumerate(items)]
        if "place" in raw:
            places |= parse_places(raw["place"], path.name)
    return build_book(rules, places)


@lru_cache(maxsize=4)
def _cached(folder: str, stamp: tuple[tuple[str, int], ...]) -> RuleBook:
    return parse_rules_dir(Path(folder))


def load_rules(folder: Path | None = None) -> RuleBook:
    folder = folder or rules_dir()
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.toml")))
    return _cached(str(folder), stamp)


def screen(uow: UnitOfWork, views: Iterable[OfferView], now: datetime) -> Screening:
    """Offer id -> its flags today, with officers' decisions, for the offers that have any."""
    pairs = [(v.offer, v.site) for v in views]
    return screen_offers(load_rules(), pairs, load_catalog(), repo.latest(uow.conn), now.date())


# Reading flags and deciding on them.

FLAG_READERS = READ_ALL_ROLES  # officers, reviewers and auditors


def flagged_offers(uow: UnitOfWork, who: Principal, *, now: datetime | None = None) -> list[Flag]:
    """Every live offer's flags, offer by offer."""
    from suanli.services.quotes import live_offers  # quotes screens through this module

    if who.role not in FLAG_READERS:
        raise PermissionDenied(f"{who.role} may not read compliance flags")
    now = aware_now(now)
    flags = screen(uow, live_offers(uow, now), now)
    return [f for offer_id in sorted(flags) for f in flags[offer_id]]


def decide(
    uow: UnitOfWork,
    who: Principal,
    offer_id: str,
    rule_id: str,
    decision: str,
    reason: str,
    *,
    now: datetime | None = None,
) -> Flag:
    """An officer clears (the flag stops excluding the offer) or confirms a flag, with a
    reason; stored with who and when. The same decision again changes nothing (a retry).
    Commits; this is the one place a flag's decision is written."""
    if who.role is not Role.OFFICER:
        raise PermissionDenied(f"{who.role} may not decide on compliance flags")
    if decision not in DECISIONS:
        raise ValidationError("decision", f"must be one of {', '.join(DECISIONS)}")
    reason = reason.strip()
    if not reason:
        raise ValidationError("reason", "a decision on a flag needs a reason")
    if len(reason) > REASON_MAX:
        raise ValidationError("reason", f"must be at most {REASON_MAX} characters")
    now = aware_now(now)
    flag = _current_flag(uow, offer_id, rule_id, now)
    if flag.decision is not None and (flag.decision.decision, flag.decision.reason) == (
        decision, reason,
    ):  # fmt: skip
        return flag
    made = Decision(offer_id, rule_id, decision, reason, who.describe(), now)
    repo.add(uow.conn, made)
    audit.record(uow, who, f"compliance.{decision}", "offer", offer_id,
                 {"rule_id": rule_id, "decision": decision, "reason": reason})  # fmt: skip
    uow.commit()
    return Flag(flag.offer_id, flag.site_id, flag.accelerator_id, flag.rule, flag.where, made)


def _current_flag(uow: UnitOfWork, offer_id: str, rule_id: str, now: datetime) -> Flag:
    from suanli.services.quotes import live_offers  # quotes screens through this module

    if load_rules().rule(rule_id) is None:
        raise ValidationError("rule_id", f"unknown compliance rule {rule_id!r}")
    views = [v for v in live_offers(uow, now) if v.offer.id == offer_id]
    if not views:
        raise NotFoundError("offer", offer_id)
    found = [f for f in screen(uow, views, now).get(offer_id, ()) if f.rule.id == rule_id]
    if not found:
        raise ValidationError("rule_id", f"rule {rule_id} does not flag offer {offer_id}")
    return found[0]
