"""Scoring on one thread: the models' native libraries must not crowd a small machine."""

from __future__ import annotations

from contextlib import AbstractContextManager

from threadpoolctl import ThreadpoolController

_threads: ThreadpoolController | None = None


def single_threaded() -> AbstractContextManager:
    """One OpenMP/BLAS thread while a model scores: on a machine whose few cores are
    shared, idle OpenMP threads spinning beside the worker made scoring 50x slower. The
    controller is made once (finding the libraries costs ~2 ms; a limit, ~0.03 ms)."""
    global _threads
    if _threads is None:
        _threads = ThreadpoolController()
    return _threads.limit(limits=1)
