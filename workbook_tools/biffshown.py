"""The text a person saw in an .xls cell that holds a number, as shown.py gives it for xlsx;
and the text of a cell whose characters python-calamine could not decode (:func:`string_texts`).

python-calamine reads an .xls cell's value (0.85, 12000.0) but not its number format. The format
is reached through BIFF8 records of the Workbook stream: the globals hold FORMAT records (format
index -> format string) and XF records (the n-th XF record is XF index n, naming a format index);
each sheet's substream holds the cell records (NUMBER, RK, MULRK, FORMULA) with their row, column
and XF index. Only BIFF8 (Excel 97 and later; LibreOffice and Gnumeric write it) is read: an older
file keeps its values. Files are hostile: records are walked with a cap, every length is checked
against what is there, and anything odd gives {} rather than an exception.
"""

from __future__ import annotations

import datetime as dt
import re
import struct

from .reach import column_index
from .shown import BUILTIN, render
from .xlsfile import biff_records, biff_short_string, open_ole, workbook_stream

#: Most records walked in the globals and again in one sheet. An Annex 2 has a few thousand; a
#: full sheet of MAX_ROWS x MAX_COLS cells under half a million.
MAX_RECORDS = 1_000_000

_BOF, _EOF, _FILEPASS, _BOUNDSHEET = 0x0809, 0x000A, 0x002F, 0x0085
_SST, _CONTINUE, _LABELSST = 0x00FC, 0x003C, 0x00FD
_FORMAT, _XF = 0x041E, 0x00E0
_NUMBER, _RK, _MULRK, _FORMULA = 0x0203, 0x027E, 0x00BD, 0x0006
_BIFF8 = 0x0600
_REF = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})")


def shown_texts(data: bytes, sheet: str, cells: dict[str, object]) -> dict[str, str]:
    """{cell reference: text shown} for the ``cells`` (reference -> value read) of ``sheet`` of
    the .xls ``data`` whose number format is a percent, thousands or date format. Anything
    unreadable gives {}."""
    try:
        wanted, stream = _wanted_cells(data, cells)
        if not wanted:
            return {}
        codes, offset = _globals(stream, sheet)
        out = {}
        for ref, xf, number in _cells(stream, offset, wanted) if offset is not None else ():
            code, value = codes.get(xf), cells[ref]
            if code is None:
                continue
            text = render(value, code)
            if text is None and number is not None and isinstance(value, dt.date | dt.time):
                # calamine takes some formats for dates by their index alone (Gnumeric numbers
                # its own formats from 50, which Chinese Excel uses for dates): 42.5% in "0.0%"
                # came back as 10:12, so the stored number is shown by its format instead.
                text = render(number, code) or _plain(number, code)
            if text is not None:
                out[ref] = text
        return out
    except Exception:  # hostile or odd files: keep the values as read
        return {}


def _wanted_cells(data: bytes, refs) -> tuple[dict[int, dict[int, str]], bytes]:
    """(row -> column -> reference of ``refs``, the Workbook stream); ({}, b"") when the data
    is no OLE file or no reference is valid."""
    wanted: dict[int, dict[int, str]] = {}
    for ref in refs:
        if m := _REF.fullmatch(ref):
            wanted.setdefault(int(m[2]) - 1, {})[column_index(m[1])] = ref
    ole = open_ole(data) if wanted else None
    if ole is None:
        return {}, b""
    with ole:
        return wanted, workbook_stream(ole)


def _sheet_records(stream: bytes, offset: int):
    """(type, body) of the records of the sheet whose substream starts at ``offset``, without
    those of a chart's substream inside it."""
    depth = 0
    for pos, rtype, body in biff_records(stream, offset, MAX_RECORDS):
        if rtype == _BOF:
            depth += 1
        elif pos == offset:
            return  # BOUNDSHEET pointed elsewhere than a sheet's start
        elif rtype == _EOF:
            depth -= 1
            if depth <= 0:
                return
        if depth == 1:
            yield rtype, body


