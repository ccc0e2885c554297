"""What a returned file is, decided from its bytes, and whether it is safe to hand to a parser.

Nothing here trusts a file name, an announced size or a stored dimension. Zip archives (xlsx,
ods, archives of returns) are checked from their central directory *before* any parser sees
them, then every part is streamed once through zipfile with a byte cap to look for entity
declarations and to measure how far the cells really reach. The reach matters because
python-calamine allocates rows x columns of a sheet's used range, from the first to the last
cell: a single far cell costs memory for the whole rectangle, and when the allocation fails the
process aborts (not an exception), so a 9 KB file with text in A1 and XFD1048576 would kill the
run. An xlsx sheet that reaches too far is handed to calamine without its far cells (see
farcells.py); other formats are refused.

OLE2 files (xls, encrypted xlsx, WPS) are recognised by their compound file directory, read with
olefile; of the xls itself only the BIFF records that say "encrypted" and where cells are.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import struct
import zipfile
import zlib
from collections import deque
from dataclasses import dataclass, field

import olefile
from defusedxml import ElementTree as SafeET

#: What reading a damaged zip member can raise: zipfile's own errors and the inflater's.
ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, zlib.error)
#: Largest piece of a zip member handled at once.
CHUNK = 1 << 20

# --- Limits --------------------------------------------------------------------------------
#: Largest file (or archive member) read at all. A filled Annex 2 is about 10-50 KB.
MAX_FILE_SIZE = 20 * 1024 * 1024
#: Most members a zip (workbook or archive of returns) may list.
MAX_ZIP_ENTRIES = 2_000
#: Most bytes all members of one zip may inflate to, as announced and as really read.
MAX_UNCOMPRESSED = 200 * 1024 * 1024
#: Highest compression ratio of one member. Only checked for members over
#: RATIO_MIN_SIZE: tiny parts of repeated markup legitimately compress very well.
MAX_RATIO = 100
RATIO_MIN_SIZE = 1024 * 1024
#: Rows and columns of a sheet read; content beyond is reported, not read.
MAX_ROWS = 5_000
MAX_COLS = 50
#: Most cells one sheet may span (first to last non-empty cell), see the module docstring.
MAX_SHEET_CELLS = 2_000_000
#: Least XML a sheet's rows past MAX_ROWS + 1 must take for calamine to be handed a copy
#: without them (see RowCut).
MIN_ROWS_CUT = 256 * 1024
#: Largest small XML part (properties, content types) parsed into memory.
MAX_SMALL_PART = 1024 * 1024

ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"


class UnsafeFile(Exception):
    """A container is refused before parsing. ``message`` and ``hint`` are Chinese."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


# --- Sniffing ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sniffed:
    kind: str  # see sniff()
    detail: str = ""  # what exactly, for messages ("Word 文档", "Excel 2003 XML")
    #: The workbook zip as opened to sniff it (xlsx, xlsm, ods), for inspect_workbook_zip:
    #: no need to read the central directory twice.
    zip: zipfile.ZipFile | None = field(default=None, compare=False, repr=False)


def sniff_bytes(data: bytes) -> Sniffed:
    """Classify ``data`` by content. See :func:`workbook_tools.returns.sniff` for the kinds."""
    if not data:
        return Sniffed("empty")
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return _sniff_zip(data)
    if data[:8] == olefile.MAGIC:
        return _sniff_ole(data)
    head = data[:4096]
    if head.lstrip().startswith(b"%PDF-") or head.startswith(b"%PDF"):
        return Sniffed("pdf")
    text = _head_text(head)
    if not text.strip():
        return Sniffed("empty", "只有空白")
    low = text.lstrip().lower()
    if "urn:schemas-microsoft-com:office:spreadsheet" in low or 'progid="excel.sheet"' in low:
        return Sniffed("unknown", "Excel 2003 XML 表格")
    if low.startswith("mime-version:") or "content-type: multipart/related" in low[:2000]:
        return Sniffed("html", "单个文件网页（.mht）")
    if re.search(r"<\s*(html|table|!doctype\s+html|body|meta\b)", low[:4096]):
        return Sniffed("html")
    return Sniffed("unknown", "文本文件" if _looks_text(head) else "")


