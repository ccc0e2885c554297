"""The inbox -> every return in it, read once, in a stable order, without changing anything.

Walks the folder (and .zip archives of returns, as if unpacked), skips lock and system files,
reads each file with a size cap and hands its bytes to :func:`workbook_tools.returns.read_return`.
Whatever cannot be read becomes a :class:`Rejected` with a reason; one bad file never stops the
others.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import time
import zipfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from pathlib import Path

from . import workers
from .containers import ZIP_ERRORS, Sniffed, check_zip_headers, sniff_bytes
from .errors import InputError, ReturnReadError
from .files import display_name
from .limits import MAX_FILE_SIZE, UnsafeFile
from .model import ReturnFile
from .returns import read_return

#: collect reads the files in worker processes when there are at least POOL_MIN_FILES of them,
#: or at least two that hold POOL_MIN_BYTES together. Below that, starting the workers (a fresh
#: interpreter each where they are spawned, as on Windows and macOS) costs more than the second
#: CPU saves; benchmarks/README.md has the measurements.
POOL_MIN_FILES = 64
POOL_MIN_BYTES = 8 * 1024 * 1024

#: Why a file is refused when the process reading it died (python-calamine aborts the process
#: on some malformed input instead of raising).
KILLED_READER = (
    "读取该文件时读取程序异常退出（文件可能已损坏或含有异常内容）；"
    "请用 Excel 或 WPS 打开后另存为 .xlsx 再报送"
)


@dataclass(frozen=True)
class Rejected:
    """A file in the inbox that could not be read as a return, and why (Chinese, one line)."""

    source: str
    reason: str


@dataclass(frozen=True)
class Collected:
    """Everything found in an inbox: the returns read, the files refused, the files ignored."""

    returns: tuple[ReturnFile, ...]
    rejected: tuple[Rejected, ...]
    skipped: tuple[str, ...]
    #: (folder, why) of the skipped folders that are neither system nor lock folders: returns
    #: may lie in them, so merge names each.
    unread_folders: tuple[tuple[str, str], ...] = ()


_SYSTEM_NAMES = {
    "thumbs.db",
    "ehthumbs.db",
    "desktop.ini",
    "__macosx",
    "$recycle.bin",
    "system volume information",
}


def is_ignored_name(name: str) -> bool:
    """Lock, owner and system files: ~$x.xlsx, .~lock.x.xlsx#, .DS_Store, ._x, Thumbs.db…"""
    return (
        name.startswith(("~$", ".", "~WRL"))
        or (name.startswith("~") and name.lower().endswith(".tmp"))
        or name.lower() in _SYSTEM_NAMES
    )


