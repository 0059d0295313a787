"""Start-up of the ``suanli`` command line: what a user waits for on every command.

    PYTHONPATH=src .venv/bin/python bench/cli.py --repeats 15

Times, in one run, the interpreter's own start (``python -c pass``, the baseline) and three
commands: ``suanli --help``, ``suanli catalog show 910B`` (the catalog file, no database) and
``suanli offers list`` (on a fresh SQLite database brought to the newest schema first, untimed).
The runs take turns, so load on the machine falls on all of them alike. Each row gives the
median wall time and the median CPU time (user + system of the child) over the repeats, and
their ratios to the baseline's. The command line is the console script next to the interpreter
(``suanli``) when there is one, else ``python -m suanli.cli``; either imports ``suanli`` from
PYTHONPATH, so pointing it at another checkout's ``src`` measures that checkout.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = {
    "suanli --help": ["--help"],
    "suanli catalog show 910B": ["catalog", "show", "910B"],
    "suanli offers list": ["offers", "list"],
}


def _entry() -> list[str]:
    script = Path(sys.executable).parent / "suanli"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "suanli.cli"]


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall_s = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall_s, cpu_s


def measure(repeats: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each row, the baseline first."""
    entry = _entry()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SUANLI_DATABASE_URL": f"sqlite:///{tmp}/bench.db", "COLUMNS": "120"}
        subprocess.run([*entry, "db", "upgrade"], env=env, check=True, capture_output=True)
        runs: dict[str, list[str]] = {"python -c pass": [sys.executable, "-c", "pass"]}
        runs |= {label: [*entry, *args] for label, args in COMMANDS.items()}
        for argv in runs.values():  # warm the file cache and the bytecode caches
            _timed(argv, env)
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label in runs}
        for _ in range(repeats):
            for label, argv in runs.items():
                samples[label].append(_timed(argv, env))
    return {
        label: (statistics.median(w for w, _ in got), statistics.median(c for _, c in got))
        for label, got in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    import suanli

    print(f"suanli from {Path(suanli.__file__).parent}; entry {' '.join(_entry())}")
    medians = measure(args.repeats)
    base_wall_s, base_cpu_s = medians["python -c pass"]
    print(f"median of {args.repeats} runs each\n")
    print("| command | wall (s) | × baseline | CPU (s) | × baseline |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, (wall_s, cpu_s) in medians.items():
        print(
            f"| `{label}` | {wall_s:.3f} | {wall_s / base_wall_s:.1f} | {cpu_s:.3f} "
            f"| {cpu_s / base_cpu_s:.1f} |"
        )


if __name__ == "__main__":
    main()