def _head_text(head: bytes) -> str:
    for bom, enc in (
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if head.startswith(bom):
            return head[len(bom) :].decode(enc, "replace")
    for enc in ("utf-8", "gb18030"):
        try:
            return head.decode(enc)
        except UnicodeDecodeError:
            continue
    return head.decode("latin-1")


def _looks_text(head: bytes) -> bool:
    return b"\x00" not in head[:1024]


def _sniff_zip(data: bytes) -> Sniffed:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = {i.filename for i in zf.infolist()[: MAX_ZIP_ENTRIES + 1]}
    except ZIP_ERRORS:
        return Sniffed("corrupt", "压缩结构不完整")
    if "[Content_Types].xml" in names:
        types = _read_small(zf, "[Content_Types].xml").decode("utf-8", "replace").lower()
        if "macroenabled" in types or "vbaproject" in types:
            return Sniffed("xlsm", zip=zf)
        if "sheet.binary" in types or "xl/workbook.bin" in names:
            return Sniffed("xlsb")
        if "spreadsheetml" in types or "xl/workbook.xml" in names:
            return Sniffed("xlsx", zip=zf)
        if "wordprocessingml" in types:
            return Sniffed("unknown", "Word 文档")
        if "presentationml" in types:
            return Sniffed("unknown", "PowerPoint 演示文稿")
        return Sniffed("unknown", "Office 文档，但不是工作簿")
    if "mimetype" in names:
        mime = _read_small(zf, "mimetype").strip()
        if mime.startswith(ODS_MIME) and not mime.endswith(b"-template"):
            return Sniffed("ods", zip=zf)
        if mime.startswith(ODS_MIME):
            return Sniffed("ods", "模板")
        if mime.startswith(b"application/vnd.oasis.opendocument"):
            return Sniffed("unknown", "OpenDocument 文档，但不是表格")
    return Sniffed("zip")


def _read_small(zf: zipfile.ZipFile, name: str) -> bytes:
    try:
        with zf.open(name) as f:
            return f.read(MAX_SMALL_PART)
    except (KeyError, *ZIP_ERRORS):
        return b""


def _sniff_ole(data: bytes) -> Sniffed:
    ole = open_ole(data)
    if ole is None:
        return _sniff_ole_by_names(data)
    with ole:
        names = ole_names(ole)
        if {"encryptioninfo", "encryptedpackage"} & names or "\x06dataspaces" in names:
            return Sniffed("encrypted")
        if "workbook" in names or "book" in names:
            if biff_has_filepass(workbook_stream(ole)):
                return Sniffed("encrypted", "xls")
            return Sniffed("xls")
        if "worddocument" in names:
            return Sniffed("unknown", "Word 文档")
        if "powerpoint document" in names:
            return Sniffed("unknown", "PowerPoint 演示文稿")
        return Sniffed("et")


def _sniff_ole_by_names(data: bytes) -> Sniffed:
    """Fallback when the directory cannot be walked: look for the stream names themselves."""

    def has(name: str) -> bool:
        return name.encode("utf-16-le") + b"\x00\x00" in data

    if has("EncryptionInfo") or has("EncryptedPackage"):
        return Sniffed("encrypted")
    if has("Workbook") or has("Book"):
        return Sniffed("xls")
    if has("WordDocument"):
        return Sniffed("unknown", "Word 文档")
    return Sniffed("et")


# --- OLE2 compound files ------------------------------------------------------------------
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


def _refuse_far_cells(extents: list[tuple[str, Extent]]) -> None:
    """Raise UnsafeFile for the first sheet whose cells reach farther than we read."""
    for sheet, extent in extents:
        if extent.too_big():
            raise UnsafeFile(
                f"工作表 {sheet} 的内容范围过大（单元格 {extent.far_cell()} 处仍有内容，"
                f"最多读取 {MAX_ROWS} 行、{MAX_COLS} 列）",
                "请删除表格以外的内容后另存再报送",
            )


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
    _refuse_far_cells([(names.get(start, "?"), e) for start, e in extents.items()])


# --- Zip containers ------------------------------------------------------------------------
def member_chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo):
    """The inflated bytes of a member in pieces of at most :data:`CHUNK`, then b"".

    zipfile reads at most the announced compressed size, stops at the announced size and checks
    the CRC at the end, so a member cannot inflate past what check_zip_headers accepted.
    """
    with zf.open(info) as stream:
        while chunk := stream.read(CHUNK):
            yield chunk
    yield b""


