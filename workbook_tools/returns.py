"""Returned files -> :class:`~workbook_tools.model.ReturnFile`, trusting nothing.

The reader never modifies, moves or deletes what it reads, and it decides what a file is from
its bytes, never from its name. Containers are checked before python-calamine parses them,
under the limits of :mod:`workbook_tools.limits`: zips by :mod:`workbook_tools.containers` (zip
bombs, entity declarations), xls by :mod:`workbook_tools.xlsfile`, and how far the cells reach
by :mod:`workbook_tools.reach`; cells too far from the table for calamine are left out of what
it parses (:mod:`workbook_tools.farcells`) and reported as content outside the table. Values
come back as text exactly as typed; only 序号 and 进展状态 are stripped.

Identity (division, year, quarter) is taken, in order of trust, from the hidden identity sheet
and the custom document properties (``模板标识``), the title above the table (``标题``), and
the file name (``文件名``); disagreements are recorded as sentences in ``conflicts``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import python_calamine as calamine
from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name

from . import layout
from .biffshown import shown_texts as xls_shown_texts
from .cells import value_text
from .containers import (
    ZIP_ERRORS,
    Sniffed,
    custom_properties,
    inspect_workbook_zip,
    last_saved,
    sniff_bytes,
)
from .errors import ReturnReadError
from .farcells import FarCell, without_far_cells, without_rows_past
from .limits import MAX_COLS, MAX_FILE_SIZE, MAX_ROWS, UnsafeFile
from .loose import loose_texts
from .model import ReturnFile, ReturnRow, ReturnTable, Stray, quarter_name
from .shown import shown_texts
from .xlsfile import inspect_xls, ole_has_macros, ole_last_saved

__all__ = [
    "MAX_COLS",
    "MAX_FILE_SIZE",
    "MAX_ROWS",
    "read_return",
    "sniff",
]

#: Rows searched for the header (序号 / 责任事项 / 完成情况): notes above the table push it down.
HEADER_SEARCH_ROWS = 50
#: Texts outside the task rows kept whole per file; further ones are counted in one line.
MAX_STRAYS = 200
#: Cells right of MAX_COLS kept per sheet.
MAX_EXTRA = 50

BY_IDENTITY = "模板标识"
BY_TITLE = "标题"
BY_FILE_NAME = "文件名"

READABLE = ("xlsx", "xlsm", "xls", "ods")
MACRO_NOTE = "含宏（VBA），仅读取数值，未运行任何宏"
_SAVE_AS = "请用 Excel 或 WPS 打开后另存为 .xlsx 再报送"
_USE_TEMPLATE = "请使用下发的 Excel 模板（.xlsx）填报后报送"
#: 0 -> A, 26 -> AA; cached because a return names the same few columns on every row.
_column_letter = functools.lru_cache(maxsize=1024)(xl_col_to_name)


def sniff(data: bytes) -> str:
    """What ``data`` is, by content: one of

    ``xlsx``, ``xlsm`` (macro-enabled), ``xlsb``, ``ods``, ``xls``, ``encrypted`` (an OOXML
    file with an open password, or an xls with a FILEPASS record), ``et`` (an OLE file that is
    not Excel, Word or PowerPoint: WPS), ``html`` (web page or .mht passed off as .xls),
    ``pdf``, ``zip`` (an archive that is not an office document), ``corrupt`` (zip signature
    but no readable directory: truncated), ``empty`` and ``unknown``.
    """
    return sniff_bytes(data).kind


# --- Reading one file ----------------------------------------------------------------------
def read_return(
    data: bytes, source: str, mtime: float = 0.0, *, sniffed: Sniffed | None = None
) -> ReturnFile:
    """Read one returned file from its bytes. Raises :class:`ReturnReadError` when unreadable.

    ``sniffed`` is what :func:`containers.sniff_bytes` said, when the caller already asked.
    """
    if len(data) > MAX_FILE_SIZE:
        raise ReturnReadError(
            f"文件过大（{len(data) / 1024 / 1024:.1f} MB，上限 {MAX_FILE_SIZE // 1024 // 1024} MB）",
            file=source,
            hint="请删除图片、附件等内容后另存再报送",
        )
    if sniffed is None:
        sniffed = sniff_bytes(data)
    _refuse(sniffed, source)
    kind = sniffed.kind
    notes: list[str] = []
    props: dict[str, str] = {}
    modified = ""
    book = data  # what calamine parses: data, or a copy without the far cells
    far: tuple[FarCell, ...] = ()
    if kind in ("xlsx", "xlsm", "ods"):
        try:
            facts = inspect_workbook_zip(data, kind, sniffed.zip, list_far=True)
            measured = facts
            if facts.cuts:  # rows past those read: calamine would parse them all the same
                book = without_rows_past(data, facts)
                measured = inspect_workbook_zip(book, kind, list_far=True)  # the copy too
            if measured.far:
                trimmed = without_far_cells(book, measured)
                inspect_workbook_zip(trimmed.data, kind)  # the copy is measured too
                book, far = trimmed.data, trimmed.cells
                notes += _far_notes(trimmed.counts, far)
        except UnsafeFile as exc:
            raise ReturnReadError(exc.message, file=source, hint=exc.hint) from None
        props = custom_properties(facts, kind)
        modified = last_saved(facts, kind)
        notes += _zip_notes(facts.names, kind)
    else:
        try:
            inspect_xls(data)
        except UnsafeFile as exc:
            raise ReturnReadError(exc.message, file=source, hint=exc.hint) from None
        modified = ole_last_saved(data)
        if ole_has_macros(data):
            notes.append(MACRO_NOTE)
    sheets = _load_sheets(_ods_for_calamine(book) if kind == "ods" else book, source, far)
    ret = _interpret(sheets, props, notes, source, kind, data, modified, mtime)
    # Comments and text boxes: typed where no answer belongs, quoted whole by merge.
    loose = [Stray(t.sheet, t.place, t.text, 0, t.kind) for t in loose_texts(data, kind)]
    if loose:
        ret = dataclasses.replace(ret, strays=ret.strays + tuple(loose))
    return ret


def _far_notes(counts: dict[str, int], listed: Sequence[FarCell]) -> list[str]:
    """A note for each sheet that lost more far cells than are listed one by one."""
    shown: dict[str, int] = {}
    for cell in listed:
        shown[cell.sheet] = shown.get(cell.sheet, 0) + 1
    return [
        f"工作表 {sheet} 在第 {MAX_ROWS + 1} 行以下或第 {MAX_COLS} 列以右共有 {count} 个单元格有内容，"
        f"未读取，列出了其中 {shown.get(sheet, 0)} 个"
        for sheet, count in counts.items()
        if count > shown.get(sheet, 0)
    ]


def _refuse(sniffed: Sniffed, source: str) -> None:
    kind, detail = sniffed.kind, sniffed.detail
    if kind in READABLE:
        return
    messages = {
        "empty": (
            "文件是空的（没有任何内容）" if not detail else f"文件没有内容（{detail}）",
            "请重新保存后再报送",
        ),
        "corrupt": (
            "文件已损坏或不完整（压缩结构无法读取，可能未下载完或传输中断）",
            "请重新保存后再报送",
        ),
        "encrypted": ("文件已加密（设置了打开密码）", "请取消密码后另存为 .xlsx 再报送"),
        "pdf": ("这是 PDF 文件，不是 Excel 工作簿", _USE_TEMPLATE),
        "html": (f"这是网页导出的表格（{detail or 'HTML'}），不是真正的 Excel 工作簿", _SAVE_AS),
        "et": ("无法识别的表格格式（可能是 WPS 表格 .et 文件）", "请在 WPS 中另存为 .xlsx 再报送"),
        "xlsb": ("这是 Excel 二进制工作簿（.xlsb），不能读取", "请另存为 .xlsx 再报送"),
        "zip": ("这是压缩包，不是工作簿", "请解压后报送其中的 .xlsx 文件"),
    }
    message, hint = messages.get(
        kind,
        (
            f"不是 Excel 工作簿（{detail}）" if detail else "无法识别的文件格式，不是 Excel 工作簿",
            _USE_TEMPLATE,
        ),
    )
    raise ReturnReadError(message, file=source, hint=hint)


def _zip_notes(names: Sequence[str], kind: str) -> list[str]:
    lower = [n.lower() for n in names]
    notes = []
    if (
        kind == "xlsm"
        or any(n.endswith("vbaproject.bin") for n in lower)
        or any(n.startswith("basic/") and not n.endswith("/") for n in lower)
    ):
        notes.append(MACRO_NOTE)
    if any(n.startswith("xl/externallinks/") for n in lower):
        notes.append("含外部链接（引用其他工作簿），读取的是文件中保存的值，可能不是最新")
    if any(n.startswith("xl/comments") or n.startswith("xl/threadedcomments/") for n in lower):
        notes.append("含批注，批注内容未读取")
    if any(n.startswith("xl/embeddings/") for n in lower):
        notes.append("含嵌入的对象或附件，未读取")
    return notes


@dataclass
class _Sheet:
    name: str
    hidden: bool
    grid: list[list[Any]]  # rows from sheet row 1, at most MAX_COLS values each
    rows_cut: bool  # the sheet goes on past MAX_ROWS
    beyond: list[tuple[int, int, Any]]  # (row, col) 0-based of values right of MAX_COLS
    beyond_more: int = 0  # further such values, not kept


# python-calamine drops the elements ODF uses for a tab and a line break inside a cell
# (LibreOffice writes a typed tab as <text:tab/>), joining the text around them. Spelt as
# character references they reach calamine as the characters themselves.
_ODS_CONTROLS = re.compile(rb"<text:(tab|line-break)(?:\s[^>]*)?/>")
_ODS_CONTROL_TEXT = {b"tab": b"&#9;", b"line-break": b"&#10;"}
# Gnumeric indents content.xml; calamine takes the whitespace between elements for cell text
# and fails. Whitespace between two tags is layout, except inside a paragraph (after a text:
# element other than the paragraph's end), where it is text.
_ODS_LAYOUT = re.compile(rb"<(/?)([A-Za-z][\w.-]*:[\w.-]+)[^>]*>\s+(?=<)")


def _ods_layout(match: re.Match) -> bytes:
    closing, name = match[1], match[2]
    in_text = name.startswith(b"text:") and not (closing and name in (b"text:p", b"text:h"))
    return match[0] if in_text else match[0].rstrip()


# A number shown as "85%", "12,000" or "2022/4/8" is stored as 0.85, 12000, 44659; the cell's
# paragraph holds what the person saw. Non-text cells that have a paragraph are read as text.
_ODS_VALUE_CELL = re.compile(
    rb'<table:table-cell\b[^>]*\boffice:value-type="(?:float|percentage|currency|date|time)"[^>]*>'
)
_ODS_VALUE_ATTRS = re.compile(
    rb'\s(?:office|calcext):(?:value-type|value|date-value|time-value|currency)="[^"]*"'
)


def _ods_display(match: re.Match) -> bytes:
    tag = match[0]
    if tag.endswith(b"/>"):
        return tag  # no paragraph: the value is all there is
    return _ODS_VALUE_ATTRS.sub(b"", tag)[:-1] + b' office:value-type="string">'


def _ods_for_calamine(data: bytes) -> bytes:
    """``data`` (an .ods already checked by inspect_workbook_zip) as calamine reads it right:
    tabs and breaks as text, layout whitespace dropped, numbers as the text shown."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        content = zf.read("content.xml")
        fixed = _ODS_CONTROLS.sub(lambda m: _ODS_CONTROL_TEXT[m[1]], content)
        fixed = _ODS_LAYOUT.sub(_ods_layout, fixed)
        fixed = _ODS_VALUE_CELL.sub(_ods_display, fixed)
        if fixed == content:
            return data
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as new:  # same entries, order and compression
            for info in zf.infolist():
                # A fresh entry: the original's flags (data descriptors) do not fit a rewrite.
                entry = zipfile.ZipInfo(info.filename, info.date_time)
                entry.compress_type = info.compress_type
                new.writestr(entry, fixed if info.filename == "content.xml" else zf.read(info))
        return out.getvalue()
    except (KeyError, *ZIP_ERRORS):
        return data  # calamine reports what is wrong with it


