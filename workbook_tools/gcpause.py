"""Holding Python's cyclic garbage collector while a stage builds many small objects.

Reading an inbox, checking it, writing the templates and writing the summary each create some
100,000 small objects (rows, answers, cells) that hold no reference cycles. The cyclic collector
would walk all of them again and again as they pile up, for nothing: about a tenth of a
province-scale merge. Reference counting still frees everything as usual (a test checks that
written workbooks leave nothing for the collector); the collector runs again afterwards.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Hold the cyclic garbage collector inside the block (nested blocks are fine)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def without_gc(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` with the cyclic garbage collector held (see :func:`paused`)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with paused():
            return func(*args, **kwargs)

    return wrapper
