"""The README's "Using it" block, run verbatim on a fresh database: every line exits 0.

The block runs in one bash session (its ``export`` and ``TOKEN=`` lines carry to the lines
after them) in a temporary folder that holds ``.venv/bin`` (a link to the running interpreter's
bin folder) and ``data`` (a link to the repository's), as the repository root would. The
commands that serve until stopped are in the README's next block, which this test leaves out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Lines whose documented exit status is not 0, by their start (none today).
EXPECTED_STATUS: dict[str, int] = {}


def readme_commands() -> list[str]:
    """The first code block under "## Using it", continuation lines joined."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Using it\n\n```\n(.*?)```\n", text, re.S)
    assert block is not None, "README.md has no code block under ## Using it"
    commands: list[str] = []
    pending = ""
    for line in block.group(1).splitlines():
        pending += line
        if line.endswith("\\"):
            pending += "\n"
            continue
        if pending.strip():
            commands.append(pending)
        pending = ""
    return commands


def _script(commands: list[str]) -> str:
    parts = []
    for i, command in enumerate(commands):
        want = next((c for p, c in EXPECTED_STATUS.items() if command.startswith(p)), 0)
        parts.append(
            f'echo "::line {i}"\n{command}\nrc=$?\n'
            f'if [ "$rc" != {want} ]; then echo "::failed {i} rc=$rc" >&2; exit 1; fi\n'
        )
    return "".join(parts)


def test_the_using_it_block_runs_verbatim(tmp_path: Path) -> None:
    commands = readme_commands()
    assert commands[1].startswith(".venv/bin/suanli db upgrade")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "bin").symlink_to(Path(sys.executable).parent)  # not resolved
    (tmp_path / "data").symlink_to(REPO / "data")
    env = {k: v for k, v in os.environ.items() if k not in ("SUANLI_SERVER", "SUANLI_TOKEN")}
    env.update(
        SUANLI_DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}",
        SUANLI_VAR_DIR=str(tmp_path / "var"),
        COLUMNS="200",
    )
    done = subprocess.run(
        ["bash", "-c", _script(commands)], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip
    failed = re.search(r"::failed (\d+) rc=(\d+)", done.stderr)
    where = commands[int(failed.group(1))] if failed else ""
    assert done.returncode == 0, f"{where}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    out = _by_line(done.stdout, len(commands))
    # The block works on the database it names, in this folder, and its examples are not empty.
    assert (tmp_path / "var" / "demo.db").is_file()
    statement = out[_index(commands, "statement")]
    assert statement.splitlines()[0].startswith("run_id,") and len(statement.splitlines()) > 1
    assert "voucher issued" in out[_index(commands, "review qt-1")]


def _index(commands: list[str], start: str) -> int:
    return next(i for i, c in enumerate(commands) if c.startswith(f".venv/bin/suanli {start}"))


def _by_line(stdout: str, count: int) -> list[str]:
    chunks = re.split(r"^::line (\d+)\n", stdout, flags=re.M)
    out = [""] * count
    for number, chunk in zip(chunks[1::2], chunks[2::2], strict=True):
        out[int(number)] = chunk
    return out