def _load_sheets(data: bytes, source: str, far: Sequence[FarCell] = ()) -> list[_Sheet]:
    """Every worksheet of ``data``; ``far`` are cells left out of it, listed with their sheet's
    cells right of MAX_COLS (``beyond``)."""

    def fail(exc: BaseException) -> ReturnReadError:
        if isinstance(exc, calamine.PasswordError):
            return ReturnReadError(
                "文件已加密（设置了打开密码）", file=source, hint="请取消密码后另存为 .xlsx 再报送"
            )
        # The file passed every check above: what failed may be the reader, not the file.
        detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return ReturnReadError(
            f"本工具的表格读取程序无法解析这个文件（{type(exc).__name__}：{detail}）",
            file=source,
            hint="如果它在 Excel、WPS 或 LibreOffice 中能正常打开，请另存为 .xlsx 再报送，"
            "并把原文件转给协调人以便改进；打不开则说明文件已损坏，请重新保存后再报送",
        )

    sheets = []
    try:
        book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        for meta in book.sheets_metadata:
            if meta.typ != calamine.SheetTypeEnum.WorkSheet:
                continue
            sheet = book.get_sheet_by_name(meta.name)
            # skip_empty_area=False keeps row 1 at index 0 and column A at index 0; iter_rows
            # does not (it starts at the first used column).
            rows = sheet.to_python(skip_empty_area=False, nrows=MAX_ROWS + 1)
            grid, beyond, more = [], [], 0
            for r, row in enumerate(rows[:MAX_ROWS]):
                grid.append(list(row[:MAX_COLS]))
                if len(row) > MAX_COLS:
                    right = [
                        (r, c, v)
                        for c, v in enumerate(row)
                        if c >= MAX_COLS and value_text(v).strip()
                    ]
                    room = MAX_EXTRA - len(beyond)
                    beyond += right[:room]
                    more += len(right[room:])
            beyond += [(f.row, f.col, f.text) for f in far if f.sheet == meta.name]
            hidden = meta.visible != calamine.SheetVisibleEnum.Visible
            sheets.append(_Sheet(meta.name, hidden, grid, len(rows) > MAX_ROWS, beyond, more))
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:  # pyo3 turns Rust panics into PanicException(BaseException)
        raise fail(exc) from None
    return sheets


