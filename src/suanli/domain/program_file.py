"""A program file parsed into a validated ``Program``.

The format is declarative (see ``data/programs/README.md``). This module never evaluates an
eligibility rule itself but takes a compiler (``RuleCompiler``). Every malformed field is
refused with a ``ValidationError`` naming it, e.g. ``rates.domestic: must be between 0 and 1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from fractions import Fraction
from typing import Any

from suanli.domain.money import MINOR_UNITS
from suanli.domain.programs import (
    CAP_PERIODS,
    CONFIDENCES,
    FORMAT_VERSION,
    KINDS,
    ApplicantClass,
    CapPeriod,
    Credits,
    Kind,
    Program,
    RateSet,
    Rule,
    RuleCompiler,
    Stacking,
    Tranche,
)
from suanli.errors import ValidationError

_TOP_KEYS = {
    "format", "name", "kind", "issuer", "jurisdiction", "currency", "version", "source",
    "confidence", "notes", "accredited_providers", "parameters", "validity", "budget", "rates",
    "classes", "cap", "tranches", "exclusions", "stacking", "eligibility", "credits",
    "requires_model_filing",
}  # fmt: skip


def _known(raw: Mapping[str, Any], keys: set[str], where: str) -> None:
    unknown = sorted(set(raw) - keys)
    if unknown:
        name = f"{where}.{unknown[0]}" if where else unknown[0]
        raise ValidationError(name, f"unknown field; known: {', '.join(sorted(keys))}")


def _table(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        raise ValidationError(key, "must be a table")
    return value


def _text(raw: Mapping[str, Any], key: str, where: str = "", required: bool = True) -> str:
    name = f"{where}.{key}" if where else key
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(name, "is required and must be a non-empty string")
    return value.strip()


def _fen(raw: Mapping[str, Any], key: str, where: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(f"{where}.{key}", "must be a non-negative whole number of fen")
    return value


def parse_rate(value: Any, name: str) -> Fraction:
    """A rate written as "30%", "3/10", "0.3" or a number; must lie in [0, 1]."""
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, str) and value.strip().endswith("%"):
            rate = Fraction(value.strip()[:-1].strip()) / 100
        elif isinstance(value, str | int):
            rate = Fraction(value)
        elif isinstance(value, float):
            rate = Fraction(str(value))  # 0.3 means 3/10, not its binary neighbour
        else:
            raise ValueError
    except (ValueError, ZeroDivisionError):
        raise ValidationError(name, f"must be a rate like '30%' or '3/10', got {value!r}") from None
    if not 0 <= rate <= 1:
        raise ValidationError(name, "must be between 0 and 1")
    return rate


def _rate_set(raw: Mapping[str, Any], where: str, extra: set[str]) -> RateSet:
    _known(raw, {"domestic", "foreign", "any", *extra}, where)
    both = raw.get("any")
    if both is not None and ("domestic" in raw or "foreign" in raw):
        raise ValidationError(f"{where}.any", "give 'any' or 'domestic'/'foreign', not both")
    if both is not None:
        rate = parse_rate(both, f"{where}.any")
        return RateSet(rate, rate)
    found = {
        k: parse_rate(raw[k], f"{where}.{k}") if k in raw else None for k in ("domestic", "foreign")
    }
    if found["domestic"] is None and found["foreign"] is None:
        raise ValidationError(where, "needs a rate: 'domestic', 'foreign' or 'any'")
    return RateSet(found["domestic"], found["foreign"])


def _date(raw: Mapping[str, Any], key: str, where: str) -> date | None:
    value = raw.get(key)
    if value is None or (isinstance(value, date) and type(value) is date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"{where}.{key}", "must be a date YYYY-MM-DD") from None


def _rule(raw: Any, where: str, compile_rule: RuleCompiler, keys: set[str]) -> Rule:
    if not isinstance(raw, Mapping):
        raise ValidationError(where, "must be a table {id, expr, reason}")
    _known(raw, keys, where)
    rule_id = _text(raw, "id", where)
    expr_key = "when" if "when" in keys else "expr"
    expr = _text(raw, expr_key, where)
    try:
        check = compile_rule(expr)
    except ValueError as exc:
        raise ValidationError(f"{where} ({rule_id}).{expr_key}", str(exc)) from None
    return Rule(rule_id, expr, _text(raw, "reason", where), check)


def _list(raw: Mapping[str, Any], key: str) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise ValidationError(key, "must be an array of tables")
    return value


def _validity(raw: Mapping[str, Any]) -> tuple[date | None, date | None, int | None]:
    table = _table(raw, "validity")
    _known(table, {"from", "until", "voucher_days"}, "validity")
    start, end = _date(table, "from", "validity"), _date(table, "until", "validity")
    if start and end and end < start:
        raise ValidationError("validity.until", "must not be before validity.from")
    days = table.get("voucher_days")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days <= 0):
        raise ValidationError("validity.voucher_days", "must be a positive number of days")
    return start, end, days


def _tranches(raw: Mapping[str, Any]) -> tuple[Tranche, ...]:
    items = _list(raw, "tranches")
    if not items:
        return (Tranche(Fraction(1), "award"),)
    out = []
    for i, item in enumerate(items):
        where = f"tranches[{i}]"
        if not isinstance(item, Mapping):
            raise ValidationError(where, "must be a table {share, on}")
        _known(item, {"share", "on"}, where)
        out.append(
            Tranche(parse_rate(item.get("share"), f"{where}.share"), _text(item, "on", where))
        )
    if sum(t.share for t in out) != 1:
        raise ValidationError("tranches", "shares must add up to 100%")
    return tuple(out)


def _providers(raw: Mapping[str, Any]) -> tuple[str, ...] | None:
    value = raw.get("accredited_providers", "any")
    if value == "any":
        return None
    if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
        raise ValidationError("accredited_providers", 'must be "any" or a list of provider ids')
    return tuple(value)


def _stacking(raw: Mapping[str, Any]) -> Stacking:
    table = _table(raw, "stacking")
    _known(table, {"with", "max_total_rate", "requires"}, "stacking")
    others, required = _ids(table, "with"), _ids(table, "requires")
    total = parse_rate(table.get("max_total_rate", 1), "stacking.max_total_rate")
    return Stacking(others, total, required)


def _ids(table: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
        raise ValidationError(f"stacking.{key}", "must be a list of program ids")
    return tuple(value)


def _check_requires(program: Program) -> None:
    """A required program must be one this program may stack with, and not itself."""
    for i, other in enumerate(program.stacking.requires):
        where = f"stacking.requires[{i}]"
        if other == program.id:
            raise ValidationError(where, "a program cannot require itself")
        others = program.stacking.with_programs
        if (others or program.exclude_double_subsidy) and other not in others:
            raise ValidationError(where, f"{other!r} must also be listed in stacking.with")


def _credits(raw: Mapping[str, Any], kind: Kind) -> Credits | None:
    if "credits" not in raw:
        if kind == "credit-allocation":
            raise ValidationError("credits", "a credit allocation needs a [credits] table")
        return None
    table = _table(raw, "credits")
    _known(table, {"unit", "tiers", "credits_per_accelerator_hour"}, "credits")
    tiers = table.get("tiers")
    if not isinstance(tiers, Mapping) or not tiers:
        raise ValidationError("credits.tiers", "must be a table of tier = credits")
    for name, amount in tiers.items():
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise ValidationError(f"credits.tiers.{name}", "must be a positive whole number")
    exchange = table.get("credits_per_accelerator_hour")
    if not isinstance(exchange, Mapping) or not exchange:
        raise ValidationError(
            "credits.credits_per_accelerator_hour", "must be a table of provider id = credits"
        )
    rates: dict[str, Fraction] = {}
    for provider, value in exchange.items():
        name = f"credits.credits_per_accelerator_hour.{provider}"
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValidationError(name, "must be a positive number")
        try:
            rate = Fraction(str(value))
        except ValueError:
            raise ValidationError(name, "must be a positive number") from None
        if rate <= 0:
            raise ValidationError(name, "must be a positive number")
        rates[provider] = rate
    return Credits(_text(table, "unit", "credits"), dict(tiers), rates)


def _header(raw: Mapping[str, Any]) -> tuple[Kind, str, tuple[str, ...], str]:
    if raw.get("format") != FORMAT_VERSION:
        raise ValidationError("format", f"must be {FORMAT_VERSION} (the program file format)")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ValidationError("kind", f"must be one of {', '.join(KINDS)}")
    currency = _text(raw, "currency")
    if currency not in MINOR_UNITS:
        raise ValidationError("currency", f"unknown currency {currency!r}")
    sources = raw.get("source")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
        raise ValidationError("source", "at least one source is required")
    return kind, currency, tuple(sources), _confidence(raw)


def _confidence(raw: Mapping[str, Any]) -> str:
    value = raw.get("confidence", "solid")
    if value not in CONFIDENCES:
        raise ValidationError("confidence", f"must be one of {', '.join(CONFIDENCES)}")
    return str(value)


def _cap(raw: Mapping[str, Any]) -> tuple[int | None, CapPeriod, int | None]:
    table = _table(raw, "cap")
    _known(table, {"per_entity_fen", "period", "face_value_fen"}, "cap")
    period = table.get("period", "calendar-year")
    if period not in CAP_PERIODS:
        raise ValidationError("cap.period", f"must be one of {', '.join(CAP_PERIODS)}")
    per_entity = _fen(table, "per_entity_fen", "cap")
    return per_entity, period, _fen(table, "face_value_fen", "cap")


def _exclusions(raw: Mapping[str, Any]) -> tuple[bool, bool]:
    table = _table(raw, "exclusions")
    _known(table, {"related_parties", "double_subsidy"}, "exclusions")
    for key in ("related_parties", "double_subsidy"):
        if not isinstance(table.get(key, False), bool):
            raise ValidationError(f"exclusions.{key}", "must be true or false")
    return bool(table.get("related_parties", False)), bool(table.get("double_subsidy", False))


def _flag(raw: Mapping[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise ValidationError(key, "must be true or false")
    return value


def _parameters(raw: Mapping[str, Any]) -> dict[str, str]:
    table = _table(raw, "parameters")
    if not all(isinstance(v, str) and v.strip() for v in table.values()):
        raise ValidationError("parameters", "each parameter needs a note saying why")
    return {str(k): str(v) for k, v in table.items()}


def _rules(raw: Mapping[str, Any], compile_rule: RuleCompiler) -> tuple[Rule, ...]:
    rules = tuple(
        _rule(item, f"eligibility[{i}]", compile_rule, {"id", "expr", "reason"})
        for i, item in enumerate(_list(raw, "eligibility"))
    )
    _unique([r.id for r in rules], "eligibility")
    return rules


def _classes(raw: Mapping[str, Any], compile_rule: RuleCompiler) -> tuple[ApplicantClass, ...]:
    out = []
    for i, item in enumerate(_list(raw, "classes")):
        where = f"classes[{i}]"
        when = _rule(
            item, where, compile_rule, {"id", "when", "reason", "domestic", "foreign", "any"}
        )
        rates = _rate_set({k: v for k, v in item.items() if k in ("domestic", "foreign", "any")},
                          where, set())  # fmt: skip
        out.append(ApplicantClass(when.id, when, rates))
    _unique([c.id for c in out], "classes")
    return tuple(out)


def _unique(ids: list[str], where: str) -> None:
    seen: set[str] = set()
    for i, rule_id in enumerate(ids):
        if rule_id in seen:
            raise ValidationError(f"{where}[{i}].id", f"duplicate id {rule_id!r}")
        seen.add(rule_id)


def parse_program(raw: Mapping[str, Any], program_id: str, compile_rule: RuleCompiler) -> Program:
    """Build a program from a parsed file; ``program_id`` is the file's stem."""
    _known(raw, _TOP_KEYS, "")
    kind, currency, sources, confidence = _header(raw)
    valid_from, valid_until, voucher_days = _validity(raw)
    cap, period, face_value = _cap(raw)
    related, double = _exclusions(raw)
    budget = _table(raw, "budget")
    _known(budget, {"per_year_fen"}, "budget")
    credits = _credits(raw, kind)
    rates_raw = _table(raw, "rates")
    if not rates_raw:
        raise ValidationError(
            "rates", "is required: a [rates] table with 'domestic', 'foreign' or 'any'"
        )
    program = Program(
        id=program_id,
        name=_text(raw, "name"),
        kind=kind,
        issuer=_text(raw, "issuer"),
        jurisdiction=_text(raw, "jurisdiction"),
        currency=currency,
        version=_text(raw, "version"),
        sources=sources,
        confidence=confidence,
        valid_from=valid_from,
        valid_until=valid_until,
        voucher_valid_days=voucher_days,
        budget_per_year_fen=_fen(budget, "per_year_fen", "budget"),
        rates=_rate_set(rates_raw, "rates", set()),
        classes=_classes(raw, compile_rule),
        cap_per_entity_fen=cap,
        cap_period=period,
        face_value_fen=face_value,
        tranches=_tranches(raw),
        accredited_providers=_providers(raw),
        exclude_related_parties=related,
        exclude_double_subsidy=double,
        stacking=_stacking(raw),
        eligibility=_rules(raw, compile_rule),
        credits=credits,
        parameters=_parameters(raw),
        notes=_text(raw, "notes", required=False),
        requires_model_filing=_flag(raw, "requires_model_filing"),
    )
    _check_requires(program)
    return program
