"""Summary -> the leaders' status workbook (汇总文件), written with xlsxwriter.

Sheets (model.SUMMARY_SHEETS): 总览 (one screen with tables and charts), 汇总 (one row per task),
报送情况 (one row per division), 问题清单 (one row per flag) and 明细 (one row per answer, for
pivot tables). Every piece of user text goes through :func:`clean_text` and is written as a
string, never as a formula or link: through ``write_string``, or, for the data rows of 汇总 and
明细 (most of the file), as inline strings rendered by :func:`fastsheet.render_rows`; for a
large summary, part of those rows in a worker process beside the rest (deflated there, and spliced
into the zip). So an answer such as ``=1+1`` or ``http://…`` stays text (PITFALLS 7, 8). The file
is written next to the target and moved over it at the end, so a failed write never damages an
older summary (PITFALLS 12).
"""

from __future__ import annotations

import contextlib
import functools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

import xlsxwriter
from xlsxwriter.exceptions import XlsxFileError

from . import parallel
from .cells import CELL_LIMIT, clean_text, fit_cell, row_height, row_heights
from .fastsheet import FastWorkbook, deflate_rows, join_rows, render_rows
from .files import write_atomically
from .gcpause import without_gc
from .model import (
    FLAG_TYPES,
    ROLE_LEAD,
    SEVERITIES,
    SEVERITY_ERROR,
    SEVERITY_WARNING,
    STATUSES,
    SUMMARY_SHEETS,
    Answer,
    Flag,
    Summary,
    Task,
    TaskSummary,
    quarter_name,
)

SHEET_OVERVIEW, SHEET_TASKS, SHEET_DIVISIONS, SHEET_FLAGS, SHEET_DETAILS = SUMMARY_SHEETS

TRUNCATION_MARKER = "……（内容过长，已截断，完整内容见“明细”工作表）"  # in 汇总
DETAIL_TRUNCATION_MARKER = "……（内容过长，已截断，完整内容见来源文件）"

# Labels for a task whose lead status is "": no lead answer at all, or an answer without status.
NOT_SUBMITTED = "未报送"
NOT_FILLED = "未填写"
STATUS_LABELS = (*STATUSES, NOT_FILLED, NOT_SUBMITTED)

WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "in_memory": True,  # no scratch files in the system temp folder
}

