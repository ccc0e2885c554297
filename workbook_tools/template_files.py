"""The Annex 2 templates of all divisions as files (the `split` stage): file names that never
clash, a file there that differs kept unless forced, and, for large masters, the workbooks
built in worker processes. Each workbook is :func:`template.build_template`."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import layout, workers
from .errors import OutputError
from .files import WRITTEN, safe_filename, write_atomically, write_new_only
from .model import ROLE_LEAD, Master
from .template import build_template, check_period

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

    from .template_extra import Previous

__all__ = [
    "TemplateInfo",
    "write_template",
    "write_templates",
]


@dataclass(frozen=True)
class TemplateInfo:
    """One template written by :func:`write_template`."""

    division: str
    path: Path
    led: int  # tasks the division leads
    assisted: int  # tasks it assists on
    state: str = WRITTEN  # what write_templates did with the file (files.WRITTEN, KEPT…)


#: write_templates builds the workbooks in worker processes from this many task rows in all;
#: below that, starting the workers costs more than they save where they are spawned (Windows,
#: macOS), and saves little where they are forked (benchmarks/README.md).
POOL_MIN_ROWS = 2000


def write_template(
    master: Master, division: str, year: int, quarter: int, path: Path
) -> TemplateInfo:
    """Write the Annex 2 template of ``division`` to ``path`` (replaced atomically)."""
    data = build_template(master, division, year, quarter)
    _atomic_write(Path(path), data)
    return _info(master, division, Path(path))


def _info(master: Master, division: str, path: Path, state: str = WRITTEN) -> TemplateInfo:
    tasks = master.tasks_of(division)
    led = sum(1 for t in tasks if t.role_of(division) == ROLE_LEAD)
    return TemplateInfo(division, path, led, len(tasks) - led, state)


def write_templates(
    master: Master,
    year: int,
    quarter: int,
    outbox: Path,
    progress: Callable[[int], None] | None = None,
    force: bool = False,
    previous: Mapping[str, Mapping[str, Previous]] | None = None,
    *,
    processes: int | None = None,
    mp_context: BaseContext | None = None,
) -> list[TemplateInfo]:
    """Write one template per division into ``outbox``, in the master's division order.

    File names are :func:`safe_filename` of :func:`layout.file_stem`; names that clash after
    sanitising (compared case-insensitively, as Windows and macOS do) get ``-2``, ``-3``…
    A file already there with other bytes than its template is kept (it may be a filled return)
    unless ``force``; each info's ``state`` says what was done (:func:`files.write_new_only`).
    ``previous``: division -> task number -> last quarter's answer (see
    :func:`template.build_template`).

    From :data:`POOL_MIN_ROWS` task rows the workbooks are built in worker processes, one per
    CPU, and written here in order; the files are the same. ``processes`` overrides that
    choice (0 or 1: all here), ``mp_context`` is the workers' multiprocessing context (None:
    the platform's default).
    """
    check_period(year, quarter)
    outbox = Path(outbox)
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        root = outbox.resolve(strict=True)
    except OSError as exc:
        raise OutputError(f"无法创建输出文件夹：{exc.strerror or exc}", file=str(outbox)) from exc
    if not root.is_dir():
        raise OutputError("输出位置不是文件夹", file=str(outbox))

    used: set[str] = set()
    paths = []
    for division in master.divisions:
        name = _unique_name(layout.file_stem(year, quarter, division), used)
        path = root / name
        resolved = path.resolve()  # follows a planted symlink, which must not lead outside
        if resolved.parent != root:
            raise OutputError(
                f"处室“{division}”的文件名 {name} 会写到输出文件夹之外",
                file=str(resolved),
                hint="请检查输出文件夹中是否有同名的链接",
            )
        paths.append(path)

    previous = previous or {}
    if processes is None:
        processes = _pool_size(master)
    master.warm()  # the lookups every template uses: built once, here, and in no worker
    if processes > 1:
        built = _built_in_workers(master, year, quarter, previous, processes, mp_context)
    else:
        built = (
            build_template(master, d, year, quarter, previous.get(d)) for d in master.divisions
        )
    out = []
    for division, path, data in zip(master.divisions, paths, built, strict=True):
        state = write_new_only(path, data, force=force, what="模板")
        out.append(_info(master, division, path, state))
        if progress is not None:
            progress(1)
    return out


def _pool_size(master: Master) -> int:
    """How many worker processes to build the templates with: 0 when building here pays."""
    if len(master.divisions) < 2 or len(master.assignments) < POOL_MIN_ROWS:
        return 0
    cpus = workers.cpus()
    return min(cpus, len(master.divisions)) if cpus > 1 else 0


_worker_job: tuple[Master, int, int, Mapping] | None = None  # set in each worker by _start_worker


def _start_worker(master: Master, year: int, quarter: int, previous: Mapping) -> None:
    global _worker_job
    _worker_job = (master, year, quarter, previous)


def _build_in_worker(division: str) -> bytes:
    assert _worker_job is not None, "runs only in a worker started by _built_in_workers"
    master, year, quarter, previous = _worker_job
    return build_template(master, division, year, quarter, previous.get(division))


def _built_in_workers(
    master: Master,
    year: int,
    quarter: int,
    previous: Mapping[str, Mapping[str, Previous]],
    processes: int,
    mp_context: BaseContext | None,
) -> Iterator[bytes]:
    """The templates of ``master.divisions`` in that order, built in ``processes`` workers.

    Building a template runs only this package and xlsxwriter, so a worker that dies was
    killed from outside (or ran out of memory): what it left is built here.
    """
    from concurrent.futures import ProcessPoolExecutor  # only here: small splits never need it
    from concurrent.futures.process import BrokenProcessPool

    divisions = master.divisions
    done = 0
    pool = ProcessPoolExecutor(
        processes,
        mp_context=mp_context,
        initializer=_start_worker,
        initargs=(master, year, quarter, previous),
    )
    try:
        # Chunks of several divisions: fewer messages, and a worker that finishes early takes
        # the next chunk.
        chunk = max(1, len(divisions) // (8 * processes))
        for data in pool.map(_build_in_worker, divisions, chunksize=chunk):
            done += 1
            yield data
    except BrokenProcessPool:
        pass
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for division in divisions[done:]:
        yield build_template(master, division, year, quarter, previous.get(division))


def _unique_name(stem: str, used: set[str]) -> str:
    name = safe_filename(stem)
    n = 1
    while _name_key(name) in used:
        n += 1
        tag = f"-{n}"
        base = safe_filename(stem, max_len=120 - len(tag))
        name = base[: -len(".xlsx")] + tag + ".xlsx"
    used.add(_name_key(name))
    return name


def _name_key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` over ``path`` through a temporary file beside it: an interrupted write
    or a file open in Excel leaves the old one whole."""
    write_atomically(path, lambda tmp: tmp.write_bytes(data), what="模板", clean_stale=False)
