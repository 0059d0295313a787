"""The authorization matrix's machinery (``tests/integration/test_authz_matrix.py``): the
matrix file, the worlds its calls run in, the cases of one operation, and the checks on each
answer and on the ledger."""

from __future__ import annotations

import re
import tomllib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, select

from suanli.api.app import create_app
from suanli.domain.roles import ORG_BOUND_ROLES, READ_ALL_ROLES, Role
from suanli.services import ledger, settlement
from suanli.services.tokens import create_token
from suanli.services.world import load_world
from suanli.store.db import make_engine
from suanli.store.tables.ledger import ledger_transfers
from suanli.store.uow import UnitOfWork

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

MATRIX_FILE = Path(__file__).resolve().parent / "authz_matrix.toml"
MATRIX: dict[str, Any] = tomllib.loads(MATRIX_FILE.read_text(encoding="utf-8"))
OPS: dict[str, dict[str, Any]] = MATRIX["ops"]
ROLES = [r.value for r in Role]
ORG_BOUND = {r.value for r in ORG_BOUND_ROLES}
READ_ALL = [r.value for r in Role if r in READ_ALL_ROLES]
SIDES = ("a", "b")
METHODS = {"get", "post", "put", "patch", "delete"}
DEFAULT_ALLOWED = [200, 201]
ORG_KEY = {"tenant": "tenant", "provider": "provider", "agent": "site"}  # role -> side's org
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
KNOWN_KEYS = {
    "roles", "scoped", "public", "params", "query", "body", "expect_allowed", "expect_other",
    "by_role", "own_field", "attacks", "after", "planned",
}  # fmt: skip


def _openapi_ops() -> set[str]:
    spec = create_app(make_engine("sqlite://")).openapi()
    return {f"{m.upper()} {p}" for p, item in spec["paths"].items() for m in item if m in METHODS}


OPENAPI_OPS = _openapi_ops()


# --- filling templates ---------------------------------------------------------------------------


def fill(template: Any, names: dict[str, Any]) -> Any:
    """Replace placeholders: "{x}" alone by the value itself, inside text by its text."""
    if isinstance(template, dict):
        return {k: fill(v, names) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, names) for v in template]
    if not isinstance(template, str):
        return template
    whole = PLACEHOLDER.fullmatch(template)
    if whole:
        return _name(names, whole.group(1), template)
    return PLACEHOLDER.sub(lambda m: str(_name(names, m.group(1), template)), template)


def _name(names: dict[str, Any], key: str, template: str) -> Any:
    if key not in names:
        raise KeyError(f"{MATRIX_FILE.name}: no value for {{{key}}} in {template!r}")
    return names[key]


@dataclass
class World:
    """The ids the placeholders stand for, and a token per role (org-bound: per side)."""

    sides: dict[str, dict[str, Any]]
    tokens: dict[str, str]
    calls: Iterator[int] = field(default_factory=lambda: count(1))

    def names(self, target: str) -> dict[str, Any]:
        """The names for one call on ``target``'s objects; ``call`` is new each time."""
        other = "b" if target == "a" else "a"
        out: dict[str, Any] = {"year": str(datetime.now(UTC).year), **MATRIX.get("values", {})}
        out["call"] = str(next(self.calls))
        out.update({f"other_{k}": v for k, v in self.sides[other].items()})
        out.update(self.sides[target])
        return out

    def headers(self, role: str, side: str = "a") -> dict[str, str]:
        key = f"{role}:{side}" if role in ORG_BOUND else role
        return {"Authorization": f"Bearer {self.tokens[key]}"}


def build_world(engine: Engine, ops: set[str]) -> World:
    """Demo world, wallets, tokens and the matrix's seed, on a migrated, empty database."""
    load_world(engine)
    sides = {s: dict(MATRIX["sides"][s]) for s in SIDES}
    tokens: dict[str, str] = {}
    with UnitOfWork(engine) as uow:
        for role in READ_ALL:
            tokens[role] = create_token(uow, role, None, "authz matrix")
        for s, values in sides.items():
            for role, key in ORG_KEY.items():
                tokens[f"{role}:{s}"] = create_token(uow, role, values[key], "authz matrix")
            values["tenant_token_id"] = tokens[f"tenant:{s}"].split("_", 2)[1]
            amount = MATRIX["world"]["wallet_fen"]
            settlement.fund_wallet(uow, values["tenant"], amount, "CNY", f"authz:{s}")
        uow.commit()
    world = World(sides, tokens)
    client = _client(engine)
    for step in MATRIX.get("seed", []):
        if "when_op" in step and step["when_op"] not in ops:
            continue
        for s in SIDES if step.get("each_side") else ("a",):
            names = world.names(s)
            path = fill(step["path"], names)
            response = client.request(
                step["method"], path, headers=world.headers(step["as"], s),
                json=fill(step.get("body"), names),
            )  # fmt: skip
            assert response.status_code in step["expect"], (
                f"seed {step['method']} {path} as {step['as']} ({s}): "
                f"{response.status_code} {response.text[:800]}"
            )
            for name, key in step.get("capture", {}).items():
                sides[s][name] = response.json()[key]
    return world


