"""An xlsx with its far cells left out, and what those cells said.

python-calamine allocates rows x columns of a sheet's used range, so one stray note far from the
table (ZX60000, or XFD1048576) would cost memory for the whole rectangle, or abort the process.
Such a return is not refused: calamine is handed a copy of the workbook (in memory; the file is
never touched) whose sheet XML leaves out every cell past the rows and columns read, and the
texts of those cells come back with their references, for merge to report as 多余内容.

The copy is made with zipfile's public API, each sheet streamed through :class:`_CellCut`
under the limits inspect_workbook_zip already enforced on the original. Whatever this module
gets wrong can only leave a far cell in: the caller measures the copy again and refuses it
then.
"""

from __future__ import annotations

import html
import io
import re
import shutil
import zipfile
from dataclasses import dataclass

from defusedxml import ElementTree as SafeET

from .containers import (
    CHUNK,
    MAX_COLS,
    MAX_ROWS,
    ZIP_ERRORS,
    UnsafeFile,
    ZipFacts,
    column_index,
    member_chunks,
    shared_strings_part,
)

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
        return _without_far_cells(data, facts)
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
