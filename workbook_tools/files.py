"""Writing files so that a failure never leaves a half-written one.

Every file the tool writes (templates, the summary, the JSON) is written to ``.<name>.tmp-<pid>``
beside its target and moved over it with os.replace: an interrupted run, or a target that is open
in Excel on Windows, leaves the previous file intact. File names the tool makes up are valid on
Windows, macOS and Linux (:func:`safe_filename`).
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from .errors import OutputError

#: A temporary file is only taken for another run's leftover when it is at least this old.
STALE_TEMP_SECONDS = 60


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # os.kill would terminate the process on Windows: never probe there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, owned by someone else
        return True
    return True


def remove_stale_temps(path: Path) -> None:
    """Delete ``.<name>.tmp-<pid>`` files next to ``path`` left by a run that was killed.

    Writers replace ``path`` from such a file; SIGKILL or a power cut between creating and
    moving it leaves it behind. One is removed when its process is gone (POSIX) and it is over
    a minute old (so a run on another machine sharing the folder is never disturbed), or, where
    processes cannot be probed, when it is over a day old.
    """
    prefix = f".{path.name}.tmp-"
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    now = datetime.now().timestamp()
    for entry in entries:
        pid = entry.name[len(prefix) :]
        if not entry.name.startswith(prefix) or not pid.isdigit():
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
            alive = _pid_alive(int(pid))
            if age >= STALE_TEMP_SECONDS and (not alive or (os.name != "posix" and age > 86400)):
                os.unlink(entry.path)
        except OSError:
            pass


def write_atomically(
    path: Path,
    write: Callable[[Path], None],
    *,
    what: str = "文件",
    errors: tuple[type[BaseException], ...] = (OSError,),
    clean_stale: bool = True,
) -> Path:
    """Call ``write(tmp)`` to fill a temporary file beside ``path``, then move it onto ``path``.

    ``what`` names the file in messages (汇总文件, 模板); ``errors`` are the exceptions of
    ``write`` that mean the folder could not be written. Raises :class:`OutputError`.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"无法创建文件夹 {path.parent}：{exc.strerror or exc}",
            file=str(path),
            hint="请检查路径和写入权限",
        ) from exc
    if clean_stale:
        remove_stale_temps(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        try:
            write(tmp)
        except errors as exc:
            raise OutputError(
                f"无法在文件夹 {path.parent} 中写入{what}",
                file=str(path),
                hint="请检查该文件夹是否可写；原文件未改动",
            ) from exc
        try:
            os.replace(tmp, path)
        except PermissionError as exc:
            raise OutputError(
                f"{what}可能正在被其他程序（如 Excel、WPS）打开，无法覆盖",
                file=str(path),
                hint="请关闭后重试；原文件未改动",
            ) from exc
        except OSError as exc:
            raise OutputError(
                f"无法写入{what}：{exc.strerror or exc}", file=str(path), hint="原文件未改动"
            ) from exc
    finally:
        if tmp.exists() and not tmp.is_dir():
            try:
                tmp.unlink()
            except OSError:
                pass
    return path


# What write_new_only did with a file.
WRITTEN = "已生成"  # there was none
UNCHANGED = "未改变"  # the same bytes were there already
KEPT = "已保留"  # different bytes were there; kept, not overwritten
REPLACED = "已覆盖"  # different bytes were there; overwritten as asked (force)


def write_new_only(path: Path, data: bytes, *, force: bool = False, what: str = "文件") -> str:
    """Write ``data`` to ``path`` unless a different file is there already; say what was done.

    For outputs that are the same bytes for the same input (templates): a file with exactly
    ``data`` is left alone (:data:`UNCHANGED`); a file with anything else is kept
    (:data:`KEPT`), because it may be a return someone filled and saved there, unless ``force``
    (:data:`REPLACED`). Writing is atomic (:func:`write_atomically`).
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(
            f"无法读取已有的{what}：{exc.strerror or exc}", file=str(path), hint="原文件未改动"
        ) from exc
    if st is not None:
        same = False
        if st.st_size == len(data):
            try:
                same = path.read_bytes() == data
            except OSError as exc:
                raise OutputError(
                    f"无法读取已有的{what}：{exc.strerror or exc}",
                    file=str(path),
                    hint="原文件未改动",
                ) from exc
        if same:
            return UNCHANGED
        if not force:
            return KEPT
    write_atomically(path, lambda tmp: tmp.write_bytes(data), what=what, clean_stale=False)
    return WRITTEN if st is None else REPLACED


# --- File names ---------------------------------------------------------------------------

_WINDOWS_BAD = set('<>:"/\\|?*')
# Device names Windows refuses as a file name, with or without an extension. The superscript
# digits are reserved too (Microsoft "Naming Files, Paths, and Namespaces").
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    "CONIN$",
    "CONOUT$",
    *(f"COM{d}" for d in "123456789¹²³"),
    *(f"LPT{d}" for d in "123456789¹²³"),
}
# Linux file systems cap a name at 255 bytes; a Chinese character takes 3 in UTF-8.
_MAX_NAME_BYTES = 240


def _is_reserved(name: str) -> bool:
    base = name.split(".", 1)[0].rstrip(" ")
    return base.upper() in _RESERVED


def safe_filename(stem: str, suffix: str = ".xlsx", max_len: int = 120) -> str:
    """A file name for ``stem`` + ``suffix`` that is valid on Windows, macOS and Linux.

    Characters Windows forbids (``<>:"/\\|?*``) and control characters become ``_``; leading dots
    and spaces and trailing dots and spaces are removed; device names (CON, PRN, AUX, NUL, COM1-9,
    LPT1-9, in any case, with or without an extension) get a leading ``_``; the stem is cut so
    the whole name has at most ``max_len`` characters (and at most 240 UTF-8 bytes). The result
    is never empty and never contains a path separator.

    >>> safe_filename("a:b*?")
    'a_b__.xlsx'
    >>> safe_filename("CON")
    '_CON.xlsx'
    """
    if suffix and (not suffix.startswith(".") or any(_bad_char(c) for c in suffix)):
        raise ValueError(f"bad suffix {suffix!r}")
    budget = max_len - len(suffix)
    byte_budget = _MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    if budget < 6:
        raise ValueError(f"max_len {max_len} leaves no room for a name before {suffix!r}")

    text = "".join("_" if _bad_char(c) else c for c in stem)
    text = _trim(text)
    if _is_reserved(text):
        text = "_" + text
    text = text[:budget]
    while len(text.encode("utf-8")) > byte_budget:
        text = text[:-1]
    text = _trim(text)  # cutting can leave a trailing dot or space
    if not text:
        text = "_"
    if _is_reserved(text):  # only if the cut shortened e.g. "CONSOLE" to "CON"
        text = "_" + text[: budget - 1]
    return text + suffix


def _bad_char(c: str) -> bool:
    # Cc: C0/C1 controls (Windows forbids 0-31); Cs: lone surrogates cannot be encoded.
    return c in _WINDOWS_BAD or unicodedata.category(c) in ("Cc", "Cs")


def _trim(text: str) -> str:
    return text.lstrip(". ").rstrip(". ")


# --- Showing file names ---------------------------------------------------------------------

# Characters that change how a line reads without being seen: line and paragraph separators, and
# the bidirectional controls that can make "xslx.exe" read as "exe.xlsx".
_INVISIBLE = {
    "\u2028",
    "\u2029",
    "\u061c",
    "\u200e",
    "\u200f",
    *(chr(c) for c in range(0x202A, 0x202F)),
    *(chr(c) for c in range(0x2066, 0x206A)),
    # Zero-width and soft characters: a cell holding "\u200b已完成" looks like 已完成.
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
}
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def display_name(name: str) -> str:
    """``name`` (a file name or a relative path) as text a person can read on one line.

    On Linux a name whose bytes are not UTF-8 reaches Python with those bytes as lone surrogates
    (PEP 383), which no UTF-8 console, JSON file or workbook can hold. Such a path component is
    turned back into its bytes and decoded as GB18030 when that decodes cleanly (what zip tools
    on Chinese Windows leave: b"\\xd1\\xf8\\xc0\\xcf.xlsx" is "养老.xlsx"); otherwise each byte
    that is not UTF-8 is shown as ``\\xNN``. Control characters (newline, CR, tab, other C0/C1),
    line and paragraph separators and bidirectional overrides are shown as escapes (``\\n``,
    ``\\x1b``, ``\\u202e``), so that a name can neither split a console line nor disguise itself.
    The result is valid UTF-8 and the function leaves its own output unchanged.

    >>> display_name("养老\\n服务处.xlsx")
    '养老\\\\n服务处.xlsx'
    """
    parts = name.split("/")
    return "/".join(_escape_controls(_from_bytes(part)) for part in parts)


def _has_surrogates(text: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in text)


def _from_bytes(part: str) -> str:
    if not _has_surrogates(part):
        return part
    try:
        raw = os.fsencode(part)
    except UnicodeEncodeError:  # surrogates that were not bytes (a broken UTF-16 name)
        return part
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    # A clean decode into private-use code points is a wrong guess, not a GBK name.
    if text is not None and not any(unicodedata.category(c) in ("Co", "Cc") for c in text):
        return text
    return raw.decode("utf-8", "backslashreplace")


def visible_text(text: str) -> str:
    """``text`` with what cannot be seen on a line (control, zero-width and direction
    characters, line breaks) shown as escapes, as :func:`display_name` shows file names."""
    return _escape_controls(text)


def _escape_controls(text: str) -> str:
    if all(c.isprintable() for c in text):  # the common case; isprintable is false for all of
        return text  # Cc, Cf, Cs, Zl, Zp and the spaces other than " "
    out = []
    for c in text:
        if c in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[c])
        elif c in _INVISIBLE or unicodedata.category(c) in ("Cc", "Cs"):
            code = ord(c)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(c)
    return "".join(out)