def _cell(grid: list[list[Any]], r: int, c: int) -> str:
    if r < len(grid) and 0 <= c < len(grid[r]):
        return value_text(grid[r][c])
    return ""


def _ref(r: int, c: int) -> str:
    return f"{_column_letter(c)}{r + 1}"


def _find_header(sheet: _Sheet) -> tuple[int, dict[str, int]] | None:
    """(row, template column -> index) of the first row that reads as the task table's header:
    an answer column and a 序号 or 责任事项 column, recognised by meaning (layout.header_label)."""
    for r, row in enumerate(sheet.grid[:HEADER_SEARCH_ROWS]):
        texts = [value_text(v) for v in row]
        if not any(t.strip() for t in texts) or any(layout.parse_title(t) for t in texts):
            continue
        cols = layout.header_columns(texts)
        if layout.COL_ANSWER in cols and (layout.COL_NUMBER in cols or layout.COL_TEXT in cols):
            return r, cols
    return None


@dataclass
class _Table:
    sheet: _Sheet
    header: int
    cols: dict[str, int]
    rows: list[ReturnRow]
    strays: list[Stray]
    title: tuple[int, int, str] | None

    @property
    def answered(self) -> int:
        return sum(1 for row in self.rows if row.answer.strip())


def _tables(sheets: list[_Sheet], ident_rows: bool) -> list[_Table]:
    """Every task table of the file, the template's data sheet first."""
    found = []
    for sheet in sorted(sheets, key=lambda s: s.name != layout.DATA_SHEET):
        if sheet.name in (layout.IDENTITY_SHEET, layout.GUIDE_SHEET):
            continue
        header = _find_header(sheet)
        if header is None and ident_rows and sheet.name == layout.DATA_SHEET:
            # Headers rewritten beyond recognition in the template itself: its columns are where
            # the template put them.
            header = (layout.ROW_HEADER - 1, {h: i for i, h in enumerate(layout.HEADERS)})
        if header is None:
            continue
        r, cols = header
        rows, strays = _task_rows(sheet, r, cols)
        found.append(_Table(sheet, r, cols, rows, strays, _title(sheet, r)))
    return found


