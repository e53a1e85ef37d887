"""The garbage collector's policy for the long-running processes (server and run worker),
applied once the code they run is loaded (`settle_collector`)."""

from __future__ import annotations

import gc


def settle_collector() -> None:
    # Everything loaded so far (Django, the apps, the URL conf, the libraries: about 110,000
    # objects) lives as long as the process. Out of the collector's sight, a full collection
    # under load pauses the loop for 40 to 100 ms instead of 140 to 250 (measured at 200
    # streams on the 2-core benchmark machine), a pause every stream feels.
    gc.freeze()
    # What the process holds later is mostly its connections: each open socket keeps a hundred
    # or more objects (protocol, consumer, tasks, headers), so 200 sockets put about 50,000
    # objects in the oldest generation, and a full collection of them paused the loop for 80 to
    # 140 ms under load. By default a full collection follows every 10 collections of the
    # middle generation, about every 20 s at 4,000 deltas/s; after every 100, it comes about
    # every 3 minutes. The young generations keep their thresholds (a larger youngest one made
    # its collections as long as the full ones). The cost: cyclic garbage that reached the
    # oldest generation (the objects of a closed socket) is freed ten times less often.
    gc.set_threshold(700, 10, 100)
