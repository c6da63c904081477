"""Set-up of a server process (uvicorn, daphne) once the application is built.

The garbage collector: a server holding thousands of sockets has a large
heap of long-lived objects, and every full collection scans all of it.
Python starts one whenever the long-lived objects grew by a quarter, so
while a connect storm fills the heap, collections come one after another,
each longer than the last (docs/benchmarks.md).

- ``gc.freeze()`` moves everything alive once the application is built
  (modules, settings, URL patterns, templates: never garbage) to the
  permanent generation, which collections skip. Objects frozen are still
  freed by reference counting; only cycles among them would stay.
- ``JAM_GC_THRESHOLD`` ("gen0,gen1,gen2") makes collections rarer; empty
  keeps Python's.
"""

from __future__ import annotations

import gc

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def gc_thresholds(text: str) -> tuple[int, int, int] | None:
    """``"a,b,c"`` as three positive thresholds; None for an empty text."""
    if not text.strip():
        return None
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or min(values) < 1:
        raise ImproperlyConfigured(
            f"JAM_GC_THRESHOLD must be three positive integers 'gen0,gen1,gen2', not {text!r}"
        )
    return values


def server_process_ready() -> None:
    """Tune the collector for a long-running server (called by jamsite/asgi.py)."""
    thresholds = gc_thresholds(settings.JAM_GC_THRESHOLD)
    if thresholds is not None:
        gc.set_threshold(*thresholds)
    if settings.JAM_GC_FREEZE:
        gc.collect()  # what is garbage now goes, the rest is frozen
        gc.freeze()
