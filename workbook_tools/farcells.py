"""An xlsx with its far cells left out, and what those cells said; an xlsx without its rows past
those read.

python-calamine allocates rows x columns of a sheet's used range, so one stray note far from the
table (ZX60000, or XFD1048576) would cost memory for the whole rectangle, or abort the process.
Such a return is not refused: calamine is handed a copy of the workbook (in memory; the file is
never touched) whose sheet XML leaves out every cell past the rows and columns read, and the
texts of those cells come back with their references, for merge to report as 多余内容.

The copy is made with zipfile's public API, each sheet streamed through :class:`_CellCut`
under the limits inspect_workbook_zip already enforced on the original. Whatever this module
gets wrong can only leave a far cell in: the caller measures the copy again and refuses it
then.

A sheet that goes on past the rows read (a long list pasted under the table) but is not too big
for calamine is handed to it cut after row MAX_ROWS + 1 (without_rows_past): calamine parses a
sheet whole although only its first MAX_ROWS + 1 rows are read.
"""

from __future__ import annotations

import html
import io
import re
import shutil
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree  # writing only: what is parsed goes through defusedxml

from defusedxml import ElementTree as SafeET

from .containers import CHUNK, ZIP_ERRORS, ZipFacts, member_chunks, shared_strings_part
from .limits import MAX_COLS, MAX_ROWS, UnsafeFile
from .reach import RowCut, column_index

#: Far cells whose text is kept, per sheet; the others are only counted.
MAX_LISTED = 50
#: Bytes of one far cell's XML kept to read its text from.
MAX_CELL_XML = 64 * 1024

_NS = rb"(?:[A-Za-z_][\w.-]*:)?"
_TAG = re.compile(rb"<" + _NS + rb"(row|c)(?=[\s/>])([^>]*?)(/?)>")
_CLOSE_C = re.compile(rb"</" + _NS + rb"c\s*>")
_R_ATTR = re.compile(rb'\br\s*=\s*["\']([A-Za-z]{0,3})(\d*)["\']')
_T_ATTR = re.compile(rb'\bt\s*=\s*["\'](\w+)["\']')
_VALUE = re.compile(rb"<" + _NS + rb"(v|is|f)[\s/>]")
_V = re.compile(rb"<" + _NS + rb"v(?:\s[^>]*)?>(.*?)</" + _NS + rb"v\s*>", re.S)
_T = re.compile(rb"<" + _NS + rb"t(?:\s[^>]*)?>(.*?)</" + _NS + rb"t\s*>", re.S)
_PHONETIC = re.compile(rb"<" + _NS + rb"rPh[\s>].*?</" + _NS + rb"rPh\s*>", re.S)


@dataclass(frozen=True)
class FarCell:
    """A cell left out: its sheet, 0-based row and column, and its text as a person sees it."""

    sheet: str
    row: int
    col: int
    text: str


@dataclass(frozen=True)
class Trimmed:
    """The workbook without its far cells, the first :data:`MAX_LISTED` of them per sheet
    with their text, and how many cells with a value each sheet lost."""

    data: bytes
    cells: tuple[FarCell, ...]
    counts: dict[str, int]


def without_far_cells(data: bytes, facts: ZipFacts) -> Trimmed:
    """A copy of the xlsx ``data`` whose sheets in ``facts.far`` keep only the cells of the
    first MAX_ROWS + 1 rows and MAX_COLS columns (the extra row tells the reader that the sheet
    goes on). ``data`` must have passed inspect_workbook_zip(list_far=True), which
    gave ``facts``."""
    try:
        if "content.xml" in facts.far:
            return _ods_without_far_cells(data)
        return _without_far_cells(data, facts)
    except SafeET.ParseError as exc:
        raise UnsafeFile("文件已损坏（content.xml 无法解析）", "请重新保存后再报送") from exc
    except ZIP_ERRORS as exc:
        raise UnsafeFile("文件已损坏（压缩结构无法读取）", "请重新保存后再报送") from exc


def _without_far_cells(data: bytes, facts: ZipFacts) -> Trimmed:
    zf = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    found: list[tuple[str, int, int, bytes]] = []
    counts: dict[str, int] = {}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as new:
        for info in zf.infolist():
            if info.is_dir():
                continue
            # A fresh entry: the original's may carry dates or flags zipfile would not write.
            entry = zipfile.ZipInfo(info.filename)
            entry.compress_type = zipfile.ZIP_DEFLATED
            with new.open(entry, "w") as sink:
                if info.filename not in facts.far:
                    with zf.open(info) as source:
                        shutil.copyfileobj(source, sink, CHUNK)
                    continue
                sheet = facts.far[info.filename][0]
                cut = _CellCut()
                for chunk in member_chunks(zf, info):
                    sink.write(cut.feed(chunk))
                found += [(sheet, r, c, xml) for r, c, xml in cut.listed]
                counts[sheet] = counts.get(sheet, 0) + cut.count
    strings = _shared_strings(zf, facts, found)
    cells = []
    for sheet, r, c, xml in found:
        text = _cell_text(xml, strings)
        if text.strip():
            cells.append(FarCell(sheet, r, c, text))
    return Trimmed(out.getvalue(), tuple(cells), counts)


