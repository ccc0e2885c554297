"""Worker processes, for the stages that do the same work for many items: the templates of
split (template_files.write_templates) and the returns of merge (inbox.collect); and for one large
piece of work beside another (merge's draft 通报 beside its summary workbook: :func:`beside`).

Both use concurrent.futures.ProcessPoolExecutor with the platform's default start method. A
worker may be a fresh interpreter (spawned, as on Windows and macOS) that imports the package
and gets its work by pickling, so what runs there is a module-level function with picklable
arguments. Starting workers costs time, most where they are spawned: each caller works in this
process below a measured amount of work (benchmarks/README.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

R = TypeVar("R")


def cpus() -> int:
    """How many CPUs this process may run on: the most workers worth starting."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def beside(
    func: Callable[..., R], *args: Any, mp_context: BaseContext | None = None
) -> Callable[[], R]:
    """Start ``func(*args)`` in a worker process, to run while this process goes on; returns a
    function that waits for its result and gives it (or raises what ``func`` raised).

    ``func`` must be module-level and ``args`` picklable (the worker may be spawned). Where no
    worker can be started, or it dies, ``func`` runs here when the result is asked for: the same
    result, later. Call the returned function once. ``mp_context``: the worker's
    multiprocessing context (None: the platform's default).
    """
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        pool = ProcessPoolExecutor(1, mp_context=mp_context)
        future = pool.submit(func, *args)
    except (OSError, RuntimeError):  # no process to be had
        return lambda: func(*args)

    def result() -> R:
        try:
            return future.result()
        except BrokenProcessPool:
            return func(*args)
        finally:
            pool.shutdown(wait=True)

    return result