# Light fills for rows, stronger colours for chart points.
STATUS_FILLS = {
    "已完成": "#E2EFDA",
    "按序时推进": "#DDEBF7",
    "滞后": "#F8CBAD",
    "未启动": "#E7E6E6",
    NOT_FILLED: "#FFF2CC",
    NOT_SUBMITTED: "#FFF2CC",
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
ERROR_MARK = {"bg_color": "#FFC7CE", "font_color": "#9C0006", "bold": True}

BODY_FONT = "宋体"
HEAD_FONT = "黑体"
FONT_SIZE = 11


# ---------------------------------------------------------------------------------------------
# Text helpers


def _text(value: object) -> str:
    """Cell text: cleaned, with line breaks normalised to \\n."""
    text, _ = clean_text("" if value is None else str(value))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _flag_kinds(flags: Iterable[Flag]) -> str:
    """问题类型 of ``flags``, each once, in the order of model.FLAG_TYPES."""
    order = list(FLAG_TYPES)
    kinds = _unique(f.kind for f in flags)
    return "、".join(sorted(kinds, key=lambda k: order.index(k) if k in order else len(order)))


def task_status_label(ts: TaskSummary) -> str:
    """进展状态 shown for a task: the lead status, else 未填写 (lead answered) or 未报送."""
    if ts.status:
        return ts.status
    return NOT_FILLED if ts.lead_answers else NOT_SUBMITTED


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
        self._rows: dict[tuple, tuple[list, list[float]]] = {}

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

    def row(
        self, cols: Sequence[_Col], fill: str | None, overrides: dict[int, dict]
    ) -> tuple[list, list[float]]:
        """The formats of a data row's cells, and the column widths, computed once per kind of row.

        Formats are created in the order the cells ask for them, as when each cell called get().
        """
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
            found = self._rows[key] = (formats, [c.width for c in cols])
        return found

    def xfs(self, cols: Sequence[_Col], fill: str | None, overrides: dict[int, dict]) -> list[int]:
        """The xf indices of a data row's formats, fixed now (for rows rendered elsewhere)."""
        return [f._get_xf_index() for f in self.row(cols, fill, overrides)[0]]

    def title(self):
        return self.get(font_name=HEAD_FONT, font_size=18, border=0, align="center")

    def section(self):
        return self.get(font_name=HEAD_FONT, font_size=12, border=0, align="left", text_wrap=False)

    def header(self):
        return self.get(font_name=HEAD_FONT, align="center", bg_color="#D9E1F2")


class _Col:
    def __init__(
        self, header: str, width: float, align: str = "left", num_format: str = ""
    ) -> None:
        self.header, self.width, self.align, self.num_format = header, width, align, num_format


def _write_row(
    ws,
    styles: _Styles,
    row: int,
    cols: Sequence[_Col],
    values: Sequence[object],
    fill: str | None = None,
    overrides: dict[int, dict] | None = None,
    first_col: int = 0,
) -> None:
    """Write one data row (fastsheet.write_values_plain says how each value is written); set its height."""
    formats, widths = styles.row(cols, fill, overrides or {})
    ws.write_values(row, first_col, values, formats)
    ws.set_row(row, row_height(values, widths))


def _write_header(ws, styles: _Styles, row: int, cols: Sequence[_Col], first_col: int = 0) -> None:
    for i, col in enumerate(cols):
        ws.write_string(row, first_col + i, col.header, styles.header())
    ws.set_row(row, row_height([c.header for c in cols], [c.width for c in cols], minimum=24.0))


def _set_widths(ws, cols: Sequence[_Col], first_col: int = 0) -> None:
    for i, col in enumerate(cols):
        ws.set_column(first_col + i, first_col + i, col.width)


def _write_title(ws, styles: _Styles, text: str, last_col: int) -> None:
    ws.merge_range(0, 0, 0, last_col, "", styles.title())
    ws.write_string(0, 0, text, styles.title())
    ws.set_row(0, 36)


def _print_setup(ws, *, repeat_rows: tuple[int, int] | None, one_page: bool = False) -> None:
    """A4 landscape, fit to one page wide (height 0: as many pages as needed, PITFALLS 11)."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 1 if one_page else 0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.center_horizontally()
    ws.set_footer("&C第 &P 页，共 &N 页")
    if repeat_rows:
        ws.repeat_rows(*repeat_rows)


def _title(summary: Summary) -> str:
    return f"{summary.year}年市《政府工作报告》民政工作第{quarter_name(summary.quarter)}季度完成情况汇总"


# ---------------------------------------------------------------------------------------------
# Ordering


def _task_order(summary: Summary) -> dict[str, int]:
    return {t.number: i for i, t in enumerate(summary.master.tasks)}


def _ordered_tasks(summary: Summary) -> list[TaskSummary]:
    order = _task_order(summary)
    return sorted(summary.tasks, key=lambda ts: order.get(ts.task.number, len(order)))


def _ordered_answers(summary: Summary) -> list[Answer]:
    tasks = _task_order(summary)
    divisions = {d: i for i, d in enumerate(summary.master.divisions)}
    return sorted(
        summary.answers,
        key=lambda a: (
            tasks.get(a.task_number, len(tasks)),
            0 if a.role == ROLE_LEAD else 1,
            divisions.get(a.division, len(divisions)),
        ),
    )


def ordered_flags(flags: Iterable[Flag]) -> list[Flag]:
    """错误, then 警告, then 提示; the given order within each severity."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(flags, key=lambda f: rank.get(f.severity, len(rank)))


# ---------------------------------------------------------------------------------------------
# 总览

_COUNT_COLS = [_Col("合计", 8, "center"), *(_Col(s, 9, "center") for s in STATUS_LABELS)]


def _crosstab(tasks: Sequence[TaskSummary], key) -> list[tuple[str, list[int]]]:
    groups: defaultdict[str, Counter] = defaultdict(Counter)  # not setdefault: a Counter a task
    for ts in tasks:
        groups[key(ts)][task_status_label(ts)] += 1
    return [(g, [sum(c.values()), *(c[s] for s in STATUS_LABELS)]) for g, c in groups.items()]


def _write_overview(workbook, ws, styles: _Styles, summary: Summary) -> None:
    tasks = _ordered_tasks(summary)
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
    expected = len(summary.divisions)
    submitted = sum(1 for d in summary.divisions if d.submitted)
    missing = [_text(d.division) for d in summary.divisions if not d.submitted]
    section("一、报送情况")
    cols = [
        _Col("应报送处室（单位）", first_col_width, "center"),
        _Col("已报送", 10, "center"),
        _Col("未报送", 10, "center"),
        _Col("报送率", 10, "center", "0.0%"),
    ]
    _write_header(ws, styles, row, cols)
    rate = submitted / expected if expected else 0.0
    _write_row(ws, styles, row + 1, cols, [expected, submitted, expected - submitted, rate])
    row += 2
    names = "、".join(missing) or "无"
    last = len(STATUS_LABELS) + 1
    ws.write_string(row, 0, "未报送处室（单位）", styles.header())
    ws.merge_range(row, 1, row, last, "", styles.get(align="left"))
    ws.write_string(row, 1, names, styles.get(align="left"))
    ws.set_row(row, row_height([names], [10 * last]))
    row += 1

    # 二、任务进展状态
    section("二、任务进展状态（按牵头处室报送的进展状态）")
    counts = Counter(task_status_label(ts) for ts in tasks)
    total = len(tasks)
    cols = [
        _Col("进展状态", first_col_width, "center"),
        _Col("事项数", 10, "center"),
        _Col("占比", 10, "center", "0.0%"),
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
    for heading, first, key in (
        ("三、按类别", "类别", lambda ts: ts.task.category or "未分类"),
        ("四、按分管领导", "分管领导", lambda ts: ts.task.leader or "未明确"),
    ):
        section(heading)
        cols = [_Col(first, first_col_width, "center"), *_COUNT_COLS]
        _write_header(ws, styles, row, cols)
        top = row + 1
        for name, numbers in _crosstab(tasks, key):
            row += 1
            _write_row(ws, styles, row, cols, [_text(name), *numbers])
        tables[first] = (top, row)
        row += 1

    # 五、问题统计
    section("五、问题统计")
    cols = [
        _Col("问题类型", first_col_width, "center"),
        _Col("合计", 10, "center"),
        *(_Col(s, 10, "center") for s in SEVERITIES),
    ]
    _write_header(ws, styles, row, cols)
    by_kind: defaultdict[str, Counter] = defaultdict(Counter)
    for flag in summary.flags:
        by_kind[flag.kind][flag.severity] += 1
    for kind in [k for k in FLAG_TYPES if k in by_kind]:
        row += 1
        c = by_kind[kind]
        _write_row(ws, styles, row, cols, [kind, sum(c.values()), *(c[s] for s in SEVERITIES)])
    row += 1
    sev = Counter(f.severity for f in summary.flags)
    totals = ["合计", len(summary.flags), *(sev[s] for s in SEVERITIES)]
    _write_row(ws, styles, row, cols, totals, overrides={0: {"bold": True}})
    row += 2
    note = "说明：进展状态以牵头处室报送为准；“未填写”指牵头处室已报送但未选择进展状态，“未报送”指牵头处室未报送该事项。各事项详情见“汇总”工作表，问题详情见“问题清单”工作表。"
    ws.merge_range(row, 0, row, last, "", styles.get(border=0, align="left"))
    ws.write_string(row, 0, note, styles.get(border=0, align="left"))
    ws.set_row(row, row_height([note], [first_col_width + 10 * last]))

    if tasks:
        _overview_charts(workbook, ws, status_first, status_last, tables)
    _print_setup(ws, repeat_rows=None, one_page=True)


def _overview_charts(workbook, ws, status_first: int, status_last: int, tables: dict) -> None:
    """Native charts over the 总览 tables (they stay live if someone edits the numbers)."""
    sheet = SHEET_OVERVIEW
    anchor_col = len(STATUS_LABELS) + 3
    font = {"name": BODY_FONT, "size": 9}

    def style(chart, title: str) -> None:
        chart.set_title(
            {"name": title, "name_font": {"name": HEAD_FONT, "size": 12, "bold": False}}
        )
        chart.set_legend({"position": "bottom", "font": font})
        chart.set_size({"width": 520, "height": 300})

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
            "major_unit": 1,
            "min": 0,
            "major_gridlines": {"visible": True},
        }
    )
    ws.insert_chart(2, anchor_col, status_chart)

    offsets = ((0, 320), (540, 0))
    for (name, (top, bottom)), (dx, dy) in zip(tables.items(), offsets, strict=True):
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
        chart.set_x_axis({"num_font": font, "major_unit": 1})
        chart.set_y_axis({"num_font": font, "reverse": True, "crossing": "max"})
        height = max(300, 120 + 30 * (bottom - top + 1))
        chart.set_size({"width": 520, "height": height})
        ws.insert_chart(2, anchor_col, chart, {"x_offset": dx, "y_offset": dy})


