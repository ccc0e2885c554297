"""Ordered parallel map over forked worker processes, for stages that do the same work per file
(building templates, reading returns).

Only with fork (Linux): children inherit the parent's state, so nothing large is pickled per item
and there is no interpreter start-up to pay. Elsewhere, for few items, or when a pool cannot be
had, the work runs in this process. The results are the same either way, in the same order.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 32  # below this a second process costs more than it saves (measured on 2 CPUs)

_job: Callable | None = None  # the function the children run, inherited through fork


def _call(item):
    assert _job is not None
    return _job(item)


def workers() -> int:
    """How many processes to use: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _pool(size: int | None = None):
    """A pool of ``size`` forked workers (default: one per CPU), or None where fork is missing or
    unsafe: macOS, Windows, a process already running other threads (a lock one holds stays
    held forever in the child), or a worker itself.

    ProcessPoolExecutor rather than multiprocessing.Pool: the latter waits forever for a
    worker that died (python-calamine aborts the process on some inputs); this one reports it.
    """
    import multiprocessing  # here: ~30 ms of imports that a small job never needs
    import threading
    from concurrent.futures import ProcessPoolExecutor

    if (
        workers() < 2
        or sys.platform == "darwin"
        or "fork" not in multiprocessing.get_all_start_methods()
        or threading.active_count() > 1
        or multiprocessing.parent_process() is not None
    ):
        return None
    try:
        return ProcessPoolExecutor(
            size or workers(), mp_context=multiprocessing.get_context("fork")
        )
    except (OSError, RuntimeError, ValueError, ImportError):
        return None


def ordered_map(
    func: Callable[[T], R], items: Iterable[T], *, min_items: int = MIN_ITEMS
) -> Iterator[R]:
    """``map(func, items)``, spread over the CPUs when that pays; results in input order.

    ``func`` may be a closure: it reaches the children by fork, not by pickling. An exception
    raised by ``func`` propagates as from ``map``. If the pool breaks (a worker died, or could
    not be forked), the items not done yet are done here.
    """
    global _job
    items = list(items)
    done = 0
    pool = _pool() if len(items) >= min_items else None
    if pool is not None:
        from concurrent.futures.process import BrokenProcessPool

        _job = func
        chunk = max(1, min(8, len(items) // (4 * workers())))
        try:
            for result in pool.map(_call, items, chunksize=chunk):
                done += 1
                yield result
        except (OSError, AssertionError, BrokenProcessPool):
            pass  # AssertionError: forking from inside a daemon process
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            _job = None
    for item in items[done:]:
        yield func(item)


def beside(func: Callable[[], R]) -> Callable[[], R]:
    """Start ``func()`` in one forked worker, to run beside what this process does next.

    Returns a function that waits for and gives its result (or raises its exception). Where no
    worker can be had, or it dies, ``func`` runs here when the result is asked for: the same
    result, later.
    """
    global _job
    pool = _pool(1)
    if pool is None:
        return func
    _job = lambda _: func()  # noqa: E731 - reaches the child by fork
    try:
        future = pool.submit(_call, None)
    except (OSError, RuntimeError):
        pool.shutdown(wait=False, cancel_futures=True)
        return func
    finally:
        _job = None

    def result() -> R:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return future.result()
        except BrokenProcessPool:
            return func()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    return result
