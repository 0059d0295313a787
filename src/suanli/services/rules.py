"""Eligibility rules in CEL (the Common Expression Language), compiled once per program load.

CEL is a standard, side-effect-free expression language: a rule can read the facts it is given
and nothing else. The engine is the ``common-expression-language`` package (Rust bindings);
this adapter gives the domain a plain ``facts -> bool`` callable.

Each compiled rule says which facts it reads (``CelRule.reads``, read through
``domain.programs.facts_read``): callers use it to know which verdicts can change with which
facts, e.g. the quote decides rules that never read a contract's amount or hours once per
provider and chip.

Speed: the exchange asks for subsidies over many offers with the same applicant. A rule that
reads only ``applicant.x`` / ``contract.y`` fields (no whole-object use) is memoised on the values
of exactly those fields, so one applicant's rules are evaluated once per distinct provider,
origin or date rather than once per offer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from suanli.domain.programs import Predicate
from suanli.errors import RuleEvaluationError

ROOTS = ("applicant", "contract", "purchase")
_FIELD_RE = re.compile(r"\b(applicant|contract|purchase)\.([A-Za-z_]\w*)")
_ROOT_RE = re.compile(r"\b(applicant|contract|purchase)\b")
_STRING_RE = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_CACHE_LIMIT = 4096


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _facts_read(expr: str) -> frozenset[str]:
    """``root.field`` for each field an expression reads, and the bare root for each root it
    uses as a whole (``contract["amount_fen"]``, ``size(applicant)``): any of its fields."""
    code = _STRING_RE.sub('""', expr)  # a quoted "contract" is text, not a reference
    fields = _FIELD_RE.findall(code)
    names = {f"{root}.{name}" for root, name in fields}
    roots = _ROOT_RE.findall(code)
    names |= {r for r in set(roots) if roots.count(r) > sum(f[0] == r for f in fields)}
    return frozenset(names)


class CelRule:
    """One compiled rule; calling it with facts returns its verdict."""

    __slots__ = ("_cache", "_key", "_program", "reads", "source")

    def __init__(self, expr: str) -> None:
        import cel  # the engine loads with the first rule, not with every command

        try:
            self._program = cel.compile(expr)
        except ValueError as exc:
            raise ValueError(f"not a valid CEL expression: {str(exc).splitlines()[0]}") from None
        unknown = sorted(set(self._program.variables()) - set(ROOTS) - _bound_names(expr))
        if unknown:
            raise ValueError(f"unknown name(s) {', '.join(unknown)}; rules see {', '.join(ROOTS)}")
        self.source = expr
        # The facts the rule reads: ``root.field`` names, or a bare root used as a whole.
        self.reads: frozenset[str] = _facts_read(expr)
        whole = any("." not in name for name in self.reads)
        pairs = tuple((root, f) for root, _, f in sorted(n.partition(".") for n in self.reads))
        self._key: tuple[tuple[str, str], ...] | None = None if whole else pairs
        self._cache: dict[tuple[Any, ...], bool] = {}

    def __call__(self, facts: Mapping[str, Any]) -> bool:
        if self._key is None:  # memoised only on known fields
            return self._run(facts)
        try:
            key = tuple(_freeze(facts[root][name]) for root, name in self._key)
        except (KeyError, TypeError):
            return self._run(facts)  # let the engine report what is missing
        found = self._cache.get(key)
        if found is None:
            found = self._run(facts)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = found
        return found

    def _run(self, facts: Mapping[str, Any]) -> bool:
        try:
            activation = self._read(facts)
        except (KeyError, TypeError):
            activation = dict(facts)  # let the engine report what is missing
        try:
            result = self._program.execute(activation)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise RuleEvaluationError(_message(exc)) from None
        if not isinstance(result, bool):
            raise RuleEvaluationError(f"must give true or false, gave {result!r}")
        return result

    def _read(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """Only the fields the rule reads, where it names them all: the engine converts every
        fact it is given, and a contract's facts are many times what a rule reads."""
        if self._key is None:
            return dict(facts)
        activation: dict[str, dict[str, Any]] = {}
        for root, name in self._key:
            activation.setdefault(root, {})[name] = facts[root][name]
        return activation


def _bound_names(expr: str) -> set[str]:
    """Names bound by comprehension macros such as ``list.exists(x, ...)``."""
    return set(re.findall(r"\.(?:all|exists|exists_one|map|filter)\(\s*([A-Za-z_]\w*)\s*,", expr))


def _message(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no such fact {exc.args[0]!r}"
    return str(exc).splitlines()[0]


def compile_rule(expr: str) -> Predicate:
    """The domain's ``RuleCompiler``: raises ValueError naming the problem."""
    return CelRule(expr)