# ---------------------------------------------------------------------------------------------
# 汇总

TASK_COLS = [
    _Col("序号", 6, "center"),
    _Col("类别", 10, "center"),
    _Col("工作事项", 34),
    _Col("分管领导", 9, "center"),
    _Col("牵头处室", 13, "center"),
    _Col("责任处室", 15, "center"),
    _Col("进展状态", 10, "center"),
    _Col("牵头处室完成情况", 44),
    _Col("配合处室完成情况", 40),
    _Col("存在问题及下步打算", 32),
    _Col("问题标记", 12, "center"),
]


def _by_division(
    divisions: Sequence[str],
    answers: Sequence[Answer],
    field: str,
    submitted: dict[str, bool],
    text: Callable[[object], str] = _text,
) -> str:
    """Answers prefixed with their division (【养老服务处】…), divisions in master order.

    For 完成情况 a division without an answer is listed too, so leaders see who is missing;
    plans are listed only where one was written. ``text`` is _text, or a memo of it for the
    division names.
    """
    if not answers and field != "answer":
        return ""
    found = {a.division: a for a in answers}
    listed = set(divisions)
    if len(found) < len(answers) or len(listed) < len(divisions) or not found.keys() <= listed:
        return _by_division_sorted(divisions, answers, field, submitted, text)
    # The usual case: at most one answer per division, each from a division of the task. The
    # order is then the divisions' (what _by_division_sorted gives, in one pass).
    parts = []
    for d in divisions:
        a = found.get(d)
        if a is None:
            if field == "answer":
                parts.append(f"【{text(d)}】（{'未填报此事项' if submitted.get(d) else '未报送'}）")
            continue
        answer = _text(getattr(a, field)).strip()
        if answer or field == "answer":
            parts.append(f"【{text(d)}】{answer or '（未填写）'}")
    return fit_cell("\n\n".join(parts), TRUNCATION_MARKER)[0]


