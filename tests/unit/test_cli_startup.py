"""Starting the command line stays cheap: the root imports no area of the product, a command
imports its own, and the root's list of commands agrees with what the areas register."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from suanli.cli import COMMANDS, app, load_command

SRC = Path(__file__).resolve().parents[2] / "src"
# Loaded by some commands, never by starting the command line.
HEAVY = ("scipy", "alembic", "fastapi", "uvicorn", "ray", "numpy", "httpx", "cel", "highspy")
runner = CliRunner()


def _loaded_after(code: str) -> set[str]:
    """The top-level packages loaded by ``code`` in a fresh interpreter."""
    report = "import json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    probe = f"{code}\n{report}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_importing_the_entry_point_loads_no_heavy_package() -> None:
    loaded = _loaded_after("import suanli.cli")
    assert loaded.isdisjoint({*HEAVY, "sqlalchemy"}), loaded & {*HEAVY, "sqlalchemy"}


def test_help_and_a_catalog_lookup_load_no_heavy_package() -> None:
    run = (
        "import sys\nfrom suanli.cli import app\n"
        "for args in (['--help'], ['catalog', 'show', '910B']):\n"
        "    try:\n        app(args)\n    except SystemExit as exc:\n"
        "        assert exc.code == 0, exc.code\n"
    )
    loaded = _loaded_after(run)
    assert loaded.isdisjoint({*HEAVY, "sqlalchemy"}), loaded & {*HEAVY, "sqlalchemy"}


@pytest.mark.parametrize("module", sorted({module for module, _ in COMMANDS.values()}))
def test_each_module_registers_exactly_its_listed_commands(module: str) -> None:
    area = typer.Typer()
    __import__(f"suanli.cli.{module}", fromlist=["register"]).register(area)
    registered = set(typer.main.get_group(area).commands)
    assert registered == {name for name, (owner, _) in COMMANDS.items() if owner == module}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_listed_help_is_the_commands_own(name: str) -> None:
    cmd = load_command(name)
    own = (cmd.short_help or cmd.help or "").split("\n\n")[0]
    assert COMMANDS[name][1] == own


def test_single_commands_are_listed_before_groups_as_typer_orders_them() -> None:
    kinds = [isinstance(load_command(name), typer.core.TyperGroup) for name in COMMANDS]
    assert kinds == sorted(kinds)


def test_root_help_lists_every_command_and_a_typo_is_answered() -> None:
    shown = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert all(f" {name} " in shown.output for name in COMMANDS)
    typo = runner.invoke(app, ["catlog", "list"])
    assert typo.exit_code == 2
    assert "Did you mean 'catalog'" in typo.output


def test_every_module_that_registers_commands_is_in_the_table() -> None:
    registering = {
        path.stem
        for path in (SRC / "suanli" / "cli").glob("*.py")
        if "\ndef register(" in path.read_text(encoding="utf-8")
    }
    assert registering == {module for module, _ in COMMANDS.values()}
