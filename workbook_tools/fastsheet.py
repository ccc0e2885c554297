"""Faster ways to write xlsx with xlsxwriter, for the summary and the templates.

1. :class:`FastWorksheet` writes the cells xlsxwriter keeps (strings, numbers and blanks, each
   with a format) with one f-string each and one write per row, and takes a row of values in one
   call (``write_values``); every other kind of cell and every case it was not built for goes to
   xlsxwriter's own code. Same bytes as xlsxwriter: the tests build workbooks both ways.
2. :func:`render_rows` renders data rows straight to sheet XML with inline strings, so that a
   worker process can render them, and ``FastWorksheet.attach_rows`` puts them in the sheet.
   The tests compare every cell's value and look with the same rows written by xlsxwriter.
   Rendered rows can be deflated where they are made (:func:`deflate_rows`, joined with
   :func:`join_rows`) and go into the zip as they are, between the deflated head and tail of
   their sheet part.
3. :class:`FastWorkbook` writes plain shared strings in bulk and deflates the zip fast: with
   python-isal (Intel ISA-L, ~4x faster than zlib at a similar size) where it is installed, else
   with zlib at level 1.

The hooks are xlsxwriter's ``worksheet_class`` and ``_get_packager``, but the overridden methods
are private; ``pyproject.toml`` keeps xlsxwriter within the major version checked here.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass

import xlsxwriter.workbook
from xlsxwriter import Workbook
from xlsxwriter.exceptions import OverlappingRange
from xlsxwriter.packager import Packager
from xlsxwriter.sharedstrings import SharedStrings
from xlsxwriter.utility import xl_col_to_name, xl_range
from xlsxwriter.worksheet import CellBlankTuple, CellNumberTuple, CellStringTuple, Worksheet

from .cells import fit_cell

try:  # ISA-L's deflate: ~20 ms for the province-scale summary's 19 MB of XML, zlib's takes ~80
    from isal import isal_zlib as _deflate_lib
except ImportError:  # not installed, or no wheel for this platform: the same file, zlib-made
    _deflate_lib = zlib

_FAST_TYPES = frozenset((CellStringTuple, CellNumberTuple, CellBlankTuple))
_SHORT = 32767 // 2  # a string this long or shorter is within Excel's limit in any case


def write_values_plain(ws: Worksheet, row: int, first_col: int, values, formats) -> None:
    """One row of cells through xlsxwriter's public methods: what ``write_values`` must equal.

    Text with write_string (an empty string with write_blank, a real blank that filters show
    as (空白)), numbers with write_number, None as a blank, anything else as its str().
    """
    for col, (value, fmt) in enumerate(zip(values, formats, strict=True), first_col):
        if value.__class__ is str:
            if value:
                ws.write_string(row, col, value, fmt)
            else:
                ws.write_blank(row, col, None, fmt)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            ws.write_number(row, col, value, fmt)
        elif value is None:
            ws.write_blank(row, col, None, fmt)
        else:
            ws.write_string(row, col, str(value), fmt)


# Text to write as it is inside <t>: no markup characters, no control characters (xlsxwriter and
# Excel write them as _xHHHH_), no literal _xHHHH_ (which would be read as such an escape).
_INLINE_CARE = re.compile(r"[\x00-\x08\x0b-\x1f&<>]|_x[0-9A-Fa-f]{4}_")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_ESCAPE_LIKE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


def _inline_text(text: str) -> str:
    """``text`` for an inline-string <t> element, escaped as xlsxwriter escapes strings."""
    if _INLINE_CARE.search(text):
        text = _ESCAPE_LIKE.sub(r"_x005F_\1", text)
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def _needs_care(text: str) -> bool:
    """Whether xlsxwriter or :func:`_inline_text` might change or mark ``text`` (a cheap
    superset): control characters (escaped as _xHHHH_), an existing _xHHHH_ (escaped again),
    markup characters, rich strings ("<r>")."""
    return "&" in text or "<" in text or ">" in text or "_x" in text or bool(_CONTROL.search(text))


# The fast path of render_rows checks a row of strings joined with NUL, each check one search:
# no markup or control characters (the NULs are counted instead), no _x (the separator cannot
# complete an escape across two values), no whitespace at either end of a value (which needs
# xml:space="preserve"; searched for after a NUL, in the row and in the row reversed).
_ROW_CONTROL = re.compile(r"[\x01-\x08\x0b-\x1f]")
_AFTER_NUL_SPACE = re.compile(r"\x00\s")


def _plain_row(joined: str, count: int, clean: bool = False) -> bool:
    """Whether every value of a row joined with NUL can be written as it is, unpreserved.

    ``clean``: the values are known to hold no control character but tab and line feed (as
    after cells.clean_text with line breaks made \\n), so that search, the slowest check at
    ~8 ns a character, is skipped.
    """
    return (
        len(joined) <= _SHORT
        and joined.count("\x00") == count - 1
        and "&" not in joined
        and "<" not in joined
        and ">" not in joined
        and "_x" not in joined
        and not (joined[:1].isspace() or joined[-1:].isspace())
        and (clean or not _ROW_CONTROL.search(joined))
        and not _AFTER_NUL_SPACE.search(joined)
        and not _AFTER_NUL_SPACE.search(joined[::-1])
    )


class _Attrs(dict):
    """xf index -> the attributes after a cell's reference, made once per xf."""

    def __init__(self, text: bool) -> None:
        super().__init__()
        self.text = text

    def __missing__(self, s: int) -> str:
        value = self[s] = f'" s="{s}" t="inlineStr"><is><t>' if self.text else f'" s="{s}"/>'
        return value


