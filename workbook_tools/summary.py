"""Summary -> the leaders' status workbook (汇总文件), written with xlsxwriter.

Sheets (model.SUMMARY_SHEETS): 总览 (tables, then charts, on A4 portrait), 汇总 (one row per
task), 报送情况 (one row per division), 报送情况（收到的文件） (one row per file received), 问题清单
(one row per flag) and 明细 (one row per answer, for pivot tables); what the rows of 汇总 and 明细 say comes from summary_rows. Every piece of user
text goes through :func:`cell_text` and is written with ``write_string``, never as a formula or
link, so an answer such as ``=1+1`` or ``http://…`` stays text. The file is written next to the
target and moved over it at the end, so a failed write never damages an older summary.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import xlsxwriter
from xlsxwriter.exceptions import XlsxFileError

from . import summary_year
from .cells import CELL_LIMIT, cell_text, clean_text, fit_cell, row_height, row_heights
from .files import write_atomically
from .model import (
    SEVERITIES,
    SEVERITY_ERROR,
    SEVERITY_WARNING,
    SUMMARY_SHEETS,
    Summary,
    quarter_name,
)
from .overview import Overview
from .overview import overview as overview_of
from .summary_rows import (
    DETAIL_COLS,
    DETAIL_TRUNCATION_MARKER,
    NOT_FILLED,
    NOT_SUBMITTED,
    STATUS_FILLS,
    STATUS_LABELS,
    TASK_COLS,
    TRUNCATION_MARKER,
    Column,
    DataRow,
    detail_rows,
    flag_kinds,
    ordered_flags,
    task_rows,
    task_status_label,
)

SHEET_OVERVIEW, SHEET_TASKS, SHEET_DIVISIONS, SHEET_FILES, SHEET_FLAGS, SHEET_DETAILS = (
    SUMMARY_SHEETS
)


WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "in_memory": True,  # no scratch files in the system temp folder
}

STATUS_CHART_COLOURS = {
    "已完成": "#70AD47",
    "按序时推进": "#5B9BD5",
    "滞后": "#ED7D31",
    "未启动": "#A5A5A5",
    NOT_FILLED: "#FFC000",
    NOT_SUBMITTED: "#BF9000",
}
SEVERITY_FILLS = {SEVERITY_ERROR: "#FFC7CE", SEVERITY_WARNING: "#FFEB9C"}

BODY_FONT = "宋体"
HEAD_FONT = "黑体"
FONT_SIZE = 11


# ---------------------------------------------------------------------------------------------
# Formats and tables


class _Styles:
    """Cached xlsxwriter formats: one Format per distinct set of properties."""

    CELL = {
        "font_name": BODY_FONT,
        "font_size": FONT_SIZE,
        "border": 1,
        "valign": "vcenter",
        "text_wrap": True,
    }

    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self._workbook = workbook
        self._cache: dict[tuple, object] = {}
        self._by_call: dict[tuple, object] = {}  # keyed as called: no merge or sort per cell
        self._rows: dict[tuple, list] = {}

    def get(self, **props: object):
        call = tuple(props.items())
        fmt = self._by_call.get(call)
        if fmt is None:
            merged = {**self.CELL, **props}
            key = tuple(sorted(merged.items()))
            if key not in self._cache:
                self._cache[key] = self._workbook.add_format(merged)
            fmt = self._by_call[call] = self._cache[key]
        return fmt

    def row(self, cols: Sequence[Column], fill: str | None, overrides: dict[int, dict]) -> list:
        """The formats of a data row's cells, made once per kind of row."""
        key = (
            tuple(cols),
            fill,
            tuple((i, tuple(o.items())) for i, o in overrides.items()) if overrides else (),
        )
        found = self._rows.get(key)
        if found is None:
            formats = []
            for i, col in enumerate(cols):
                props: dict[str, object] = {"align": col.align}
                if fill:
                    props["bg_color"] = fill
                if col.num_format:
                    props["num_format"] = col.num_format
                props.update(overrides.get(i, {}))
                formats.append(self.get(**props))
            found = self._rows[key] = formats
        return found

    def title(self):
        return self.get(font_name=HEAD_FONT, font_size=18, border=0, align="center")

    def section(self):
        return self.get(font_name=HEAD_FONT, font_size=12, border=0, align="left", text_wrap=False)

    def header(self):
        return self.get(font_name=HEAD_FONT, align="center", bg_color="#D9E1F2")


