"""The shape ARCHITECTURE.md promises, checked: short functions and service modules, no SQL in
services, and nothing outside the API (and the commands that start it) importing it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "suanli"
MAX_FUNCTION_LINES = 70
MAX_SERVICE_MODULE_LINES = 400
# The composition roots: the commands that start the API, and the demo's in-process server.
API_IMPORTERS = {"cli/core.py", "cli/agent.py", "demo/agents.py"}


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_no_function_is_over_70_lines() -> None:
    long: list[str] = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(SRC)}::{node.name} ({lines} lines)")
    assert long == []


def test_no_service_module_is_over_400_lines() -> None:
    services = sorted((SRC / "services").glob("*.py"))
    assert services, "services/ not found"
    long = [
        f"{p.name} ({n} lines)"
        for p in services
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_SERVICE_MODULE_LINES
    ]
    assert long == []


def test_services_build_no_sql() -> None:
    sql = re.compile(r"conn\.execute|select\(|insert\(|update\(")
    hits = [
        f"{p.name}:{i}"
        for p in sorted((SRC / "services").glob("*.py"))
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if sql.search(line)
    ]
    assert hits == []


def test_only_the_composition_roots_import_the_api() -> None:
    importers = set()
    for path in _modules():
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("api/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(n == "suanli.api" or n.startswith("suanli.api.") for n in names):
                importers.add(rel)
    assert importers <= API_IMPORTERS, sorted(importers - API_IMPORTERS)
