"""Ordered parallel map over forked worker processes, for stages that do the same work per item
(building templates, reading returns) or one large piece of work beside another (the summary).

Only with fork (Linux): children inherit the parent's state, so nothing is pickled on the way
in and there is no interpreter start-up to pay. Each child sends its results back through a pipe,
pickled. Elsewhere, for few items, or when forking is unsafe, the work runs in this process. The
results are the same either way, in the same order.

Plain os.fork and pipes rather than concurrent.futures or multiprocessing: importing those costs
~35 ms, and a pool ~10 ms more to start and stop, on every command that uses one.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 32  # below this a second process costs more than it saves (measured on 2 CPUs)

_in_worker = False  # set in a forked child: a worker never forks workers of its own


def workers() -> int:
    """How many processes to use: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether work may go to forked children here: two CPUs or more, fork available and safe.

    Not on macOS (system libraries are not fork-safe) or Windows (no fork), not from a process
    already running other threads (a lock one of them holds would stay held forever in the
    child), and not from a worker.
    """
    if _in_worker or not hasattr(os, "fork") or sys.platform == "darwin" or workers() < 2:
        return False
    import threading  # already loaded by the interpreter in practice

    return threading.active_count() == 1


class _Child:
    """One forked worker: its pid, the pipe its results come through, and what is unread."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid, self.fd, self.buffer = pid, fd, bytearray()


#: Work is queued in a pipe as 4-byte entries, each the first index of a chunk of items. A pipe
#: holds at least one page, so a queue of up to 1,024 entries is written whole before any child
#: starts, and each read of 4 bytes takes exactly one entry, whichever child reads it.
_QUEUE_ENTRIES = 1024