def _by_division_sorted(
    divisions: Sequence[str],
    answers: Sequence[Answer],
    field: str,
    submitted: dict[str, bool],
    text: Callable[[object], str] = _text,
) -> str:
    """_by_division for any answers: by division rank, then as given."""
    rank = {d: i for i, d in enumerate(divisions)}
    entries: list[tuple[int, int, str]] = []
    for seq, a in enumerate(answers):
        answer = _text(getattr(a, field)).strip()
        if not answer and field != "answer":
            continue
        entries.append(
            (
                rank.get(a.division, len(rank)),
                seq,
                f"【{text(a.division)}】{answer or '（未填写）'}",
            )
        )
    if field == "answer":
        answered = {a.division for a in answers}
        for d in divisions:
            if d not in answered:
                why = "未填报此事项" if submitted.get(d) else "未报送"
                entries.append((rank[d], len(answers), f"【{text(d)}】（{why}）"))
    joined, _ = fit_cell("\n\n".join(e[2] for e in sorted(entries)), TRUNCATION_MARKER)
    return joined


def _task_style(ts: TaskSummary) -> tuple[str | None, dict[int, dict]]:
    """Fill and per-column overrides of a task's 汇总 row."""
    overrides = {6: {"bold": True}}
    if any(f.severity == SEVERITY_ERROR for f in ts.flags):
        overrides[10] = ERROR_MARK
        overrides[0] = {"font_color": "#9C0006", "bold": True}
    return STATUS_FILLS.get(task_status_label(ts)), overrides