def _client(engine: Engine) -> TestClient:
    return TestClient(create_app(engine))


# --- the ledger, before and after --------------------------------------------------------------


def ledger_state(engine: Engine) -> dict[str, Any]:
    """Every account's posted and pending sides, and every transfer with its status."""
    with UnitOfWork(engine, read_only=True) as uow:
        accounts = {
            a.id: (a.posted_debits, a.posted_credits, a.pending_debits, a.pending_credits)
            for a in ledger.list_accounts(uow)
        }
        t = ledger_transfers.c
        rows = uow.conn.execute(select(t.id, t.status, t.amount_minor)).all()
    return {"accounts": accounts, "transfers": {r.id: (r.status, r.amount_minor) for r in rows}}


def ledger_diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    changed = [
        f"{a}: {before['accounts'].get(a)} -> {after['accounts'].get(a)}"
        for a in sorted(set(before["accounts"]) | set(after["accounts"]))
        if before["accounts"].get(a) != after["accounts"].get(a)
    ]
    new = sorted(set(after["transfers"]) - set(before["transfers"]))
    moved = [t for t in before["transfers"] if before["transfers"][t] != after["transfers"].get(t)]
    return "; ".join(
        [*changed[:6], *(["new transfers " + ", ".join(new[:6])] if new else []),
         *(["changed transfers " + ", ".join(moved[:6])] if moved else [])]
    )  # fmt: skip


# --- the cases of one operation -----------------------------------------------------------------


@dataclass
class Case:
    op: str
    kind: str  # no-token | denied | allowed | own | other | attack
    label: str  # who calls on what, e.g. "tenant deepharbor-ai on other (qiantang-llm)"
    role: str | None  # None: no token
    target: str  # the side whose objects the request names; the caller is always side a
    request: dict[str, Any]
    expect: list[int]
    refused_200: bool = False
    own_field: str | None = None
    unchanged: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    @property
    def refusal(self) -> bool:
        """Whether the call must leave the ledger as it was."""
        return self.kind in ("no-token", "denied", "other", "attack")


def _template(entry: dict[str, Any], role: str | None) -> dict[str, Any]:
    """The request for ``role``: the entry's, with the role's overrides."""
    override = entry.get("by_role", {}).get(role or "", {})
    return {key: override.get(key, entry.get(key)) for key in ("params", "query", "body")}


def _attack_template(entry: dict[str, Any], attack: dict[str, Any]) -> dict[str, Any]:
    template = _template(entry, attack.get("as", "tenant"))
    return {
        "params": {**(template["params"] or {}), **attack.get("params", {})},
        "query": attack.get("query", template["query"]),
        "body": attack.get("body", template["body"]),
        "body_drop": attack.get("body_drop", []),
        "body_merge": attack.get("body_merge", {}),
    }


def _body(request: dict[str, Any], names: dict[str, Any]) -> Any:
    """The JSON body: the template filled, less ``body_drop``, with ``body_merge`` over it."""
    body = fill(request["body"], names)
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in request.get("body_drop", [])}
        body.update(fill(request.get("body_merge", {}), names))
    return body


def cases_for(op: str, entry: dict[str, Any], world: World) -> list[Case]:
    roles, scoped = entry["roles"], entry.get("scoped", [])
    a, b = world.sides["a"], world.sides["b"]

    def who(role: str) -> str:
        return f"{role} {a[ORG_KEY[role]]}" if role in ORG_BOUND else role

    out = [
        Case(op, "allowed", "anyone without a token", None, "a", _template(entry, None), [200])
        if entry.get("public")
        else Case(op, "no-token", "no token", None, "a", _template(entry, None), [401])
    ]
    for role in ROLES:
        template = _template(entry, role)
        if role not in roles:
            label = f"{who(role)} (role not admitted)"
            out.append(Case(op, "denied", label, role, "a", template, [403]))
            continue
        expect = entry.get("by_role", {}).get(role, {}).get("expect_allowed")
        expect = expect or entry.get("expect_allowed", DEFAULT_ALLOWED)
        own_field = entry.get("own_field", {}).get(role)
        extra = {"own_field": own_field, "after": entry.get("after")}
        if role not in ORG_BOUND:
            out.append(Case(op, "allowed", role, role, "a", template, expect, **extra))
            continue
        out.append(Case(op, "own", f"{who(role)} on own", role, "a", template, expect, **extra))
        if role in scoped:
            label = f"{who(role)} on other ({b[ORG_KEY[role]]})"
            expect_other = entry.get("expect_other", [403])
            out.append(Case(op, "other", label, role, "b", template, expect_other))
    for attack in entry.get("attacks", []):
        role = attack.get("as", "tenant")
        out.append(
            Case(
                op, "attack", f"{who(role)}, attack: {attack['name']}", role, "a",
                _attack_template(entry, attack), attack["expect"],
                refused_200=attack.get("refused_200", False), unchanged=attack.get("unchanged"),
            )
        )  # fmt: skip
    return out