def _show_numbers_as_typed(data: bytes, sheets: list[_Sheet], shown=shown_texts) -> None:
    """Numbers and dates in ``sheets`` (past column A, where 序号 stands) replaced by the text
    their number format showed: "85%", not 0.85 (shown.py; biffshown.py for .xls)."""
    for sheet in sheets:
        cells = {
            _ref(r, c): v
            for r, row in enumerate(sheet.grid)
            for c, v in enumerate(row)
            if c and v is not None and v.__class__ is not str
        }
        if cells:
            for ref, text in shown(data, sheet.name, cells).items():
                r, c = xl_cell_to_rowcol(ref)
                sheet.grid[r][c] = text


def _title(sheet: _Sheet, header: int) -> tuple[int, int, str] | None:
    return next(
        (
            t
            for row in sheet.grid[: max(header, 0)]
            for v in row
            for t in [layout.parse_title(value_text(v))]
            if t
        ),
        None,
    )


def _interpret(
    sheets: list[_Sheet],
    props: dict[str, str],
    notes: list[str],
    source: str,
    kind: str,
    data: bytes,
    modified: str,
    mtime: float,
) -> ReturnFile:
    if kind in ("xlsx", "xlsm"):
        _show_numbers_as_typed(data, sheets)
    elif kind == "xls":
        _show_numbers_as_typed(data, sheets, xls_shown_texts)
    ident = _identity(sheets, props, notes)
    tables = _tables(sheets, bool(ident.rows))
    if not tables:
        seen = "、".join(s.name for s in sheets) or "（没有工作表）"
        raise ReturnReadError(
            f"找不到任务表：没有一个工作表含有“完成情况”列和“序号”或“责任事项”列的表头"
            f"（文件中的工作表：{seen}）",
            file=source,
            hint="请使用下发的模板填报；表头可以加注时间（如“完成情况（截至3月底）”），但不要删除",
        )
    # The data sheet, unless it was left empty and the answers were typed into a copy of it.
    main = tables[0]
    if main.answered == 0:
        fuller = max(tables, key=lambda t: t.answered)
        if fuller.answered:
            main = fuller
            notes.append(f"完成情况填写在工作表 {main.sheet.name} 中，已按该表读取")
    sheet, header = main.sheet, main.header
    if sheet.name != layout.DATA_SHEET:
        notes.append(f"表格在工作表 {sheet.name} 中（模板中为 {layout.DATA_SHEET}）")
    if sheet.hidden:
        notes.append(f"工作表 {sheet.name} 被隐藏")
    for label in (layout.COL_STATUS, layout.COL_PLAN):
        if label not in main.cols:
            notes.append(f"工作表 {sheet.name} 缺少“{label}”列")
    extra: list[str] = [
        f"工作表 {sheet.name} 第 {MAX_COLS} 列以右另有 {sheet.beyond_more} 个单元格有内容（超出读取范围，未逐一列出）"
        for sheet in sheets
        if sheet.beyond_more
    ]
    for table in tables:
        if table.sheet.rows_cut:
            notes.append(f"工作表 {table.sheet.name} 超过 {MAX_ROWS} 行，只读取了前 {MAX_ROWS} 行")
            extra.append(
                f"工作表 {table.sheet.name} 第 {MAX_ROWS + 1} 行及以后仍有内容（超过 {MAX_ROWS} 行的部分未读取）"
            )
    strays = list(main.strays)
    others = []
    for table in tables:
        if table is main:
            continue
        strays += table.strays
        t = table.title or (None, None, "")
        others.append(
            ReturnTable(table.sheet.name, tuple(table.rows), _division_or_none(t[2]), t[0], t[1])
        )
    table_sheets = {t.sheet.name for t in tables}
    for other in sheets:
        if other.name not in table_sheets and other.name not in (
            layout.GUIDE_SHEET,
            layout.IDENTITY_SHEET,
        ):
            strays += _sheet_content(other)
            if other.rows_cut:
                extra.append(f"工作表 {other.name} 第 {MAX_ROWS + 1} 行及以后仍有内容（未读取）")
    if len(strays) > MAX_STRAYS:
        extra.append(f"另有 {len(strays) - MAX_STRAYS} 处表格以外的内容未逐一列出")
        strays = strays[:MAX_STRAYS]

    filler = _filler(sheet, header)
    title = main.title
    from_title = {}
    if title:
        from_title = {"year": title[0], "quarter": title[1]}
        if division := _division_or_none(title[2]):
            from_title["division"] = division
    from_file = _from_file_name(source)
    chosen, by, conflicts = _resolve(ident, from_title, from_file)
    return ReturnFile(
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
        format=kind,
        sheet=sheet.name,
        division=chosen.get("division"),
        year=chosen.get("year"),
        quarter=chosen.get("quarter"),
        identified_by=by,
        rows=tuple(main.rows),
        fingerprints=ident.fingerprints,
        identity_rows=ident.rows,
        template_version=ident.version,
        conflicts=tuple(ident.conflicts + conflicts),
        extra=tuple(extra),
        notes=tuple(dict.fromkeys(notes)),
        filled_by=filler.get(layout.LABEL_FILLED_BY, ""),
        reviewer=filler.get(layout.LABEL_REVIEWER, ""),
        phone=filler.get(layout.LABEL_PHONE, ""),
        fill_date=filler.get(layout.LABEL_DATE, ""),
        modified=modified,
        mtime=mtime,
        strays=tuple(strays),
        tables=tuple(others),
        title_division=from_title.get("division"),
        file_division=from_file.get("division"),
        identity_division=ident.values.get("division"),
    )