def _task_values(
    ts: TaskSummary, submitted: dict[str, bool], text: Callable[[object], str] = _text
) -> list[object]:
    """The 汇总 cells of one task; ``text`` is _text, or a memo of it for repeated values."""
    task = ts.task
    lead_divisions = task.leads
    partner_divisions = tuple(d for d in task.partners if d not in task.leads)
    plans = _by_division(
        (*lead_divisions, *partner_divisions),
        (*ts.lead_answers, *ts.partner_answers),
        "plan",
        submitted,
        text,
    )
    return [
        text(task.label),
        text(task.category),
        _text(task.text),
        text(task.leader),
        "、".join(text(d) for d in task.leads),
        "、".join(text(d) for d in partner_divisions),
        task_status_label(ts),
        _by_division(lead_divisions, ts.lead_answers, "answer", submitted, text),
        _by_division(partner_divisions, ts.partner_answers, "answer", submitted, text),
        plans,
        _flag_kinds(ts.flags) if ts.flags else "",
    ]


def _task_looks(styles: _Styles, summary: Summary) -> list[list[int]]:
    """The xf indices of each 汇总 data row, in 汇总 order, fixed now (rows are rendered later,
    maybe in a worker)."""
    by_look: dict[tuple[str | None, bool], list[int]] = {}
    looks = []
    for ts in _ordered_tasks(summary):
        fill, overrides = _task_style(ts)
        xfs = by_look.get((fill, 10 in overrides))
        if xfs is None:
            xfs = by_look[fill, 10 in overrides] = styles.xfs(TASK_COLS, fill, overrides)
        looks.append(xfs)
    return looks


def _render_tasks(
    summary: Summary,
    looks: list[list[int]],
    start: int = 0,
    stop: int | None = None,
    deflate: bool = True,
):
    """The 汇总 data rows of the tasks [start:stop] in 汇总 order (from row 3 on), as
    deflate_rows gives them, or as render_rows does (``deflate`` False)."""
    submitted = {d.division: d.submitted for d in summary.divisions}
    widths = [c.width for c in TASK_COLS]
    text = functools.cache(_text)  # division names, categories, leaders: on many rows
    values = [_task_values(ts, submitted, text) for ts in _ordered_tasks(summary)[start:stop]]
    heights = row_heights(values, widths)
    rendered = render_rows(
        2 + start, zip(values, looks[start:stop], heights, strict=True), clean=True
    )
    return deflate_rows(rendered) if deflate else rendered


def _write_tasks(ws, styles: _Styles, summary: Summary) -> None:
    """Everything of 汇总 but its data rows (attached later, from _start_rows)."""
    _set_widths(ws, TASK_COLS)
    _write_title(ws, styles, _title(summary) + "表", len(TASK_COLS) - 1)
    _write_header(ws, styles, 1, TASK_COLS)
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(1 + len(summary.tasks), 1), len(TASK_COLS) - 1)
    _print_setup(ws, repeat_rows=(0, 1))


# ---------------------------------------------------------------------------------------------
# 报送情况

DIVISION_COLS = [
    _Col("处室（单位）", 22),
    _Col("报送状态", 10, "center"),
    _Col("采用文件", 40),
    _Col("填报时间", 16, "center"),
    _Col("应报事项数", 11, "center"),
    _Col("已填报事项数", 13, "center"),
    _Col("问题", 30),
]
FILE_HEADERS = ("识别为处室（单位）", "是否采用", "文件", "说明")  # in columns A, B, C, D:G


