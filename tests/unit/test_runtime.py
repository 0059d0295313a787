"""An API worker settles its heap once started: start-up's objects are frozen, once a process."""

from __future__ import annotations

import gc
import subprocess
import sys

SCRIPT = """
import gc
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from suanli.api.app import create_app
assert gc.get_freeze_count() == 0
with TestClient(create_app(create_engine("sqlite://"))):
    frozen = gc.get_freeze_count()
    assert frozen > 10_000, frozen  # modules, the app and its routes at least
with TestClient(create_app(create_engine("sqlite://"))):
    # Once a process: the second app is not frozen (frozen objects freed since leave the count).
    assert gc.get_freeze_count() <= frozen, (gc.get_freeze_count(), frozen)
print("ok")
"""


def test_the_app_freezes_the_start_up_heap_once() -> None:
    # A fresh interpreter: this test process's heap is not the thing being checked.
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_objects_made_later_are_still_collected() -> None:
    from suanli.runtime import settle_heap

    settle_heap()

    class Cycle:
        other: object = None

    a, b = Cycle(), Cycle()
    a.other, b.other = b, a
    del a, b
    assert gc.collect() >= 2
