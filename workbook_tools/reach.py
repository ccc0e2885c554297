"""How far the cells of a sheet reach, measured from the XML as it streams past.

python-calamine allocates rows x columns of a sheet's used range, from the first to the last
cell: a single far cell costs memory for the whole rectangle, and when the allocation fails the
process aborts (not an exception), so a 9 KB file with text in A1 and XFD1048576 would kill the
run. So the reach of every sheet is measured before calamine sees the file, without trusting a
stored dimension: the cells that carry a value, in xlsx worksheet parts (SheetReach, or
XlsxScanner when a cell does not name itself) and in ods content.xml (OdsScanner). An xlsx
sheet that reaches too far is handed to calamine without its far cells (see farcells.py);
other formats are refused (refuse_far_cells). containers.inspect_workbook_zip streams the
parts through these scanners; xlsfile.inspect_xls measures an xls from its BIFF records.

On the way SheetReach finds where a long sheet can be cut after the rows read (RowCut),
since calamine parses a sheet whole although only MAX_ROWS + 1 rows are read.
"""

from __future__ import annotations

import functools
import re
from collections import deque
from dataclasses import dataclass

from xlsxwriter.utility import xl_col_to_name

from .limits import (
    MAX_COLS,
    MAX_ROWS,
    MAX_SHEET_CELLS,
    MAX_SMALL_PART,
    MIN_ROWS_CUT,
    UnsafeFile,
)

_XLSX_TAG_RE = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*?)(/?)>"
    rb"(?:(?=\s{0,64}<(?:[A-Za-z_][\w.-]*:)?(v|is|f)[\s/>]))?"
)
# The fast path of SheetReach. _CELL_RE: a <c> whose first attribute is r="AB12" (so it is the
# r that _R_ATTR would find): the letters, the digits and, as _XLSX_TAG_RE sees it, whether a
# value follows. _ANY_CELL_RE: any <c>. Indexed by whether tags have a namespace prefix (x:c):
# without one, the patterns begin with the literal "<c", which the regex engine finds quickly.
_NS = rb"(?:[A-Za-z_][\w.-]*:)?"
_VALUE_AHEAD = rb"(?:(?=\s{0,64}<" + _NS + rb"(v|is|f)[\s/>]))?"
_CELL_RE = tuple(
    re.compile(rb"<" + ns + rb'c\s+r=["\']([A-Za-z]{1,3})(\d+)["\'][^>]*>' + _VALUE_AHEAD)
    for ns in (b"", _NS)
)
# Any <c> up to the last ">" in the window: the same count as "<c ...>" complete in it, since
# a tag that starts before that ">" closes at or before it.
_ANY_CELL_RE = tuple(re.compile(rb"<" + ns + rb"c(?=[\s/>])") for ns in (b"", _NS))
_ODS_TAG_RE = re.compile(
    rb"<(/?)(table:table-row|table:table-cell|table:covered-table-cell|table:table)(?=[\s/>])([^>]*?)(/?)>"
)
_R_ATTR = re.compile(rb'\br\s*=\s*["\']([A-Za-z]{0,3})(\d*)["\']')
_REPEAT_ROWS = re.compile(rb'table:number-rows-repeated\s*=\s*["\'](\d+)["\']')
_REPEAT_COLS = re.compile(rb'table:number-columns-repeated\s*=\s*["\'](\d+)["\']')
_ODS_NAME = re.compile(rb'table:name\s*=\s*["\']([^"\']*)["\']')
#: Bytes at the end of each piece of a part that are handed on with the next piece: a tag cut
#: where one piece ends is whole in the next, and a scanner looks up to OVERLAP // 2 past its
#: ``cut`` for the end of a tag that starts before it. The reader that feeds the scanners
#: (containers.inspect_workbook_zip) cuts its pieces by this number.
OVERLAP = 4096