def _write_values(ws, row: int, first_col: int, values: Sequence[object], formats) -> None:
    """One row of cells: text with write_string (an empty string as a blank cell that keeps its
    format), numbers with write_number, None as a blank."""
    for col, (value, fmt) in enumerate(zip(values, formats, strict=True), first_col):
        if isinstance(value, str):
            if value:
                ws.write_string(row, col, value, fmt)
            else:
                ws.write_blank(row, col, None, fmt)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            ws.write_number(row, col, value, fmt)
        elif value is None:
            ws.write_blank(row, col, None, fmt)
        else:
            ws.write_string(row, col, str(value), fmt)


def _write_row(
    ws,
    styles: _Styles,
    row: int,
    cols: Sequence[Column],
    values: Sequence[object],
    fill: str | None = None,
    overrides: dict[int, dict] | None = None,
    first_col: int = 0,
) -> None:
    """Write one data row and set its height."""
    _write_values(ws, row, first_col, values, styles.row(cols, fill, overrides or {}))
    ws.set_row(row, row_height(values, [c.width for c in cols]))


def _write_data_rows(
    ws, styles: _Styles, first_row: int, cols: Sequence[Column], rows: Sequence[DataRow]
) -> None:
    """Write the data rows of a table from ``first_row`` down, each as tall as its text."""
    heights = row_heights([r.values for r in rows], [c.width for c in cols])
    for row, (data, height) in enumerate(zip(rows, heights, strict=True), first_row):
        _write_values(ws, row, 0, data.values, styles.row(cols, data.fill, data.overrides))
        ws.set_row(row, height)


def _write_header(
    ws, styles: _Styles, row: int, cols: Sequence[Column], first_col: int = 0
) -> None:
    for i, col in enumerate(cols):
        ws.write_string(row, first_col + i, col.header, styles.header())
    ws.set_row(row, row_height([c.header for c in cols], [c.width for c in cols], minimum=24.0))


def _set_widths(ws, cols: Sequence[Column], first_col: int = 0) -> None:
    for i, col in enumerate(cols):
        ws.set_column(first_col + i, first_col + i, col.width)


def _write_title(ws, styles: _Styles, text: str, last_col: int) -> None:
    ws.merge_range(0, 0, 0, last_col, "", styles.title())
    ws.write_string(0, 0, text, styles.title())
    ws.set_row(0, 36)


def _print_setup(ws, *, repeat_rows: tuple[int, int] | None, portrait: bool = False) -> None:
    """A4 landscape (or portrait), fit to one page wide (height 0: as many pages as needed)."""
    ws.set_paper(9)
    if portrait:
        ws.set_portrait()
    else:
        ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.center_horizontally()
    ws.set_footer("&C第 &P 页，共 &N 页")
    if repeat_rows:
        ws.repeat_rows(*repeat_rows)


def _title(summary: Summary) -> str:
    return f"{summary.year}年市《政府工作报告》民政工作第{quarter_name(summary.quarter)}季度完成情况汇总"


# ---------------------------------------------------------------------------------------------
# 总览

MISSING_LIST_MARKER = "……（未列全，完整名单见“报送情况”工作表）"
#: Most units named on 总览 as not submitted; the full list is on 报送情况.
MISSING_LISTED = 30