def collect(
    inbox: Path,
    progress: Callable[[int], None] | None = None,
    *,
    reader: Callable[[Path, str], FileResult] | None = None,
    processes: int | None = None,
    mp_context: BaseContext | None = None,
) -> Collected:
    """Read every file under ``inbox`` (recursively, in sorted order) without changing any.

    Sources are inbox-relative POSIX paths; members of a .zip archive of returns are read as if
    unpacked ("archive.zip/member.xlsx"). Lock and system files go to ``skipped``; anything
    that cannot be read goes to ``rejected`` with a reason. One bad file never stops the others,
    not even one that kills the process reading it (:data:`KILLED_READER`).
    ``progress``, when given, is called with the number of files just read (for a progress bar;
    an archive counts as one file).

    Where there is enough to read (:data:`POOL_MIN_FILES`, :data:`POOL_MIN_BYTES`) the files
    are read in worker processes, one per CPU (concurrent.futures); the result is the same.
    ``processes`` overrides that choice: 0 or 1 reads here, more uses that many workers.
    ``mp_context`` is the multiprocessing context of the workers (None: the platform's
    default). ``reader`` reads one file, given the inbox and the file's inbox-relative path,
    as :func:`read_inbox_file` (the default) does; it must be a module-level function, for the
    workers get it by pickling.
    """
    inbox = Path(inbox)
    if not inbox.is_dir():
        raise InputError("收件箱文件夹不存在或不是文件夹", file=str(inbox), hint="请检查路径")
    found: list[str] = []
    skipped: list[str] = []
    unread: list[tuple[str, str]] = []
    rejected: list[Rejected] = []

    def walk_error(exc: OSError) -> None:
        rel = _relative(inbox, exc.filename) if exc.filename else "."
        rejected.append(Rejected(rel, f"无法读取文件夹（{_os_reason(exc)}）"))

    for dirpath, dirnames, filenames in os.walk(inbox, followlinks=False, onerror=walk_error):
        keep = []
        for d in dirnames:
            rel = _relative(inbox, os.path.join(dirpath, d))
            if os.path.islink(os.path.join(dirpath, d)):
                skipped.append(rel)  # symlinked folders are not followed: no loops, no escapes
                unread.append((rel, _LINKED_FOLDER))
            elif is_ignored_name(d):
                skipped.append(rel)
                if d.lower() not in _SYSTEM_NAMES:
                    unread.append((rel, _HIDDEN_FOLDER))
            else:
                keep.append(d)
        dirnames[:] = sorted(keep)
        for f in filenames:
            path = os.path.join(dirpath, f)
            if is_ignored_name(f):
                skipped.append(_relative(inbox, path))
            else:
                found.append(_real_relative(inbox, path))  # opened by it; shown as _relative

    returns: list[ReturnFile] = []
    found.sort()
    if processes is None:
        processes = _pool_size(inbox, found)
    read = _read_in_workers if processes > 1 else _read_here
    for file_returns, file_rejected, file_skipped in read(
        inbox, found, reader or read_inbox_file, progress, processes, mp_context
    ):
        returns += file_returns
        rejected += file_rejected
        skipped += file_skipped
    key = lambda x: x.source  # noqa: E731
    return Collected(
        tuple(sorted(returns, key=key)),
        tuple(sorted(rejected, key=key)),
        tuple(sorted(skipped)),
        tuple(sorted(unread)),
    )


_LINKED_FOLDER = "这是指向其他位置的链接文件夹，其中的文件未读取；如有报送文件，请复制到收件箱中"
_HIDDEN_FOLDER = "名称以“.”开头的隐藏文件夹，其中的文件未读取；如有报送文件，请移到收件箱中"


def read_path(path: Path, source: str | None = None) -> ReturnFile:
    """Read one returned file from disk (``check``); raises ReturnReadError naming it."""
    source = source or str(path)
    try:
        data, mtime = _read_file(Path(path))
    except _Refused as exc:
        raise ReturnReadError(exc.reason, file=source) from None
    sniffed = sniff_bytes(data)
    if sniffed.kind == "zip":
        raise ReturnReadError(
            "这是一个压缩包，不是工作簿",
            file=source,
            hint="请解压后逐个检查，或放入收件箱由 merge 读取",
        )
    return read_return(data, source, mtime, sniffed=sniffed)


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _real_relative(inbox: Path, path: str | os.PathLike) -> str:
    return Path(os.path.relpath(path, inbox)).as_posix()


def _relative(inbox: Path, path: str | os.PathLike) -> str:
    """The inbox-relative name a person is shown (see display_name); never opened."""
    return display_name(_real_relative(inbox, path))


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "没有读取权限"
    if isinstance(exc, FileNotFoundError):
        return "文件不存在（可能是失效的快捷方式，或已被移走）"
    return exc.strerror or type(exc).__name__


def _reason(exc: ReturnReadError | UnsafeFile) -> str:
    return f"{exc.message}；{exc.hint}" if exc.hint else exc.message