@dataclass
class Extent:
    """Bounding box (0-based, inclusive) of the non-empty cells of one sheet-like part."""

    min_row: int = -1
    max_row: int = -1
    min_col: int = -1
    max_col: int = -1

    def add(self, r0: int, c0: int, r1: int | None = None, c1: int | None = None) -> None:
        r1 = r0 if r1 is None else r1
        c1 = c0 if c1 is None else c1
        if self.max_row < 0:
            self.min_row, self.max_row, self.min_col, self.max_col = r0, r1, c0, c1
            return
        self.min_row, self.max_row = min(self.min_row, r0), max(self.max_row, r1)
        self.min_col, self.max_col = min(self.min_col, c0), max(self.max_col, c1)

    def too_big(self) -> bool:
        if self.max_row < 0:
            return False
        dense = (self.max_row - self.min_row + 1) * (self.max_col - self.min_col + 1)
        read = (min(self.max_row, MAX_ROWS) + 1) * (self.max_col + 1)
        return dense > MAX_SHEET_CELLS or read > MAX_SHEET_CELLS

    def far_cell(self) -> str:
        return f"{xl_col_to_name(self.max_col)}{self.max_row + 1}"


@dataclass(frozen=True)
class RowCut:
    """Where the rows past MAX_ROWS + 1 of a worksheet part begin, and what follows them.

    Only made where leaving those rows out changes nothing calamine reads in the first
    MAX_ROWS + 1 rows: every cell with a value from ``at`` on names a row past MAX_ROWS + 1,
    and every <c> there names its cell (see SheetReach._follow_cut).
    """

    at: int  #: offset in the inflated part of the first <row r="N">, N > MAX_ROWS + 1
    valued: bool  #: a cell left out holds a value: the copy must show that the sheet goes on
    tail: bytes  #: the part from its </sheetData> on (merged cells, validations, page setup…)


def refuse_far_cells(extents: list[tuple[str, Extent]]) -> None:
    """Raise UnsafeFile for the first sheet whose cells reach farther than we read."""
    for sheet, extent in extents:
        if extent.too_big():
            raise UnsafeFile(
                f"工作表 {sheet} 的内容范围过大（单元格 {extent.far_cell()} 处仍有内容，"
                f"最多读取 {MAX_ROWS} 行、{MAX_COLS} 列）",
                "请删除表格以外的内容后另存再报送",
            )


# The plain path of SheetReach, for a piece whose every <c> is written as Excel, openpyxl and
# xlsxwriter write it: <c r="AB12" ...>, no namespace prefix, one space, double quotes, capital
# letters. Then its cells are those _CELL_RE finds, and the bounding box of those with a value
# is found without a Python object per cell: the first and the last such cell give a box; one
# search (_outside, a pattern made for the box) finds the next <c> that is not plain or names
# a cell outside the box; none: the box is exact; a plain one with a value widens the box, and
# the search goes on from there (what it passed was inside the narrower box already).
#
# A cell found inside another tag (a "<" in an attribute, not well-formed) is seen by _CELL_RE
# and XlsxScanner differently: SheetReach gives up then. One inside the box changes no box.
_VALUE = rb"\s{0,64}<" + _NS + rb"(?:v|is|f)[\s/>]"  # what follows a <c> with a value
_VALUE_NEXT = rb"(?=" + _VALUE + rb")"
_PLAIN_VALUED = re.compile(rb'<c r="([A-Z]{1,3})(\d+)"[^>]*>' + _VALUE_NEXT)
#: Most times the box may widen in one piece (cells far out of order) before the piece is
#: measured cell by cell.
_MAX_WIDENINGS = 64


def _plain_box(
    buf: bytes, start: int, end: int, closed: int, cols: tuple[int, int] | None = None
) -> tuple[int, ...] | None:
    """(first row, last row, first column, last column) of the cells with a value that start in
    ``buf[start:end]``, rows as written (1-based), columns 0-based; () when there are none;
    None when the piece is not plain up to ``closed`` (its last ">" before ``end``), or the box
    widened too often: the piece is to be measured cell by cell. ``cols``: the first and last
    column of cells with a value found before (in the same part), to start the box with."""
    first = _PLAIN_VALUED.search(buf, start, end)
    if first is None:
        return None if _outside(-1, -1, -1, -1).search(buf, start, closed) else ()
    last: deque[re.Match] = deque(maxlen=1)
    size = 1 << 16
    while not last:  # the last cell with a value, looked for in ever larger tails
        last.extend(_PLAIN_VALUED.finditer(buf, max(first.start(), end - size), end))
        size *= 8
    if _in_tag(buf, first.start()) or _in_tag(buf, last[0].start()):
        raise _InTag
    r0, r1 = sorted((int(first[2]), int(last[0][2])))
    c0, c1 = sorted((column_index(first[1].decode()), column_index(last[0][1].decode())))
    if cols is not None:  # rows and cells cut anywhere would widen the box at each piece
        c0, c1 = min(c0, cols[0]), max(c1, cols[1])
    pos = start
    for _ in range(_MAX_WIDENINGS):
        m = _outside(r0, r1, c0, c1).search(buf, pos, end)
        if m is None or m.start() >= closed:  # a <c> cut off at ``end`` is no cell yet
            return r0, r1, c0, c1
        cell = _PLAIN_VALUED.match(buf, m.start(), end)
        if cell is None:
            return None  # not plain
        if _in_tag(buf, m.start()):
            raise _InTag
        row, col = int(cell[2]), column_index(cell[1].decode())
        r0, r1, c0, c1 = min(r0, row), max(r1, row), min(c0, col), max(c1, col)
        pos = m.end()
    return None


