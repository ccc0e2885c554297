"""Master -> one Annex 2 workbook (附件2) per division: the `split` stage.

Everything a returned file is recognised by (sheet names, header labels, fixed rows, the identity
sheet, custom properties, title, file stem) comes from :mod:`layout`; this module only decides how
the workbook looks. Written with xlsxwriter, in memory, one small workbook per division.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from xlsxwriter import Workbook
from xlsxwriter.utility import xl_rowcol_to_cell

from . import layout, workers
from .cells import fit_cell, lines_height, text_lines, text_units, truncation_marker
from .errors import InputError, OutputError
from .files import WRITTEN, safe_filename, write_atomically, write_new_only
from .model import BUREAU, ROLE_LEAD, STATUSES, Master, Target, Task, quarter_name

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

__all__ = [
    "TemplateInfo",
    "build_template",
    "write_template",
    "write_templates",
]

# --------------------------------------------------------------------------------------------
# Layout of the data sheet

FONT_BODY = "宋体"
FONT_HEAD = "黑体"
SIZE_BODY = 11
SIZE_TITLE = 16
SIZE_ANNEX = 12
CHARSET_GB2312 = 134  # lets Excel pick the Chinese face for 宋体/黑体 on any locale

ANNEX_LABEL = "附件2"
ANSWER_MIN_LINES = 3  # empty answer cells still get room to write in
#: About how many characters of an answer a row of Excel's or WPS's largest height (409 pt)
#: shows in the answer column of an ordinary template (about 50 units wide); rounded down.
EXCEL_ROW_CHARS = 500

# Column widths in Excel units (width of "0" in Calibri 11, about 1.85 mm). About 146 units fill
# an A4 landscape page at 100 % with our margins; fit-to-width scales anything wider.
PAGE_UNITS = 146
ROLE_WIDTH = 13.0  # 本处室职责: its header on one line
_COLS = range(len(layout.HEADERS))
(C_NUMBER, C_TEXT, C_ROLE, C_ANSWER, C_STATUS, C_PLAN) = _COLS
_COL_OF = dict(zip(layout.HEADERS, _COLS, strict=True))
INPUT_COLUMNS = (C_ANSWER, C_STATUS, C_PLAN)
_R_ANNEX = layout.ROW_ANNEX - 1
_R_TITLE = layout.ROW_TITLE - 1
_R_UNIT = layout.ROW_UNIT - 1
_R_FILLER = layout.ROW_FILLER - 1
_R_HEADER = layout.ROW_HEADER - 1
_R_FIRST = layout.ROW_FIRST_TASK - 1

STATUS_LIST = "、".join(STATUSES)
STATUS_MEANINGS = {
    "已完成": "全年目标已完成。",
    "按序时推进": "进度与时间进度相符。",
    "滞后": f"进度落后于序时进度，请在“{layout.COL_PLAN}”中说明原因和措施。",
    "未启动": "尚未开展。",
}
assert tuple(STATUS_MEANINGS) == STATUSES


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


@dataclass(frozen=True)
class TemplateInfo:
    """One template written by :func:`write_template`."""

    division: str
    path: Path
    led: int  # tasks the division leads
    assisted: int  # tasks it assists on
    state: str = WRITTEN  # what write_templates did with the file (files.WRITTEN, KEPT…)


class _Book:
    """One workbook being built, with the formats it needs."""

    def __init__(self, buffer: io.BytesIO) -> None:
        # Defence in depth: we only call write_string, but no string may ever become a formula,
        # a link or a number.
        self.wb = Workbook(
            buffer,
            {
                "in_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        body = {"font_name": FONT_BODY, "font_size": SIZE_BODY, "font_charset": CHARSET_GB2312}
        head = {"font_name": FONT_HEAD, "font_size": SIZE_BODY, "font_charset": CHARSET_GB2312}
        cell = {**body, "border": 1, "text_wrap": True, "valign": "vcenter"}
        entry = {"locked": False, "num_format": "@"}  # "@": a typed 0278… or 3/31 stays text
        f = self.wb.add_format
        self.annex = f({**head, "font_size": SIZE_ANNEX})
        self.title = f(
            {
                **head,
                "font_size": SIZE_TITLE,
                "align": "center",
                "valign": "vcenter",
                "text_wrap": True,
            }
        )
        self.label = f({**body, "align": "right", "valign": "vcenter"})
        self.unit = f({**body, "align": "left", "valign": "vcenter", "text_wrap": True})
        self.filler = f({**body, **entry, "bottom": 1, "valign": "vcenter", "text_wrap": True})
        # Plain, as on a printed government form: 黑体, ruled, no shading.
        self.header = f(
            {
                **head,
                **{k: cell[k] for k in ("border", "text_wrap", "valign")},
                "align": "center",
            }
        )
        self.number = f({**cell, "align": "center"})
        self.text = f({**cell, "align": "left"})
        self.answer = f({**cell, **entry, "align": "left", "valign": "top"})
        self.status = f({**cell, **entry, "align": "center"})
        self.guide_title = f(
            {**head, "font_size": SIZE_TITLE, "align": "center", "valign": "vcenter"}
        )
        self.guide_head = f({**head, "font_size": 12, "bold": True, "valign": "vcenter"})
        self.guide_key = f({**body, "bold": True, "valign": "top", "text_wrap": True})
        self.guide_text = f({**body, "valign": "top", "text_wrap": True})
        self.plain = f(body)
        self.bold = f({**body, "bold": True})

    def close(self) -> None:
        self.wb.close()


def _put(ws, row: int, col: int, text: str, fmt) -> None:
    """write_string, refusing the silent truncation xlsxwriter does beyond 32,767 characters;
    an empty string as a blank cell that keeps its format."""
    if not text:
        ws.write_blank(row, col, None, fmt)
        return
    rc = ws.write_string(row, col, text, fmt)
    if rc != 0:
        cell = xl_rowcol_to_cell(row, col)
        if rc == -2:
            raise InputError(
                f"内容有 {len(text)} 个字符，超过单元格上限 32767",
                sheet=ws.name,
                cell=cell,
                hint="请在分解方案中缩短该内容",
            )
        raise InputError(f"无法写入内容（xlsxwriter 返回 {rc}）", sheet=ws.name, cell=cell)


def _put_row(ws, row: int, values: list[str], formats: list, height: float | None) -> None:
    """One row of text cells from column A, each with its format; ``height`` None: default."""
    for col, (text, fmt) in enumerate(zip(values, formats, strict=True)):
        _put(ws, row, col, text, fmt)
    if height is not None:
        ws.set_row(row, height)


#: write_templates builds the workbooks in worker processes from this many task rows in all;
#: below that, starting the workers costs more than they save where they are spawned (Windows,
#: macOS), and saves little where they are forked (benchmarks/README.md).
POOL_MIN_ROWS = 2000


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
    _check_period(year, quarter)
    tasks = master.tasks_of(division)
    if not tasks:
        raise InputError(
            f"处室“{division}”在分解方案中没有牵头或配合的任务，无法生成模板",
            file=master.source or None,
            hint="可选的处室有：" + "、".join(master.divisions),
        )
    title = layout.title(year, quarter, division)
    buffer = io.BytesIO()
    book = _Book(buffer)
    wb = book.wb
    data = wb.add_worksheet(layout.DATA_SHEET)
    guide = wb.add_worksheet(layout.GUIDE_SHEET)
    ident = wb.add_worksheet(layout.IDENTITY_SHEET)

    extra = _ExtraColumns.of(tasks, previous or {})
    rows = _write_data_sheet(book, data, tasks, division, title, extra)
    _write_guide(book, guide, division, year, quarter, title, extra)
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
            dst.writestr(info, data)
    assert changed == len(wanted), "xlsxwriter wrote the task rows in an unexpected form"
    return out.getvalue()


def _check_period(year: int, quarter: int) -> None:
    if not isinstance(year, int) or not 1000 <= year <= 9999:
        raise InputError(f"年度 {year!r} 无效", hint="应为四位数的年份，如 2022")
    if quarter not in (1, 2, 3, 4):
        raise InputError(f"季度 {quarter!r} 无效", hint="应为 1、2、3 或 4")


def _write_data_sheet(
    book: _Book,
    ws,
    tasks: tuple[Task, ...],
    division: str,
    title: str,
    extra: _ExtraColumns | None = None,
) -> list[int]:
    """Fill the data sheet; return the 1-based sheet row of each task."""
    extra = extra or _ExtraColumns()
    roles = [layout.role_text(t, division) for t in tasks]
    widths = _column_widths(tasks, roles)
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    last_col = len(widths) - 1 + extra.count

    _put(ws, _R_ANNEX, 0, ANNEX_LABEL, book.annex)

    # merge_range() would pass the title through write(); merge blank, then write_string.
    ws.merge_range(_R_TITLE, 0, _R_TITLE, last_col, "", book.title)
    _put(ws, _R_TITLE, 0, title, book.title)
    ws.set_row(_R_TITLE, lines_height(text_lines(title, sum(widths), SIZE_TITLE), SIZE_TITLE) + 8)

    # 填报单位 is the division the template is for: written, locked, across A..C.
    unit = f"{layout.LABEL_UNIT}：{division}"
    ws.merge_range(_R_UNIT, 0, _R_UNIT, C_ROLE, "", book.unit)
    _put(ws, _R_UNIT, 0, unit, book.unit)
    unit_width = sum(widths[: C_ROLE + 1])
    ws.set_row(_R_UNIT, lines_height(text_lines(unit, unit_width)) + 8)
    for label, (row, col) in layout.FILLER_CELLS.items():
        _put(ws, row - 1, col, label, book.label)
        ws.write_blank(row - 1, col + 1, None, book.filler)
    ws.set_row(_R_FILLER, lines_height(1) + 8)

    for col, label in enumerate(layout.HEADERS):
        _put(ws, _R_HEADER, col, label, book.header)
    ws.set_row(
        _R_HEADER, lines_height(max(text_lines(h, widths[c]) for c, h in enumerate(layout.HEADERS)))
    )

    sheet_rows = []
    formats = [None] * len(layout.HEADERS)
    formats[C_NUMBER], formats[C_TEXT], formats[C_ROLE] = book.number, book.text, book.text
    formats[C_ANSWER], formats[C_STATUS], formats[C_PLAN] = book.answer, book.status, book.answer
    for i, (task, role) in enumerate(zip(tasks, roles, strict=True)):
        r = _R_FIRST + i
        values = [""] * len(layout.HEADERS)  # "" is a blank cell that keeps its format
        values[C_NUMBER], values[C_TEXT], values[C_ROLE] = task.label, task.text, role
        lines = max(
            ANSWER_MIN_LINES,
            text_lines(task.label, widths[C_NUMBER]),
            text_lines(task.text, widths[C_TEXT]),
            text_lines(role, widths[C_ROLE]),
        )
        _put_row(ws, r, values, formats, lines_height(lines))
        sheet_rows.append(r + 1)
    last_row = _R_FIRST + len(tasks) - 1
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
        _R_FIRST,
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

    ws.freeze_panes(_R_HEADER + 1, 0)
    ws.protect(
        "",
        {
            "format_rows": True,
            "format_columns": True,
            "select_locked_cells": True,
            "select_unlocked_cells": True,
        },
    )
    _page_setup(ws, landscape=True)
    ws.repeat_rows(_R_TITLE, _R_HEADER)
    ws.print_area(0, 0, last_row, last_col)
    ws.set_footer(f'&C&"{FONT_BODY}"&9第 &P 页，共 &N 页')
    return sheet_rows


def _page_setup(ws, *, landscape: bool) -> None:
    ws.set_paper(9)  # A4
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.center_horizontally()


def _guide_rows(division: str, year: int, quarter: int, title: str) -> list[tuple[str, str, str]]:
    """(kind, key, text) rows of the guide sheet; kind is title / para / head / item / blank."""
    period = f"{year}年第{quarter_name(quarter)}季度"
    a, s, p = layout.COL_ANSWER, layout.COL_STATUS, layout.COL_PLAN
    rows = [
        ("title", "", "填报说明"),
        ("para", "", f"本表供【{division}】填报{period}工作目标完成情况。表名：{title}。"),
        ("blank", "", ""),
        ("head", "", f"一、填写内容（在“{layout.DATA_SHEET}”工作表中）"),
        ("item", a, "必填。写明本季度该事项的工作进展、主要举措和取得的成效，尽量用数据说明。"),
        (
            "item",
            "行高",
            "填写后行高随内容自动增加，屏幕上和打印时都显示全文。Excel、WPS 中一行最高 409 磅"
            f"（本表约 {EXCEL_ROW_CHARS} 字），更长的内容请精简，或另附材料说明。",
        ),
        ("item", s, f"请点击单元格，从下拉列表中选择：{STATUS_LIST}。"),
        ("item", p, "写明存在的问题、困难和下一步工作打算；进度滞后的事项必须填写。"),
        (
            "item",
            "、".join(layout.FILLER_LABELS),
            f"填写在表格上方第 {layout.ROW_UNIT}、{layout.ROW_FILLER} 行对应的空白单元格中"
            f"（{layout.LABEL_REVIEWER}为审核本表的处室负责人）。{layout.LABEL_UNIT}已预先填好。",
        ),
        (
            "item",
            "*",
            f"{layout.COL_NUMBER}前标有“*”的事项，由我局（{BUREAU}）作为全市的牵头单位。",
        ),
        ("blank", "", ""),
        ("head", "", f"二、{s}的含义"),
        *[("item", k, v) for k, v in STATUS_MEANINGS.items()],
        ("blank", "", ""),
        ("head", "", "三、注意事项"),
        (
            "item",
            "1",
            f"不要修改“{layout.COL_NUMBER}”“{layout.COL_TEXT}”“{layout.COL_ROLE}”等已有内容。",
        ),
        (
            "item",
            "2",
            "不要增加、删除行，不要调整行的顺序；如需补充说明，请写在对应事项的单元格中。",
        ),
        (
            "item",
            "3",
            "不要重命名、删除或增加工作表。单元格中可以按 Alt+Enter 换行（LibreOffice 中为 Ctrl+Enter）。",
        ),
        ("item", "4", "单元格内容不要以“=”开头，不要粘贴公式或图片。"),
        ("blank", "", ""),
        ("head", "", "四、报送方式"),
        (
            "item",
            "1",
            "填写完成后，用 Excel 或 WPS 保存为 .xlsx 格式（不要另存为 .et、.xls 或 PDF），文件名可保持不变。",
        ),
        (
            "item",
            "2",
            f"通过电子邮件发回。本文件只用于【{division}】{period}的报送，请勿转给其他处室填写。",
        ),
    ]
    return rows


def _write_guide(
    book: _Book,
    ws,
    division: str,
    year: int,
    quarter: int,
    title: str,
    extra: _ExtraColumns | None = None,
) -> None:
    key_width, text_width = 16.0, 84.0
    ws.set_column(0, 0, key_width)
    ws.set_column(1, 1, text_width)
    rows = _guide_rows(division, year, quarter, title)
    if extra is not None and extra.count:
        at = rows.index(("blank", "", ""), 3)  # after the items of 一、填写内容
        rows[at:at] = extra.guide_rows()
    for r, (kind, key, text) in enumerate(rows):
        if kind == "title":
            ws.merge_range(r, 0, r, 1, "", book.guide_title)
            _put(ws, r, 0, text, book.guide_title)
            ws.set_row(r, lines_height(1, SIZE_TITLE) + 8)
        elif kind in ("para", "head"):
            fmt = book.guide_text if kind == "para" else book.guide_head
            ws.merge_range(r, 0, r, 1, "", fmt)
            _put(ws, r, 0, text, fmt)
            ws.set_row(r, lines_height(text_lines(text, key_width + text_width, 12)) + 4)
        elif kind == "item":
            _put(ws, r, 0, key, book.guide_key)
            _put(ws, r, 1, text, book.guide_text)
            ws.set_row(
                r, lines_height(max(text_lines(key, key_width), text_lines(text, text_width))) + 2
            )
    ws.hide_gridlines(2)  # reads as a page, not a table
    ws.protect("", {"format_rows": True, "format_columns": True})
    _page_setup(ws, landscape=False)
    ws.print_area(0, 0, len(rows) - 1, 1)


def _write_identity(
    book: _Book,
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
    _put(ws, 0, 0, layout.IDENTITY_BANNER, book.bold)
    for r, (key, value) in enumerate(
        (
            (layout.ID_VERSION, layout.TEMPLATE_VERSION),
            (layout.ID_YEAR, str(year)),
            (layout.ID_QUARTER, str(quarter)),
            (layout.ID_DIVISION, division),
        ),
        start=1,
    ):
        _put(ws, r, 0, key, book.plain)
        _put(ws, r, 1, value, book.plain)
    header_row = 6
    for c, label in enumerate(layout.ID_TABLE_HEADER):
        _put(ws, header_row, c, label, book.bold)
    plain = [book.plain] * 3
    for i, (task, row) in enumerate(zip(tasks, rows, strict=True)):
        values = [task.number, str(row), layout.fingerprint(task.text)]
        _put_row(ws, header_row + 1 + i, values, plain, None)  # default height
    ws.protect("", {"format_rows": True, "format_columns": True})


def write_template(
    master: Master, division: str, year: int, quarter: int, path: Path
) -> TemplateInfo:
    """Write the Annex 2 template of ``division`` to ``path`` (replaced atomically)."""
    data = build_template(master, division, year, quarter)
    _atomic_write(Path(path), data)
    return _info(master, division, Path(path))


def _info(master: Master, division: str, path: Path, state: str = WRITTEN) -> TemplateInfo:
    tasks = master.tasks_of(division)
    led = sum(1 for t in tasks if t.role_of(division) == ROLE_LEAD)
    return TemplateInfo(division, path, led, len(tasks) - led, state)


def write_templates(
    master: Master,
    year: int,
    quarter: int,
    outbox: Path,
    progress: Callable[[int], None] | None = None,
    force: bool = False,
    previous: Mapping[str, Mapping[str, Previous]] | None = None,
    *,
    processes: int | None = None,
    mp_context: BaseContext | None = None,
) -> list[TemplateInfo]:
    """Write one template per division into ``outbox``, in the master's division order.

    File names are :func:`safe_filename` of :func:`layout.file_stem`; names that clash after
    sanitising (compared case-insensitively, as Windows and macOS do) get ``-2``, ``-3``…
    A file already there with other bytes than its template is kept (it may be a filled return)
    unless ``force``; each info's ``state`` says what was done (:func:`files.write_new_only`).
    ``previous``: division -> task number -> last quarter's answer (see :func:`build_template`).

    From :data:`POOL_MIN_ROWS` task rows the workbooks are built in worker processes, one per
    CPU, and written here in order; the files are the same. ``processes`` overrides that
    choice (0 or 1: all here), ``mp_context`` is the workers' multiprocessing context (None:
    the platform's default).
    """
    _check_period(year, quarter)
    outbox = Path(outbox)
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        root = outbox.resolve(strict=True)
    except OSError as exc:
        raise OutputError(f"无法创建输出文件夹：{exc.strerror or exc}", file=str(outbox)) from exc
    if not root.is_dir():
        raise OutputError("输出位置不是文件夹", file=str(outbox))

    used: set[str] = set()
    paths = []
    for division in master.divisions:
        name = _unique_name(layout.file_stem(year, quarter, division), used)
        path = root / name
        resolved = path.resolve()  # follows a planted symlink, which must not lead outside
        if resolved.parent != root:
            raise OutputError(
                f"处室“{division}”的文件名 {name} 会写到输出文件夹之外",
                file=str(resolved),
                hint="请检查输出文件夹中是否有同名的链接",
            )
        paths.append(path)

    previous = previous or {}
    if processes is None:
        processes = _pool_size(master)
    master.warm()  # the lookups every template uses: built once, here, and in no worker
    if processes > 1:
        built = _built_in_workers(master, year, quarter, previous, processes, mp_context)
    else:
        built = (
            build_template(master, d, year, quarter, previous.get(d)) for d in master.divisions
        )
    out = []
    for division, path, data in zip(master.divisions, paths, built, strict=True):
        state = write_new_only(path, data, force=force, what="模板")
        out.append(_info(master, division, path, state))
        if progress is not None:
            progress(1)
    return out


def _pool_size(master: Master) -> int:
    """How many worker processes to build the templates with: 0 when building here pays."""
    if len(master.divisions) < 2 or len(master.assignments) < POOL_MIN_ROWS:
        return 0
    cpus = workers.cpus()
    return min(cpus, len(master.divisions)) if cpus > 1 else 0


_worker_job: tuple[Master, int, int] | None = None  # set in each worker by _start_worker


def _start_worker(master: Master, year: int, quarter: int, previous: Mapping) -> None:
    global _worker_job
    _worker_job = (master, year, quarter, previous)


def _build_in_worker(division: str) -> bytes:
    assert _worker_job is not None, "runs only in a worker started by _built_in_workers"
    master, year, quarter, previous = _worker_job
    return build_template(master, division, year, quarter, previous.get(division))


def _built_in_workers(
    master: Master,
    year: int,
    quarter: int,
    previous: Mapping[str, Mapping[str, Previous]],
    processes: int,
    mp_context: BaseContext | None,
) -> Iterator[bytes]:
    """The templates of ``master.divisions`` in that order, built in ``processes`` workers.

    Building a template runs only this package and xlsxwriter, so a worker that dies was
    killed from outside (or ran out of memory): what it left is built here.
    """
    from concurrent.futures import ProcessPoolExecutor  # only here: small splits never need it
    from concurrent.futures.process import BrokenProcessPool

    divisions = master.divisions
    done = 0
    pool = ProcessPoolExecutor(
        processes,
        mp_context=mp_context,
        initializer=_start_worker,
        initargs=(master, year, quarter, previous),
    )
    try:
        # Chunks of several divisions: fewer messages, and a worker that finishes early takes
        # the next chunk.
        chunk = max(1, len(divisions) // (8 * processes))
        for data in pool.map(_build_in_worker, divisions, chunksize=chunk):
            done += 1
            yield data
    except BrokenProcessPool:
        pass
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for division in divisions[done:]:
        yield build_template(master, division, year, quarter, previous.get(division))


def _unique_name(stem: str, used: set[str]) -> str:
    name = safe_filename(stem)
    n = 1
    while _name_key(name) in used:
        n += 1
        tag = f"-{n}"
        base = safe_filename(stem, max_len=120 - len(tag))
        name = base[: -len(".xlsx")] + tag + ".xlsx"
    used.add(_name_key(name))
    return name


def _name_key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` over ``path`` through a temporary file beside it: an interrupted write
    or a file open in Excel leaves the old one whole."""
    write_atomically(path, lambda tmp: tmp.write_bytes(data), what="模板", clean_stale=False)