def _missing_list(missing: Sequence[str]) -> str:
    """The units not submitted, for 总览: all of a bureau's; the first few of a province's."""
    if not missing:
        return "无"
    if len(missing) <= MISSING_LISTED:
        return "、".join(missing)
    shown = "、".join(missing[:MISSING_LISTED])
    return f"{shown}等 {len(missing)} 个（完整名单见“报送情况”工作表）"


_COUNT_COLS = [Column("合计", 8, "center"), *(Column(s, 9, "center") for s in STATUS_LABELS)]


#: How 总览 counts, in its own words (overview.py is the rule).
NOTE = (
    "说明：每项任务的总体状态取其全部应报处室（牵头和配合）中最差的情况，依次为未报送、未填写、"
    "滞后、未启动、按序时推进、已完成：有一个应报处室未报送即为“未报送”（见“问题清单”未报送），"
    "有处室未填完成情况、未选进展状态或缺少该事项即为“未填写”（见“问题清单”未填写、缺少事项），"
    "其余按各处室所选进展状态中最差的一项计。“汇总”工作表的进展状态与此相同。"
    "“报送不完整”指已报送但有事项未填写的处室（单位）。"
)


def _write_overview(workbook, ws, styles: _Styles, summary: Summary, ov: Overview) -> None:
    first_col_width = 24
    ws.set_column(0, 0, first_col_width)
    ws.set_column(1, len(STATUS_LABELS) + 1, 10)
    ws.hide_gridlines(2)
    _write_title(ws, styles, _title(summary), len(STATUS_LABELS) + 1)
    row = 1

    def section(text: str) -> None:
        nonlocal row
        row += 1
        ws.write_string(row, 0, text, styles.section())
        ws.set_row(row, 22)
        row += 1

    # 一、报送情况
    expected = len(ov.divisions)
    missing = [cell_text(d) for d in ov.missing]
    incomplete = [cell_text(d) for d, _ in ov.incomplete]
    section("一、报送情况")
    cols = [
        Column("应报送处室（单位）", first_col_width, "center"),
        Column("已报送", 10, "center"),
        Column("未报送", 10, "center"),
        Column("报送率", 10, "center", "0.0%"),
        Column("报送不完整", 10, "center"),
    ]
    _write_header(ws, styles, row, cols)
    rate = float(ov.submission_rate)
    _write_row(
        ws, styles, row + 1, cols, [expected, ov.submitted, len(missing), rate, len(incomplete)]
    )
    row += 2
    last = len(STATUS_LABELS) + 1
    for heading, listed in (
        ("未报送处室（单位）", missing),
        ("报送不完整处室（单位）", incomplete),
    ):
        # A province's long lists: a cell's worth.
        names, _ = fit_cell(_missing_list(listed), MISSING_LIST_MARKER)
        ws.write_string(row, 0, heading, styles.header())
        ws.merge_range(row, 1, row, last, "", styles.get(align="left"))
        ws.write_string(row, 1, names, styles.get(align="left"))
        ws.set_row(row, row_height([names], [10 * last]))
        row += 1

    # 二、任务进展状态
    section("二、任务总体状态（取各应报处室中最差的情况）")
    counts, total = ov.counts, ov.total
    cols = [
        Column("进展状态", first_col_width, "center"),
        Column("事项数", 10, "center"),
        Column("占比", 10, "center", "0.0%"),
    ]
    _write_header(ws, styles, row, cols)
    status_first = row + 1
    for label in STATUS_LABELS:
        row += 1
        share = counts[label] / total if total else 0.0
        _write_row(ws, styles, row, cols, [label, counts[label], share], STATUS_FILLS[label])
    row += 1
    _write_row(
        ws, styles, row, cols, ["合计", total, 1.0 if total else 0.0], overrides={0: {"bold": True}}
    )
    status_last = row - 1
    row += 1

    # 三、按类别 / 四、按分管领导
    tables = {}
    for heading, first, groups in (
        ("三、按类别", "类别", ov.by_category),
        ("四、按分管领导", "分管领导", ov.by_leader),
    ):
        section(heading)
        cols = [Column(first, first_col_width, "center"), *_COUNT_COLS]
        _write_header(ws, styles, row, cols)
        top = row + 1
        most = 0
        for group in groups:
            row += 1
            _write_row(ws, styles, row, cols, [cell_text(group.name), group.total, *group.counts])
            most = max(most, group.total)
        tables[first] = (top, row, most)
        row += 1

    # 五、问题统计
    section("五、问题统计")
    cols = [
        Column("问题类型", first_col_width, "center"),
        Column("合计", 10, "center"),
        *(Column(s, 10, "center") for s in SEVERITIES),
    ]
    _write_header(ws, styles, row, cols)
    for count in ov.flags:
        row += 1
        _write_row(ws, styles, row, cols, [count.kind, count.total, *count.by_severity])
    row += 1
    _write_row(ws, styles, row, cols, ["合计", *ov.flag_totals], overrides={0: {"bold": True}})
    row += 2
    note = NOTE
    ws.merge_range(row, 0, row, last, "", styles.get(border=0, align="left"))
    ws.write_string(row, 0, note, styles.get(border=0, align="left"))
    ws.set_row(row, row_height([note], [first_col_width + 10 * last]))

    if summary_year.has_targets(summary.master):
        row += 1
        section("六、量化指标序时进度（每项任务计入一类）")
        cols = [
            Column("序时进度情况", first_col_width, "center"),
            Column("事项数", 10, "center"),
            Column("占比", 10, "center", "0.0%"),
        ]
        _write_header(ws, styles, row, cols)
        buckets = summary_year.bucket_counts(summary)
        for label, count in buckets.items():
            row += 1
            share = count / total if total else 0.0
            fill = summary_year.BUCKET_FILLS[label]
            _write_row(ws, styles, row, cols, [label, count, share], fill)
        row += 1
        _write_row(
            ws, styles, row, cols, ["合计", total, 1.0 if total else 0.0], None, {0: {"bold": True}}
        )
    if total:
        # The charts on a page of their own, below the tables, as wide as they are.
        row += 2
        ws.set_h_pagebreaks([row])
        status = (status_first, status_last, max(counts.values()))
        _overview_charts(workbook, ws, row, status, tables)
    # A4 portrait at full size: the tables are about as wide as the page, so the text prints at
    # the 11 pt it was written in (fitting width only ever shrinks a wider sheet).
    _print_setup(ws, repeat_rows=None, portrait=True)


