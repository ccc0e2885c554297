"""What a returned file is, decided from its bytes, and whether its zip is safe to hand to a
parser; and the document properties of a workbook zip.

Nothing here trusts a file name, an announced size or a stored dimension. Zip archives (xlsx,
ods, archives of returns) are checked from their central directory *before* any parser sees
them, then every part is streamed once through zipfile with a byte cap to look for entity
declarations and, through the scanners of reach.py, to measure how far the cells really reach
(python-calamine allocates the whole span of a sheet's cells: see reach.py). The few small
parts read on the way (content types, document properties, the workbook and its
relationships) are kept in ZipFacts, for custom_properties, last_saved, shared_strings_part and
the names of sheets in messages.

OLE2 files (xls, encrypted xlsx, WPS) are recognised by their compound file directory, read
with olefile through xlsfile.py. The limits checked here are in limits.py.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field

import olefile
from defusedxml import ElementTree as SafeET

from .limits import (
    MAX_RATIO,
    MAX_SMALL_PART,
    MAX_UNCOMPRESSED,
    MAX_ZIP_ENTRIES,
    RATIO_MIN_SIZE,
    UnsafeFile,
)
from .reach import (
    OVERLAP,
    Extent,
    OdsScanner,
    RowCut,
    SheetReach,
    XlsxScanner,
    refuse_far_cells,
)
from .xlsfile import biff_has_filepass, ole_names, open_ole, workbook_stream

#: What reading a damaged zip member can raise: zipfile's own errors and the inflater's.
ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, zlib.error)
#: Largest piece of a zip member handled at once.
CHUNK = 1 << 20

ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"


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
        scanner: OdsScanner | SheetReach | None = None
        if kind == "ods":
            if lower == "content.xml":
                scanner = OdsScanner(extents)
        elif markup and lower.startswith("xl/worksheets/"):
            scanner = SheetReach(extents, info.filename)
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
                cut = len(buf) - OVERLAP if chunk else len(buf)
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
            scanner = SheetReach(extents, info.filename)
            _remeasure(zf, info, scanner)
        if isinstance(scanner, SheetReach) and scanner.gave_up:
            extents.pop(info.filename, None)
            _remeasure(zf, info, XlsxScanner(extents, info.filename))
        elif isinstance(scanner, SheetReach) and (row_cut := scanner.row_cut()) is not None:
            facts.cuts[info.filename] = row_cut
    if any(e.too_big() for e in extents.values()):  # names only for the message
        sheet_names = _xlsx_sheet_parts(facts) if kind != "ods" else {}
        far = {part: (sheet_names.get(part, part), e) for part, e in extents.items()}
        if not list_far:
            refuse_far_cells(list(far.values()))
        if kind == "ods":  # one part holds every sheet: farcells cuts them all
            far = {"content.xml": next(v for v in far.values() if v[1].too_big())}
        facts.far = {part: value for part, value in far.items() if value[1].too_big()}
    return facts


def _remeasure(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, scanner: SheetReach | XlsxScanner
) -> None:
    """Read one part, already read once without error, through ``scanner``."""
    buf = b""
    try:
        for chunk in member_chunks(zf, info):
            buf += chunk
            cut = len(buf) - OVERLAP if chunk else len(buf)
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