_WHOLE_FLOAT = re.compile(r"\d+\.0+")  # a 序号 typed or read as 3.0
_ANNEX = re.compile(r"附件\s*\d+")


def _task_rows(
    sheet: _Sheet, header: int, cols: dict[str, int]
) -> tuple[list[ReturnRow], list[Stray]]:
    """The rows below the header, and every typed cell outside the table's columns (and above
    the header, other than the annex mark, the title and the 填报人 line), quoted whole."""
    rows: list[ReturnRow] = []
    strays = _above_header(sheet, header)
    mapped = set(cols.values())
    letters = {label: _column_letter(c) for label, c in cols.items()}
    # Target pairs and 上季度完成情况 (layout.COL_TARGET…): read, or known to be the template's.
    header_texts = (
        [value_text(v) for v in sheet.grid[header]] if 0 <= header < len(sheet.grid) else []
    )
    pairs, previous = layout.extra_columns(header_texts)
    pairs = [(t, f) for t, f in pairs if f not in mapped and t not in mapped]
    mapped |= {c for pair in pairs for c in pair if c is not None}
    if previous is not None:
        mapped.add(previous)
    read = (
        layout.COL_NUMBER,
        layout.COL_TEXT,
        layout.COL_ANSWER,
        layout.COL_STATUS,
        layout.COL_PLAN,
    )
    for r in range(header + 1, len(sheet.grid)):
        texts = [v if v.__class__ is str else value_text(v) for v in sheet.grid[r]]
        values = {label: texts[c] if c < len(texts) else "" for label, c in cols.items()}
        number = values.get(layout.COL_NUMBER, "").strip()
        figures = tuple(
            (
                texts[t] if t is not None and t < len(texts) else "",
                texts[f] if f < len(texts) else "",
                _ref(r, f),
                _ref(r, t) if t is not None else "",
            )
            for t, f in pairs
        )
        if not any(t.strip() or v.strip() for t, v, *_ in figures):
            figures = ()
        if any(values.get(label, "").strip() for label in read) or figures:
            if "." in number and _WHOLE_FLOAT.fullmatch(number):
                number = number.split(".")[0]
            rows.append(
                ReturnRow(
                    row=r + 1,
                    number=number,
                    text=values.get(layout.COL_TEXT, ""),
                    answer=values.get(layout.COL_ANSWER, ""),
                    status=values.get(layout.COL_STATUS, "").strip(),
                    plan=values.get(layout.COL_PLAN, ""),
                    columns=letters,
                    role=values.get(layout.COL_ROLE, ""),
                    figures=figures,
                    previous=texts[previous]
                    if previous is not None and previous < len(texts)
                    else "",
                    previous_cell=_ref(r, previous) if previous is not None else "",
                )
            )
        strays += [
            Stray(sheet.name, f"单元格 {_ref(r, c)}", t, r + 1)
            for c, t in enumerate(texts)
            if c not in mapped and t and not t.isspace()
        ]
    strays += [
        Stray(sheet.name, f"单元格 {_ref(r, c)}", value_text(v), r + 1) for r, c, v in sheet.beyond
    ]
    return rows, strays