def _write_divisions(ws, styles: _Styles, summary: Summary) -> None:
    _set_widths(ws, DIVISION_COLS)
    _write_title(
        ws,
        styles,
        f"{summary.year}年第{quarter_name(summary.quarter)}季度各处室（单位）报送情况",
        len(DIVISION_COLS) - 1,
    )
    _write_header(ws, styles, 1, DIVISION_COLS)
    row = 1
    for d in summary.divisions:
        row += 1
        values = [
            _text(d.division),
            "已报送" if d.submitted else "未报送",
            _text(d.source),
            _text(d.fill_time),
            d.expected,
            d.answered,
            _flag_kinds(d.flags),
        ]
        fill = None if d.submitted else STATUS_FILLS[NOT_SUBMITTED]
        overrides = {} if d.submitted else {1: {"bold": True, "font_color": "#9C0006"}}
        _write_row(ws, styles, row, DIVISION_COLS, values, fill, overrides)
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(row, 1), len(DIVISION_COLS) - 1)
    if summary.files:
        # Every file received, used or not, so a coordinator can answer "did you get my file?".
        row += 2
        ws.write_string(row, 0, "附：收到的文件", styles.section())
        row += 1
        widths = [c.width for c in DIVISION_COLS[:3]] + [sum(c.width for c in DIVISION_COLS[3:])]
        last = len(DIVISION_COLS) - 1
        ws.merge_range(row, 3, row, last, "", styles.header())
        for i, header in enumerate(FILE_HEADERS):
            ws.write_string(row, i, header, styles.header())
        ws.set_row(row, 24)
        for f in summary.files:
            row += 1
            values = [
                _text(f.division),
                "采用" if f.accepted else "未采用",
                _text(f.source),
                _text(f.reason),
            ]
            props = (
                {"align": "left"}
                if f.accepted
                else {"align": "left", "bg_color": STATUS_FILLS[NOT_SUBMITTED]}
            )
            ws.merge_range(row, 3, row, last, "", styles.get(**props))
            for i, value in enumerate(values):
                ws.write_string(
                    row, i, value, styles.get(**{**props, "align": "center" if i == 1 else "left"})
                )
            ws.set_row(row, row_height(values, widths))
    _print_setup(ws, repeat_rows=(0, 1))


# ---------------------------------------------------------------------------------------------
# 问题清单

FLAG_COLS = [
    _Col("严重程度", 10, "center"),
    _Col("问题类型", 14, "center"),
    _Col("处室", 22),
    _Col("序号", 6, "center"),
    _Col("说明", 70),
    _Col("来源文件", 36),
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
    text = functools.cache(_text)  # severities, kinds, divisions, files: on many rows
    values = [
        [
            text(flag.severity),
            text(flag.kind),
            text(flag.division),
            text(labels.get(flag.task, flag.task)),
            fit_cell(_text(flag.detail), DETAIL_TRUNCATION_MARKER)[0],
            text(flag.source),
        ]
        for flag in flags
    ]
    xfs: dict[str | None, list[int]] = {}
    for fill in dict.fromkeys(SEVERITY_FILLS.get(flag.severity) for flag in flags):
        xfs[fill] = styles.xfs(FLAG_COLS, fill, {0: {"bold": True}})
    looks = [xfs[SEVERITY_FILLS.get(flag.severity)] for flag in flags]
    heights = row_heights(values, [c.width for c in FLAG_COLS])
    ws.attach_rows(2, render_rows(2, zip(values, looks, heights, strict=True), clean=True))
    row = 1 + len(flags)
    if not flags:
        row += 1
        ws.merge_range(row, 0, row, len(FLAG_COLS) - 1, "", styles.get(align="center"))
        ws.write_string(row, 0, "未发现问题", styles.get(align="center"))
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(row, 1), len(FLAG_COLS) - 1)
    _print_setup(ws, repeat_rows=(0, 1))


# ---------------------------------------------------------------------------------------------
# 明细

DETAIL_COLS = [
    _Col("序号", 6, "center"),
    _Col("工作事项", 30),
    _Col("处室", 20),
    _Col("职责", 6, "center"),
    _Col("进展状态", 10, "center"),
    _Col("进展状态（原文）", 16, "center"),
    _Col("完成情况", 50),
    _Col("存在问题及下步打算", 36),
    _Col("来源文件", 30),
    _Col("单元格", 8, "center"),
    _Col("备注", 24),
    # Not in the brief's list; added at the end for pivot tables by leader and category.
    _Col("类别", 12, "center"),
    _Col("分管领导", 10, "center"),
]


