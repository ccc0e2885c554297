"""The 总览 sheet of the leaders' summary workbook: who submitted, the tasks' overall status,
by category and by 分管领导, the flags counted, 序时进度 when the plan has targets, then native
charts over those tables on a page of their own. Its numbers come from overview.py, as the
通报's do."""

from __future__ import annotations

from collections.abc import Sequence

from . import summary_year
from .cells import cell_text, fit_cell, row_height
from .model import SEVERITIES, SUMMARY_SHEETS, Summary
from .overview import Overview
from .summary_book import (
    BODY_FONT,
    HEAD_FONT,
    Styles,
    print_setup,
    summary_title,
    write_header,
    write_row,
    write_title,
)
from .summary_rows import NOT_FILLED, NOT_SUBMITTED, STATUS_FILLS, STATUS_LABELS, Column

SHEET_OVERVIEW = SUMMARY_SHEETS[0]

STATUS_CHART_COLOURS = {
    "已完成": "#70AD47",
    "按序时推进": "#5B9BD5",
    "滞后": "#ED7D31",
    "未启动": "#A5A5A5",
    NOT_FILLED: "#FFC000",
    NOT_SUBMITTED: "#BF9000",
}


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


def write_overview(workbook, ws, styles: Styles, summary: Summary, ov: Overview) -> None:
    """Write the 总览 sheet ``ws`` of ``workbook`` from ``ov``, the overview of ``summary``."""
    first_col_width = 24
    ws.set_column(0, 0, first_col_width)
    ws.set_column(1, len(STATUS_LABELS) + 1, 10)
    ws.hide_gridlines(2)
    write_title(ws, styles, summary_title(summary), len(STATUS_LABELS) + 1)
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
    write_header(ws, styles, row, cols)
    rate = float(ov.submission_rate)
    write_row(
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
    write_header(ws, styles, row, cols)
    status_first = row + 1
    for label in STATUS_LABELS:
        row += 1
        share = counts[label] / total if total else 0.0
        write_row(ws, styles, row, cols, [label, counts[label], share], STATUS_FILLS[label])
    row += 1
    write_row(
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
        write_header(ws, styles, row, cols)
        top = row + 1
        most = 0
        for group in groups:
            row += 1
            write_row(ws, styles, row, cols, [cell_text(group.name), group.total, *group.counts])
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
    write_header(ws, styles, row, cols)
    for count in ov.flags:
        row += 1
        write_row(ws, styles, row, cols, [count.kind, count.total, *count.by_severity])
    row += 1
    write_row(ws, styles, row, cols, ["合计", *ov.flag_totals], overrides={0: {"bold": True}})
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
        write_header(ws, styles, row, cols)
        buckets = summary_year.bucket_counts(summary)
        for label, count in buckets.items():
            row += 1
            share = count / total if total else 0.0
            fill = summary_year.BUCKET_FILLS[label]
            write_row(ws, styles, row, cols, [label, count, share], fill)
        row += 1
        write_row(
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
    print_setup(ws, repeat_rows=None, portrait=True)


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