def _above_header(sheet: _Sheet, header: int) -> list[Stray]:
    """Cells above the header that are not the annex mark, a title, or the 填报人 line."""
    out = []
    for r, row in enumerate(sheet.grid[:header]):
        texts = [value_text(v).strip() for v in row]
        if r < layout.ROW_TITLE and sum(1 for t in texts if t) == 1:
            continue  # the template's 附件2 and title rows, whatever they were changed to
        after_label = False  # the cell after a bare 填报人 label holds its value
        for c, text in enumerate(texts):
            if not text:
                continue
            norm = layout.normalise_space(text)
            known = (
                after_label
                or norm.startswith(layout.LABEL_UNIT)
                or _filler_label(norm) is not None
                or _ANNEX.fullmatch(norm)
                or layout.parse_title(text)
                or "工作目标完成情况" in norm
            )
            after_label = norm.rstrip("：:") in _BARE_LABELS
            if not known:
                out.append(Stray(sheet.name, f"单元格 {_ref(r, c)}", value_text(row[c]), r + 1))
    return out


def _sheet_content(sheet: _Sheet) -> list[Stray]:
    cells = [
        (r, c, v)
        for r, row in enumerate(sheet.grid)
        for c, v in enumerate(row)
        if value_text(v).strip()
    ]
    cells += sheet.beyond
    return [Stray(sheet.name, f"单元格 {_ref(r, c)}", value_text(v)) for r, c, v in cells]