class _InTag(Exception):
    """A cell with a value was found inside another tag."""


def _in_tag(buf: bytes, pos: int) -> bool:
    """Whether ``pos`` is inside a tag begun before it."""
    return buf.rfind(b"<", 0, pos) > buf.rfind(b">", 0, pos)


@functools.lru_cache(maxsize=256)
def _outside(r0: int, r1: int, c0: int, c1: int) -> re.Pattern:
    """A <c> that is not plain, or a plain one with a value whose row (as written) is outside
    r0..r1 or whose column is outside c0..c1; r0 = -1: any <c> that is not plain."""
    cols = [] if r0 < 0 else _letters_below(xl_col_to_name(c0).encode())
    cols += [] if r0 < 0 else _letters_above(xl_col_to_name(c1).encode())
    rows = [] if r0 < 0 else _digits_below(r0) + _digits_above(r1)
    inside = rb' r="'
    if cols:
        inside += b"(?!(?:" + b"|".join(cols) + rb")\d)"
    # Leading zeros are read past, as int() reads them; possessively, so that "05" is not
    # taken for a 0 and then a 5.
    inside += rb"[A-Z]{1,3}(?:0(?=\d))*+"
    if rows:
        inside += b"(?!(?:" + b"|".join(rows) + b')")'
    empty = rb' r="[A-Z]{1,3}\d+"[^>]*>(?!' + _VALUE + rb")"
    return re.compile(rb"<c(?=[\s/>])(?!" + inside + rb'\d+")(?!' + empty + rb")")


def _digits_above(n: int) -> list[bytes]:
    """Alternatives matching a decimal number without leading zeros greater than ``n`` >= 0."""
    s = str(n).encode()
    alts = [rb"[1-9]\d{%d,}" % len(s)]  # more digits
    for i, d in enumerate(s):  # as many digits: the same up to i, then a greater digit
        if d < ord("9"):
            alts.append(s[:i] + b"[%c-9]" % (d + 1) + rb"\d{%d}" % (len(s) - i - 1))
    return alts


def _digits_below(n: int) -> list[bytes]:
    """Alternatives matching a decimal number without leading zeros ("0" itself is one) less
    than ``n`` >= 0."""
    s = str(n).encode()
    alts = []
    if len(s) > 1:
        alts.append(rb"\d")
    if len(s) > 2:
        alts.append(rb"[1-9]\d{1,%d}" % (len(s) - 2))
    for i, d in enumerate(s):
        low = ord("1") if i == 0 and len(s) > 1 else ord("0")
        if d > low:
            alts.append(s[:i] + b"[%c-%c]" % (low, d - 1) + rb"\d{%d}" % (len(s) - i - 1))
    return alts


def _letters_above(s: bytes) -> list[bytes]:
    """Alternatives matching column letters (one to three capitals) after ``s``."""
    alts = [b"[A-Z]{%d,3}" % (len(s) + 1)] if len(s) < 3 else []
    for i, ch in enumerate(s):
        if ch < ord("Z"):
            alts.append(s[:i] + b"[%c-Z]" % (ch + 1) + b"[A-Z]{%d}" % (len(s) - i - 1))
    return alts


