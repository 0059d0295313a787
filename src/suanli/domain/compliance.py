"""Compliance rules as records, and the screening of offers against them.

A rule (``data/compliance/*.toml``) is an export regime's licence requirement or an importing
side's advisory: the chips it names (catalog ids or aliases, or every chip of a catalog export
status), the jurisdictions of the sites it covers (countries, optionally cities), the tenant
classes it touches (a tenant's ``ownership``, or any), the date it takes effect, its sources,
and its effect:

    block             the offer is left out of every quote for the tenants it touches
    require_evidence  without provenance evidence the rule accepts (an export licence number,
                      an import declaration, chips acquired before the rule), the offer is
                      left out of voucher-paid quotes and of placement
    warn              a note on the quote; nothing is left out

A site's country comes from its city (``[[place]]`` tables beside the rules); a site in a city
the places do not list cannot show it is outside a jurisdiction, so a rule naming countries
covers it. Screening decides each offer's flags from a per-chip index, so the many offers of
chips no rule names cost a dict lookup each, and the last answer is kept for the same offers.
An officer's decision on a flag (``cleared`` or ``confirmed``, with a reason) is kept beside
it; a cleared flag excludes nothing.
Plain Python: the files are parsed by ``domain.compliance_rules`` and read by
``services.compliance``.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from suanli.domain.catalog import Catalog
from suanli.domain.registry import Offer, Site, Tenant
from suanli.errors import ValidationError

EFFECTS = ("block", "require_evidence", "warn")
REGIMES = ("export", "import")
EVIDENCE = ("export_licence", "import_declaration", "acquired_before")
ANY = "any"
DECISIONS = ("cleared", "confirmed")


class ComplianceError(ValidationError):
    """A malformed rule file; ``field`` names the file, the rule and the field."""


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    url: str
    published: date


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    regime: str
    authority: str
    effect: str
    takes_effect: date
    chips: frozenset[str]  # canonical catalog ids, aliases resolved
    export_status: frozenset[str]
    countries: frozenset[str]  # ISO 3166-1 alpha-2
    cities: frozenset[str]  # casefolded; empty: every city of the countries
    tenant_classes: frozenset[str]  # empty: any tenant
    evidence: tuple[str, ...]  # what clears the need; empty: nothing does
    sources: tuple[Source, ...]
    note: str
    file: str

    @property
    def source_text(self) -> str:
        first = self.sources[0]  # the rest are in the rule file and the rule's JSON
        return f"source: {first.url}, {first.published.isoformat()}"

    def touches(self, tenant: Tenant | None) -> bool:
        return not self.tenant_classes or (
            tenant is not None and tenant.ownership in self.tenant_classes
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "regime": self.regime,
            "authority": self.authority, "effect": self.effect,
            "takes_effect": self.takes_effect.isoformat(), "chips": sorted(self.chips),
            "export_status": sorted(self.export_status), "countries": sorted(self.countries),
            "cities": sorted(self.cities), "tenant_classes": sorted(self.tenant_classes) or [ANY],
            "evidence": list(self.evidence), "note": self.note, "file": self.file,
            "sources": [{"title": s.title, "url": s.url, "published": s.published.isoformat()}
                        for s in self.sources],
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Decision:
    """An officer's word on one flag: cleared (it excludes nothing) or confirmed."""

    offer_id: str
    rule_id: str
    decision: str
    reason: str
    decided_by: str
    decided_at: datetime

    def to_dict(self) -> dict[str, str]:
        return {
            "decision": self.decision,
            "reason": self.reason,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Flag:
    """One rule that applies to one offer and that the offer's evidence does not satisfy."""

    offer_id: str
    site_id: str
    accelerator_id: str
    rule: Rule
    where: str  # the site, its city and country, as the reason says them
    decision: Decision | None = None

    @property
    def why(self) -> str:
        """Written when read: a quote builds many flags and says few of them."""
        return _why(self.rule, self.accelerator_id, self.where)

    @property
    def status(self) -> str:
        return "open" if self.decision is None else self.decision.decision

    @property
    def excludes(self) -> bool:
        return self.rule.effect != "warn" and self.status != "cleared"

    def refusal_reason(self) -> str:
        return f"rule {self.rule.id} ({self.rule.source_text}): {self.why}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "offer_id": self.offer_id, "site_id": self.site_id,
            "accelerator_id": self.accelerator_id, "rule_id": self.rule.id,
            "effect": self.rule.effect, "status": self.status, "excludes": self.excludes,
            "tenant_classes": sorted(self.rule.tenant_classes) or [ANY],
            "why": self.why, "source": self.rule.source_text, "rule_title": self.rule.title,
            "decision": None if self.decision is None else self.decision.to_dict(),
        }  # fmt: skip


# Offer id -> its flags, for the offers that have any; read-only.
Screening = Mapping[str, tuple[Flag, ...]]


@dataclass(frozen=True, slots=True)
class RuleBook:
    """Every rule, indexed by the chips it names, and the places that give a site's country."""

    rules: tuple[Rule, ...]
    places: Mapping[str, str]  # casefolded city -> country
    by_chip: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)
    by_status: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def country_of(self, city: str) -> str | None:
        return self.places.get(city.strip().casefold())


def has_evidence(rule: Rule, offer: Offer) -> bool:
    """Whether the offer's provenance satisfies any kind of evidence the rule accepts."""
    for kind in rule.evidence:
        if kind == "export_licence" and offer.export_licence:
            return True
        if kind == "import_declaration" and offer.import_declaration:
            return True
        acquired = offer.acquired_on
        if kind == "acquired_before" and acquired is not None and acquired < rule.takes_effect:
            return True
    return False


