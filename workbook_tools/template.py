"""Master -> the Annex 2 workbook (附件2) of one division: :func:`build_template`.

Everything a returned file is recognised by (sheet names, header labels, fixed rows, the identity
sheet, custom properties, title, file stem) comes from :mod:`layout`; this module only decides how
the workbook looks. Written with xlsxwriter, in memory, one small workbook per division. Here: the
data sheet, the hidden identity sheet and the finished file; the guide sheet is
template_guide.py, the columns for targets and last quarter's answers template_extra.py, the
formats and checked writes they share template_book.py; every division's file, template_files.py.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from datetime import datetime

from . import layout
from .cells import lines_height, text_lines, text_units
from .errors import InputError
from .model import BUREAU, STATUSES, Master, Task, quarter_name
from .template_book import (
    ANSWER_MIN_LINES,
    FONT_BODY,
    R_ANNEX,
    R_FILLER,
    R_FIRST,
    R_HEADER,
    R_TITLE,
    R_UNIT,
    SIZE_TITLE,
    STATUS_LIST,
    Book,
    page_setup,
    put,
    put_row,
)
from .template_extra import ExtraColumns, Previous
from .template_guide import write_guide

__all__ = ["build_template"]

# --------------------------------------------------------------------------------------------
# Layout of the data sheet

ANNEX_LABEL = "附件2"

# Column widths in Excel units (width of "0" in Calibri 11, about 1.85 mm). About 146 units fill
# an A4 landscape page at 100 % with our margins; fit-to-width scales anything wider.
PAGE_UNITS = 146
ROLE_WIDTH = 13.0  # 本处室职责: its header on one line
_COLS = range(len(layout.HEADERS))
(C_NUMBER, C_TEXT, C_ROLE, C_ANSWER, C_STATUS, C_PLAN) = _COLS


def _column_widths(tasks: tuple[Task, ...], roles: list[str]) -> list[float]:
    """Narrow columns sized to their content; the three wide text columns share the rest."""
    number = max(
        [text_units(layout.COL_NUMBER), text_units(layout.LABEL_FILLED_BY)]
        + [text_units(t.label) for t in tasks]
    )
    role_need = max(
        [text_units(layout.COL_ROLE)] + [text_units(line) for r in roles for line in r.split("\n")]
    )
    status = max(
        text_units(s) for s in (*STATUSES, layout.COL_STATUS, layout.LABEL_DATE, layout.LABEL_PHONE)
    )
    widths = [0.0] * len(layout.HEADERS)
    widths[C_NUMBER] = min(12.0, number + 2)
    # 牵头 or 配合 is what the column says; who else is on the task may wrap.
    widths[C_ROLE] = min(ROLE_WIDTH, role_need + 2)
    widths[C_STATUS] = status + 4  # room for the dropdown arrow
    rest = max(90.0, PAGE_UNITS - widths[C_NUMBER] - widths[C_ROLE] - widths[C_STATUS])
    widths[C_TEXT] = round(rest * 0.32, 1)
    widths[C_ANSWER] = round(rest * 0.46, 1)  # what the division writes gets the most room
    widths[C_PLAN] = round(rest * 0.22, 1)
    return widths


# --------------------------------------------------------------------------------------------
# Writing


def build_template(
    master: Master,
    division: str,
    year: int,
    quarter: int,
    previous: Mapping[str, Previous] | None = None,
) -> bytes:
    """The Annex 2 workbook of ``division`` for ``year``/``quarter``, as xlsx bytes.

    ``previous`` maps a task number to what the division reported on it last quarter (from
    the archive): shown in a grey, locked 上季度完成情况 column. Tasks with quantitative targets
    get their target and a number cell 截至本季度末累计完成 to the right of the six columns.
    Deterministic: the same input always gives the same bytes.
    """
    check_period(year, quarter)
    tasks = master.tasks_of(division)
    if not tasks:
        raise InputError(
            f"处室“{division}”在分解方案中没有牵头或配合的任务，无法生成模板",
            file=master.source or None,
            hint="可选的处室有：" + "、".join(master.divisions),
        )
    title = layout.title(year, quarter, division)
    buffer = io.BytesIO()
    book = Book(buffer)
    wb = book.wb
    data = wb.add_worksheet(layout.DATA_SHEET)
    guide = wb.add_worksheet(layout.GUIDE_SHEET)
    ident = wb.add_worksheet(layout.IDENTITY_SHEET)

    extra = ExtraColumns.of(tasks, previous or {})
    rows = _write_data_sheet(book, data, tasks, division, title, extra)
    write_guide(book, guide, division, year, quarter, title, extra)
    _write_identity(book, ident, tasks, rows, division, year, quarter)

    data.activate()
    data.set_first_sheet()
    ident.hide()  # hidden, not veryHidden (LibreOffice re-saves that as hidden); never active

    wb.set_properties(
        {
            "title": title,
            "subject": f"{year}年第{quarter_name(quarter)}季度工作目标完成情况",
            "author": BUREAU,
            "company": BUREAU,
            "category": layout.TEMPLATE_VERSION,
            "comments": f"由 workbook-tools 生成（{layout.TEMPLATE_VERSION}），请填写后发回。",
            # Fixed, so the same input gives the same bytes.
            "created": datetime(year, 1, 1),
        }
    )
    for name, value in (
        (layout.PROP_VERSION, layout.TEMPLATE_VERSION),
        (layout.PROP_YEAR, str(year)),
        (layout.PROP_QUARTER, str(quarter)),
        (layout.PROP_DIVISION, division),
    ):
        if wb.set_custom_property(name, value, "text") == -1:  # None or 0 when written
            raise InputError(
                f"无法写入文档属性 {name}（处室名称过长？最多 255 个字符）：{value[:40]}"
            )
    book.close()
    return _rows_grow_with_text(buffer.getvalue(), rows)


#: The data sheet is the first worksheet of the workbook.
_DATA_PART = "xl/worksheets/sheet1.xml"
_ROW_TAG = re.compile(rb'<row r="(\d+)"[^>]*>')
_CUSTOM_HEIGHT = b' customHeight="1"'


def _rows_grow_with_text(xlsx: bytes, rows: Sequence[int]) -> bytes:
    """The workbook with the task rows' heights kept but no longer marked as set by hand.

    xlsxwriter marks every row it gives a height as ``customHeight``, a height set by hand, and
    Excel, WPS and LibreOffice never resize such a row: a long answer stays cut at the height
    the template was written with, on screen and on paper. A row with a height but without the
    mark opens at that height (room to write in) and is fitted to its text again whenever a cell
    in it is edited, in all three. xlsxwriter has no public way to write that, so the mark is
    taken off the finished file's task rows; nothing else in the file changes.
    """
    wanted = set(rows)
    changed = 0

    def unmark(match: re.Match) -> bytes:
        nonlocal changed
        tag = match.group(0)
        if int(match.group(1)) in wanted and _CUSTOM_HEIGHT in tag:
            changed += 1
            return tag.replace(_CUSTOM_HEIGHT, b"")
        return tag

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():  # same names, order, dates and compression: reproducible
            data = src.read(info)
            if info.filename == _DATA_PART:
                data = _ROW_TAG.sub(unmark, data)
            # Deflated again at the fastest level: every template pays for this copy, and a
            # few kilobytes more on a small email attachment cost nobody anything.
            dst.writestr(info, data, compresslevel=1)
    assert changed == len(wanted), "xlsxwriter wrote the task rows in an unexpected form"
    return out.getvalue()


def check_period(year: int, quarter: int) -> None:
    """Refuse a year or quarter no template can be written for (template_files checks first)."""
    if not isinstance(year, int) or not 1000 <= year <= 9999:
        raise InputError(f"年度 {year!r} 无效", hint="应为四位数的年份，如 2022")
    if quarter not in (1, 2, 3, 4):
        raise InputError(f"季度 {quarter!r} 无效", hint="应为 1、2、3 或 4")


def _write_data_sheet(
    book: Book,
    ws,
    tasks: tuple[Task, ...],
    division: str,
    title: str,
    extra: ExtraColumns | None = None,
) -> list[int]:
    """Fill the data sheet; return the 1-based sheet row of each task."""
    extra = extra or ExtraColumns()
    roles = [layout.role_text(t, division) for t in tasks]
    widths = _column_widths(tasks, roles)
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    last_col = len(widths) - 1 + extra.count

    put(ws, R_ANNEX, 0, ANNEX_LABEL, book.annex)

    # merge_range() would pass the title through write(); merge blank, then write_string.
    ws.merge_range(R_TITLE, 0, R_TITLE, last_col, "", book.title)
    put(ws, R_TITLE, 0, title, book.title)
    ws.set_row(R_TITLE, lines_height(text_lines(title, sum(widths), SIZE_TITLE), SIZE_TITLE) + 8)

    # 填报单位 is the division the template is for: written, locked, across A..C.
    unit = f"{layout.LABEL_UNIT}：{division}"
    ws.merge_range(R_UNIT, 0, R_UNIT, C_ROLE, "", book.unit)
    put(ws, R_UNIT, 0, unit, book.unit)
    unit_width = sum(widths[: C_ROLE + 1])
    ws.set_row(R_UNIT, lines_height(text_lines(unit, unit_width)) + 8)
    for label, (row, col) in layout.FILLER_CELLS.items():
        put(ws, row - 1, col, label, book.label)
        ws.write_blank(row - 1, col + 1, None, book.filler)
    ws.set_row(R_FILLER, lines_height(1) + 8)

    for col, label in enumerate(layout.HEADERS):
        put(ws, R_HEADER, col, label, book.header)
    ws.set_row(
        R_HEADER, lines_height(max(text_lines(h, widths[c]) for c, h in enumerate(layout.HEADERS)))
    )

    sheet_rows = []
    formats = [None] * len(layout.HEADERS)
    formats[C_NUMBER], formats[C_TEXT], formats[C_ROLE] = book.number, book.text, book.text
    formats[C_ANSWER], formats[C_STATUS], formats[C_PLAN] = book.answer, book.status, book.answer
    for i, (task, role) in enumerate(zip(tasks, roles, strict=True)):
        r = R_FIRST + i
        values = [""] * len(layout.HEADERS)  # "" is a blank cell that keeps its format
        values[C_NUMBER], values[C_TEXT], values[C_ROLE] = task.label, task.text, role
        lines = max(
            ANSWER_MIN_LINES,
            text_lines(task.label, widths[C_NUMBER]),
            text_lines(task.text, widths[C_TEXT]),
            text_lines(role, widths[C_ROLE]),
        )
        put_row(ws, r, values, formats, lines_height(lines))
        sheet_rows.append(r + 1)
    last_row = R_FIRST + len(tasks) - 1
    extra.write(
        book,
        ws,
        tasks,
        len(widths),
        [
            max(text_lines(t.text, widths[C_TEXT]), text_lines(r, widths[C_ROLE]))
            for t, r in zip(tasks, roles, strict=True)
        ],
    )

    source = list(STATUSES)
    assert len(",".join(source)) < 255  # an inline list: every client keeps it on re-save
    ws.data_validation(
        R_FIRST,
        C_STATUS,
        last_row,
        C_STATUS,
        {
            "validate": "list",
            "source": source,
            "ignore_blank": True,
            "input_title": f"{layout.COL_STATUS}",
            "input_message": f"请从下拉列表中选择：{STATUS_LIST}",
            "error_type": "stop",
            "error_title": f"{layout.COL_STATUS}填写有误",
            "error_message": f"{layout.COL_STATUS}只能是以下之一：{STATUS_LIST}。请点击单元格右侧的下拉箭头选择。",
        },
    )

    ws.freeze_panes(R_HEADER + 1, 0)
    ws.protect(
        "",
        {
            "format_rows": True,
            "format_columns": True,
            "select_locked_cells": True,
            "select_unlocked_cells": True,
        },
    )
    page_setup(ws, landscape=True)
    ws.repeat_rows(R_TITLE, R_HEADER)
    ws.print_area(0, 0, last_row, last_col)
    ws.set_footer(f'&C&"{FONT_BODY}"&9第 &P 页，共 &N 页')
    return sheet_rows


def _write_identity(
    book: Book,
    ws,
    tasks: tuple[Task, ...],
    rows: list[int],
    division: str,
    year: int,
    quarter: int,
) -> None:
    """The identity sheet, exactly as the comment in layout.py lays it out. Numbers as text."""
    ws.set_column(0, 0, 12)
    ws.set_column(1, 1, 40)
    ws.set_column(2, 2, 20)
    put(ws, 0, 0, layout.IDENTITY_BANNER, book.bold)
    for r, (key, value) in enumerate(
        (
            (layout.ID_VERSION, layout.TEMPLATE_VERSION),
            (layout.ID_YEAR, str(year)),
            (layout.ID_QUARTER, str(quarter)),
            (layout.ID_DIVISION, division),
        ),
        start=1,
    ):
        put(ws, r, 0, key, book.plain)
        put(ws, r, 1, value, book.plain)
    header_row = 6
    for c, label in enumerate(layout.ID_TABLE_HEADER):
        put(ws, header_row, c, label, book.bold)
    plain = [book.plain] * 3
    for i, (task, row) in enumerate(zip(tasks, rows, strict=True)):
        values = [task.number, str(row), layout.fingerprint(task.text)]
        put_row(ws, header_row + 1 + i, values, plain, None)  # default height
    ws.protect("", {"format_rows": True, "format_columns": True})