#: Up to this many tasks on a chart's value axis, it is marked at every task (no 0.5 steps);
#: beyond, Excel chooses the steps (a province plan's 1,000 tasks would get 1,000 gridlines).
UNIT_STEPS_UP_TO = 10


def _count_axis(most: int) -> dict:
    """Value-axis options for counts of tasks, the largest being ``most``."""
    return {"major_unit": 1} if most <= UNIT_STEPS_UP_TO else {}


#: Width of the 总览 charts in pixels: columns A:H (24 + 7 x 10 units) as Excel draws them.
CHART_WIDTH = (24 * 7 + 5) + 7 * (10 * 7 + 5)
CHART_GAP = 16


def _overview_charts(
    workbook, ws, row: int, status: tuple[int, int, int], tables: dict[str, tuple[int, int, int]]
) -> None:
    """Native charts over the 总览 tables (they stay live if someone edits the numbers), one
    under the other from ``row``, each as wide as the tables.

    ``status`` and each of ``tables`` give a table's first and last data row on 总览 and the
    largest count a bar shows.
    """
    status_first, status_last, status_most = status
    sheet = SHEET_OVERVIEW
    font = {"name": BODY_FONT, "size": 10}

    def style(chart, title: str) -> None:
        chart.set_title(
            {"name": title, "name_font": {"name": HEAD_FONT, "size": 12, "bold": False}}
        )
        chart.set_legend({"position": "bottom", "font": font})

    status_chart = workbook.add_chart({"type": "column"})
    status_chart.add_series(
        {
            "name": "事项数",
            "categories": [sheet, status_first, 0, status_last, 0],
            "values": [sheet, status_first, 1, status_last, 1],
            "points": [{"fill": {"color": STATUS_CHART_COLOURS[s]}} for s in STATUS_LABELS],
            "data_labels": {"value": True, "font": font},
        }
    )
    style(status_chart, "任务进展状态")
    status_chart.set_legend({"none": True})
    status_chart.set_x_axis({"num_font": font})
    status_chart.set_y_axis(
        {
            "num_font": font,
            "num_format": "0",
            **_count_axis(status_most),
            "min": 0,
            "major_gridlines": {"visible": True},
        }
    )
    charts = [(status_chart, 280)]
    for name, (top, bottom, most) in tables.items():
        chart = workbook.add_chart({"type": "bar", "subtype": "stacked"})
        for i, label in enumerate(STATUS_LABELS):
            chart.add_series(
                {
                    "name": [sheet, top - 1, 2 + i],
                    "categories": [sheet, top, 0, bottom, 0],
                    "values": [sheet, top, 2 + i, bottom, 2 + i],
                    "fill": {"color": STATUS_CHART_COLOURS[label]},
                    "gap": 60,
                }
            )
        style(chart, f"按{name}的任务进展状态")
        chart.set_x_axis({"num_font": font, **_count_axis(most)})
        chart.set_y_axis({"num_font": font, "reverse": True, "crossing": "max"})
        charts.append((chart, max(240, 130 + 30 * (bottom - top + 1))))
    offset = 0
    for chart, height in charts:
        chart.set_size({"width": CHART_WIDTH, "height": height})
        ws.insert_chart(row, 0, chart, {"y_offset": offset, "object_position": 1})
        offset += height + CHART_GAP