# --------------------------------------------------------------------------------------------
# Columns right of the six: quantitative targets and last quarter's answer

TARGET_WIDTH = 22.0
FIGURE_WIDTH = 14.0
PREVIOUS_WIDTH = 40.0
PREVIOUS_FILL = "#E7E6E6"
NO_TARGET_FILL = "#F2F2F2"
FIGURE_MESSAGE = "请填写截至本季度末的累计完成数（只填数字，不小于0），计量单位见左侧“量化指标”。"


@dataclass(frozen=True)
class Previous:
    """What a division reported on a task last quarter, shown for reference."""

    answer: str = ""
    status: str = ""
    figures: tuple[tuple[str, float | None], ...] = ()  # (target name, cumulative figure)


def target_text(target: Target) -> str:
    """The 量化指标 cell: ``名称：数量单位`` as in the master (parse_targets reads it back)."""
    from .targets import format_target

    return format_target(target)


def previous_text(previous: Previous, targets: tuple[Target, ...]) -> str:
    """The 上季度完成情况 cell: the answer, the status chosen and the figures reported."""
    from .targets import _amount

    units = {t.name: t.unit for t in targets}
    lines = [previous.answer.strip() or "（未填写）"]
    if previous.status:
        lines.append(f"进展状态：{previous.status}")
    for name, value in previous.figures:
        if name in units:
            shown = "未填报" if value is None else f"{_amount(value)}{units[name]}"
            lines.append(f"{name}累计完成：{shown}")
    text, _ = fit_cell("\n".join(lines), truncation_marker("上季度汇总表"))
    return text


