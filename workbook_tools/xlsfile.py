"""OLE2 compound files (xls, encrypted xlsx, WPS .et) on olefile, and the BIFF records of an xls
that must be read before calamine parses it.

The compound file is read with olefile, never by hand: its directory, its streams and its
summary properties (when it was last saved). Of an xls's BIFF stream only two things are
looked for here: a FILEPASS record (the file is encrypted, calamine cannot read it) and how far
the cells reach, because calamine allocates the whole span of a sheet's cells (see reach.py):
an xls whose cells reach too far is refused. biffshown.py walks the same records
(biff_records, biff_short_string) for the number formats.
"""

from __future__ import annotations

import datetime as dt
import io
import struct

import olefile

from .limits import MAX_FILE_SIZE
from .reach import Extent, refuse_far_cells


def open_ole(data: bytes) -> olefile.OleFileIO | None:
    """``data`` opened as a compound file, or None when olefile cannot make sense of it."""
    try:
        # Always a file object: olefile takes short bytes for a file name.
        return olefile.OleFileIO(io.BytesIO(data))
    except Exception:  # olefile raises OSError, struct.error, IndexError… on damaged input
        return None


def ole_names(ole: olefile.OleFileIO) -> set[str]:
    """Every stream and storage name in the file, lower-cased, wherever it is."""
    try:
        paths = ole.listdir(streams=True, storages=True)
    except Exception:
        return set()
    return {part.lower() for path in paths for part in path}


def ole_stream(ole: olefile.OleFileIO, name: str) -> bytes:
    """The stream ``name`` (case-insensitive), b"" when absent or damaged. A stream cannot hold
    more than the file: a larger announced size is refused before olefile follows its chain."""
    try:
        if ole.get_type(name) != olefile.STGTY_STREAM or ole.get_size(name) > MAX_FILE_SIZE:
            return b""
        with ole.openstream(name) as stream:
            return stream.read(MAX_FILE_SIZE)
    except Exception:
        return b""


def workbook_stream(ole: olefile.OleFileIO) -> bytes:
    """The BIFF stream of an xls (Workbook; Book in Excel 5/95 files)."""
    return ole_stream(ole, "Workbook") or ole_stream(ole, "Book")


def ole_last_saved(data: bytes) -> str:
    """The last-saved time of \\x05SummaryInformation as ISO UTC text, "" if absent."""
    ole = open_ole(data)
    if ole is None:
        return ""
    with ole:
        try:
            when = ole.getproperties("\x05SummaryInformation", convert_time=True).get(13)
        except Exception:
            return ""
    if not isinstance(when, dt.datetime) or when.year <= 1601:  # 0 ticks: never saved
        return ""
    return when.replace(microsecond=0).isoformat() + "Z"


def ole_has_macros(data: bytes) -> bool:
    ole = open_ole(data)
    if ole is None:
        return False
    with ole:
        return "_vba_project_cur" in ole_names(ole)


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


def biff_records(stream: bytes, pos: int = 0, limit: int | None = None):
    """(offset, type, body) of each BIFF record from ``pos``, at most ``limit`` of them. A body
    announced longer than the stream is cut where the stream ends."""
    count = 0
    while pos + 4 <= len(stream) and (limit is None or count < limit):
        rtype, length = struct.unpack_from("<HH", stream, pos)
        yield pos, rtype, stream[pos + 4 : pos + 4 + length]
        pos += 4 + length
        count += 1


def biff_short_string(raw: bytes) -> str:
    """A BIFF short string (8-bit count, flags, then Latin-1 or UTF-16 characters)."""
    if len(raw) < 2:
        return "?"
    count, flags = raw[0], raw[1]
    if flags & 0x1:
        return raw[2 : 2 + 2 * count].decode("utf-16-le", "replace")
    return raw[2 : 2 + count].decode("latin-1")


_BIFF_CELLS = {0x0006, 0x00FD, 0x0203, 0x027E, 0x0204, 0x0205, 0x00D6}  # FORMULA … RSTRING
_BIFF_MULRK = 0x00BD


def inspect_xls(data: bytes) -> None:
    """Refuse an xls whose cells reach too far (calamine would allocate the whole span).

    Walks the BIFF records of the Workbook stream: BOUNDSHEET gives each sheet's name and the
    offset of its BOF; cell records carry (row, column) in their first four bytes.
    """
    ole = open_ole(data)
    if ole is None:
        return  # calamine will say what is wrong
    with ole:
        stream = workbook_stream(ole)
    names: dict[int, str] = {}
    extents: dict[int, Extent] = {}
    sheet_start = 0
    for pos, rtype, body in biff_records(stream):
        if rtype == 0x0809:
            sheet_start = pos
        elif rtype == 0x0085 and len(body) >= 8:
            names[struct.unpack_from("<I", body)[0]] = biff_short_string(body[6:])
        elif rtype in _BIFF_CELLS and len(body) >= 4:
            row, col = struct.unpack_from("<HH", body)
            extents.setdefault(sheet_start, Extent()).add(row, col)
        elif rtype == _BIFF_MULRK and len(body) >= 6:
            row, first = struct.unpack_from("<HH", body)
            (last,) = struct.unpack_from("<H", body, len(body) - 2)
            extents.setdefault(sheet_start, Extent()).add(row, first, row, max(first, last))
    refuse_far_cells([(names.get(start, "?"), e) for start, e in extents.items()])