def covers_site(rule: Rule, site: Site, country: str | None) -> bool:
    if rule.cities and site.city.strip().casefold() not in rule.cities:
        return False
    return country is None or country in rule.countries


def _why(rule: Rule, accelerator_id: str, where: str) -> str:
    if rule.effect == "require_evidence":
        kinds = " or ".join(_EVIDENCE_WORDS[k].format(rule.takes_effect) for k in rule.evidence)
        return f"{accelerator_id} at {where} needs {kinds}; the offer gives none"
    return f"{accelerator_id} at {where}: {rule.title}"


def _where(site: Site, country: str | None) -> str:
    return f"site {site.id} ({site.city}, {country or 'country unknown: city not in places'})"


_EVIDENCE_WORDS = {
    "export_licence": "an export licence number",
    "import_declaration": "an import declaration",
    "acquired_before": "chips acquired before {0:%Y-%m-%d}",
}


def _rules_for(book: RuleBook, chip_id: str, export_status: str) -> tuple[Rule, ...]:
    named = book.by_chip.get(chip_id, ()) + book.by_status.get(export_status, ())
    return tuple(dict.fromkeys(named))  # a rule naming the chip and its status counts once


def screen_offer(
    book: RuleBook,
    offer: Offer,
    site: Site,
    export_status: str,
    decisions: Mapping[tuple[str, str], Decision],
    today: date,
    rules: tuple[Rule, ...] | None = None,
) -> tuple[Flag, ...]:
    """The flags on one offer today: each rule in force that names its chip and covers its
    site, and that its evidence does not satisfy, with the officer's decision if any."""
    if rules is None:
        rules = _rules_for(book, offer.accelerator_id, export_status)
    if not rules:
        return ()
    country = book.country_of(site.city)
    flags = []
    where = ""
    for rule in rules:
        if rule.takes_effect > today or not covers_site(rule, site, country):
            continue
        if has_evidence(rule, offer):
            continue
        where = where or _where(site, country)
        decision = decisions.get((offer.id, rule.id)) if decisions else None
        flags.append(Flag(offer.id, site.id, offer.accelerator_id, rule, where, decision))
    return tuple(flags)


# The last screening, kept: a quote screens the same offers again and again. Its inputs are
# compared by identity (offers, sites, book, catalog) and by value (decisions, day).
_LAST: list[
    tuple[tuple[object, ...], list[tuple[Offer, Site]], dict[Any, Decision], Screening]
] = []


def _same_pair(a: tuple[Offer, Site], b: tuple[Offer, Site]) -> bool:
    return a is b or (a[0] is b[0] and a[1] is b[1])


def screen_offers(
    book: RuleBook,
    offers: Iterable[tuple[Offer, Site]],
    catalog: Catalog,
    decisions: Mapping[tuple[str, str], Decision],
    today: date,
) -> Screening:
    """Offer id -> its flags, for the offers that have any; read-only, and the same object
    for the same offer and site objects, book, catalog, decisions and day as the last call."""
    pairs = list(offers)
    if _LAST:
        (kept_book, kept_catalog, kept_today), kept_pairs, kept_decisions, kept = _LAST[0]
        if (kept_book is book and kept_catalog is catalog and kept_today == today
                and len(kept_pairs) == len(pairs)
                and (all(map(operator.is_, kept_pairs, pairs))  # the same pairs: at C speed
                     or all(map(_same_pair, kept_pairs, pairs)))
                and kept_decisions == decisions):  # fmt: skip
            return kept
    found = MappingProxyType(_screen(book, pairs, catalog, decisions, today))
    _LAST[:] = [((book, catalog, today), pairs, dict(decisions), found)]
    return found


def _screen(
    book: RuleBook,
    offers: Iterable[tuple[Offer, Site]],
    catalog: Catalog,
    decisions: Mapping[tuple[str, str], Decision],
    today: date,
) -> dict[str, tuple[Flag, ...]]:
    """The rules in force that a chip meets at a city are found once per (chip, city), so an
    offer of a chip no rule names costs a dict lookup, and one that a rule names an evidence
    check per rule."""
    by_chip: dict[str, tuple[Rule, ...]] = {}
    by_place: dict[tuple[str, str], tuple[Rule, ...]] = {}
    out = {}
    for offer, site in offers:
        chip = offer.accelerator_id
        rules = by_chip.get(chip)
        if rules is None:
            acc = catalog.find(chip)
            status = acc.export_control.status if acc is not None else "unknown"
            rules = by_chip[chip] = _rules_for(book, chip, status)
        if not rules:
            continue
        key = (chip, site.city)
        here = by_place.get(key)
        if here is None:
            country = book.country_of(site.city)
            here = by_place[key] = tuple(
                r for r in rules if r.takes_effect <= today and covers_site(r, site, country)
            )
        if here:
            flags = screen_offer(book, offer, site, "", decisions, today, here)
            if flags:
                out[offer.id] = flags
    return out


def exclusion(flags: Sequence[Flag], tenant: Tenant | None, *, paid_or_placed: bool) -> Flag | None:
    """The first flag that leaves the offer out for this tenant: a block always, a missing
    evidence when vouchers pay or the request is being placed; none once cleared."""
    for flag in flags:
        if not flag.excludes or not flag.rule.touches(tenant):
            continue
        if flag.rule.effect == "block" or paid_or_placed:
            return flag
    return None
