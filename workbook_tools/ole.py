"""OLE2 compound files (xls, encrypted xlsx, WPS .et), read-only and minimal: the directory,
the streams, the last-saved time, and whether an xls has an open password.

Everything raises ValueError (or returns nothing) on input that does not add up; nothing here
trusts a size or an offset in the file.
"""

from __future__ import annotations

import datetime as dt
import struct

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class OleFile:
    """Directory and stream reader for a compound file; raises ValueError on anything odd."""

    FREE, END = 0xFFFFFFFF, 0xFFFFFFFE

    def __init__(self, data: bytes) -> None:
        if len(data) < 512 or data[:8] != OLE_MAGIC:
            raise ValueError("not an OLE file")
        self.data = data
        shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
        if shift not in (9, 12) or mini_shift != 6:
            raise ValueError("bad sector size")
        self.ssize = 1 << shift
        (n_fat, first_dir, _, cutoff, first_minifat, n_minifat, first_difat, n_difat) = (
            struct.unpack_from("<IIIIIIII", data, 0x2C)
        )
        self.cutoff = cutoff
        fat_sids = [s for s in struct.unpack_from("<109I", data, 0x4C) if s < 0xFFFFFFFA]
        sid, per = first_difat, self.ssize // 4 - 1
        for _ in range(min(n_difat, 10_000)):
            if sid >= 0xFFFFFFFA:
                break
            block = self._sector(sid)
            vals = struct.unpack_from(f"<{per + 1}I", block)
            fat_sids += [s for s in vals[:per] if s < 0xFFFFFFFA]
            sid = vals[per]
        fat_sids = fat_sids[: max(n_fat, 0) or len(fat_sids)]
        fat = bytearray()
        for s in fat_sids:
            fat += self._sector(s)
        self.fat = struct.unpack(f"<{len(fat) // 4}I", bytes(fat))
        raw_dir = self._chain_bytes(first_dir, self.fat, self._sector)
        self.entries: list[tuple[str, int, int, int]] = []  # name, type, start, size
        for off in range(0, len(raw_dir) - 127, 128):
            name_len, etype = struct.unpack_from("<HB", raw_dir, off + 64)
            if etype == 0 or name_len < 2 or name_len > 64:
                continue
            name = raw_dir[off : off + name_len - 2].decode("utf-16-le", "replace")
            start, size = struct.unpack_from("<II", raw_dir, off + 116)
            self.entries.append((name, etype, start, size))
        if not self.entries:
            raise ValueError("empty directory")
        self._minifat: tuple[int, ...] | None = None
        self._ministream: bytes | None = None
        self._first_minifat = first_minifat if n_minifat else self.END

    def _sector(self, sid: int) -> bytes:
        off = (sid + 1) * self.ssize
        if sid >= 0xFFFFFFFA or off + self.ssize > len(self.data):
            raise ValueError("sector out of range")
        return self.data[off : off + self.ssize]

    def _chain_bytes(self, start: int, fat, read, limit: int | None = None) -> bytes:
        out = bytearray()
        sid, seen = start, 0
        while sid < 0xFFFFFFFA:
            if sid >= len(fat) or seen > len(fat):
                raise ValueError("broken chain")
            out += read(sid)
            if limit is not None and len(out) >= limit:
                break
            sid, seen = fat[sid], seen + 1
        return bytes(out)

    def names(self) -> set[str]:
        return {name.lower() for name, _, _, _ in self.entries}

    def stream(self, name: str) -> bytes | None:
        """The bytes of the first stream called ``name`` (case-insensitive), or None."""
        for ename, etype, start, size in self.entries:
            if etype == 2 and ename.lower() == name.lower():
                size = min(size, len(self.data))
                try:
                    if size < self.cutoff:
                        return self._mini(start, size)
                    return self._chain_bytes(start, self.fat, self._sector, size)[:size]
                except (ValueError, struct.error):
                    return None
        return None

    def _mini(self, start: int, size: int) -> bytes:
        if self._ministream is None:
            root = next((e for e in self.entries if e[1] == 5), None)
            if root is None:
                raise ValueError("no root entry")
            self._ministream = self._chain_bytes(root[2], self.fat, self._sector, root[3])
            raw = self._chain_bytes(self._first_minifat, self.fat, self._sector)
            self._minifat = struct.unpack(f"<{len(raw) // 4}I", raw)
        ms = self._ministream

        def read(sid: int) -> bytes:
            if (sid + 1) * 64 > len(ms):
                raise ValueError("mini sector out of range")
            return ms[sid * 64 : sid * 64 + 64]

        return self._chain_bytes(start, self._minifat, read, size)[:size]


def ole_last_saved(ole: OleFile) -> str:
    """PIDSI_LASTSAVE_DTM from \\x05SummaryInformation as ISO UTC text, "" if absent."""
    raw = ole.stream("\x05SummaryInformation")
    try:
        if not raw or len(raw) < 48:
            return ""
        (sec_off,) = struct.unpack_from("<I", raw, 44)
        _, count = struct.unpack_from("<II", raw, sec_off)
        for i in range(min(count, 256)):
            pid, off = struct.unpack_from("<II", raw, sec_off + 8 + 8 * i)
            if pid == 13:
                vtype, ticks = struct.unpack_from("<IQ", raw, sec_off + off)
                if vtype != 64 or ticks == 0:
                    return ""
                when = dt.datetime(1601, 1, 1) + dt.timedelta(microseconds=ticks // 10)
                return when.replace(microsecond=0).isoformat() + "Z"
    except (struct.error, OverflowError, ValueError):
        return ""
    return ""


def biff_has_filepass(stream: bytes) -> bool:
    """True when the BIFF globals carry a FILEPASS record (an xls with an open password)."""
    pos = 0
    for _ in range(64):
        if pos + 4 > len(stream):
            return False
        rtype, length = struct.unpack_from("<HH", stream, pos)
        if rtype == 0x002F:
            return True
        if rtype == 0x0085:  # BOUNDSHEET: FILEPASS would have come before
            return False
        pos += 4 + length
    return False


def biff_short_string(raw: bytes) -> str:
    """A BIFF short string (8-bit count, flags, then Latin-1 or UTF-16 characters)."""
    if len(raw) < 2:
        return "?"
    count, flags = raw[0], raw[1]
    if flags & 0x1:
        return raw[2 : 2 + 2 * count].decode("utf-16-le", "replace")
    return raw[2 : 2 + count].decode("latin-1")
