"""The in-process wake-up of agents long-polling for work."""

from __future__ import annotations

import threading
import time

from suanli.services import work_signal


def test_a_signal_wakes_the_sites_waiter_at_once_and_not_other_sites():
    seen = work_signal.mark("site-a")
    timer = threading.Timer(0.05, work_signal.signal, args=("site-a",))
    t0 = time.monotonic()
    timer.start()
    assert work_signal.wait("site-a", seen, timeout_s=5)
    assert time.monotonic() - t0 < 2
    other = work_signal.mark("site-b")
    assert not work_signal.wait("site-b", other, timeout_s=0.05)  # site-a's work wakes no one here


def test_work_signalled_before_the_wait_is_not_missed():
    seen = work_signal.mark("site-c")
    work_signal.signal("site-c")
    assert work_signal.wait("site-c", seen, timeout_s=0)