def check_zip_headers(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Refuse a zip from its central directory alone: entry count, announced sizes, ratio."""
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise UnsafeFile(
            f"压缩结构中有 {len(infos)} 个条目，超过上限 {MAX_ZIP_ENTRIES}",
            "请确认文件是正常的 Excel 工作簿后再报送",
        )
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > RATIO_MIN_SIZE and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise UnsafeFile(
                f"压缩条目 {info.filename} 的压缩比异常（{info.file_size} 字节压缩为 {info.compress_size} 字节），疑似压缩炸弹",
                "请确认文件来源，重新另存后再报送",
            )
    if total > MAX_UNCOMPRESSED:
        raise UnsafeFile(
            f"解压后总大小 {total // (1024 * 1024)} MB，超过上限 {MAX_UNCOMPRESSED // (1024 * 1024)} MB",
            "请删除表格中的图片、附件等内容后另存再报送",
        )
    return infos


_DECL_RE = re.compile(
    b"|".join(
        b"\x00?".join(re.escape(bytes([c])) for c in word) for word in (b"<!doctype", b"<!entity")
    ),
    re.IGNORECASE,
)
_XLSX_TAG_RE = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*?)(/?)>"
    rb"(?:(?=\s{0,64}<(?:[A-Za-z_][\w.-]*:)?(v|is|f)[\s/>]))?"
)
# The fast path of _SheetReach. _CELL_RE: a <c> whose first attribute is r="AB12" (so it is the
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
_OVERLAP = 4096


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
        return f"{column_letter(self.max_col)}{self.max_row + 1}"


@dataclass
class ZipFacts:
    """What was learnt from streaming every part of a workbook zip once."""

    names: tuple[str, ...] = ()
    small_parts: dict[str, bytes] = field(default_factory=dict)
    #: xlsx worksheet parts whose cells reach too far for calamine: part -> (sheet, reach).
    #: They must go through farcells.without_far_cells before calamine sees the workbook.
    far: dict[str, tuple[str, Extent]] = field(default_factory=dict)
    #: xlsx worksheet parts that go on past row MAX_ROWS + 1 and can be cut there for calamine
    #: (which parses a sheet whole though only MAX_ROWS + 1 rows are read): part -> where.
    #: farcells.without_rows_past makes the copy; parts in ``far`` are not listed.
    cuts: dict[str, RowCut] = field(default_factory=dict)


@dataclass(frozen=True)
class RowCut:
    """Where the rows past MAX_ROWS + 1 of a worksheet part begin, and what follows them.

    Only made where leaving those rows out changes nothing calamine reads in the first
    MAX_ROWS + 1 rows: every cell with a value from ``at`` on names a row past MAX_ROWS + 1,
    and every <c> there names its cell (see _SheetReach._follow_cut).
    """

    at: int  #: offset in the inflated part of the first <row r="N">, N > MAX_ROWS + 1
    valued: bool  #: a cell left out holds a value: the copy must show that the sheet goes on
    tail: bytes  #: the part from its </sheetData> on (merged cells, validations, page setup…)


_SMALL_PARTS = (
    "[Content_Types].xml",
    "docProps/custom.xml",
    "docProps/core.xml",
    "meta.xml",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
)


def inspect_workbook_zip(
    data: bytes, kind: str, zf: zipfile.ZipFile | None = None, *, list_far: bool = False
) -> ZipFacts:
    """Check a workbook zip before any parser sees it; raise UnsafeFile when refused.

    With ``list_far``, an xlsx whose sheets reach too far is not refused: those sheets are
    listed in ``far``, for the caller to cut them before calamine sees the workbook (an ods is
    refused all the same).

    Reads every member once, as zipfile reads it (stopping at the announced size and verifying
    the CRC, so a member cannot inflate past what was checked; see member_chunks), looking for
    <!DOCTYPE/<!ENTITY in markup and measuring the reach of the cells: xlsx worksheets, ods
    content.xml. A worksheet is any part under xl/worksheets/ and any other part that holds
    sheetData: calamine reads a sheet wherever xl/_rels/workbook.xml.rels points, whatever the
    part is called. ``zf`` is ``data`` already opened as a zip (by sniff_bytes), if it was.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data)) if zf is None else zf
        infos = check_zip_headers(zf)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise UnsafeFile("文件已损坏（压缩结构无法读取）", "请重新保存后再报送") from exc
    facts = ZipFacts(names=tuple(i.filename for i in infos))
    extents: dict[str, Extent] = {}
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise UnsafeFile(f"压缩条目 {info.filename} 有密码", "请取消密码后另存为 .xlsx 再报送")
        lower = info.filename.lower()
        markup = lower.endswith((".xml", ".rels", ".vml")) or lower == "mimetype"
        keep = info.filename in _SMALL_PARTS and info.file_size <= MAX_SMALL_PART
        scanner: _OdsScanner | _SheetReach | None = None
        if kind == "ods":
            if lower == "content.xml":
                scanner = _OdsScanner(extents)
        elif markup and lower.startswith("xl/worksheets/"):
            scanner = _SheetReach(extents, info.filename)
        watch = kind != "ods" and scanner is None
        sheet_data = False  # a part not measured above that holds cells all the same
        buf = tail = b""
        kept = bytearray()
        try:
            for chunk in member_chunks(zf, info):
                total += len(chunk)
                if total > MAX_UNCOMPRESSED:
                    raise UnsafeFile(
                        "解压后内容过大，疑似压缩炸弹", "请确认文件来源，重新另存后再报送"
                    )
                if keep:
                    kept += chunk
                if watch and not sheet_data:
                    sheet_data = b"sheetData" in tail + chunk[:16] or b"sheetData" in chunk
                    tail = chunk[-16:]
                if not markup:
                    continue
                buf += chunk
                if b"!" in buf and _DECL_RE.search(buf):  # "<!" even in UTF-16
                    raise UnsafeFile(
                        f"文件内部的 {info.filename} 含有 DOCTYPE/ENTITY 声明（可能是实体炸弹），已拒绝读取",
                        "请确认文件来源，用 Excel 或 WPS 重新另存为 .xlsx 再报送",
                    )
                cut = len(buf) - _OVERLAP if chunk else len(buf)
                if cut > 0:
                    if scanner is not None:
                        scanner.feed(buf, cut)
                    buf = buf[cut:]
        except UnsafeFile:
            raise
        except ZIP_ERRORS as exc:
            raise UnsafeFile(
                f"文件已损坏（压缩条目 {info.filename} 无法解压）", "请重新保存后再报送"
            ) from exc
        if keep:
            facts.small_parts[info.filename] = bytes(kept)
        if sheet_data:  # found late: measure it now, in its place among the parts
            scanner = _SheetReach(extents, info.filename)
            _remeasure(zf, info, scanner)
        if isinstance(scanner, _SheetReach) and scanner.gave_up:
            extents.pop(info.filename, None)
            _remeasure(zf, info, _XlsxScanner(extents, info.filename))
        elif isinstance(scanner, _SheetReach) and (row_cut := scanner.row_cut()) is not None:
            facts.cuts[info.filename] = row_cut
    if any(e.too_big() for e in extents.values()):  # names only for the message
        sheet_names = _xlsx_sheet_parts(facts) if kind != "ods" else {}
        far = {part: (sheet_names.get(part, part), e) for part, e in extents.items()}
        if not list_far:
            _refuse_far_cells(list(far.values()))
        if kind == "ods":  # one part holds every sheet: farcells cuts them all
            far = {"content.xml": next(v for v in far.values() if v[1].too_big())}
        facts.far = {part: value for part, value in far.items() if value[1].too_big()}
    return facts


