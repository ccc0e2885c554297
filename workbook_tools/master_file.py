"""The master file -> its worksheets (values and merged ranges), read with python-calamine.

Sniffs the format by content, refuses what is not a workbook, is too big or would make calamine
allocate a huge span, and recovers the merged ranges of an .ods, which calamine does not report.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .cells import value_text
from .errors import MasterLayoutError

MAX_ROWS = 100_000  # read no further, whatever size a sheet claims; far above a province's plan
MAX_COLS = 60
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass
class Sheet:
    """One worksheet: its values, at most MAX_ROWS x MAX_COLS, and its merged cells."""

    name: str
    rows: list[list[object]]
    merged: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)  # cell -> origin

    def raw(self, r: int, c: int) -> object:
        if 0 <= r < len(self.rows) and 0 <= c < len(self.rows[r]):
            return self.rows[r][c]
        return ""

    def value(self, r: int, c: int) -> object:
        """The cell's value; a cell hidden under a merged range shows the range's value."""
        return self.raw(*self.merged.get((r, c), (r, c)))

    def text(self, r: int, c: int) -> str:
        return value_text(self.value(r, c))

    def row_is_empty(self, r: int) -> bool:
        return all(not value_text(v).strip() for v in self.rows[r]) if r < len(self.rows) else True


def read_bytes(path: Path, source: str) -> bytes:
    """The file's bytes; MasterLayoutError if it is missing, a folder, too big or unreadable."""
    if not path.exists():
        raise MasterLayoutError(
            "找不到分解方案文件", file=source, hint="请检查文件路径和文件名是否正确"
        )
    if not path.is_file():
        raise MasterLayoutError(
            "这不是文件而是文件夹", file=source, hint="请指定分解方案工作簿文件"
        )
    if path.stat().st_size > MAX_FILE_BYTES:
        raise MasterLayoutError(
            f"文件超过{MAX_FILE_BYTES // 1024 // 1024}MB，不像是分解方案", file=source
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise MasterLayoutError(f"无法读取文件（{exc.strerror or exc}）", file=source) from exc


def _sniff(data: bytes, source: str) -> str:
    """Format by content, not by file name (renamed files are common), as the return reader
    sniffs: xlsx, ods or xls; else raise."""
    from .containers import sniff_bytes

    kind = sniff_bytes(data).kind
    if kind in ("xlsx", "xlsm"):
        return "xlsx"
    if kind in ("ods", "xls"):
        return kind
    not_workbook = "不是Excel工作簿"
    save_as = "请用Excel或WPS打开后另存为.xlsx"
    message = {
        "corrupt": f"文件已损坏，{not_workbook}",
        "encrypted": "文件设置了打开密码，无法读取",
        "html": f"{not_workbook}，而是网页（HTML/XML）格式的表格",
        "zip": f"{not_workbook}（是其他类型的压缩文件或文档）",
    }.get(kind, f"{not_workbook}（应为.xlsx、.xls或.ods）")
    hint = "请取消密码后另存" if kind == "encrypted" else save_as
    raise MasterLayoutError(message, file=source, hint=hint)


def _refuse_unsafe(data: bytes, fmt: str, source: str) -> None:
    """The reader's checks before any parser runs: bombs, and cells so far apart
    that python-calamine would allocate the whole span and abort the process."""
    from .containers import inspect_workbook_zip
    from .limits import UnsafeFile
    from .xlsfile import inspect_xls

    try:
        if fmt == "xls":
            inspect_xls(data)
        else:
            inspect_workbook_zip(data, fmt)
    except UnsafeFile as exc:
        raise MasterLayoutError(exc.message, file=source, hint=exc.hint or None) from None


def open_workbook(data: bytes, source: str) -> list[Sheet]:
    """All worksheets, visible ones first, with their values and merged ranges."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    fmt = _sniff(data, source)
    _refuse_unsafe(data, fmt, source)
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        metas = [m for m in wb.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
        metas.sort(key=lambda m: m.visible != SheetVisibleEnum.Visible)  # stable: visible first
        ods_merges = _ods_merges(data) if fmt == "ods" else {}
        sheets = []
        for meta in metas:
            cs = wb.get_sheet_by_name(meta.name)
            last_row = cs.end[0] + 1 if cs.end else 0
            if meta.visible == SheetVisibleEnum.Visible and last_row > MAX_ROWS:
                # Cutting a plan silently would drop tasks and the footnote: refuse instead.
                raise MasterLayoutError(
                    f"工作表第 {last_row} 行仍有内容，超过可读取的 {MAX_ROWS} 行",
                    file=source,
                    sheet=meta.name,
                    hint="请删除表格下方多余的内容，或把分解方案拆成几个文件分别处理",
                )
            rows = [row[:MAX_COLS] for row in cs.to_python(skip_empty_area=False, nrows=MAX_ROWS)]
            ranges = cs.merged_cell_ranges or ods_merges.get(meta.name, [])
            sheets.append(Sheet(meta.name, rows, _merge_map(ranges)))
        return sheets
    except (MasterLayoutError, KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:  # calamine's own errors, plain ones, and Rust panics, which
        # pyo3 raises as PanicException(BaseException), on corrupt input
        raise MasterLayoutError(
            f"无法读取工作簿（{type(exc).__name__}: {exc}）",
            file=source,
            hint="文件可能已损坏或加密，请用Excel或WPS打开后另存为.xlsx",
        ) from exc


def _merge_map(ranges) -> dict[tuple[int, int], tuple[int, int]]:
    merged = {}
    for (r0, c0), (r1, c1) in ranges:
        for r in range(r0, min(r1, MAX_ROWS - 1) + 1):
            for c in range(c0, min(c1, MAX_COLS - 1) + 1):
                if (r, c) != (r0, c0):
                    merged[(r, c)] = (r0, c0)
    return merged


def _ods_merges(data: bytes) -> dict[str, list[tuple[tuple[int, int], tuple[int, int]]]]:
    """Merged ranges of an .ods (calamine reports none): the spans in content.xml."""
    from defusedxml.ElementTree import iterparse

    table_ns = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"

    def attr(el, name: str, default: int = 1) -> int:
        try:
            return int(el.get(f"{{{table_ns}}}{name}", default))
        except ValueError:
            return default

    out: dict[str, list] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf, zf.open("content.xml") as fh:
            name, row, col, rows_repeated, depth = None, 0, 0, 1, 0
            for event, el in iterparse(fh, events=("start", "end")):
                tag = el.tag.rsplit("}", 1)[-1]
                if tag == "table" and el.tag.startswith(f"{{{table_ns}"):
                    depth += 1 if event == "start" else -1
                    if event == "start" and depth == 1:
                        name, row = el.get(f"{{{table_ns}}}name", ""), 0
                        out.setdefault(name, [])
                elif depth != 1 or row >= MAX_ROWS:
                    pass
                elif tag == "table-row":
                    if event == "start":
                        col, rows_repeated = 0, attr(el, "number-rows-repeated")
                    else:
                        row += rows_repeated
                elif tag in ("table-cell", "covered-table-cell") and event == "start":
                    rs, cs = attr(el, "number-rows-spanned"), attr(el, "number-columns-spanned")
                    if tag == "table-cell" and (rs > 1 or cs > 1) and col < MAX_COLS:
                        out[name].append(((row, col), (row + rs - 1, col + cs - 1)))
                    col += attr(el, "number-columns-repeated")
                if event == "end":
                    el.clear()
    except Exception:  # merges are a refinement; the values were already read by calamine
        return {}
    return out
