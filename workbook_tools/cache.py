"""A per-user cache of parsed breakdown plans.

On deadline day a coordinator runs ``merge`` again and again on the same master as returns
trickle in, after a ``split`` that read it too; a province-scale plan takes 0.1-0.2 s to parse
and about 0.03 s to load from here. Entries are keyed by the SHA-256 of the master's bytes and
of the code that parses it, so an edited or re-saved master, or another version of the tool,
never meets an old entry.

Entries are JSON, not pickle: loading one runs no code, whoever wrote the file. The cache only
ever saves time: an entry that cannot be read, written or trusted is ignored (and the master
parsed as usual). It lives in the user's cache folder (``~/.cache``, ``%LOCALAPPDATA%``,
``~/Library/Caches``); the environment variable ``WORKBOOK_TOOLS_CACHE`` names another folder,
or turns it off with ``off`` (also ``0``, ``no``, ``false`` or empty). At most :data:`KEEP`
entries are kept, the least recently used going first.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sys
from pathlib import Path

ENV = "WORKBOOK_TOOLS_CACHE"
KEEP = 16
SUFFIX = ".json"
_OFF = ("", "0", "off", "no", "false")


def cache_dir() -> Path | None:
    """Where entries live, or None when the cache is turned off (or no home folder is known)."""
    value = os.environ.get(ENV)
    if value is not None:
        return None if value.strip().lower() in _OFF else Path(value)
    try:
        if os.name == "nt":
            base = os.environ.get("LOCALAPPDATA") or os.path.expanduser(r"~\AppData\Local")
            return Path(base) / "workbook-tools" / "Cache"
        if sys.platform == "darwin":
            return Path.home() / "Library" / "Caches" / "workbook-tools"
        xdg = os.environ.get("XDG_CACHE_HOME")
        return Path(xdg or Path.home() / ".cache") / "workbook-tools"
    except (RuntimeError, KeyError, OSError):  # Path.home() without HOME or a passwd entry
        return None


@functools.cache
def code_version() -> str:
    """A digest of the modules whose code decides what a parsed master looks like."""
    from . import __version__, containers, layout, master, model

    digest = hashlib.sha256(f"{__version__} {sys.version_info[:2]}".encode())
    for module in (master, model, layout, containers):
        try:
            digest.update(Path(module.__file__ or "").read_bytes())
        except OSError:  # no source to hash (frozen): never reuse an entry
            digest.update(os.urandom(16))
    return digest.hexdigest()


def key(kind: str, data: bytes) -> str:
    """The entry name for ``data`` parsed as ``kind`` by this code."""
    return hashlib.sha256(f"{kind} {code_version()} ".encode() + data).hexdigest()


def load(name: str) -> object | None:
    """The JSON value stored under ``name``, or None (missing, unreadable or damaged)."""
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / f"{name}{SUFFIX}"
    try:
        value = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except Exception:  # damaged or written by something else: drop it, parse again
        _unlink(path)
        return None
    try:
        os.utime(path)  # recently used: pruned last
    except OSError:
        pass
    return value


def store(name: str, value: object) -> None:
    """Keep ``value`` (anything json.dumps takes) under ``name``; silently does nothing when
    that is not possible."""
    folder = cache_dir()
    if folder is None:
        return
    path = folder / f"{name}{SUFFIX}"
    tmp = folder / f".{name}.tmp-{os.getpid()}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp.write_bytes(json.dumps(value, ensure_ascii=False).encode("utf-8"))
        os.replace(tmp, path)  # readers see the whole entry or none
    except Exception:  # read-only home, full disk, a value JSON cannot hold: it is optional
        _unlink(tmp)
        return
    _prune(folder)


#: Names of the files this module writes (keys are SHA-256 hex digests): the only ones it
#: deletes, whatever else the folder holds (WORKBOOK_TOOLS_CACHE may name any folder).
_ENTRY = re.compile(r"[0-9a-f]{64}" + re.escape(SUFFIX))
_TEMP = re.compile(r"\.[0-9a-f]{64}\.tmp-\d+")


def _prune(folder: Path) -> None:
    """Keep the KEEP most recently used entries; drop temporary files a killed run left."""
    try:
        found = [e for e in os.scandir(folder) if e.is_file(follow_symlinks=False)]
        stamps = {e.name: e.stat(follow_symlinks=False).st_mtime for e in found}
    except OSError:
        return
    entries = [e for e in found if _ENTRY.fullmatch(e.name)]
    entries.sort(key=lambda e: -stamps[e.name])
    old = max(stamps.values(), default=0) - 3600
    leftovers = [e for e in found if _TEMP.fullmatch(e.name) and stamps[e.name] < old]
    for entry in [*entries[KEEP:], *leftovers]:
        _unlink(Path(entry.path))


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