def render_rows(first_row: int, rows, *, clean: bool = False) -> tuple[str, int, int]:
    """The <row> elements of ``rows``, starting at 0-based ``first_row``, as sheetData XML.

    Each row is (values, xf indices, height in points or None for the default), or
    (None, None, None) for a row with nothing in it. Strings are
    written inline (t="inlineStr", so no shared-strings table is needed and the rows can be
    rendered in another process), cut to Excel's 32,767-character limit with a marker (callers
    that can say more cut them first), an empty string or None as a blank cell that keeps its
    format, numbers as numbers. Heights are rounded to whole pixels as xlsxwriter's set_row()
    does. Returns the XML, the last row and the last column written (0-based).

    ``clean=True`` promises that every string went through cells.clean_text with line breaks
    made "\\n": no control character but tab and line feed. Rows are then not searched for the
    others (the test suite checks the promise on every row rendered).
    """
    starts: list[str] = []  # '<c r="D' for column D
    text_attrs, blank_attrs = _Attrs(text=True), _Attrs(text=False)
    heights: dict[float | None, str] = {}  # height -> the rest of the <row> tag
    parts: list[str] = []
    append = parts.append
    row_num, last_col = first_row - 1, -1
    for row_num, (values, xfs, height) in enumerate(rows, first_row):
        if values is None:  # a row left empty: no <row> element, as xlsxwriter writes none
            continue
        count = len(values)
        if count != len(xfs):
            raise ValueError("render_rows: a row has not one format per value")
        while len(starts) < count:
            starts.append(f'<c r="{xl_col_to_name(len(starts))}')
        last_col = max(last_col, count - 1)
        ref = str(row_num + 1)
        ht = heights.get(height)
        if ht is None:
            ht = heights[height] = (
                ">"
                if height is None
                else f' ht="{int(height * 4.0 / 3.0 + 0.5) * 0.75:.16g}" customHeight="1">'
            )
        append(f'<row r="{ref}"{ht}')
        try:
            joined = "\x00".join(values)
        except TypeError:  # not all strings
            joined = None
        if joined is not None and _plain_row(joined, count, clean):
            # The usual row: strings and blanks to write as they are.
            append(
                "".join(
                    [
                        f"{start}{ref}{text_attrs[s]}{value}</t></is></c>"
                        if value
                        else f"{start}{ref}{blank_attrs[s]}"
                        for start, value, s in zip(starts, values, xfs, strict=False)
                    ]
                )
            )
        else:
            _render_cells(append, starts, ref, values, xfs)
        append("</row>")
    return "".join(parts), row_num, last_col


