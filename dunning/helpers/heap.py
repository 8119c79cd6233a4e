"""What a long-running process loaded at start-up, kept out of the garbage collector's way.

CPython's oldest-generation collection walks every object the process tracks: Django's
apps, the URL conf and the views, numpy, scikit-learn and the loaded models. Measured on
the dashboards at 1M transactions, that walk came every few requests and took ~200 ms (a
cold page's slowest of seven went from ~300 to 450-950 ms). ``gc.freeze`` moves what
start-up made into a generation no collection visits; what each request or job makes is
collected as before. A web worker calls it once its application is loaded (config/wsgi.py),
the decision worker once its models are.
"""

from __future__ import annotations

import gc


def startup_heap_freeze() -> int:
    """Collect what start-up left behind, then freeze the rest; returns how many objects
    no later collection will walk."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