@dataclass(frozen=True)
class _ExtraColumns:
    """The target pairs (as many as the division's task with the most targets) and the
    上季度完成情况 column of one template; none at all without targets or previous answers."""

    pairs: int = 0
    previous: Mapping[str, Previous] | None = None

    @classmethod
    def of(cls, tasks: tuple[Task, ...], previous: Mapping[str, Previous]) -> _ExtraColumns:
        numbers = {t.number for t in tasks}
        shown = {k: v for k, v in previous.items() if k in numbers}
        return cls(max((len(t.targets) for t in tasks), default=0), shown or None)

    @property
    def count(self) -> int:
        return 2 * self.pairs + (1 if self.previous else 0)

    def guide_rows(self) -> list[tuple[str, str, str]]:
        rows = []
        if self.pairs:
            rows.append(
                (
                    "item",
                    layout.COL_FIGURE,
                    "有量化指标的事项必填。填写截至本季度末的累计完成数（全年累计，不是本季度新增），"
                    "只填数字，计量单位见左侧“量化指标”。",
                )
            )
        if self.previous:
            rows.append(
                (
                    "item",
                    layout.COL_PREVIOUS,
                    "上季度报送的内容，仅供参考，不能修改；本季度的完成情况请重新填写。",
                )
            )
        return rows

    def write(self, book: _Book, ws, tasks: tuple[Task, ...], first: int, base_lines) -> None:
        """Headers, cells, widths and validations of the extra columns from column ``first``."""
        if not self.count:
            return
        wb = book.wb
        body = {"font_name": FONT_BODY, "font_size": SIZE_BODY, "font_charset": CHARSET_GB2312}
        cell = {**body, "border": 1, "text_wrap": True, "valign": "vcenter"}
        target_fmt = wb.add_format({**cell, "align": "left"})
        figure_fmt = wb.add_format({**cell, "locked": False, "align": "right"})
        none_fmt = wb.add_format({**cell, "bg_color": NO_TARGET_FILL})
        previous_fmt = wb.add_format(
            {
                **cell,
                "align": "left",
                "valign": "top",
                "bg_color": PREVIOUS_FILL,
                "font_color": "#595959",
            }
        )
        columns = []
        for _ in range(self.pairs):
            columns += [(layout.COL_TARGET, TARGET_WIDTH), (layout.COL_FIGURE, FIGURE_WIDTH)]
        if self.previous:
            columns.append((layout.COL_PREVIOUS, PREVIOUS_WIDTH))
        for c, (label, width) in enumerate(columns, first):
            ws.set_column(c, c, width)
            _put(ws, _R_HEADER, c, label, book.header)
        previous = self.previous or {}
        for i, task in enumerate(tasks):
            r = _R_FIRST + i
            lines = [ANSWER_MIN_LINES, base_lines[i]]
            for k in range(self.pairs):
                col = first + 2 * k
                if k < len(task.targets):
                    text = target_text(task.targets[k])
                    _put(ws, r, col, text, target_fmt)
                    ws.write_blank(r, col + 1, None, figure_fmt)
                    ws.data_validation(
                        r,
                        col + 1,
                        r,
                        col + 1,
                        {
                            "validate": "decimal",
                            "criteria": ">=",
                            "value": 0,
                            "ignore_blank": True,
                            "input_title": layout.COL_FIGURE,
                            "input_message": FIGURE_MESSAGE,
                            "error_type": "stop",
                            "error_title": f"{layout.COL_FIGURE}填写有误",
                            "error_message": "累计完成数只能填写不小于0的数字（如 20 或 1200），"
                            "不要填写单位或文字。",
                        },
                    )
                    lines.append(text_lines(text, TARGET_WIDTH))
                else:
                    ws.write_blank(r, col, None, none_fmt)
                    ws.write_blank(r, col + 1, None, none_fmt)
            if self.previous:
                col = first + 2 * self.pairs
                before = previous.get(task.number)
                text = previous_text(before, task.targets) if before else "（上季度未报送）"
                _put(ws, r, col, text, previous_fmt)
                lines.append(text_lines(text, PREVIOUS_WIDTH))
            if max(lines) > max(lines[:2]):
                ws.set_row(r, lines_height(max(lines)))