def _write_tasks(ws, styles: _Styles, summary: Summary) -> None:
    cols, rows = TASK_COLS, task_rows(summary)
    if summary_year.has_targets(summary.master):  # 序时进度情况, 量化指标, 累计完成, %…
        cols, rows = summary_year.with_target_columns(summary, cols, rows)
    _set_widths(ws, cols)
    _write_title(ws, styles, _title(summary) + "表", len(cols) - 1)
    _write_header(ws, styles, 1, cols)
    _write_data_rows(ws, styles, 2, cols, rows)
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(1 + len(summary.tasks), 1), len(cols) - 1)
    _print_setup(ws, repeat_rows=(0, 1))


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


def _write_divisions(ws, styles: _Styles, summary: Summary) -> None:
    _set_widths(ws, DIVISION_COLS)
    _write_title(
        ws,
        styles,
        f"{summary.year}年第{quarter_name(summary.quarter)}季度各处室（单位）报送情况",
        len(DIVISION_COLS) - 1,
    )
    _write_header(ws, styles, 1, DIVISION_COLS)
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
    _write_data_rows(ws, styles, 2, DIVISION_COLS, rows)
    row, last = 1 + len(summary.divisions), len(DIVISION_COLS) - 1
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(row, 1), last)
    _print_setup(ws, repeat_rows=(0, 1))


def _write_files(ws, styles: _Styles, summary: Summary) -> None:
    """Every file received, used or not, so a coordinator can answer "did you get my file?"."""
    _set_widths(ws, FILE_COLS)
    last = len(FILE_COLS) - 1
    _write_title(
        ws, styles, f"{summary.year}年第{quarter_name(summary.quarter)}季度收到的文件", last
    )
    _write_header(ws, styles, 1, FILE_COLS)
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
    _write_data_rows(ws, styles, 2, FILE_COLS, rows)
    row = 1 + len(rows)
    if not rows:
        row += 1
        ws.merge_range(row, 0, row, last, "", styles.get(align="center"))
        ws.write_string(row, 0, "未收到文件", styles.get(align="center"))
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(row, 1), last)
    _print_setup(ws, repeat_rows=(0, 1))


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