def entry_problems(op: str, entry: dict[str, Any]) -> list[str]:
    """Mistakes in the table itself: unknown keys or roles, scoping a role not admitted."""
    problems = [f"{op}: unknown key {k!r}" for k in sorted(set(entry) - KNOWN_KEYS)]
    roles = entry.get("roles")
    if not isinstance(roles, list) or not roles:
        return [*problems, f"{op}: `roles` must list the roles that may call it"]
    problems += [f"{op}: unknown role {r!r}" for r in roles if r not in ROLES]
    for role in entry.get("scoped", []):
        if role not in ORG_BOUND or role not in roles:
            problems.append(f"{op}: scoped role {role!r} must be an admitted org-bound role")
    for role in entry.get("by_role", {}):
        if role not in roles:
            problems.append(f"{op}: by_role.{role} for a role that is not admitted")
    for attack in entry.get("attacks", []):
        if not attack.get("name") or not attack.get("expect"):
            problems.append(f"{op}: every attack needs a name and `expect`")
    return problems


def send(client: TestClient, case: Case, world: World, names: dict[str, Any]) -> Any:
    method, path = case.op.split(" ", 1)
    for key, value in fill(case.request["params"] or {}, names).items():
        path = path.replace("{" + key + "}", quote(str(value), safe=":"))
    missing = PLACEHOLDER.findall(path)
    assert not missing, f"{case.op}: {MATRIX_FILE.name} gives no params for {missing}"
    headers = world.headers(case.role) if case.role else {}
    query = fill(case.request["query"] or {}, names)
    body = _body(case.request, names)
    return client.request(method, path, headers=headers, params=query, json=body)


def _says_refused(response: Any) -> bool:
    try:
        data = response.json()
    except ValueError:
        return False
    return isinstance(data, dict) and (data.get("ok") is False or data.get("accepted") is False)


def _record(client: TestClient, world: World, path: str) -> dict[str, Any]:
    reply = client.get(path, headers=world.headers("officer"))
    assert reply.status_code == 200, f"reading {path} as officer: {reply.status_code}"
    data: dict[str, Any] = reply.json()
    return data


def check(client: TestClient, engine: Engine, world: World, case: Case) -> list[str]:
    """Make one call; what is wrong with it (nothing: the case holds)."""
    where = f"{case.op} as {case.label}"
    names = world.names(case.target)
    before = ledger_state(engine) if case.refusal else None
    watch = fill(case.unchanged["path"], names) if case.unchanged else None
    watched = _record(client, world, watch) if watch else None
    response = send(client, case, world, names)
    status = response.status_code
    problems = []
    held = status in case.expect or (case.refused_200 and status == 200 and _says_refused(response))
    if not held:
        reply = response.text[:300].replace("\n", " ")
        problems.append(f"{where}: got {status}, expected {case.expect}; reply: {reply}")
    if before is not None:
        changed = ledger_diff(before, ledger_state(engine))
        if changed:
            problems.append(f"{where}: got {status} and the ledger changed: {changed}")
    if watch and watched is not None and case.unchanged:
        now = _record(client, world, watch)
        for name in case.unchanged["fields"]:
            if now.get(name) != watched.get(name):
                was, became = watched.get(name), now.get(name)
                problems.append(f"{where}: got {status} and {name} changed: {was!r} -> {became!r}")
    if held and case.own_field and status == 200 and case.role:
        org = world.sides["a"][ORG_KEY[case.role]]
        foreign = sorted({str(i.get(case.own_field)) for i in response.json()} - {org})
        if foreign:
            problems.append(f"{where}: the list shows others' records ({foreign[:5]})")
    if held and case.after and case.kind in ("allowed", "own"):
        after = case.after
        reply = client.request(
            after["method"], fill(after["path"], names), headers=world.headers(after["as"])
        )
        if reply.status_code not in after["expect"]:
            problems.append(
                f"{where}: then {after['method']} {after['path']} as {after['as']} got "
                f"{reply.status_code}, expected {after['expect']}"
            )
    return problems