def _render_cells(append, starts: list[str], ref: str, values, xfs) -> None:
    """The cells of one row of render_rows, one by one: any value, any text."""
    # One check for the whole row: most rows need no escaping at all. The "\n" between
    # values (not itself escaped) keeps two of them from forming an _xHHHH_ together.
    joined = "\n".join(v for v in values if v.__class__ is str)
    plain = not _needs_care(joined)
    if len(joined) > _SHORT:  # a cell may be over Excel's limit: cut it, as write_string does
        values = [fit_cell(v)[0] if v.__class__ is str else v for v in values]
    for start, value, s in zip(starts, values, xfs, strict=False):  # starts may be longer
        if value.__class__ is str and value:
            text = value if plain else _inline_text(value)
            if text[0].isspace() or text[-1].isspace():
                append(
                    f'{start}{ref}" s="{s}" t="inlineStr"><is><t xml:space="preserve">'
                    f"{text}</t></is></c>"
                )
            else:
                append(f'{start}{ref}" s="{s}" t="inlineStr"><is><t>{text}</t></is></c>')
        elif value is None or value == "":
            append(f'{start}{ref}" s="{s}"/>')
        elif isinstance(value, int | float) and not isinstance(value, bool):
            append(f'{start}{ref}" s="{s}"><v>{value:.16G}</v></c>')
        else:
            raise TypeError(f"render_rows: cannot write {type(value).__name__}")


@dataclass(frozen=True)
class DeflatedRows:
    """Sheet XML deflated ahead of the zip: a raw deflate segment that is not final (so that
    more can follow it in the same stream), with the CRC-32 and length of the XML."""

    data: bytes
    crc: int
    size: int


def deflate_rows(rendered: tuple[str, int, int]) -> tuple[DeflatedRows, int, int]:
    """What :func:`render_rows` gave, with the XML deflated: to attach as it is."""
    xml, last_row, last_col = rendered
    raw = xml.encode("utf-8")
    deflate = _deflater()
    data = deflate.compress(raw) + deflate.flush(zlib.Z_SYNC_FLUSH)
    return DeflatedRows(data, _deflate_lib.crc32(raw), len(raw)), last_row, last_col


