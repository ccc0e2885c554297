"""Ordered parallel map over a process pool, used where a stage does the same work per file.

Only with the fork start method (Linux): children inherit the parent's state, so nothing large is
pickled per item, and there is no interpreter start-up to pay. Elsewhere, or for few items, the
work runs in this process: the results are the same either way, in the same order.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 32  # below this a pool costs more than it saves

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


def ordered_map(
    func: Callable[[T], R], items: Iterable[T], *, min_items: int = MIN_ITEMS
) -> Iterator[R]:
    """``map(func, items)``, spread over the CPUs when that pays; results in input order.

    ``func`` may be a closure: it is handed to the children by fork, not by pickling. Exceptions
    raised by ``func`` propagate as from ``map``; callers that must not stop catch inside ``func``.
    """
    global _job
    items = list(items)
    n = workers()
    if (
        len(items) < min_items
        or n < 2
        or "fork" not in multiprocessing.get_all_start_methods()
        or multiprocessing.parent_process() is not None  # already inside a worker
    ):
        yield from map(func, items)
        return
    _job = func
    try:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(n) as pool:
            yield from pool.imap(_call, items, chunksize=max(1, min(16, len(items) // (n * 4))))
    finally:
        _job = None