# Where rows were left out but some held a value: a cell in row MAX_ROWS + 2, never read, so that
# calamine still sees the sheet go on past MAX_ROWS rows (the reader notes it).
_GOES_ON = f'<row r="{MAX_ROWS + 2}"><c r="A{MAX_ROWS + 2}"><v>0</v></c></row>'.encode()


def without_rows_past(data: bytes, facts: ZipFacts) -> bytes:
    """A copy of the xlsx ``data`` whose sheets in ``facts.cuts`` end after row MAX_ROWS + 1
    (what follows their </sheetData> kept). ``data`` must have passed
    inspect_workbook_zip(list_far=True), which gave ``facts``."""
    try:
        return _without_rows_past(data, facts.cuts)
    except ZIP_ERRORS as exc:
        raise UnsafeFile("文件已损坏（压缩结构无法读取）", "请重新保存后再报送") from exc


def _without_rows_past(data: bytes, cuts: dict[str, RowCut]) -> bytes:
    zf = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as new:
        for info in zf.infolist():
            if info.is_dir():
                continue
            entry = zipfile.ZipInfo(info.filename)  # fresh, as in _without_far_cells
            entry.compress_type = zipfile.ZIP_DEFLATED
            with new.open(entry, "w") as sink, zf.open(info) as source:
                cut = cuts.get(info.filename)
                if cut is None:
                    shutil.copyfileobj(source, sink, CHUNK)
                    continue
                left = cut.at  # only the rows kept are inflated again
                while left > 0 and (piece := source.read(min(CHUNK, left))):
                    sink.write(piece)
                    left -= len(piece)
                sink.write((_GOES_ON if cut.valued else b"") + cut.tail)
    return out.getvalue()


_ODS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_ODS_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_XMLNS = re.compile(rb'xmlns:([A-Za-z_][\w.-]*)="([^"]*)"')


def _ods_without_far_cells(data: bytes) -> Trimmed:
    """The ods ``data`` whose content.xml keeps only the cells of the first MAX_ROWS + 1 rows
    and MAX_COLS columns of each table (repeated empty rows and cells are kept, at most to
    there), and the cells left out, with their text."""
    zf = zipfile.ZipFile(io.BytesIO(data))
    raw = zf.read("content.xml")  # its size was checked by inspect_workbook_zip
    for prefix, uri in dict(_XMLNS.findall(raw[:65536])).items():
        ElementTree.register_namespace(prefix.decode(), uri.decode())
    root = SafeET.fromstring(raw)
    found: list[FarCell] = []
    counts: dict[str, int] = {}
    t = f"{{{_ODS_TABLE}}}"
    for table in root.iter(f"{t}table"):
        _ods_cut_rows(table, table.get(f"{t}name", ""), 0, found, counts)
    fixed = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as new:
        for info in zf.infolist():
            entry = zipfile.ZipInfo(info.filename, info.date_time)
            entry.compress_type = info.compress_type  # mimetype first and stored, as ODF wants
            new.writestr(entry, fixed if info.filename == "content.xml" else zf.read(info))
    kept = []
    listed: dict[str, int] = {}
    for cell in found:
        if listed.get(cell.sheet, 0) < MAX_LISTED:
            listed[cell.sheet] = listed.get(cell.sheet, 0) + 1
            kept.append(cell)
    return Trimmed(out.getvalue(), tuple(kept), counts)


def _count(value: str | None) -> int:
    """A repeat count as ODF writes it; anything else counts once."""
    return int(value) if value and value.isdigit() and 0 < int(value) <= 1 << 24 else 1


def _ods_cut_rows(parent, sheet: str, r: int, found: list, counts: dict) -> int:
    """Walk the rows under ``parent`` in document order (inside header rows and groups too),
    from row ``r``; leave out those past MAX_ROWS. The row after the last one walked."""
    t = f"{{{_ODS_TABLE}}}"
    for row in list(parent):
        if row.tag in (f"{t}table-header-rows", f"{t}table-row-group", f"{t}table-rows"):
            r = _ods_cut_rows(row, sheet, r, found, counts)
            continue
        if row.tag != f"{t}table-row":
            continue
        repeat = _count(row.get(f"{t}number-rows-repeated"))
        _ods_cut_row(row, sheet, r, repeat, found, counts)
        if r > MAX_ROWS:
            parent.remove(row)
        elif r + repeat > MAX_ROWS + 1:
            row.set(f"{t}number-rows-repeated", str(MAX_ROWS + 1 - r))
        r += repeat
    return r