def _read_file(path: Path) -> tuple[bytes, float]:
    """The bytes of a regular file, refusing oversized ones before reading them."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    try:
        try:
            fd = os.open(path, flags | getattr(os, "O_NOATIME", 0) | getattr(os, "O_NONBLOCK", 0))
        except PermissionError:  # O_NOATIME needs ownership
            fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise _Refused("不是普通文件")
            if st.st_size > MAX_FILE_SIZE:
                raise _Refused(_too_large(st.st_size))
            data = f.read(MAX_FILE_SIZE + 1)
    except OSError as exc:
        raise _Refused(f"无法读取文件（{_os_reason(exc)}）") from None
    if len(data) > MAX_FILE_SIZE:
        raise _Refused(_too_large(len(data)))
    return data, st.st_mtime


def _too_large(size: int) -> str:
    return (
        f"文件过大（{size / 1024 / 1024:.1f} MB，上限 {MAX_FILE_SIZE // 1024 // 1024} MB）；"
        "请删除图片、附件等内容后另存再报送"
    )


#: What reading one file of the inbox gives: its returns (an archive holds several), the files
#: refused, the files ignored.
FileResult = tuple[list[ReturnFile], list[Rejected], list[str]]


def read_inbox_file(inbox: Path, rel: str) -> FileResult:
    """Read the file ``rel`` of ``inbox`` (an archive gives several returns); never raises."""
    returns: list[ReturnFile] = []
    rejected: list[Rejected] = []
    skipped: list[str] = []
    shown = display_name(rel)  # ``rel`` opens the file, ``shown`` names it in the results
    try:
        data, mtime = _read_file(inbox / rel)
    except _Refused as exc:
        rejected.append(Rejected(shown, exc.reason))
        return returns, rejected, skipped
    try:
        sniffed = sniff_bytes(data)
        if sniffed.kind == "zip":
            _collect_archive(data, shown, returns, rejected, skipped)
        else:
            _read_one(data, sniffed, shown, mtime, returns, rejected)
    except Exception as exc:  # a bug must not stop the other files
        rejected.append(Rejected(shown, _unexpected(exc)))
    return returns, rejected, skipped


def _unexpected(exc: BaseException) -> str:
    return f"读取时出现意外错误（{type(exc).__name__}: {exc}）"


def _pool_size(inbox: Path, rels: list[str]) -> int:
    """How many worker processes to read ``rels`` with: 0 when reading here pays better."""
    cpus = workers.cpus()
    if cpus < 2 or len(rels) < 2:
        return 0
    if len(rels) >= POOL_MIN_FILES or _total_size(inbox, rels) >= POOL_MIN_BYTES:
        return min(cpus, len(rels))
    return 0


def _total_size(inbox: Path, rels: list[str]) -> int:
    """Bytes of the files, as far as stat tells (a file that cannot be stat'ed counts 0)."""
    total = 0
    for rel in rels:
        with contextlib.suppress(OSError):
            total += os.stat(inbox / rel, follow_symlinks=False).st_size
    return total


def _read_here(inbox, rels, reader, progress, *_) -> list[FileResult]:
    results = []
    for rel in rels:
        try:
            results.append(reader(inbox, rel))
        except Exception as exc:  # a reader other than read_inbox_file may raise
            results.append(([], [Rejected(rel, _unexpected(exc))], []))
        if progress:
            progress(1)
    return results


def _read_in_workers(inbox, rels, reader, progress, processes, mp_context) -> list[FileResult]:
    """``reader`` over ``rels`` in ``processes`` worker processes; results in the order of rels.

    When a worker dies, the pool breaks and every file then in flight fails with it. Those
    files are read again one at a time, each alone in a worker, so that the one that kills its
    reader is known: it is refused (:data:`KILLED_READER`) and the others are read. A file is
    never read in this process, which the same file would kill.
    """
    results: dict[str, FileResult] = {}

    def killed(rel: str) -> None:
        results[rel] = ([], [Rejected(rel, KILLED_READER)], [])
        if progress:
            progress(1)

    todo = deque(rels)
    while todo:
        lost = _pool_run(inbox, todo, reader, results, progress, processes, mp_context)
        if len(lost) == 1:
            killed(lost[0])
            continue
        suspects = deque(lost)
        while suspects:
            for rel in _pool_run(inbox, suspects, reader, results, progress, 1, mp_context):
                killed(rel)
    return [results[rel] for rel in rels]


def _pool_run(inbox, todo: deque, reader, results, progress, processes, mp_context) -> list[str]:
    """Read the files of ``todo`` (taking them from it) into ``results`` with a pool of
    ``processes`` workers, until ``todo`` is empty (gives []) or a worker dies: gives the files
    in flight then, none of them read. At most two files a worker are in flight, one file when
    there is one worker: a file that kills it is then the one in flight."""
    limit = 2 * processes if processes > 1 else 1
    flight: dict[Future, str] = {}
    with ProcessPoolExecutor(processes, mp_context=mp_context) as pool:
        while todo or flight:
            try:
                while todo and len(flight) < limit:
                    flight[pool.submit(reader, inbox, todo[0])] = todo[0]
                    todo.popleft()
            except BrokenProcessPool:  # found below, on the futures in flight
                if not flight:
                    return []  # broken with nothing in flight: the caller starts another pool
            done, _ = wait(flight, return_when=FIRST_COMPLETED)
            if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                wait(flight)  # the others fail with it (or finished just before)
                done = set(flight)
            lost = []
            for future in done:
                rel = flight.pop(future)
                error = future.exception()
                if isinstance(error, BrokenProcessPool):
                    lost.append(rel)
                    continue
                results[rel] = (
                    future.result()
                    if error is None
                    else ([], [Rejected(rel, _unexpected(error))], [])
                )
                if progress:
                    progress(1)
            if lost:
                return sorted(lost)
    return []


def _read_one(
    data: bytes, sniffed: Sniffed, source: str, mtime: float, returns: list, rejected: list
) -> None:
    try:
        returns.append(read_return(data, source, mtime, sniffed=sniffed))
    except ReturnReadError as exc:
        rejected.append(Rejected(source, _reason(exc)))
    except Exception as exc:  # a bug must not stop the other files
        rejected.append(Rejected(source, _unexpected(exc)))


def _unzip_trouble(exc: BaseException) -> str:
    """Why a member of an archive could not be unpacked, in words a coordinator knows."""
    if isinstance(exc, NotImplementedError):
        return "使用了不支持的压缩方式"
    return "已损坏"


def member_name(info: zipfile.ZipInfo) -> str:
    """A member's name as its author saw it: UTF-8 flag, Info-ZIP unicode path, else GBK."""
    name = info.filename
    if info.flag_bits & 0x800:
        return name
    extra = info.extra
    while len(extra) >= 4:
        tag, size = int.from_bytes(extra[:2], "little"), int.from_bytes(extra[2:4], "little")
        if tag == 0x7075 and size > 5:
            try:
                return extra[9 : 4 + size].decode("utf-8")
            except UnicodeDecodeError:
                break
        extra = extra[4 + size :]
    try:
        raw = name.encode("cp437")  # zipfile decoded the bytes as cp437: undo that
    except UnicodeEncodeError:
        return name
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return name


def _member_path(info: zipfile.ZipInfo) -> str:
    """A member's path as shown: "/" separated, without empty or "." parts."""
    parts = member_name(info).replace("\\", "/").split("/")
    kept = [p for p in parts if p not in ("", ".")]
    return "/".join(kept) + ("/" if parts[-1] == "" and kept else "")


def _collect_archive(data: bytes, rel: str, returns: list, rejected: list, skipped: list) -> None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = check_zip_headers(zf)
    except UnsafeFile as exc:
        rejected.append(Rejected(rel, _reason(exc)))
        return
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        rejected.append(Rejected(rel, "压缩包已损坏，无法解开；请重新打包后再报送"))
        return
    members = sorted(((_member_path(i), i) for i in infos), key=lambda m: m[0])
    for name, info in members:
        if info.is_dir() or not name or name.endswith("/"):
            continue
        source = display_name(f"{rel}/{name}")
        # Nothing is unpacked to disk, so ./ and ../ are only names; folders are skipped only
        # for what system tools put there (__MACOSX), files as lock and system files.
        *folders, base = name.split("/")
        if is_ignored_name(base) or any(f.lower() in _SYSTEM_NAMES for f in folders):
            skipped.append(source)
            continue
        if info.flag_bits & 0x1:
            rejected.append(Rejected(source, "压缩包内的文件设置了密码；请解压后报送"))
            continue
        if info.file_size > MAX_FILE_SIZE:
            rejected.append(Rejected(source, _too_large(info.file_size)))
            continue
        try:
            with zf.open(info) as f:
                member = f.read(MAX_FILE_SIZE + 1)
        except ZIP_ERRORS as exc:
            rejected.append(
                Rejected(source, f"压缩包内的文件无法解压（{_unzip_trouble(exc)}）；请解压后报送")
            )
            continue
        sniffed = sniff_bytes(member)
        if sniffed.kind == "zip":
            rejected.append(
                Rejected(source, "压缩包中的压缩包不会再展开；请解压后报送其中的工作簿")
            )
            continue
        try:
            mtime = time.mktime((*info.date_time, 0, 0, -1))
        except (OverflowError, ValueError):
            mtime = 0.0
        _read_one(member, sniffed, source, mtime, returns, rejected)