def _start(func: Callable[[Any], Any], items: list, count: int) -> list[_Child]:
    """Fork ``count`` children that take chunks of items from a shared queue until it is empty.

    Each result goes back as soon as it is made: 8 bytes of length, then the pickled (index,
    succeeded, result or exception). A child stops after its first exception. Taking work as
    it comes (rather than a fixed share each) keeps a child with larger items from finishing
    last.
    """
    chunk = max(1, -(-len(items) // _QUEUE_ENTRIES))
    queue = b"".join(i.to_bytes(4, "little") for i in range(0, len(items), chunk))
    queue_fd, queue_in = os.pipe()
    try:
        written = 0
        while written < len(queue):
            written += os.write(queue_in, queue[written:])
    finally:
        os.close(queue_in)
    children: list[_Child] = []
    try:
        for _ in range(count):
            read_fd, write_fd = os.pipe()
            _widen(write_fd)
            pid = os.fork()
            if pid == 0:  # the child: never returns
                try:
                    os.close(read_fd)
                    for child in children:
                        os.close(child.fd)
                    _serve(func, items, chunk, queue_fd, write_fd)
                finally:
                    os._exit(1)
            os.close(write_fd)
            children.append(_Child(pid, read_fd))
    except BaseException:
        _stop(children)
        raise
    finally:
        os.close(queue_fd)
    return children


def _widen(fd: int) -> None:
    """Let a pipe hold 1 MB (Linux; 64 KB by default), so that a child rarely waits for this
    process to read a large result, such as a template, before starting on the next item."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass  # the pipe keeps its size: slower at worst


def _serve(func: Callable[[Any], Any], items: list, chunk: int, queue_fd: int, fd: int) -> None:
    global _in_worker
    _in_worker = True
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent cleans up
        with os.fdopen(fd, "wb") as out:
            while len(entry := os.read(queue_fd, 4)) == 4:
                first = int.from_bytes(entry, "little")
                for i in range(first, min(first + chunk, len(items))):
                    try:
                        result = func(items[i])
                        message = pickle.dumps((i, True, result), pickle.HIGHEST_PROTOCOL)
                        failed = False
                    except BaseException as exc:  # sent back, raised there as map would raise it
                        message, failed = _pickled_error(i, exc), True
                    out.write(len(message).to_bytes(8, "little"))
                    out.write(message)
                    out.flush()
                    if failed:
                        return
    except BaseException:
        code = 1
    finally:
        os._exit(code)  # no atexit handlers, no flushing of the parent's buffers


def _pickled_error(index: int, exc: BaseException) -> bytes:
    try:
        message = pickle.dumps((index, False, exc), pickle.HIGHEST_PROTOCOL)
        pickle.loads(message)  # some exceptions pickle but cannot be rebuilt
        return message
    except Exception:
        stand_in = RuntimeError(f"{type(exc).__name__}: {exc}")
        return pickle.dumps((index, False, stand_in), pickle.HIGHEST_PROTOCOL)


def _receive(children: list[_Child]) -> Iterator[tuple[int, bool, Any]]:
    """The children's messages, as they arrive, until every child has closed its pipe.

    A child that dies mid-message (python-calamine aborts the process on some inputs) has its
    last, partial message dropped: the items it did not answer are missing, not wrong.
    """
    open_children = {c.fd: c for c in children if c.fd >= 0}
    poll = select.poll()  # not select(): no limit on descriptor numbers
    for fd in open_children:
        poll.register(fd, select.POLLIN)
    while open_children:
        for fd, _ in poll.poll():
            child = open_children[fd]
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                poll.unregister(fd)
                del open_children[fd]
                os.close(fd)
                child.fd = -1
                continue
            buffer = child.buffer
            buffer += chunk
            while len(buffer) >= 8:
                size = int.from_bytes(buffer[:8], "little")
                if len(buffer) < 8 + size:
                    break
                message = bytes(buffer[8 : 8 + size])
                del buffer[: 8 + size]
                yield pickle.loads(message)


def _stop(children: list[_Child]) -> None:
    """Reap every child: wait for those that are done, kill those that are not."""
    for child in children:
        if child.fd >= 0:
            os.close(child.fd)
            child.fd = -1
        try:
            pid, _ = os.waitpid(child.pid, os.WNOHANG)
            if pid == 0:  # still running: its results are no longer wanted
                os.kill(child.pid, signal.SIGKILL)
                os.waitpid(child.pid, 0)
        except ChildProcessError:
            pass


_MISSING = object()  # a result a dead worker did not send


def ordered_map(
    func: Callable[[T], R], items: Iterable[T], *, min_items: int = MIN_ITEMS
) -> Iterator[R]:
    """``map(func, items)``, spread over the CPUs when that pays; results in input order.

    ``func`` may be a closure: it reaches the children by fork, not by pickling; its results
    are pickled on the way back. An exception raised by ``func`` propagates as from ``map``. If
    a worker dies, the items it did not finish are done here.
    """
    items = list(items)
    if len(items) < min_items or not can_fork():
        for item in items:
            yield func(item)
        return
    try:
        children = _start(func, items, min(workers(), len(items)))
    except OSError:  # no process or pipe to be had: all here
        for item in items:
            yield func(item)
        return
    done = 0
    waiting: dict[int, tuple[bool, Any]] = {}
    try:
        for index, succeeded, value in _receive(children):
            waiting[index] = (succeeded, value)
            while done in waiting:
                succeeded, value = waiting.pop(done)
                if not succeeded:
                    raise value
                done += 1
                yield value
        for index in range(done, len(items)):  # what a dead worker left undone
            succeeded, value = waiting.pop(index, (True, _MISSING))
            if not succeeded:
                raise value
            yield func(items[index]) if value is _MISSING else value
    finally:
        _stop(children)


def beside(func: Callable[[], R]) -> Callable[[], R]:
    """Start ``func()`` in one forked worker, to run beside what this process does next.

    Returns a function that waits for and gives its result (or raises its exception). Where no
    worker can be had, or it dies, ``func`` runs here when the result is asked for: the same
    result, later.
    """
    if not can_fork():
        return func
    try:
        children = _start(lambda _: func(), [None], 1)
    except OSError:  # no process or pipe to be had
        return func

    def result() -> R:
        try:
            for _, succeeded, value in _receive(children):
                if not succeeded:
                    raise value
                return value
        finally:
            _stop(children)
        return func()

    return result
