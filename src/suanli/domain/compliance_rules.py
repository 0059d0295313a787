"""Compliance rule files parsed: ``[[rule]]`` tables into ``Rule`` records, ``[[place]]``
tables into the city -> country map, and both indexed into a ``RuleBook`` (the format:
``data/compliance/*.toml``; the records and the screening: ``domain.compliance``).

Every malformed field is refused with a ``ComplianceError`` naming the file, the rule and the
field. Plain Python: the files are read by ``services.compliance``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from suanli.domain.catalog import EXPORT_STATUSES, Catalog
from suanli.domain.compliance import (
    ANY,
    EFFECTS,
    EVIDENCE,
    REGIMES,
    ComplianceError,
    Rule,
    RuleBook,
    Source,
)
from suanli.domain.registry import OWNERSHIPS

_RULE_KEYS = frozenset(
    {"id", "title", "regime", "authority", "effect", "takes_effect", "chips", "export_status",
     "countries", "cities", "tenant_classes", "evidence", "note", "source"}
)  # fmt: skip


def _text(raw: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ComplianceError(f"{where}.{key}", "must be non-blank text")
    return value.strip()


def _date(raw: Mapping[str, Any], key: str, where: str) -> date:
    value = raw.get(key)
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ComplianceError(f"{where}.{key}", f"must be a TOML date (YYYY-MM-DD), got {value!r}")
    return value


def _words(raw: Mapping[str, Any], key: str, where: str, allowed: Iterable[str] = ()) -> list[str]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ComplianceError(f"{where}.{key}", "must be a list of non-blank strings")
    known = tuple(allowed)
    for v in value:
        if known and v not in known:
            raise ComplianceError(f"{where}.{key}", f"{v!r} is not one of {', '.join(known)}")
    return [v.strip() for v in value]


def _one_of(raw: Mapping[str, Any], key: str, where: str, allowed: Sequence[str]) -> str:
    value = _text(raw, key, where)
    if value not in allowed:
        raise ComplianceError(f"{where}.{key}", f"must be one of {', '.join(allowed)}")
    return value


def _sources(raw: Mapping[str, Any], where: str) -> tuple[Source, ...]:
    items = raw.get("source")
    if not isinstance(items, list) or not items:
        raise ComplianceError(f"{where}.source", "a rule needs at least one [[rule.source]]")
    out = []
    for i, item in enumerate(items):
        at = f"{where}.source[{i}]"
        if not isinstance(item, Mapping):
            raise ComplianceError(at, "must be a table {title, url, published}")
        url = _text(item, "url", at)
        if not url.startswith(("https://", "http://")):
            raise ComplianceError(f"{at}.url", "must be an http(s) address")
        out.append(Source(_text(item, "title", at), url, _date(item, "published", at)))
    return tuple(out)


def _chips(raw: Mapping[str, Any], where: str, catalog: Catalog) -> frozenset[str]:
    ids = set()
    for name in _words(raw, "chips", where):
        acc = catalog.find(name)
        if acc is None:
            raise ComplianceError(f"{where}.chips", f"unknown catalog chip {name!r}")
        ids.add(acc.id)
    return frozenset(ids)


def parse_rule(raw: Any, where: str, catalog: Catalog) -> Rule:
    """One ``[[rule]]`` table; ``where`` is "file: rule[N]" and starts every error's field."""
    if not isinstance(raw, Mapping):
        raise ComplianceError(where, "must be a table")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise ComplianceError(f"{where}.{unknown[0]}", "unknown field")
    chips = _chips(raw, where, catalog)
    statuses = frozenset(_words(raw, "export_status", where, EXPORT_STATUSES))
    if not chips and not statuses:
        raise ComplianceError(f"{where}.chips", "a rule names chips or an export_status")
    countries = frozenset(c.upper() for c in _words(raw, "countries", where))
    if not countries or any(len(c) != 2 or not c.isalpha() for c in countries):
        raise ComplianceError(f"{where}.countries", "must list ISO 3166-1 alpha-2 codes")
    classes = _words(raw, "tenant_classes", where, (ANY, *OWNERSHIPS)) or [ANY]
    effect = _one_of(raw, "effect", where, EFFECTS)
    evidence = tuple(_words(raw, "evidence", where, EVIDENCE))
    if effect == "require_evidence" and not evidence:
        raise ComplianceError(f"{where}.evidence", "a rule requiring evidence says which")
    return Rule(
        id=_text(raw, "id", where), title=_text(raw, "title", where),
        regime=_one_of(raw, "regime", where, REGIMES), authority=_text(raw, "authority", where),
        effect=effect, takes_effect=_date(raw, "takes_effect", where), chips=chips,
        export_status=statuses, countries=countries,
        cities=frozenset(c.casefold() for c in _words(raw, "cities", where)),
        tenant_classes=frozenset() if ANY in classes else frozenset(classes),
        evidence=evidence, sources=_sources(raw, where),
        note=_text(raw, "note", where, required=False), file=where.split(":")[0],
    )  # fmt: skip


def parse_places(raw: Any, where: str) -> dict[str, str]:
    """``[[place]]`` tables {city, province, country}: casefolded city -> country code."""
    if not isinstance(raw, list):
        raise ComplianceError(f"{where}: place", "must be an array of tables")
    places: dict[str, str] = {}
    for i, item in enumerate(raw):
        at = f"{where}: place[{i}]"
        if not isinstance(item, Mapping):
            raise ComplianceError(at, "must be a table {city, province, country}")
        country = _text(item, "country", at).upper()
        if len(country) != 2 or not country.isalpha():
            raise ComplianceError(f"{at}.country", "must be an ISO 3166-1 alpha-2 code")
        _text(item, "province", at, required=False)
        places[_text(item, "city", at).casefold()] = country
    return places


def build_book(rules: Iterable[Rule], places: Mapping[str, str]) -> RuleBook:
    """The rules indexed; ids must be unique across files."""
    seen: dict[str, Rule] = {}
    by_chip: dict[str, list[Rule]] = {}
    by_status: dict[str, list[Rule]] = {}
    for rule in rules:
        if rule.id in seen:
            raise ComplianceError(f"{rule.file}: {rule.id}.id",
                                  f"duplicate rule id (also in {seen[rule.id].file})")  # fmt: skip
        seen[rule.id] = rule
        for chip in rule.chips:
            by_chip.setdefault(chip, []).append(rule)
        for status in rule.export_status:
            by_status.setdefault(status, []).append(rule)
    return RuleBook(
        tuple(seen.values()), dict(places),
        {k: tuple(v) for k, v in by_chip.items()}, {k: tuple(v) for k, v in by_status.items()},
    )  # fmt: skip
