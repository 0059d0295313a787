"""Records as JSON, the same for the API's answers and the CLI's --json."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from suanli.domain.catalog import Accelerator, Figure
from suanli.domain.programs import Program, RateSet
from suanli.domain.subsidy_facts import SubsidyDecision
from suanli.domain.systems import System, TotalCheck


def _rate(rate: Fraction | None) -> str | None:
    return None if rate is None else str(rate)


def _rates(rates: RateSet) -> dict[str, str | None]:
    return {"domestic": _rate(rates.domestic), "foreign": _rate(rates.foreign)}


def program_json(program: Program, *, words: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": program.id,
        "name": program.name,
        "kind": program.kind,
        "issuer": program.issuer,
        "jurisdiction": program.jurisdiction,
        "currency": program.currency,
        "version": program.version,
        "valid_from": program.valid_from,
        "valid_until": program.valid_until,
        "budget_per_year_fen": program.budget_per_year_fen,
        "rates": _rates(program.rates),
        "classes": [
            {"id": c.id, "when": c.when.expr, "reason": c.when.reason, "rates": _rates(c.rates)}
            for c in program.classes
        ],
        "cap_per_entity_fen": program.cap_per_entity_fen,
        "cap_period": program.cap_period,
        "tranches": [{"share": str(t.share), "on": t.on} for t in program.tranches],
        "accredited_providers": (
            "any" if program.accredited_providers is None else list(program.accredited_providers)
        ),
        "stacking": {
            "with": list(program.stacking.with_programs),
            "max_total_rate": str(program.stacking.max_total_rate),
            "requires": list(program.stacking.requires),
        },
        "eligibility": [
            {"id": r.id, "expr": r.expr, "reason": r.reason} for r in program.eligibility
        ],
        "parameters": dict(program.parameters),
        "sources": list(program.sources),
        "confidence": program.confidence,
    }
    if words:
        # the services (and the database layer behind them) load only for a program's words
        from suanli.services import programs

        data["explanation"] = programs.explain(program)
    return data


def decision_json(decision: SubsidyDecision) -> dict[str, Any]:
    return {
        "program_id": decision.program_id,
        "eligible": decision.eligible,
        "subsidy_fen": decision.subsidy_fen,
        "rate": str(decision.rate),
        "rate_float": float(decision.rate),
        "amount_fen": decision.amount_fen,
        "currency": decision.currency,
        "credits_used": decision.credits_used,
        "reasons": [
            {"check": v.check, "passed": v.passed, "reason": v.reason} for v in decision.reasons
        ],
        "lines": list(decision.lines),
    }


def accelerator_json(acc: Accelerator) -> dict[str, Any]:
    return {
        "id": acc.id,
        "vendor": acc.vendor,
        "model": acc.model,
        "origin": acc.origin,
        "china_specific": acc.china_specific,
        "year": acc.year,
        "aliases": list(acc.aliases),
        "precisions": sorted(acc.precisions),
        "figures": _figures_json(acc.figures),
        "export_control": {
            "status": acc.export_control.status,
            "as_of": acc.export_control.as_of.isoformat() if acc.export_control.as_of else None,
            "note": acc.export_control.note,
        },
        "confidence": acc.confidence,
        "sources": list(acc.sources),
        "notes": acc.notes,
        "missing_reason": dict(acc.missing_reason),
    }


def _figures_json(figures: dict[str, Figure] | Any) -> dict[str, Any]:
    return {
        name: {"value": fig.value, "confidence": fig.confidence, "note": fig.note}
        for name, fig in figures.items()
    }


def system_json(system: System, checks: list[TotalCheck] | None = None) -> dict[str, Any]:
    """A system as JSON; ``checks`` adds its published totals against chips × chip figures."""
    ic = system.interconnect()
    data: dict[str, Any] = {
        "id": system.id,
        "vendor": system.vendor,
        "name": system.name,
        "kind": system.kind,
        "year": system.year,
        "aliases": list(system.aliases),
        "chip": system.chip_id,
        "chips": system.chips,
        "scale_up_domain_chips": system.scale_up_domain_chips,
        "scale_up_domain_note": system.scale_up_domain_note,
        "power_covers": system.power_covers,
        "figures": _figures_json(system.figures),
        "interconnect": {
            "scale_up_domain_chips": ic.scale_up_domain_chips,
            "scale_up_gbps_per_chip": ic.scale_up_gbps_per_chip,
            "scale_out_gbps_per_chip": ic.scale_out_gbps_per_chip,
        },
        "missing_reason": dict(system.missing_reason),
        "confidence": system.confidence,
        "sources": list(system.sources),
        "notes": system.notes,
    }
    if checks is not None:
        data["totals_check"] = [
            {
                "figure": c.figure,
                "published": c.published,
                "from_chips": round(c.from_chips, 6),
                "ratio": round(c.ratio, 4),
                "confidence": c.confidence,
                "tolerance": c.tolerance,
                "within": c.within,
            }
            for c in checks
        ]
    return data
