"""Summary -> the leaders' status workbook (汇总文件), written with xlsxwriter.

Sheets (model.SUMMARY_SHEETS): 总览 (tables, then charts, on A4 portrait; summary_overview.py),
汇总 (one row per task), 报送情况 (one row per division), 报送情况（收到的文件） (one row per file
received), 问题清单 (one row per flag) and 明细 (one row per answer, for pivot tables), and 全年进展
when the year's history is given; what the rows of 汇总 and 明细 say comes from summary_rows, those
of 全年进展 from summary_year, and the formats and table writing all sheets share from summary_book.
Every piece of user text goes through :func:`cell_text` and is written with ``write_string``,
never as a formula or link, so an answer such as ``=1+1`` or ``http://…`` stays text. The file is
written next to the target and moved over it at the end, so a failed write never damages an older
summary.
"""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path

import xlsxwriter
from xlsxwriter.exceptions import XlsxFileError

from . import summary_year
from .cells import cell_text, fit_cell, row_height
from .files import write_atomically
from .model import (
    SEVERITY_ERROR,
    SEVERITY_WARNING,
    SUMMARY_SHEETS,
    Summary,
    quarter_name,
)
from .overview import Overview
from .overview import overview as overview_of
from .summary_book import (
    HEAD_FONT,
    Styles,
    print_setup,
    set_widths,
    summary_title,
    write_data_rows,
    write_header,
    write_title,
)
from .summary_overview import write_overview
from .summary_rows import (
    DETAIL_COLS,
    DETAIL_TRUNCATION_MARKER,
    NOT_SUBMITTED,
    STATUS_FILLS,
    TASK_COLS,
    Column,
    DataRow,
    detail_rows,
    flag_kinds,
    ordered_flags,
    task_rows,
)

WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "in_memory": True,  # no scratch files in the system temp folder
}

SEVERITY_FILLS = {SEVERITY_ERROR: "#FFC7CE", SEVERITY_WARNING: "#FFEB9C"}


# ---------------------------------------------------------------------------------------------
# 汇总


def _write_tasks(ws, styles: Styles, summary: Summary) -> None:
    cols, rows = TASK_COLS, task_rows(summary)
    if summary_year.has_targets(summary.master):  # 序时进度情况, 量化指标, 累计完成, %…
        cols, rows = summary_year.with_target_columns(summary, cols, rows)
    set_widths(ws, cols)
    write_title(ws, styles, summary_title(summary) + "表", len(cols) - 1)
    write_header(ws, styles, 1, cols)
    write_data_rows(ws, styles, 2, cols, rows)
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(1 + len(summary.tasks), 1), len(cols) - 1)
    print_setup(ws, repeat_rows=(0, 1))


# ---------------------------------------------------------------------------------------------
# 报送情况

DIVISION_COLS = [
    Column("处室（单位）", 22),
    Column("报送状态", 10, "center"),
    Column("采用文件", 34),
    Column("填报时间", 16, "center"),
    Column("填报人", 10, "center"),
    Column("审核人", 10, "center"),
    Column("联系电话", 15, "center"),
    Column("应报事项数", 11, "center"),
    Column("已填报事项数", 13, "center"),
    Column("问题", 30),
]
FILE_COLS = [
    Column("识别为处室（单位）", 22),
    Column("是否采用", 10, "center"),
    Column("文件", 50),
    Column("说明", 60),
]


def _write_divisions(ws, styles: Styles, summary: Summary) -> None:
    set_widths(ws, DIVISION_COLS)
    write_title(
        ws,
        styles,
        f"{summary.year}年第{quarter_name(summary.quarter)}季度各处室（单位）报送情况",
        len(DIVISION_COLS) - 1,
    )
    write_header(ws, styles, 1, DIVISION_COLS)
    rows = [
        DataRow(
            [
                cell_text(d.division),
                "已报送" if d.submitted else "未报送",
                cell_text(d.source),
                cell_text(d.fill_time),
                cell_text(d.filled_by),
                cell_text(d.reviewer),
                cell_text(d.phone),
                d.expected,
                d.answered,
                flag_kinds(d.flags),
            ],
            None if d.submitted else STATUS_FILLS[NOT_SUBMITTED],
            {} if d.submitted else {1: {"bold": True, "font_color": "#9C0006"}},
        )
        for d in summary.divisions
    ]
    write_data_rows(ws, styles, 2, DIVISION_COLS, rows)
    row, last = 1 + len(summary.divisions), len(DIVISION_COLS) - 1
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(row, 1), last)
    print_setup(ws, repeat_rows=(0, 1))


def _write_files(ws, styles: Styles, summary: Summary) -> None:
    """Every file received, used or not, so a coordinator can answer "did you get my file?"."""
    set_widths(ws, FILE_COLS)
    last = len(FILE_COLS) - 1
    write_title(
        ws, styles, f"{summary.year}年第{quarter_name(summary.quarter)}季度收到的文件", last
    )
    write_header(ws, styles, 1, FILE_COLS)
    rows = [
        DataRow(
            [
                cell_text(f.division),
                "采用" if f.accepted else "未采用",
                cell_text(f.source),
                cell_text(f.reason),
            ],
            None if f.accepted else STATUS_FILLS[NOT_SUBMITTED],  # not used: marked like 未报送
        )
        for f in summary.files
    ]
    write_data_rows(ws, styles, 2, FILE_COLS, rows)
    row = 1 + len(rows)
    if not rows:
        row += 1
        ws.merge_range(row, 0, row, last, "", styles.get(align="center"))
        ws.write_string(row, 0, "未收到文件", styles.get(align="center"))
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(row, 1), last)
    print_setup(ws, repeat_rows=(0, 1))