def _ods_cut_row(row, sheet: str, r: int, repeat: int, found: list, counts: dict) -> None:
    """Leave out the cells of ``row`` (the row ``r``, repeated ``repeat`` times) past MAX_COLS,
    or all of them past MAX_ROWS; note those that hold text."""
    t = f"{{{_ODS_TABLE}}}"
    c = 0
    for cell in list(row):
        if cell.tag not in (f"{t}table-cell", f"{t}covered-table-cell"):
            continue
        span = _count(cell.get(f"{t}number-columns-repeated"))
        text = "\n".join("".join(p.itertext()) for p in cell.iter(f"{{{_ODS_TEXT}}}p"))
        far = r > MAX_ROWS or c + span > MAX_COLS
        if far and text.strip():
            counts[sheet] = counts.get(sheet, 0) + span * repeat
            first = max(c, MAX_COLS) if r <= MAX_ROWS else c
            found.append(FarCell(sheet, r, first, text))
        if r <= MAX_ROWS and c >= MAX_COLS:
            row.remove(cell)
        elif r <= MAX_ROWS and c + span > MAX_COLS:
            cell.set(f"{t}number-columns-repeated", str(MAX_COLS - c))
        c += span


class _CellCut:
    """Sheet XML in, the same XML without the far <c> elements out, fed chunk by chunk (b""
    last). A cell's place is its r="AB12", or the one after the cell before it in the row."""

    def __init__(self) -> None:
        self.buf = b""
        self.row = -1
        self.col = -1
        self.listed: list[tuple[int, int, bytes]] = []  # (row, col, XML) of the first ones
        self.count = 0  # far cells with a value

    def feed(self, chunk: bytes) -> bytes:
        buf, final = self.buf + chunk, not chunk
        kept: list[bytes] = []
        emitted = pos = 0
        hold = len(buf)  # where the bytes not yet decided on begin
        while m := _TAG.search(buf, pos):
            ref = _R_ATTR.search(m[2])
            if m[1] == b"row":
                self.row = int(ref[2]) - 1 if ref and ref[2] else self.row + 1
                self.col = -1
                pos = m.end()
                continue
            before = self.row, self.col
            if ref and ref[1] and ref[2]:
                self.row, self.col = int(ref[2]) - 1, column_index(ref[1].decode())
            else:
                self.col += 1
            end = m.end()
            if not m[3]:
                close = _CLOSE_C.search(buf, end)
                if close is None and not final:  # the rest of the cell comes with more data
                    self.row, self.col = before
                    hold = m.start()
                    break
                end = close.end() if close else len(buf)
            if self.row > MAX_ROWS or self.col >= MAX_COLS:
                kept.append(buf[emitted : m.start()])
                emitted = end
                if not m[3] and _VALUE.search(buf, m.end(), end):
                    self.count += 1
                    if len(self.listed) < MAX_LISTED:
                        self.listed.append(
                            (self.row, self.col, buf[m.start() : end][:MAX_CELL_XML])
                        )
            pos = end
        else:
            # No tag left to match: an unfinished one may start at the last "<".
            last = buf.rfind(b"<", pos)
            if not final and last >= 0 and buf.find(b">", last) < 0:
                hold = last
        if final:
            hold = len(buf)
        kept.append(buf[emitted:hold])
        self.buf = buf[hold:]
        return b"".join(kept)


def _cell_text(xml: bytes, strings: dict[int, str]) -> str:
    """What calamine would give for the cell element ``xml``: errors read as empty."""
    head = xml[: xml.find(b">") + 1]
    kind = (_T_ATTR.search(head) or [b"", b"n"])[1]
    if kind == b"inlineStr":
        body = _PHONETIC.sub(b"", xml)
        return "".join(_unescape(t) for t in _T.findall(body))
    value = _V.search(xml)
    if value is None or kind == b"e":
        return ""
    text = _unescape(value[1])
    if kind == b"s":
        return strings.get(int(text), "") if text.strip().isdigit() else ""
    if kind == b"b":
        return "TRUE" if text.strip() == "1" else "FALSE"
    return text


def _unescape(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8", "replace"))


def _shared_strings(
    zf: zipfile.ZipFile, facts: ZipFacts, found: list[tuple[str, int, int, bytes]]
) -> dict[int, str]:
    """The shared strings the listed far cells point at, streamed from the strings part."""
    wanted = set()
    for _, _, _, xml in found:
        kind = _T_ATTR.search(xml[: xml.find(b">") + 1])
        value = _V.search(xml)
        if kind and kind[1] == b"s" and value and value[1].strip().isdigit():
            wanted.add(int(value[1]))
    if not wanted:
        return {}
    out: dict[int, str] = {}
    index, last = 0, max(wanted)
    try:
        with zf.open(shared_strings_part(facts)) as part:
            events = SafeET.iterparse(part, events=("start", "end"))
            _, root = next(events)
            for event, el in events:
                if event != "end" or _local(el.tag) != "si":
                    continue
                if index in wanted:
                    out[index] = _string_item(el)
                index += 1
                root.clear()  # the strings read so far are not kept
                if index > last:
                    break
    except Exception:  # no strings part, or a damaged one: the cells are reported without text
        pass
    return out


def _string_item(si) -> str:
    """The text of a shared string <si>: its <t>, or the <t> of its runs; not the phonetic
    guide (<rPh>), which calamine leaves out too."""
    parts = []
    for child in si:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            parts += [g.text or "" for g in child if _local(g.tag) == "t"]
    return "".join(parts)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