def _detail_cell(value: str, what: str, notes: list[str]) -> str:
    text, removed = clean_text(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if removed:
        notes.append(f"写入汇总时删除了{what}中 Excel 无法保存的字符")
    text, cut = fit_cell(text, DETAIL_TRUNCATION_MARKER)
    if cut:
        notes.append(f"{what}超过 Excel 单元格 {CELL_LIMIT} 字上限，已截断")
    return text


def _detail_fill(a: Answer) -> str | None:
    return STATUS_FILLS.get(a.status) if a.status else None


def _detail_values(a: Answer, task: Task | None, text=_text) -> list[object]:
    """The 明细 cells of one answer; ``text`` is _text, or a memo of it for repeated values."""
    notes = [_text(a.note)] if a.note else []
    answer = _detail_cell(a.answer, "完成情况", notes)
    plan = _detail_cell(a.plan, "存在问题及下步打算", notes)
    return [
        text(task.label if task else a.task_number),
        text(task.text if task else ""),
        text(a.division),
        text(a.role),
        text(a.status),
        text(a.status_raw),
        answer,
        plan,
        text(a.source),
        _text(a.cell),
        "；".join(notes),
        text(task.category if task else ""),
        text(task.leader if task else ""),
    ]


def _render_details(
    summary: Summary,
    xfs: dict[str | None, list[int]],
    start: int = 0,
    stop: int | None = None,
    deflate: bool = True,
):
    """The 明细 data rows of the answers [start:stop] in 明细 order (one row per answer, from
    row 2 on), as deflate_rows gives them, or as render_rows does (``deflate`` False)."""
    tasks = {ts.task.number: ts.task for ts in summary.tasks}
    tasks.update({t.number: t for t in summary.master.tasks})
    widths = [c.width for c in DETAIL_COLS]
    text = functools.cache(_text)  # task texts, divisions, files: the same on many rows
    answers = _ordered_answers(summary)[start:stop]
    values = [_detail_values(a, tasks.get(a.task_number), text) for a in answers]
    looks = [xfs[_detail_fill(a)] for a in answers]
    heights = row_heights(values, widths)
    rendered = render_rows(1 + start, zip(values, looks, heights, strict=True), clean=True)
    # Deflated here, as they go into the file: from a worker, ~1.5 MB come back instead of
    # ~12 MB of XML to decode, encode again and deflate while the parent closes the workbook.
    return deflate_rows(rendered) if deflate else rendered


#: From this much row work (in 明细 rows, see ROW_COSTS) the data rows of 汇总 and 明细 are
#: rendered partly in a worker process, beside the rest of the workbook: about 60 ms of work on
#: one CPU, where a worker costs ~5 ms to start and stop.
BESIDE_FROM = 2000

#: What a data row costs, in 明细 rows (~30 µs on one CPU): 汇总, 明细, 问题清单 and 报送情况.
ROW_COSTS = (1.0, 1.0, 1.0, 1.0)
#: The worker's part of the row work. Under half: it also pays for starting, for touching the
#: summary's objects (copied on write after the fork) and for sending its rows back. Set so that
#: both processes finish about together on the summaries of benchmarks/run.py (20 and 200
#: returns on a 2,000-task plan).
WORKER_PART = 0.45


def _worker_share(summary: Summary) -> tuple[int, int]:
    """How many of the first 汇总 and of the first 明细 data rows a worker renders: (0, 0) for
    a small summary, else WORKER_PART of the row work, 明细 rows first (the other sheets are
    written here). This process renders the rest once it has written the other sheets."""
    task_cost, detail_cost, flag_cost, division_cost = ROW_COSTS
    tasks, details = len(summary.tasks), len(summary.answers)
    total = (
        task_cost * tasks
        + detail_cost * details
        + flag_cost * len(summary.flags)
        + division_cost * len(summary.divisions)
    )
    if total < BESIDE_FROM:
        return 0, 0
    budget = total * WORKER_PART
    there_details = min(details, int(budget / detail_cost))
    there_tasks = min(tasks, int((budget - there_details * detail_cost) / task_cost))
    return there_tasks, there_details


def _render_share(summary: Summary, looks, xfs, tasks: int, details: int):
    """The first ``tasks`` 汇总 rows and ``details`` 明细 rows, deflated (None for none)."""
    return (
        _render_tasks(summary, looks, 0, tasks) if tasks else None,
        _render_details(summary, xfs, 0, details) if details else None,
    )


def _joined(first, then):
    """Rows of one sheet rendered in two runs, as one (either run may be None: no rows)."""
    if first is None or then is None:
        return then if first is None else first
    return join_rows(first, then)


def _start_rows(styles: _Styles, summary: Summary):
    """Start rendering the data rows of 汇总 and 明细; returns a function that gives both, each
    as attach_rows takes it.

    For a large summary a worker renders the first rows (:func:`_worker_share`), deflated, beside
    the other sheets; this process renders the others when asked, and joins the two. The formats
    get their xf indices here, before any worker starts.
    """
    looks = _task_looks(styles, summary)
    fills = dict.fromkeys(_detail_fill(a) for a in summary.answers)
    xfs = {fill: styles.xfs(DETAIL_COLS, fill, {}) for fill in fills}
    there_tasks, there_details = _worker_share(summary)
    tasks_here = functools.partial(_render_tasks, summary, looks, there_tasks)
    details_here = functools.partial(_render_details, summary, xfs, there_details)
    if not there_tasks and not there_details:  # all here, zipped with the rest
        return lambda: (tasks_here(deflate=False), details_here(deflate=False))
    there = parallel.beside(
        functools.partial(_render_share, summary, looks, xfs, there_tasks, there_details)
    )

    def rows():
        try:
            # Deflated only where the worker has rows of the same sheet to join them to.
            mine = (
                tasks_here(deflate=there_tasks > 0) if there_tasks < len(summary.tasks) else None,
                details_here(deflate=there_details > 0)
                if there_details < len(summary.answers)
                else None,
            )
        except BaseException:
            with contextlib.suppress(Exception):
                there()  # let the worker finish and be reaped before the error goes up
            raise
        theirs = there()
        return _joined(theirs[0], mine[0]), _joined(theirs[1], mine[1])

    return rows


def _write_details(ws, styles: _Styles, rendered) -> None:
    _set_widths(ws, DETAIL_COLS)
    # Header in row 1, no title: a pivot table or filter picks up the table without help.
    _write_header(ws, styles, 0, DETAIL_COLS)
    ws.attach_rows(1, rendered)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(rendered[1], 1), len(DETAIL_COLS) - 1)
    _print_setup(ws, repeat_rows=(0, 0))