def _write_flags(ws, styles: _Styles, summary: Summary) -> None:
    labels = {t.number: t.label for t in summary.master.tasks}
    _set_widths(ws, FLAG_COLS)
    _write_title(
        ws,
        styles,
        f"{summary.year}年第{quarter_name(summary.quarter)}季度汇总问题清单",
        len(FLAG_COLS) - 1,
    )
    _write_header(ws, styles, 1, FLAG_COLS)
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
    _write_data_rows(ws, styles, 2, FLAG_COLS, rows)
    row = 1 + len(flags)
    if not flags:
        row += 1
        ws.merge_range(row, 0, row, len(FLAG_COLS) - 1, "", styles.get(align="center"))
        ws.write_string(row, 0, "未发现问题", styles.get(align="center"))
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(row, 1), len(FLAG_COLS) - 1)
    _print_setup(ws, repeat_rows=(0, 1))


def _write_details(ws, styles: _Styles, summary: Summary) -> None:
    _set_widths(ws, DETAIL_COLS)
    # Header in row 1, no title: a pivot table or filter picks up the table without help.
    _write_header(ws, styles, 0, DETAIL_COLS)
    rows = detail_rows(summary)
    _write_data_rows(ws, styles, 1, DETAIL_COLS, rows)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(rows), 1), len(DETAIL_COLS) - 1)
    _print_setup(ws, repeat_rows=(0, 0))
    # On paper the title is the page header, above the repeated header row.
    title = f"{summary.year}年第{quarter_name(summary.quarter)}季度各处室（单位）填报明细"
    ws.set_header(f'&C&14&"{HEAD_FONT}"{title}')  # the font last: no digit after &14
    ws.set_margins(left=0.4, right=0.4, top=0.9, bottom=0.6)


# ---------------------------------------------------------------------------------------------
# The file


def _write_year(ws, styles: _Styles, summary: Summary, history) -> None:
    """全年进展: one row per task, each quarter's status and figures side by side."""
    cols = summary_year.year_columns(summary.master)
    _set_widths(ws, cols)
    _write_title(ws, styles, f"{summary.year}年市《政府工作报告》民政工作全年进展", len(cols) - 1)
    _write_header(ws, styles, 1, cols)
    rows = summary_year.year_data_rows(summary.master, history)
    _write_data_rows(ws, styles, 2, cols, rows)
    row = 3 + len(rows)
    note = summary_year.YEAR_NOTE
    ws.merge_range(row, 0, row, len(cols) - 1, "", styles.get(border=0, align="left"))
    ws.write_string(row, 0, note, styles.get(border=0, align="left"))
    ws.set_row(row, row_height([note], [sum(c.width for c in cols)]))
    ws.freeze_panes(2, 2)
    _print_setup(ws, repeat_rows=(0, 1))


def _build(summary: Summary, target: str, ov: Overview | None = None, history=None) -> None:
    workbook = xlsxwriter.Workbook(target, WORKBOOK_OPTIONS)
    month = 3 * (summary.quarter - 1) + 1
    workbook.set_properties(
        {
            "title": _title(summary),
            "subject": "季度工作目标完成情况汇总",
            "author": "workbook-tools",
            "company": "市民政局",
            "created": datetime(summary.year, month, 1),  # fixed: same input, same file
        }
    )
    styles = _Styles(workbook)
    sheets = [workbook.add_worksheet(name) for name in SUMMARY_SHEETS]
    overview, tasks, divisions, files, flags, details = sheets
    _write_overview(workbook, overview, styles, summary, ov or overview_of(summary))
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


__all__ = [
    "CELL_LIMIT",
    "DETAIL_TRUNCATION_MARKER",
    "NOT_FILLED",
    "NOT_SUBMITTED",
    "STATUS_LABELS",
    "TRUNCATION_MARKER",
    "clean_text",
    "fit_cell",
    "ordered_flags",
    "task_status_label",
    "write_summary",
]