def _letters_below(s: bytes) -> list[bytes]:
    """Alternatives matching column letters (one to three capitals) before ``s``."""
    alts = [b"[A-Z]{1,%d}" % (len(s) - 1)] if len(s) > 1 else []
    for i, ch in enumerate(s):
        if ch > ord("A"):
            alts.append(s[:i] + b"[A-%c]" % (ch - 1) + b"[A-Z]{%d}" % (len(s) - i - 1))
    return alts


#: The row tag from which SheetReach would cut a sheet (see RowCut), as Excel, openpyxl and
#: xlsxwriter write it.
_ROW_PAST = re.compile(rb'<row r="0*(?:' + b"|".join(_digits_above(MAX_ROWS + 1)) + rb')"')


class SheetReach:
    """The reach of a worksheet whose every <c> names its cell (r="AB12"), at regex speed.

    Gives the same extent as XlsxScanner, which also needs <row r> and the position of cells
    that do not name themselves; when one <c> does not, it gives up (``gave_up``) and the part
    is measured again with XlsxScanner.

    On the way it finds where the part could be cut for calamine (row_cut).
    """

    def __init__(self, extents: dict[str, Extent], part: str) -> None:
        self.extents = extents
        self.part = part
        self.gave_up = False
        self.offset = 0  # of buf[0] in the part: each feed moves on by its ``cut``
        self.cut_at = -1  # offset of the first <row r="N">, N > MAX_ROWS + 1
        self.cut_ok = True
        self.cut_valued = False
        self.data_end = -1  # offset of </sheetData> after cut_at
        self.tail = bytearray()

    def row_cut(self) -> RowCut | None:
        """Where the rows past MAX_ROWS + 1 can be left out, or None (nothing to cut, or not
        safely: see _follow_cut)."""
        if self.gave_up or not self.cut_ok or self.cut_at < 0 or self.data_end < 0:
            return None
        if self.data_end - self.cut_at < MIN_ROWS_CUT:
            return None  # a few rows: the copy would cost more than calamine parsing them
        return RowCut(self.cut_at, self.cut_valued, bytes(self.tail))

    def feed(self, buf: bytes, cut: int) -> None:
        if self.gave_up:
            return
        # Tags starting in [cut, end) are seen again with the next chunk: harmless for a
        # bounding box, and a tag's own text is the same both times. Both patterns need the
        # closing ">", so a tag cut off at ``end`` is counted by neither.
        end = cut + OVERLAP // 2
        prefixed = buf.find(b":c", 0, end) >= 0
        closed = buf.rfind(b">", 0, end) + 1
        seen = self.extents.get(self.part)
        cols = (seen.min_col, seen.max_col) if seen is not None and seen.max_row >= 0 else None
        try:
            box = None if prefixed else _plain_box(buf, 0, end, closed, cols)
            if self.cut_ok:
                self._follow_cut(buf, cut, end, closed, box)
        except _InTag:
            self.gave_up = True
            return
        self.offset += cut
        if box is not None:  # None: not plain, or the box widened too often
            if box:
                rlo, rhi, clo, chi = box
                self.extents.setdefault(self.part, Extent()).add(
                    max(rlo - 1, 0), clo, max(rhi - 1, 0), chi
                )
            return
        cells = _CELL_RE[prefixed].findall(buf, 0, end)
        if len(cells) != len(_ANY_CELL_RE[prefixed].findall(buf, 0, closed)):
            self.gave_up = True  # some <c> does not begin with its own reference
            return
        rows = {r for _, r, value in cells if value}
        if not rows:
            return
        numbers = [int(r) for r in rows]
        cols = [column_index(c.decode()) for c in {c for c, _, value in cells if value}]
        self.extents.setdefault(self.part, Extent()).add(
            max(min(numbers) - 1, 0), min(cols), max(max(numbers) - 1, 0), max(cols)
        )

    def _follow_cut(
        self, buf: bytes, cut: int, end: int, closed: int, box: tuple[int, ...] | None
    ) -> None:
        """Find the first <row r="N">, N > MAX_ROWS + 1, and check what follows it up to
        </sheetData>: only plain pieces (every <c> names its cell, so none is placed by its
        row) whose cells with a value all name rows past MAX_ROWS + 1. A cell without a value
        may name any row: calamine reads nothing from it. Then keep the tail."""
        if self.cut_at < 0:
            m = _ROW_PAST.search(buf, 0, end)
            if m is None:
                return
            self.cut_at = self.offset + m.start()
        start = max(self.cut_at - self.offset, 0)  # it may be found in the overlap
        if self.data_end < 0:
            after = box if start == 0 or box is None else _plain_box(buf, start, end, closed)
            if after is None or (after and after[0] <= MAX_ROWS + 1):
                self.cut_ok = False
                return
            self.cut_valued = self.cut_valued or bool(after)
            found = buf.find(b"</sheetData", start, end)
            if found < 0:
                return
            self.data_end = self.offset + found
        # The bytes new to this feed are buf[:cut]; those from data_end on are the tail.
        self.tail += buf[max(self.data_end - self.offset, 0) : cut]
        if len(self.tail) > MAX_SMALL_PART:
            self.cut_ok = False


