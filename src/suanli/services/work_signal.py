"""A wake-up for agents long-polling for work, within one server process.

A lease long-poll sleeps on this signal rather than a fixed tick: the unit of work that queues a
run signals its site once it has committed, and every waiter of that site polls the queue at
once. Work queued by another process (another API worker) is not signalled here, so the waiter
also polls on a timer, as before.
"""

from __future__ import annotations

import threading
from collections import defaultdict

_cond = threading.Condition()
_queued: defaultdict[str, int] = defaultdict(int)  # per site: how many times work was queued


def mark(site_id: str) -> int:
    """The site's current count; pass it to ``wait`` to wait for work queued after now."""
    with _cond:
        return _queued[site_id]


def signal(site_id: str) -> None:
    """Work was committed to the site's queue: wake its waiting agents."""
    with _cond:
        _queued[site_id] += 1
        _cond.notify_all()


def wait(site_id: str, since: int, timeout_s: float) -> bool:
    """Wait until work is queued for the site after ``since``, or ``timeout_s`` passes."""
    with _cond:
        return _cond.wait_for(lambda: _queued[site_id] != since, timeout=max(timeout_s, 0.0))