def _filler(sheet: _Sheet, header: int) -> dict[str, str]:
    """Values right of the 填报人 / 审核人 (负责人) / 联系电话 / 填报日期 labels above the header,
    or after "：" in the label's own cell; keyed by layout.FILLER_LABELS."""
    out: dict[str, str] = {}
    for row in sheet.grid[:header]:
        texts = [value_text(v).strip() for v in row]
        for c, text in enumerate(texts):
            norm = layout.normalise_space(text)
            written = _filler_label(norm)
            if written is None:
                continue
            label = layout.LABEL_ALIASES.get(written, written)
            if label in out:
                continue
            rest = norm[len(written) :]
            if rest.strip("：:"):  # "填报人：张三" in one cell
                out[label] = re.split(r"[：:]", text, maxsplit=1)[-1].strip()
                continue
            for value in texts[c + 1 :]:
                if layout.normalise_space(value).rstrip("：:") in _BARE_LABELS:
                    break
                if value:
                    out[label] = value
                    break
    return out


_BARE_LABELS = frozenset((*layout.FILLER_LABELS, *layout.LABEL_ALIASES, layout.LABEL_UNIT))


def _filler_label(norm: str) -> str | None:
    """The filler label (as written: 负责人 too) that ``norm`` starts with, if any."""
    for label in (*layout.FILLER_LABELS, *layout.LABEL_ALIASES):
        if norm.startswith(label):
            return label
    return None


# --- Identity ------------------------------------------------------------------------------
@dataclass
class _Identity:
    values: dict[str, Any]
    version: str
    fingerprints: tuple[tuple[str, str], ...]
    conflicts: list[str]
    rows: tuple[tuple[str, int], ...] = ()  # (task number, its row in the template)


_FIELD_NAMES = {"division": "处室", "year": "年度", "quarter": "季度"}


def _show(field: str, value: Any) -> str:
    return f"第{quarter_name(value)}季度" if field == "quarter" else str(value)


def _parse_year(text: str) -> int | None:
    m = re.fullmatch(r"(\d{4})(?:年|\.0+)?", layout.normalise_space(text))
    return int(m.group(1)) if m else None


def _parse_quarter(text: str) -> int | None:
    norm = layout.normalise_space(text)
    m = re.fullmatch(r"第?([一二三四1-4])(?:季度)?(?:\.0+)?", norm)
    return layout.parse_quarter(m.group(1)) if m else None


def _division_or_none(text: str) -> str | None:
    name = layout.normalise_division(text)
    return name if name and "XXX" not in name.upper() else None