def _remeasure(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, scanner: _SheetReach | _XlsxScanner
) -> None:
    """Read one part, already read once without error, through ``scanner``."""
    buf = b""
    try:
        for chunk in member_chunks(zf, info):
            buf += chunk
            cut = len(buf) - _OVERLAP if chunk else len(buf)
            if cut > 0:
                scanner.feed(buf, cut)
                buf = buf[cut:]
    except ZIP_ERRORS as exc:
        raise UnsafeFile(
            f"文件已损坏（压缩条目 {info.filename} 无法解压）", "请重新保存后再报送"
        ) from exc


def _relationships(facts: ZipFacts) -> dict[str, tuple[str, str]]:
    """xl/_rels/workbook.xml.rels: relationship id -> (type, part name)."""
    rels = parse_xml(facts.small_parts.get("xl/_rels/workbook.xml.rels", b""))
    out = {}
    for rel in [] if rels is None else rels:
        target = rel.attrib.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else "xl/" + target
        out[rel.attrib.get("Id", "")] = (rel.attrib.get("Type", ""), target)
    return out


def _xlsx_sheet_parts(facts: ZipFacts) -> dict[str, str]:
    """Worksheet part name -> sheet name, for messages; empty when it cannot be worked out."""
    book = parse_xml(facts.small_parts.get("xl/workbook.xml", b""))
    targets = _relationships(facts)
    if book is None:
        return {}
    out = {}
    for el in book.iter():
        if _local(el.tag) == "sheet":
            rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), "")
            if rid in targets:
                out[targets[rid][1]] = el.attrib.get("name", "")
    return out


