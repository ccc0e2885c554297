"""A returned file's worksheets as grids of values, read through python-calamine.

Only bytes already checked by :mod:`workbook_tools.returns` come here. An .ods is first rewritten
the way calamine reads it right (tabs, line breaks, layout whitespace, numbers as shown), and
numbers in xlsx and xls cells are replaced by the text their number format showed
(:mod:`workbook_tools.shown`, :mod:`workbook_tools.biffshown`).
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import python_calamine as calamine
from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name

from .cells import value_text
from .containers import ZIP_ERRORS
from .errors import ReturnReadError
from .farcells import FarCell
from .limits import MAX_COLS, MAX_ROWS
from .shown import shown_texts

#: Cells right of MAX_COLS kept per sheet.
MAX_EXTRA = 50

#: 0 -> A, 26 -> AA; cached because a return names the same few columns on every row.
column_letter = functools.lru_cache(maxsize=1024)(xl_col_to_name)


@dataclass
class Sheet:
    """One worksheet of a returned file, as calamine read it (within MAX_ROWS and MAX_COLS)."""

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


def ods_for_calamine(data: bytes) -> bytes:
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


def load_sheets(data: bytes, source: str, far: Sequence[FarCell] = ()) -> list[Sheet]:
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
            sheets.append(Sheet(meta.name, hidden, grid, len(rows) > MAX_ROWS, beyond, more))
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:  # pyo3 turns Rust panics into PanicException(BaseException)
        raise fail(exc) from None
    return sheets


def cell_ref(r: int, c: int) -> str:
    """The A1 reference of 0-based (row, column)."""
    return f"{column_letter(c)}{r + 1}"


def mend_split_characters(data: bytes, sheets: list[Sheet]) -> None:
    """Text cells of an .xls that python-calamine read with U+FFFD in them, decoded again from
    the file (biffshown.string_texts): a character cut between two records comes back whole."""
    from .biffshown import string_texts

    for sheet in sheets:
        refs = [
            cell_ref(r, c)
            for r, row in enumerate(sheet.grid)
            for c, v in enumerate(row)
            if v.__class__ is str and "\ufffd" in v
        ]
        if refs:
            for ref, text in string_texts(data, sheet.name, refs).items():
                r, c = xl_cell_to_rowcol(ref)
                sheet.grid[r][c] = text


def show_numbers_as_typed(data: bytes, sheets: list[Sheet], shown=shown_texts) -> None:
    """Numbers and dates in ``sheets`` (past column A, where 序号 stands) replaced by the text
    their number format showed: "85%", not 0.85 (shown.py; biffshown.py for .xls)."""
    for sheet in sheets:
        cells = {
            cell_ref(r, c): v
            for r, row in enumerate(sheet.grid)
            for c, v in enumerate(row)
            if c and v is not None and v.__class__ is not str
        }
        if cells:
            for ref, text in shown(data, sheet.name, cells).items():
                r, c = xl_cell_to_rowcol(ref)
                sheet.grid[r][c] = text