def _identity_values(raw: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if (year := _parse_year(raw.get("year", ""))) is not None:
        out["year"] = year
    if (quarter := _parse_quarter(raw.get("quarter", ""))) is not None:
        out["quarter"] = quarter
    if division := _division_or_none(raw.get("division", "")):
        out["division"] = division
    return out


def _identity(sheets: list[_Sheet], props: dict[str, str], notes: list[str]) -> _Identity:
    keys = {
        layout.ID_VERSION: "version",
        layout.ID_YEAR: "year",
        layout.ID_QUARTER: "quarter",
        layout.ID_DIVISION: "division",
    }
    from_sheet: dict[str, str] = {}
    prints: list[tuple[str, str]] = []
    rows: list[tuple[str, int]] = []
    sheet = next((s for s in sheets if s.name == layout.IDENTITY_SHEET), None)
    if sheet is not None:
        in_table = False
        for row in sheet.grid:
            a, b, c = [value_text(v).strip() for v in row[:3]] + [""] * (3 - len(row[:3]))
            if in_table:
                if a:
                    prints.append((a, c))
                    if b.isdigit():
                        rows.append((a, int(b)))
                continue
            if tuple(layout.normalise_space(x) for x in (a, b, c)) == layout.ID_TABLE_HEADER:
                in_table = True
            elif (key := keys.get(layout.normalise_space(a))) and key not in from_sheet:
                from_sheet[key] = b
    from_props = {
        "version": props.get(layout.PROP_VERSION, "").strip(),
        "year": props.get(layout.PROP_YEAR, ""),
        "quarter": props.get(layout.PROP_QUARTER, ""),
        "division": props.get(layout.PROP_DIVISION, ""),
    }
    sheet_vals, prop_vals = _identity_values(from_sheet), _identity_values(from_props)
    conflicts = []
    for name in ("division", "year", "quarter"):
        if name in sheet_vals and name in prop_vals and sheet_vals[name] != prop_vals[name]:
            conflicts.append(
                f"文档属性中的{_FIELD_NAMES[name]}为“{_show(name, prop_vals[name])}”，"
                f"模板标识工作表为“{_show(name, sheet_vals[name])}”，以模板标识工作表为准"
            )
    version = from_sheet.get("version", "").strip() or from_props["version"]
    if version and version not in layout.KNOWN_VERSIONS:
        notes.append(f"模板版本为 {version}，当前版本为 {layout.TEMPLATE_VERSION}")
    return _Identity({**prop_vals, **sheet_vals}, version, tuple(prints), conflicts, tuple(rows))


_DIVISION_LIKE = re.compile(
    r"[\u4e00-\u9fff]{1,30}(?:处|室|中心|站|院|所|馆|会|队|办|科|局|部|组|园|校|庭)(?:（[^（）]*）)?"
)
_COPY_SUFFIX = re.compile(
    r"(?:\s*[-－_]?\s*副本|\s*[（(]\d{1,3}[)）]|\s*-\s*copy)+$", re.IGNORECASE
)


def _from_file_name(source: str) -> dict[str, Any]:
    """Year, quarter and division read from a file name such as
    2022年第一季度工作目标完成情况-养老服务处.xlsx (layout.file_stem) or the full title. The
    division is what is left of the name, suffixes and all (养老服务处（定稿）, 养老服务处-张三):
    merge finds the expected division inside it."""
    name = PurePosixPath(source).name
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", name)
    stem = _COPY_SUFFIX.sub("", layout.normalise_space(stem))
    out: dict[str, Any] = {}
    if m := re.search(r"(\d{4})年", stem):
        out["year"] = int(m.group(1))
    if m := re.search(r"第([一二三四1-4])季度", stem):
        out["quarter"] = layout.parse_quarter(m.group(1))
    rest = _FILE_NAME_WORDS.sub("-", stem).strip("-－—_ ")
    if rest and _DIVISION_LIKE.search(rest):
        out["division"] = layout.normalise_division(rest)
    return out


_FILE_NAME_WORDS = re.compile(
    r"附件\s*\d+|\d{4}年(?:度)?|市民政局|第[一二三四1-4]季度|工作目标完成情况(?:表)?|完成情况(?:表)?"
)


def _resolve(
    ident: _Identity, title: dict[str, Any], file_name: dict[str, Any]
) -> tuple[dict[str, Any], str, list[str]]:
    sources = [(BY_IDENTITY, ident.values), (BY_TITLE, title), (BY_FILE_NAME, file_name)]
    chosen: dict[str, Any] = {}
    chosen_by: dict[str, str] = {}
    conflicts = []
    for name in ("division", "year", "quarter"):
        for by, values in sources:
            value = values.get(name)
            if value is None:
                continue
            if name not in chosen:
                chosen[name], chosen_by[name] = value, by
            elif value != chosen[name] and name != "division":  # merge judges the division
                where = f"{by}中的" if by != BY_IDENTITY else by
                conflicts.append(
                    f"{where}{_FIELD_NAMES[name]}为“{_show(name, value)}”，{chosen_by[name]}为"
                    f"“{_show(name, chosen[name])}”，以{chosen_by[name]}为准"
                )
    return chosen, chosen_by.get("division", ""), conflicts
