"""Text a person typed outside cells in a returned workbook: cell comments, text boxes, and the
addresses of links put on cells (a cell reading 详见附件报告 that opens a web page).

Merge quotes each whole under the flag 内容未读入, with its sheet and place. Sources:

- xlsx/xlsm: legacy comments (``xl/comments*.xml``), threaded comments, and shapes with text in
  drawings, found through the workbook's and each sheet's relationships. The VML copies Excel
  keeps of comments are ignored, and so is the legacy copy of a threaded comment. Links to
  outside the workbook (a sheet's ``hyperlink`` with an external relationship).
- ods: ``office:annotation`` in cells, text in frames and shapes (in cells or ``table:shapes``),
  and the address of each ``text:a`` in a cell.
- xls (BIFF8): the text of OBJ/TXO records; NOTE records give a comment's cell, the drawing's
  client anchor a text box's. A shape's name is not read there, nor are links (HLINK records).

The input is hostile: XML is parsed by defusedxml with DTDs refused, each member is read up to
:data:`MAX_MEMBER` bytes, at most :data:`MAX_TEXTS` texts are listed (then one note of how many
more), and nothing raises: a part that cannot be read is skipped and the rest is still returned.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
from dataclasses import dataclass
from urllib.parse import unquote

import defusedxml.ElementTree as safe_et

#: Most bytes read from one zip member or OLE stream; a larger one is skipped.
MAX_MEMBER = 20 << 20
#: Most texts listed; beyond it, one closing entry says how many more there were.
MAX_TEXTS = 500

COMMENT, BOX, LINK = "批注", "文本框", "链接"


@dataclass(frozen=True)
class LooseText:
    """One text typed outside cells: where it is and what it says, whole."""

    sheet: str
    place: str  # e.g. 单元格 D5 的批注, 文本框“文本框 1”（位于 H3 附近）
    kind: str  # 批注 or 文本框
    text: str


def loose_texts(data: bytes, kind: str) -> list[LooseText]:
    """Comments and text boxes of a workbook's bytes; ``kind`` is xlsx, xlsm, ods or xls.

    Texts come in the workbook's order, empty ones and exact repeats left out. Never raises on
    malformed content: whatever could be read is returned.
    """
    found = _Found()
    reader = {"xlsx": _ooxml, "xlsm": _ooxml, "ods": _ods, "xls": _xls}.get(kind)
    if reader is not None:
        try:
            reader(data, found)
        except Exception:  # hostile input may break any parser; keep what was found
            pass
    return found.result()


class _Found:
    def __init__(self) -> None:
        self.texts: dict[LooseText, None] = {}  # in order found, each once
        self.more = 0

    def add(self, sheet: str, place: str, kind: str, text: str) -> None:
        item = LooseText(sheet, place, kind, _clean(text))
        if item.text and item not in self.texts:
            if len(self.texts) < MAX_TEXTS:
                self.texts[item] = None
            else:
                self.more += 1

    def result(self) -> list[LooseText]:
        if not self.more:
            return list(self.texts)
        note = f"另有 {self.more} 处批注、文本框或链接未逐一列出（超过 {MAX_TEXTS} 处），请打开原文件查看"
        return [*self.texts, LooseText("", "其余", COMMENT, note)]


_CONTROL = re.compile(r"[\x00-\x08\x0c\x0e-\x1f\x7f]")


def _clean(text: str) -> str:
    """Newlines made uniform, control characters (which xlsx cannot hold) dropped, and the
    blank ends of lines and of the whole text removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0b", "\n")
    text = _CONTROL.sub("", text)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _cell(col: int, row: int) -> str:
    """A1 reference of zero-based column and row."""
    letters = ""
    col += 1
    while col > 0:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"


def _box_place(name: str, where: str | None, is_box: bool) -> str:
    what = BOX if is_box or re.match(r"(?i)(text\s*box|文本框)", name) else "图形"
    place = f"{what}“{name}”" if name else what
    return f"{place}（位于 {where} 附近）" if where else place


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


# --- xlsx / xlsm ---------------------------------------------------------------------------