def shared_strings_part(facts: ZipFacts) -> str:
    """The part holding an xlsx's shared strings, as the workbook's relationships name it."""
    for kind, target in _relationships(facts).values():
        if kind.endswith("/sharedStrings"):
            return target
    return "xl/sharedStrings.xml"


# The plain path of _SheetReach, for a piece whose every <c> is written as Excel, openpyxl and
# xlsxwriter write it: <c r="AB12" ...>, no namespace prefix, one space, double quotes, capital
# letters. Then its cells are those _CELL_RE finds, and the bounding box of those with a value
# is found without a Python object per cell: the first and the last such cell give a box; one
# search (_outside, a pattern made for the box) finds the next <c> that is not plain or names
# a cell outside the box; none: the box is exact; a plain one with a value widens the box, and
# the search goes on from there (what it passed was inside the narrower box already).
#
# A cell found inside another tag (a "<" in an attribute, not well-formed) is seen by _CELL_RE
# and _XlsxScanner differently: _SheetReach gives up then. One inside the box changes no box.
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
    cols = [] if r0 < 0 else _letters_below(column_letter(c0).encode())
    cols += [] if r0 < 0 else _letters_above(column_letter(c1).encode())
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


#: The row tag from which _SheetReach would cut a sheet (see RowCut), as Excel, openpyxl and
#: xlsxwriter write it.
_ROW_PAST = re.compile(rb'<row r="0*(?:' + b"|".join(_digits_above(MAX_ROWS + 1)) + rb')"')


class _SheetReach:
    """The reach of a worksheet whose every <c> names its cell (r="AB12"), at regex speed.

    Gives the same extent as _XlsxScanner, which also needs <row r> and the position of cells
    that do not name themselves; when one <c> does not, it gives up (``gave_up``) and the part
    is measured again with _XlsxScanner.

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
        end = cut + _OVERLAP // 2
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


class _XlsxScanner:
    """Tracks the cells that carry a value (<v>, <is> or <f>) in spreadsheetml markup."""

    def __init__(self, extents: dict[str, Extent], part: str) -> None:
        self.extents = extents
        self.part = part
        self.row = -1
        self.col = -1

    def feed(self, buf: bytes, cut: int) -> None:
        for m in _XLSX_TAG_RE.finditer(buf, 0, cut + _OVERLAP // 2):
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


class _OdsScanner:
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
        for m in _ODS_TAG_RE.finditer(buf, 0, cut + _OVERLAP // 2):
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


# --- Document properties -------------------------------------------------------------------
def parse_xml(raw: bytes):
    """Parse a small XML part with defusedxml; None when absent or malformed."""
    if not raw:
        return None
    try:
        return SafeET.fromstring(raw)
    except Exception:  # defusedxml raises its own tree of errors besides ParseError
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def custom_properties(facts: ZipFacts, kind: str) -> dict[str, str]:
    """Custom document properties: xlsx docProps/custom.xml, ods meta:user-defined."""
    out: dict[str, str] = {}
    if kind == "ods":
        root = parse_xml(facts.small_parts.get("meta.xml", b""))
        if root is None:
            return out
        for el in root.iter():
            if _local(el.tag) == "user-defined":
                name = next((v for k, v in el.attrib.items() if _local(k) == "name"), "")
                if name:
                    out[name] = "".join(el.itertext())
        return out
    root = parse_xml(facts.small_parts.get("docProps/custom.xml", b""))
    if root is None:
        return out
    for prop in root:
        name = prop.attrib.get("name", "")
        if name:
            out[name] = "".join(prop.itertext())
    return out


def last_saved(facts: ZipFacts, kind: str) -> str:
    """dcterms:modified (xlsx) or dc:date (ods) as stored, "" if absent."""
    part, wanted = ("meta.xml", "date") if kind == "ods" else ("docProps/core.xml", "modified")
    root = parse_xml(facts.small_parts.get(part, b""))
    if root is None:
        return ""
    for el in root.iter():
        if _local(el.tag) == wanted and "purl.org/dc" in el.tag:
            return (el.text or "").strip()
    return ""


# --- Cell references -----------------------------------------------------------------------
@functools.lru_cache(maxsize=1024)  # a return names the same few columns on every row
def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def column_index(letters: str) -> int:
    """A -> 0, AA -> 26."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1