# ---------------------------------------------------------------------------------------------
# The file


@without_gc  # xlsxwriter keeps every cell until close()
def _build(summary: Summary, target: str) -> None:
    _build_workbook(summary, target)


def _build_workbook(summary: Summary, target: str) -> None:
    workbook = FastWorkbook(target, WORKBOOK_OPTIONS)
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
    overview, tasks, divisions, flags, details = sheets
    data_rows = _start_rows(styles, summary)  # the largest sheets, partly beside the others
    try:
        _write_overview(workbook, overview, styles, summary)
        _write_tasks(tasks, styles, summary)
        _write_divisions(divisions, styles, summary)
        _write_flags(flags, styles, summary)
    except BaseException:
        with contextlib.suppress(Exception):
            data_rows()  # let a worker finish and be reaped before the error goes up
        raise
    task_rows, detail_rows = data_rows()
    tasks.attach_rows(2, task_rows)
    _write_details(details, styles, detail_rows)
    overview.activate()
    workbook.close()


def write_summary(summary: Summary, path: Path) -> Path:
    """Write the leaders' summary workbook to ``path`` and return it.

    The workbook is built in a temporary file next to ``path`` and moved over it, so an older
    summary stays intact if anything fails. Raises :class:`OutputError` when the folder cannot be
    written or the file is open in another program.
    """
    return write_atomically(
        path,
        lambda tmp: _build(summary, str(tmp)),
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