class XlsxScanner:
    """Tracks the cells that carry a value (<v>, <is> or <f>) in spreadsheetml markup."""

    def __init__(self, extents: dict[str, Extent], part: str) -> None:
        self.extents = extents
        self.part = part
        self.row = -1
        self.col = -1

    def feed(self, buf: bytes, cut: int) -> None:
        for m in _XLSX_TAG_RE.finditer(buf, 0, cut + OVERLAP // 2):
            if m.start() >= cut:
                break
            tag, attrs, has_value = m.group(1), m.group(2), m.group(4)
            ref = _R_ATTR.search(attrs)
            if tag == b"row":
                self.row = int(ref.group(2)) - 1 if ref and ref.group(2) else self.row + 1
                self.col = -1
                continue
            if ref and ref.group(1) and ref.group(2):
                self.row = int(ref.group(2)) - 1
                self.col = column_index(ref.group(1).decode())
            else:
                self.col += 1
            if has_value:
                self.extents.setdefault(self.part, Extent()).add(max(self.row, 0), self.col)


class OdsScanner:
    """Tracks repeated rows and cells in ODF content.xml; a cell counts when it has a value."""

    def __init__(self, extents: dict[str, Extent]) -> None:
        self.extents = extents
        self.sheet = ""
        self.row = 0
        self.repeat = 1
        self.col = 0
        self.row_max_col = -1
        self.row_min_col = -1
        self.open_cell: tuple[int, int] | None = None  # (first col, repeat) of a cell with children

    def feed(self, buf: bytes, cut: int) -> None:
        for m in _ODS_TAG_RE.finditer(buf, 0, cut + OVERLAP // 2):
            if m.start() >= cut:
                break
            closing, tag, attrs, selfclose = m.group(1), m.group(2), m.group(3), m.group(4)
            if tag == b"table:table":
                if not closing:
                    name = _ODS_NAME.search(attrs)
                    self.sheet = name.group(1).decode("utf-8", "replace") if name else "?"
                    self.row = 0
            elif tag == b"table:table-row":
                if not closing:
                    rep = _REPEAT_ROWS.search(attrs)
                    self.repeat = int(rep.group(1)) if rep else 1
                    self.col, self.row_max_col, self.row_min_col = 0, -1, -1
                if closing or selfclose:
                    if self.row_max_col >= 0:
                        self.extents.setdefault(self.sheet, Extent()).add(
                            self.row, self.row_min_col, self.row + self.repeat - 1, self.row_max_col
                        )
                    self.row += self.repeat
                    self.repeat = 1
            else:  # a cell
                if closing:
                    if self.open_cell is not None:
                        self._mark(*self.open_cell)
                        self.open_cell = None
                    continue
                rep = _REPEAT_COLS.search(attrs)
                n = int(rep.group(1)) if rep else 1
                if b"value-type" in attrs:
                    self._mark(self.col, n)
                elif not selfclose:
                    self.open_cell = (self.col, n)  # text:p inside: content
                self.col += n

    def _mark(self, first: int, n: int) -> None:
        last = first + n - 1
        self.row_max_col = max(self.row_max_col, last)
        self.row_min_col = first if self.row_min_col < 0 else min(self.row_min_col, first)


def column_index(letters: str) -> int:
    """A -> 0, AA -> 26.

    Column letters alone, in either case as a file may write them (r="ab12"): xlsxwriter's
    xl_cell_to_rowcol takes a whole reference in capitals only.
    """
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1