class _ZipParts:
    """The zip's members by name (case ignored, as OPC says): called, the parsed XML of a
    member; :meth:`raw`, its bytes (for a part streamed rather than parsed whole). Either is
    None when the member is missing or larger than MAX_MEMBER."""

    def __init__(self, data: bytes) -> None:
        self._zip = zipfile.ZipFile(io.BytesIO(data))
        self._infos = {info.filename.lower(): info for info in self._zip.infolist()}

    def raw(self, name: str) -> bytes | None:
        info = self._infos.get(name.lower())
        if info is None or info.file_size > MAX_MEMBER:
            return None
        with self._zip.open(info) as stream:
            data = stream.read(MAX_MEMBER + 1)
        return None if len(data) > MAX_MEMBER else data

    def __call__(self, name: str):
        data = self.raw(name)
        return None if data is None else safe_et.fromstring(data, forbid_dtd=True)


def _ooxml(data: bytes, found: _Found) -> None:
    part = _ZipParts(data)
    book = next((p for _, k, p in _rels(part, "") if k == "officeDocument"), "xl/workbook.xml")
    targets = {rid: path for rid, _kind, path in _rels(part, book)}
    for sheet in _iter_local(part(book), "sheet"):
        rid = next((v for k, v in sheet.attrib.items() if _local(k) == "id"), "")
        if rid in targets:
            _guard(_ooxml_sheet, part, sheet.get("name", ""), targets[rid], found)


def _rels(part, source: str) -> list[tuple[str, str, str]]:
    """(id, type's last word, resolved target) of the relationships of the part ``source``."""
    folder, base = posixpath.split(source)
    found = []
    for rel in _iter_local(part(posixpath.join(folder, "_rels", base + ".rels")), "Relationship"):
        target = unquote(rel.get("Target", ""))
        if target and rel.get("TargetMode") != "External":
            path = target[1:] if target.startswith("/") else posixpath.join(folder, target)
            kind = rel.get("Type", "").rsplit("/", 1)[-1]
            found.append((rel.get("Id", ""), kind, posixpath.normpath(path)))
    return found


def _iter_local(root, name: str):
    return [] if root is None else [el for el in root.iter() if _local(el.tag) == name]


def _ooxml_sheet(part, sheet: str, path: str, found: _Found) -> None:
    readers = {"threadedComment": _threaded, "comments": _comments, "drawing": _drawing}
    threaded: set[str] = set()  # cells whose legacy comment only copies the thread
    rels = sorted(_rels(part, path), key=lambda rel: rel[1] != "threadedComment")
    for _rid, kind, target in rels:
        if kind in readers:
            _guard(lambda r=readers[kind], t=target: r(part(t), sheet, found, threaded))
    _guard(_links, part, sheet, path, found)


def _links(part, sheet: str, path: str, found: _Found) -> None:
    """The outside addresses a sheet's cells link to: a sheet's ``hyperlink`` elements come
    after its cells, so the sheet is streamed, and not parsed at all without one."""
    raw = part.raw(path)
    if raw is None or b"hyperlink" not in raw:
        return
    folder, base = posixpath.split(path)
    external = {
        rel.get("Id", ""): unquote(rel.get("Target", ""))
        for rel in _iter_local(
            part(posixpath.join(folder, "_rels", base + ".rels")), "Relationship"
        )
        if rel.get("TargetMode") == "External"
    }
    for _, el in safe_et.iterparse(io.BytesIO(raw), forbid_dtd=True):
        name = _local(el.tag)
        if name == "hyperlink":
            rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), "")
            target = external.get(rid, "")
            # A link within the workbook (location=, or a target "#Sheet2!A1") says nothing new.
            if target and not target.startswith("#"):
                found.add(sheet, f"单元格 {el.get('ref', '')} 的链接", LINK, target)
        elif name in ("c", "row"):
            el.clear()


def _guard(func, *args) -> None:
    """One part's reading; a part that fails is skipped so that the others are still read."""
    try:
        func(*args)
    except Exception:  # hostile content: any parser error means only this part is lost
        pass