def join_rows(
    first: tuple[DeflatedRows, int, int], then: tuple[DeflatedRows, int, int]
) -> tuple[DeflatedRows, int, int]:
    """Two runs of rows from :func:`deflate_rows`, ``then`` starting below ``first``, as one:
    their deflate segments follow one another, their CRCs combine."""
    (a, a_row, a_col), (b, b_row, b_col) = first, then
    joined = DeflatedRows(a.data + b.data, _crc32_combine(a.crc, b.crc, b.size), a.size + b.size)
    return joined, max(a_row, b_row), max(a_col, b_col)


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of A + B from that of A, that of B and the length of B (zlib's
    crc32_combine, which Python's zlib does not offer): crc1 is carried over length2 zero
    bytes by the operator that appends them, squared for each bit of length2."""
    operator = [0xEDB88320] + [1 << n for n in range(31)]  # appends one zero bit
    for _ in range(3):  # ... two, four, then eight: one zero byte
        operator = [_gf2_times(operator, row) for row in operator]
    while length2 > 0:
        if length2 & 1:
            crc1 = _gf2_times(operator, crc1)
        length2 >>= 1
        if length2:
            operator = [_gf2_times(operator, row) for row in operator]
    return crc1 ^ crc2


# ISA-L has zlib's crc32_combine; the version above serves where it is not installed.
_crc32_combine = getattr(_deflate_lib, "crc32_combine", crc32_combine)


class FastWorksheet(Worksheet):
    """xlsxwriter's Worksheet with a faster writer for the sheet data (same bytes), and rows
    rendered elsewhere (:func:`render_rows`) attached below the ones written through it."""

    _attached: tuple[int, str | DeflatedRows] | None = None

    def attach_rows(self, first_row: int, rendered: tuple[str | DeflatedRows, int, int]) -> None:
        """Put rows rendered by :func:`render_rows` from ``first_row`` on: after every row
        written through xlsxwriter, which must all lie above it.

        The rows may come deflated already (:func:`deflate_rows`, in a worker process or while
        waiting for one): they then go into the zip as they are, in place of a token.
        """
        xml, last_row, last_col = rendered
        if last_row < first_row:
            return
        above = [
            r
            for r in (*self.table, *self.row_info)
            if r >= first_row and (r in self.row_info or self.table[r])
        ]
        if above or self._attached is not None or self.comments:
            raise ValueError("attach_rows: rows below the attached ones, or attached twice")
        self._check_dimensions(first_row, 0)
        self._check_dimensions(last_row, last_col)
        self._attached = (first_row, xml)

    def merge_rendered(self, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
        """Record a merged range whose cells come in rows from :func:`render_rows` (the first
        with the value, the others blank, all with the same format): what merge_range records,
        without writing the cells. Raises OverlappingRange as merge_range does."""
        cell_range = xl_range(first_row, first_col, last_row, last_col)
        for row in range(first_row, last_row + 1):
            for col in range(first_col, last_col + 1):
                if (row, col) in self.merged_cells:
                    raise OverlappingRange(
                        f"Merge range '{cell_range}' overlaps previous merge range "
                        f"'{self.merged_cells[row, col]}'."
                    )
                self.merged_cells[row, col] = cell_range
        self.merge.append([first_row, first_col, last_row, last_col])

    def write_values(self, row: int, first_col: int, values, formats) -> None:
        """Same result as :func:`write_values_plain`, with one bounds check for the row.

        Every format must be a Format (not None), as :func:`write_values_plain` would otherwise
        skip writing a blank.
        """
        last_col = first_col + len(values) - 1
        if (
            self.constant_memory
            or None in formats
            or self._check_dimensions(row, first_col)
            or self._check_dimensions(row, last_col)
        ):
            write_values_plain(self, row, first_col, values, formats)
            return
        cells = self.table[row]
        shared = self.str_table._get_shared_string_index
        for col, (value, fmt) in enumerate(zip(values, formats, strict=True), first_col):
            if value.__class__ is str and len(value) <= _SHORT:
                cells[col] = CellStringTuple(shared(value), fmt) if value else CellBlankTuple(fmt)
            else:
                write_values_plain(self, row, col, (value,), (fmt,))

    def _calculate_spans(self) -> None:
        # Same result as Worksheet._calculate_spans: for each block of 16 rows, the first and
        # last column (1-based) holding a cell; from each row's own columns, not every column.
        if self.comments or self.dim_rowmin is None:
            super()._calculate_spans()
            return
        low, high = self.dim_colmin, self.dim_colmax
        blocks: dict[int, list[int]] = {}
        for row_num, cells in self.table.items():
            if not cells or not self.dim_rowmin <= row_num <= self.dim_rowmax:
                continue
            cols = [c for c in cells if low <= c <= high]
            if not cols:
                continue
            block = blocks.get(row_num // 16)
            first, last = min(cols), max(cols)
            if block is None:
                blocks[row_num // 16] = [first, last]
            else:
                block[0], block[1] = min(block[0], first), max(block[1], last)
        self.row_spans = {i: f"{a + 1}:{b + 1}" for i, (a, b) in sorted(blocks.items())}

    def _write_rows(self) -> None:
        attached = self._attached
        if attached is None and (self.constant_memory or self.comments or self.dim_rowmin is None):
            super()._write_rows()
            return
        self._calculate_spans()
        table, row_info, spans, fh = self.table, self.row_info, self.row_spans, self.fh
        letters = {c: xl_col_to_name(c) for c in range(self.dim_colmin, self.dim_colmax + 1)}
        xf: dict[int, int] = {}  # id(format) -> its index, asked once per format
        end = attached[0] if attached else self.dim_rowmax + 1
        for row_num in range(self.dim_rowmin, end):
            cells = table.get(row_num) if row_num in table else None
            if not cells:
                if row_num in row_info:  # a row with attributes only
                    self._write_empty_row(row_num, spans.get(row_num // 16), row_info[row_num])
                continue
            self._write_row(row_num, spans.get(row_num // 16), row_info.get(row_num))
            ref = row_num + 1
            parts: list[str] = []
            for col_num in sorted(cells) if len(cells) > 1 else cells:
                if col_num not in letters:
                    continue  # outside the dimensions: xlsxwriter does not write it either
                cell = cells[col_num]
                kind = cell.__class__
                fmt = cell.format
                if fmt is None or kind not in _FAST_TYPES:
                    if parts:
                        fh.write("".join(parts))
                        parts = []
                    self._write_cell(row_num, col_num, cell)
                    continue
                s = xf.get(id(fmt))
                if s is None:
                    s = xf[id(fmt)] = fmt._get_xf_index()
                if kind is CellStringTuple:
                    parts.append(
                        f'<c r="{letters[col_num]}{ref}" s="{s}" t="s"><v>{cell.string}</v></c>'
                    )
                elif kind is CellNumberTuple:
                    parts.append(
                        f'<c r="{letters[col_num]}{ref}" s="{s}"><v>{cell.number:.16G}</v></c>'
                    )
                else:
                    parts.append(f'<c r="{letters[col_num]}{ref}" s="{s}"/>')
            parts.append("</row>")
            fh.write("".join(parts))
        if attached:
            xml = attached[1]
            fh.write(xml if xml.__class__ is str else self.attached_token())

    def attached_token(self) -> str:
        """What stands in the sheet XML for attached rows given deflated, until zipped."""
        return f"\x00attached-rows-{self.index}\x00"  # NUL: never in the XML otherwise


class _FastSharedStrings(SharedStrings):
    """The shared strings part, plain strings written with one f-string each (same bytes)."""

    def _write_sst_strings(self) -> None:
        parts: list[str] = []
        for string in self.string_table.string_array:
            if (
                string
                and not _needs_care(string)
                and not string[0].isspace()  # else xml:space="preserve"
                and not string[-1].isspace()
            ):
                parts.append(f"<si><t>{string}</t></si>")
                continue
            if parts:
                self.fh.write("".join(parts))
                parts = []
            self._write_si(string)
        self.fh.write("".join(parts))


class _FastPackager(Packager):
    def _write_shared_strings_file(self) -> None:
        # As Packager._write_shared_strings_file, with _FastSharedStrings.
        if not self.workbook.str_table.count:
            return
        sst = _FastSharedStrings()
        sst.string_table = self.workbook.str_table
        sst._set_xml_writer(self._filename("xl/sharedStrings.xml"))
        sst._assemble_xml_file()


#: Deflate level for the parts of the zip. With zlib, level 1 deflates the province-scale
#: summary (19 MB of XML) in about 0.08 s instead of 0.26 s at xlsxwriter's default (6), the file
#: about 45% larger (2.6 MB instead of 1.8 MB); ISA-L's level 1 (of 0-3) takes 0.02 s for 2.6 MB.
#: Any level opens the same everywhere.
COMPRESS_LEVEL = 1


def _deflater():
    """A raw deflate compressor at COMPRESS_LEVEL, as zipfile makes one (ISA-L's if installed)."""
    return _deflate_lib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, -15)


class _Flushed:
    """Stands for the compressor of a zip member written already deflated: nothing is left."""

    def flush(self) -> bytes:
        return b""


class _FastZipFile(zipfile.ZipFile):
    attached: dict[bytes, DeflatedRows] = {}  # token -> rows, set by FastWorkbook for a close()

    def open(self, name, mode="r", pwd=None, *, force_zip64=False):
        # A member written deflated gets _deflater()'s compressor in place of zipfile's zlib one
        # (the same interface: compress() and flush()).
        stream = super().open(name, mode, pwd, force_zip64=force_zip64)
        if mode == "w" and stream._zinfo.compress_type == zipfile.ZIP_DEFLATED:
            stream._compressor = _deflater()
        return stream

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        # The level is COMPRESS_LEVEL's whatever is asked: open() puts in _deflater().
        for token, rows in self.attached.items():
            if data.__class__ is bytes and token in data:
                head, tail = data.split(token) if data.count(token) == 1 else (None, None)
                if head is None or not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
                    raise ValueError("attached rows: their place is not marked once")
                return self._write_joined(zinfo_or_arcname, head, rows, tail)
        return super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def _write_joined(self, zinfo: zipfile.ZipInfo, head: bytes, rows: DeflatedRows, tail):
        """Write head + rows + tail as one deflated member, the rows deflated already.

        Raw deflate segments that end on a sync flush can follow one another in one stream
        (as in pigz); the CRC of the whole is put together from the three. The member is
        written through zipfile (header, sizes, zip64), its compressor replaced.
        """
        first, last = _deflater(), _deflater()
        pieces = (
            first.compress(head) + first.flush(zlib.Z_SYNC_FLUSH),
            rows.data,
            last.compress(tail) + last.flush(zlib.Z_FINISH),
        )
        crc = zlib.crc32(tail, _crc32_combine(zlib.crc32(head), rows.crc, rows.size))
        zinfo.compress_type = zipfile.ZIP_DEFLATED
        zinfo.file_size = len(head) + rows.size + len(tail)
        with self._lock, self.open(zinfo, mode="w") as dest:
            dest._compressor = _Flushed()
            for piece in pieces:
                dest._fileobj.write(piece)
            dest._file_size = zinfo.file_size
            dest._compress_size = sum(len(piece) for piece in pieces)
            dest._crc = crc


class FastWorkbook(Workbook):
    """xlsxwriter's Workbook with :class:`FastWorksheet` sheets and a faster shared-strings part.

    Two hooks are xlsxwriter's own: the ``worksheet_class`` attribute and ``_get_packager``
    ("allows the default packager to be over-ridden"); the third sets the zip compression and
    puts attached rows given deflated in their place.
    """

    worksheet_class = FastWorksheet

    def close(self) -> None:
        try:
            super().close()
        finally:
            # Each worksheet keeps the workbook's add_format, a bound method: a reference cycle
            # through every sheet and cell, which only the cyclic collector frees. Broken once
            # the file is written, reference counting frees the workbook as soon as it is let go
            # (the stages that write workbooks hold the collector, gcpause).
            for ws in self.worksheets():
                ws.workbook_add_format = None

    def _get_packager(self) -> Packager:
        return _FastPackager()

    def _store_workbook(self) -> None:
        # xlsxwriter offers no compression setting; its ZipFile is swapped for the time of this
        # call only (a module global that xlsxwriter looks up when it creates the zip).
        attached = {
            ws.attached_token().encode("utf-8"): ws._attached[1]
            for ws in self.worksheets()
            if isinstance(ws, FastWorksheet)
            and ws._attached
            and ws._attached[1].__class__ is not str
        }

        def zip_file(*args, **kwargs) -> _FastZipFile:
            zf = _FastZipFile(*args, **kwargs)
            zf.attached = attached
            return zf

        original = xlsxwriter.workbook.ZipFile
        xlsxwriter.workbook.ZipFile = zip_file
        try:
            super()._store_workbook()
        finally:
            xlsxwriter.workbook.ZipFile = original


__all__ = [
    "DeflatedRows",
    "FastWorkbook",
    "FastWorksheet",
    "crc32_combine",
    "deflate_rows",
    "join_rows",
    "render_rows",
    "write_values_plain",
]
