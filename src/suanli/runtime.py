"""What a long-running process (an API worker, a site's agent) does once it has started.

``settle_heap`` collects what start-up left behind, then freezes every object start-up made
(modules, the app, its caches): CPython's cyclic collector no longer scans them. Its full
collections otherwise walk that whole heap again, whenever enough new objects have lived a
while, which a ledger batch of 1,000 transfers or a quote over 1,000 offers makes: in one
process, batches of 1,000 took 18.5 ms each with the collector as it is, 17.3 ms with it off
and 17.0 ms with the start-up heap frozen (bench/RESULTS.md, "Ledger"). Objects made later
are collected as usual. Once per process: a second call does nothing.
"""

from __future__ import annotations

import gc

_settled = False


def settle_heap() -> None:
    """Collect start-up's garbage, then keep the collector off the objects start-up made."""
    global _settled
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()