def _unauthored(text: str, author: str) -> str:
    """The text without the bold "Author:" line Excel starts a comment with. Where the author
    is lost (LibreOffice drops it) that line cannot be told from typed text, and stays."""
    author = author.strip()
    return text[len(author) + 1 :] if author and text.startswith(author + ":") else text


def _unescape(text: str) -> str:
    """SpreadsheetML's _xHHHH_ escapes of characters XML cannot hold."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m[1], 16)), text)


def _threaded(part, sheet: str, found: _Found, refs: set[str]) -> None:
    thread: dict[str, list[str]] = {}
    for item in _iter_local(part, "threadedComment"):
        ref = item.get("ref", "").upper()
        body = next((el for el in item if _local(el.tag) == "text"), None)
        if ref and body is not None and body.text:
            thread.setdefault(ref, []).append(body.text)
    for ref, texts in thread.items():
        refs.add(ref)
        found.add(sheet, f"单元格 {ref} 的批注", COMMENT, _unescape("\n".join(texts)))


def _comments(part, sheet: str, found: _Found, skip: set[str]) -> None:
    authors = [el.text or "" for el in _iter_local(part, "author")]
    for item in _iter_local(part, "comment"):
        ref = item.get("ref", "").upper()
        if not ref or ref in skip:
            continue
        body = next((el for el in item if _local(el.tag) == "text"), None)
        runs = [] if body is None else [el for el in body if _local(el.tag) in ("t", "r")]
        text = "".join(
            (run.text or "") if _local(run.tag) == "t" else _child_text(run, "t") for run in runs
        )
        index = item.get("authorId", "")
        author = authors[int(index)] if index.isdigit() and int(index) < len(authors) else ""
        found.add(sheet, f"单元格 {ref} 的批注", COMMENT, _unauthored(_unescape(text), author))


def _child_text(el, name: str) -> str:
    return "".join(ch.text or "" for ch in el if _local(ch.tag) == name)


def _drawing(part, sheet: str, found: _Found, _refs: set[str]) -> None:
    anchors = ("twoCellAnchor", "oneCellAnchor", "absoluteAnchor")
    for anchor in [el for el in part.iter() if _local(el.tag) in anchors]:
        start = next((el for el in anchor if _local(el.tag) == "from"), None)
        where = None
        if start is not None:
            col, row = _child_text(start, "col").strip(), _child_text(start, "row").strip()
            if col.isdigit() and row.isdigit():
                where = _cell(int(col), int(row))
        for shape in _iter_local(anchor, "sp"):
            body = next((el for el in shape if _local(el.tag) == "txBody"), None)
            if body is None:
                continue
            paras = [el for el in body if _local(el.tag) == "p"]
            text = "\n".join("".join(_a_text(p)) for p in paras)  # runs, fields and breaks
            naming = next(iter(_iter_local(shape, "cNvPr")), None)
            name = "" if naming is None else naming.get("name", "").strip()
            is_box = any(el.get("txBox") in ("1", "true") for el in _iter_local(shape, "cNvSpPr"))
            found.add(sheet, _box_place(name, where, is_box), BOX, text)


def _a_text(para):
    for el in para:
        yield "\n" if _local(el.tag) == "br" else _child_text(el, "t")


# --- ods -----------------------------------------------------------------------------------

_ODF = "urn:oasis:names:tc:opendocument:xmlns:"
_TABLE, _OFFICE, _TEXT, _DRAW = (
    f"{{{_ODF}{n}:1.0}}" for n in ("table", "office", "text", "drawing")
)
_XLINK = "{http://www.w3.org/1999/xlink}"
_ROW_GROUPS = {_TABLE + n for n in ("table-header-rows", "table-rows", "table-row-group")}
_CELLS = {_TABLE + "table-cell", _TABLE + "covered-table-cell"}


def _ods(data: bytes, found: _Found) -> None:
    for table in _ZipParts(data)("content.xml").iter(_TABLE + "table"):
        _guard(_ods_table, table, table.get(_TABLE + "name", ""), found)


def _count(el, attr: str) -> int:
    """A repeat count (``table:number-*-repeated``, ``text:c``): 1 unless a sane number."""
    value = el.get(attr, "1")
    return int(value) if value.isdigit() and 0 < len(value) < 8 else 1


def _ods_table(table, sheet: str, found: _Found) -> None:
    row = 0

    def rows(parent) -> None:
        nonlocal row
        for el in parent:
            if el.tag in _ROW_GROUPS:
                rows(el)
            elif el.tag == _TABLE + "table-row":
                col = 0
                for cell in el:
                    if cell.tag in _CELLS:
                        if len(cell):
                            _ods_cell(cell, sheet, _cell(col, row), found)
                        col += _count(cell, _TABLE + "number-columns-repeated")
                row += _count(el, _TABLE + "number-rows-repeated")
            elif el.tag == _TABLE + "shapes":
                for shape in el:
                    _ods_shape(shape, sheet, None, found)

    rows(table)


def _ods_cell(cell, sheet: str, where: str, found: _Found) -> None:
    for link in cell.iter(_TEXT + "a"):
        target = link.get(_XLINK + "href", "")
        if target and not target.startswith("#"):  # "#Sheet2.A1": within the workbook
            found.add(sheet, f"单元格 {where} 的链接", LINK, unquote(target))
    for el in cell:
        if el.tag == _OFFICE + "annotation":
            creator = el.find("{http://purl.org/dc/elements/1.1/}creator")
            author = "" if creator is None else "".join(creator.itertext())
            text = _unauthored(_odf_paras(el), author)
            found.add(sheet, f"单元格 {where} 的批注", COMMENT, text)
        elif el.tag.startswith(_DRAW):
            _ods_shape(el, sheet, where, found)


def _ods_shape(shape, sheet: str, where: str | None, found: _Found) -> None:
    if shape.tag == _DRAW + "g":  # a group: its members
        for member in shape:
            _ods_shape(member, sheet, where, found)
        return
    end = shape.get(_TABLE + "end-cell-address", "").rsplit(".", 1)[-1].replace("$", "")
    if where and re.fullmatch(r"[A-Z]{1,3}[0-9]{1,7}", end) and end != where:
        # the end cell is kept exactly; LibreOffice 7.4 may write the shape into a cell of the
        # right row but a column too far left, so the span is what locates it
        where = f"{where} 至 {end}"
    boxes = [el for el in shape if el.tag == _DRAW + "text-box"]
    text = "\n".join(filter(None, (_odf_paras(el) for el in [shape, *boxes])))
    name = shape.get(_DRAW + "name", "").strip()
    found.add(sheet, _box_place(name, where, bool(boxes)), BOX, text)


def _odf_paras(parent) -> str:
    """Paragraphs (and list items) directly in ``parent``, one a line."""
    lines = []
    for el in parent:
        if el.tag in (_TEXT + "p", _TEXT + "h"):
            lines.append("".join(_odf_text(el)).strip(" "))
        elif el.tag in (_TEXT + "list", _TEXT + "list-item", _TEXT + "section"):
            lines.append(_odf_paras(el))
    return "\n".join(lines)


def _collapse(text: str | None) -> str:
    # ODF collapses runs of white space in paragraphs; text:s, text:tab and
    # text:line-break stand for the spaces, tabs and breaks typed
    return re.sub(r"[ \t\r\n]+", " ", text) if text else ""


def _odf_text(el):
    yield _collapse(el.text)
    for child in el:
        if child.tag == _TEXT + "s":
            yield " " * min(_count(child, _TEXT + "c"), 1000)
        elif child.tag == _TEXT + "tab":
            yield "\t"
        elif child.tag == _TEXT + "line-break":
            yield "\n"
        elif child.tag not in (_OFFICE + "annotation", _TEXT + "note"):
            yield from _odf_text(child)
        yield _collapse(child.tail)


# --- xls (BIFF8) ---------------------------------------------------------------------------

_BOF, _EOF, _BOUNDSHEET, _FILEPASS = 0x0809, 0x000A, 0x0085, 0x002F
_MSODRAWING, _OBJ, _TXO, _CONTINUE, _NOTE = 0x00EC, 0x005D, 0x01B6, 0x003C, 0x001C
_OT_NOTE = 0x19


def _xls(data: bytes, found: _Found) -> None:
    import olefile

    if not data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return
    with olefile.OleFileIO(io.BytesIO(data)) as ole:  # a file object: bytes could be a path
        if not ole.exists("Workbook") or ole.get_size("Workbook") > MAX_MEMBER:
            return  # BIFF5 ("Book") keeps its text elsewhere; not read
        stream = ole.openstream("Workbook").read(MAX_MEMBER)
    sheets = []
    for rtype, body in _records(stream, 0):
        if rtype == _FILEPASS:
            return  # encrypted: nothing readable
        if rtype == _BOUNDSHEET and len(body) >= 8 and body[5] == 0:  # a worksheet
            sheets.append((struct.unpack_from("<I", body)[0], _xl_string(body, 6, 1)))
        if rtype == _EOF:
            break
    for offset, name in sheets:
        _guard(_xls_sheet, stream, offset, name, found)


def _records(stream: bytes, pos: int):
    while pos + 4 <= len(stream):
        rtype, size = struct.unpack_from("<HH", stream, pos)
        yield rtype, stream[pos + 4 : pos + 4 + size]
        pos += 4 + size


def _xl_string(body: bytes, pos: int, width: int) -> str:
    """An XLUnicodeString (``width`` 2) or ShortXLUnicodeString (1) at ``pos``."""
    count = body[pos] if width == 1 else struct.unpack_from("<H", body, pos)[0]
    flag, start = body[pos + width], pos + width + 1
    if flag & 1:
        return body[start : start + 2 * count].decode("utf-16-le", "replace")
    return body[start : start + count].decode("latin-1")


def _xls_sheet(stream: bytes, offset: int, sheet: str, found: _Found) -> None:
    depth, anchor, objs, notes = 0, None, [], {}
    text_of, wanted, parts = None, 0, []
    for rtype, body in _records(stream, offset):
        if rtype == _BOF:
            depth += 1
        elif rtype == _EOF:
            depth -= 1
            if depth <= 0:
                break
        if depth != 1:  # an embedded chart's substream
            continue
        if rtype == _MSODRAWING:
            anchor = _client_anchor(body) or anchor
        elif rtype == _OBJ and len(body) >= 8 and body[:2] == b"\x15\x00":
            ot, oid = struct.unpack_from("<HH", body, 4)
            objs.append({"ot": ot, "id": oid, "at": anchor, "text": ""})
        elif rtype == _TXO and len(body) >= 12 and objs:
            text_of, wanted, parts = objs[-1], struct.unpack_from("<H", body, 10)[0], []
        elif rtype == _CONTINUE and text_of is not None and wanted > 0 and body:
            wide = body[0] & 1
            piece = body[1:].decode("utf-16-le" if wide else "latin-1", "replace")[:wanted]
            parts.append(piece)
            wanted -= len(piece)
            text_of["text"] = "".join(parts)
        elif rtype == _NOTE and len(body) >= 11:
            row, col, _flags, oid = struct.unpack_from("<HHHH", body)
            notes[oid] = (_cell(col, row), _xl_string(body, 8, 2).strip())
        if rtype not in (_TXO, _CONTINUE):
            text_of = None
    for obj in objs:
        text = obj["text"].replace("\r\n", "\n")
        note = notes.get(obj["id"]) if obj["ot"] == _OT_NOTE else None
        if note:
            found.add(sheet, f"单元格 {note[0]} 的批注", COMMENT, _unauthored(text, note[1]))
        elif obj["ot"] != _OT_NOTE:
            found.add(sheet, _box_place("", obj["at"], True), BOX, text)


def _client_anchor(body: bytes) -> str | None:
    """The top-left cell of the last client anchor (an OfficeArt record) in a drawing record.
    Containers are entered, atoms skipped; a drawing split over records may hide one."""
    pos, cell = 0, None
    while pos + 8 <= len(body):
        ver, rtype, size = struct.unpack_from("<HHI", body, pos)
        if rtype == 0xF010 and pos + 16 <= len(body):
            col, _dx, row = struct.unpack_from("<HHH", body, pos + 10)
            cell = _cell(col, row)
        pos += 8 if ver & 0xF == 0xF else 8 + size
    return cell