# ---------------------------------------------------------------------------------------------
# 问题清单

FLAG_COLS = [
    Column("严重程度", 10, "center"),
    Column("问题类型", 14, "center"),
    Column("处室", 22),
    Column("序号", 6, "center"),
    Column("说明", 70),
    Column("来源文件", 36),
]


def _write_flags(ws, styles: Styles, summary: Summary) -> None:
    labels = {t.number: t.label for t in summary.master.tasks}
    set_widths(ws, FLAG_COLS)
    write_title(
        ws,
        styles,
        f"{summary.year}年第{quarter_name(summary.quarter)}季度汇总问题清单",
        len(FLAG_COLS) - 1,
    )
    write_header(ws, styles, 1, FLAG_COLS)
    flags = ordered_flags(summary.flags)
    text = functools.cache(cell_text)  # severities, kinds, divisions, files: on many rows
    rows = [
        DataRow(
            [
                text(flag.severity),
                text(flag.kind),
                text(flag.division),
                text(labels.get(flag.task, flag.task)),
                fit_cell(cell_text(flag.detail), DETAIL_TRUNCATION_MARKER)[0],
                text(flag.source),
            ],
            SEVERITY_FILLS.get(flag.severity),
            {0: {"bold": True}},
        )
        for flag in flags
    ]
    write_data_rows(ws, styles, 2, FLAG_COLS, rows)
    row = 1 + len(flags)
    if not flags:
        row += 1
        ws.merge_range(row, 0, row, len(FLAG_COLS) - 1, "", styles.get(align="center"))
        ws.write_string(row, 0, "未发现问题", styles.get(align="center"))
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(row, 1), len(FLAG_COLS) - 1)
    print_setup(ws, repeat_rows=(0, 1))


# ---------------------------------------------------------------------------------------------
# 明细


def _write_details(ws, styles: Styles, summary: Summary) -> None:
    set_widths(ws, DETAIL_COLS)
    # Header in row 1, no title: a pivot table or filter picks up the table without help.
    write_header(ws, styles, 0, DETAIL_COLS)
    rows = detail_rows(summary)
    write_data_rows(ws, styles, 1, DETAIL_COLS, rows)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(rows), 1), len(DETAIL_COLS) - 1)
    print_setup(ws, repeat_rows=(0, 0))
    # On paper the title is the page header, above the repeated header row.
    title = f"{summary.year}年第{quarter_name(summary.quarter)}季度各处室（单位）填报明细"
    ws.set_header(f'&C&14&"{HEAD_FONT}"{title}')  # the font last: no digit after &14
    ws.set_margins(left=0.4, right=0.4, top=0.9, bottom=0.6)


# ---------------------------------------------------------------------------------------------
# 全年进展


def _write_year(ws, styles: Styles, summary: Summary, history) -> None:
    """全年进展: one row per task, each quarter's status and figures side by side."""
    cols = summary_year.year_columns(summary.master)
    set_widths(ws, cols)
    write_title(ws, styles, f"{summary.year}年市《政府工作报告》民政工作全年进展", len(cols) - 1)
    write_header(ws, styles, 1, cols)
    rows = summary_year.year_data_rows(summary.master, history)
    write_data_rows(ws, styles, 2, cols, rows)
    row = 3 + len(rows)
    note = summary_year.YEAR_NOTE
    ws.merge_range(row, 0, row, len(cols) - 1, "", styles.get(border=0, align="left"))
    ws.write_string(row, 0, note, styles.get(border=0, align="left"))
    ws.set_row(row, row_height([note], [sum(c.width for c in cols)]))
    ws.freeze_panes(2, 2)
    print_setup(ws, repeat_rows=(0, 1))


# ---------------------------------------------------------------------------------------------
# The file


def _build(summary: Summary, target: str, ov: Overview | None = None, history=None) -> None:
    workbook = xlsxwriter.Workbook(target, WORKBOOK_OPTIONS)
    month = 3 * (summary.quarter - 1) + 1
    workbook.set_properties(
        {
            "title": summary_title(summary),
            "subject": "季度工作目标完成情况汇总",
            "author": "workbook-tools",
            "company": "市民政局",
            "created": datetime(summary.year, month, 1),  # fixed: same input, same file
        }
    )
    styles = Styles(workbook)
    sheets = [workbook.add_worksheet(name) for name in SUMMARY_SHEETS]
    overview, tasks, divisions, files, flags, details = sheets
    write_overview(workbook, overview, styles, summary, ov or overview_of(summary))
    _write_tasks(tasks, styles, summary)
    _write_divisions(divisions, styles, summary)
    _write_files(files, styles, summary)
    _write_flags(flags, styles, summary)
    _write_details(details, styles, summary)
    if history is not None:
        _write_year(workbook.add_worksheet(summary_year.YEAR_SHEET), styles, summary, history)
    overview.activate()
    workbook.close()


def write_summary(summary: Summary, path: Path, ov: Overview | None = None, history=None) -> Path:
    """Write the leaders' summary workbook to ``path`` and return it; ``ov`` is
    ``overview.overview(summary)`` when the caller has it already (the draft uses it too).

    ``history``: the year's archive rows (archive.ArchiveRow, this quarter's included) for a
    last sheet 全年进展; None for none.

    The workbook is built in a temporary file next to ``path`` and moved over it, so an older
    summary stays intact if anything fails. Raises :class:`OutputError` when the folder cannot be
    written or the file is open in another program.
    """
    return write_atomically(
        path,
        lambda tmp: _build(summary, str(tmp), ov, history),
        what="汇总文件",
        errors=(XlsxFileError, OSError),
    )


__all__ = ["write_summary"]