def _globals(stream: bytes, sheet: str) -> tuple[dict[int, str], int | None]:
    """(XF index -> format string, offset of ``sheet``'s BOF) from the workbook globals."""
    formats = dict(BUILTIN)
    xf_formats: list[int] = []
    offset = None
    for pos, rtype, body in biff_records(stream, 0, MAX_RECORDS):
        if pos == 0 and (rtype != _BOF or len(body) < 2 or _u16(body, 0) != _BIFF8):
            return {}, None  # not BIFF8: older records are laid out differently
        if rtype == _FILEPASS:
            return {}, None  # what follows is encrypted
        if rtype == _EOF:
            break
        if rtype == _FORMAT and len(body) >= 5:
            formats[_u16(body, 0)] = _unicode_string(body, 2)
        elif rtype == _XF and len(body) >= 4:
            xf_formats.append(_u16(body, 2))
        elif rtype == _BOUNDSHEET and len(body) >= 8 and offset is None:
            if biff_short_string(body[6:]) == sheet:
                offset = struct.unpack_from("<I", body)[0]
    codes = {i: formats[f] for i, f in enumerate(xf_formats) if formats.get(f)}
    return codes, offset


def _cells(stream: bytes, offset: int, wanted: dict[int, dict[int, str]]):
    """(reference, XF index, stored number or None) of the wanted cells of the sheet whose
    substream starts at ``offset``."""
    left = sum(map(len, wanted.values()))
    for rtype, body in _sheet_records(stream, offset):
        if len(body) < 6:
            continue
        row = wanted.get(_u16(body, 0))
        if row is None:
            continue
        if rtype == _MULRK:
            first, n = _u16(body, 2), (len(body) - 6) // 6
            found = [(c, ref) for c, ref in row.items() if first <= c < first + n]
            for col, ref in found:
                i = 4 + 6 * (col - first)
                yield ref, _u16(body, i), _rk(body, i + 2)
        elif rtype in (_NUMBER, _RK, _FORMULA) and (ref := row.get(_u16(body, 2))):
            found = [ref]
            yield ref, _u16(body, 4), _number(rtype, body)
        else:
            continue
        left -= len(found)
        if left <= 0:
            return


def _plain(number: float, code: str) -> str:
    """``number`` with the decimals of the plain number format ``code`` ("0.0" -> "0.4")."""
    bare = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code.split(";")[0])
    decimals = len(m[1]) if (m := re.search(r"\.([0#?]+)", bare)) else 0
    return f"{number:.{decimals}f}"


def _number(rtype: int, body: bytes) -> float | None:
    if rtype == _RK:
        return _rk(body, 6)
    if len(body) < 14 or (rtype == _FORMULA and body[12:14] == b"\xff\xff"):
        return None  # a formula whose result is text, a boolean or an error
    return struct.unpack_from("<d", body, 6)[0]


def _rk(body: bytes, pos: int) -> float | None:
    """An RK number: a 30-bit integer or the top 30 bits of a double, perhaps times 100."""
    if pos + 4 > len(body):
        return None
    (rk,) = struct.unpack_from("<i", body, pos)
    if rk & 2:
        value = float(rk >> 2)
    else:
        (value,) = struct.unpack("<d", struct.pack("<q", (rk & ~3) << 32))
    return value / 100 if rk & 1 else value


def _unicode_string(body: bytes, pos: int) -> str:
    """A BIFF8 XLUnicodeString (16-bit count, flags, then Latin-1 or UTF-16 characters)."""
    count, flags = _u16(body, pos), body[pos + 2]
    start = pos + 3
    if flags & 1:
        return body[start : start + 2 * count].decode("utf-16-le", "replace")
    return body[start : start + count].decode("latin-1")


def _u16(body: bytes, pos: int) -> int:
    return struct.unpack_from("<H", body, pos)[0]


def string_texts(data: bytes, sheet: str, refs: list[str]) -> dict[str, str]:
    """{cell reference: text} for the ``refs`` of ``sheet`` that hold a shared string (LABELSST),
    decoded whole. A long string is stored in pieces (SST, then CONTINUE records), and a
    character outside the BMP (an emoji, a rare name such as 𠀀) can be cut between its two
    UTF-16 halves; python-calamine decodes each piece alone and gives U+FFFD for both halves,
    so the pieces are joined here before decoding. Anything unreadable gives {}."""
    try:
        wanted, stream = _wanted_cells(data, refs)
        if not wanted:
            return {}
        pieces, offset = _sst_pieces(stream, sheet)
        if not pieces or offset is None:
            return {}
        indexes = dict(_shared_string_cells(stream, offset, wanted))
        strings = _shared_strings(pieces, max(indexes.values(), default=-1) + 1)
        return {ref: strings[i] for ref, i in indexes.items() if i < len(strings)}
    except Exception:  # hostile or odd files: keep the values as read
        return {}


def _sst_pieces(stream: bytes, sheet: str) -> tuple[list[bytes], int | None]:
    """(the SST body and the CONTINUE bodies after it, offset of ``sheet``'s BOF)."""
    pieces: list[bytes] = []
    offset = None
    in_sst = False  # the SST record and the CONTINUE records right after it
    for pos, rtype, body in biff_records(stream, 0, MAX_RECORDS):
        if pos == 0 and (rtype != _BOF or len(body) < 2 or _u16(body, 0) != _BIFF8):
            return [], None
        if rtype == _FILEPASS:
            return [], None
        if rtype == _EOF:
            break
        if rtype == _SST:
            pieces = [body]
        elif rtype == _CONTINUE and in_sst:
            pieces.append(body)
        elif rtype == _BOUNDSHEET and len(body) >= 8 and offset is None:
            if biff_short_string(body[6:]) == sheet:
                offset = struct.unpack_from("<I", body)[0]
        in_sst = rtype in (_SST, _CONTINUE) and bool(pieces)
    return pieces, offset


def _shared_string_cells(stream: bytes, offset: int, wanted: dict[int, dict[int, str]]):
    """(reference, shared string index) of the wanted LABELSST cells of the sheet at ``offset``."""
    for rtype, body in _sheet_records(stream, offset):
        if rtype == _LABELSST and len(body) >= 10:
            ref = wanted.get(_u16(body, 0), {}).get(_u16(body, 2))
            if ref:
                yield ref, struct.unpack_from("<I", body, 6)[0]


def _shared_strings(pieces: list[bytes], count: int) -> list[str]:
    """The first ``count`` strings of the SST whose record bodies are ``pieces``. Each string's
    UTF-16 code units are gathered across the pieces (a piece that goes on with a string's
    characters starts with its own 8-bit/16-bit flag) and decoded once."""
    strings: list[str] = []
    k, data = 0, pieces[0]
    pos = 8  # cstTotal, cstUnique
    while len(strings) < count:
        if pos >= len(data):
            k += 1
            data, pos = pieces[k], 0  # IndexError on a short table: the caller gives up
        chars, flags = _u16(data, pos), data[pos + 2]
        pos += 3
        runs = _u16(data, pos) if flags & 0x08 else 0
        pos += 2 if flags & 0x08 else 0
        extra = struct.unpack_from("<i", data, pos)[0] if flags & 0x04 else 0
        pos += 4 if flags & 0x04 else 0
        units = bytearray()
        wide = flags & 0x01
        got = 0
        while True:
            if wide:
                n = min((len(data) - pos) // 2, chars - got)
                units += data[pos : pos + 2 * n]
                pos += 2 * n
            else:
                n = min(len(data) - pos, chars - got)
                units += data[pos : pos + n].decode("latin-1").encode("utf-16-le")
                pos += n
            got += n
            if got >= chars:
                break
            k += 1
            data = pieces[k]
            wide, pos = data[0] & 0x01, 1
        strings.append(units.decode("utf-16-le", "replace"))
        pos += 4 * runs + max(extra, 0)  # formatting runs and phonetic text, unused
        while pos > len(data) and k + 1 < len(pieces):  # they may run into the next piece
            pos -= len(data)
            k += 1
            data = pieces[k]
    return strings
