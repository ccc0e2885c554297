"""What the summary shows of quantitative targets and of the year: the target columns of 汇总,
the 序时进度 table of 总览, and the 全年进展 sheet (one row per task, Q1..Q4 side by side).

Only for a master with targets (汇总, 总览) or a year with history (全年进展); a plain master's
first quarter gives the workbook it always gave. Rows are plain values (summary_rows.DataRow);
summary.py writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .cells import cell_text
from .model import Master, Summary, quarter_name
from .summary_rows import STATUS_FILLS, Column, DataRow, ordered_tasks
from .targets import BUCKETS, amount_text, percent_text
from .yearly import BUCKET_FILLS, NOT_REPORTED, year_rows

YEAR_SHEET = "全年进展"

TARGET_COLS = [
    Column("序时进度情况", 11, "center"),
    Column("量化指标", 30),
    Column("累计完成", 14, "right"),
    Column("完成率", 9, "right"),
    Column("序时进度", 9, "right"),
]


def has_targets(master: Master) -> bool:
    return any(t.targets for t in master.tasks)


def target_values(ts) -> list[str]:
    """The 汇总 cells of a task's targets: bucket, then one line per target in each column."""
    progress = ts.progress
    if progress is None:
        return [ts.bucket, "", "", "", ""]
    names, reported, shares, expected = [], [], [], []
    for p in progress.targets:
        t = p.target
        names.append(f"{t.name}：{amount_text(t.amount)}{t.unit}")
        reported.append("未填报" if p.reported is None else f"{amount_text(p.reported)}{t.unit}")
        shares.append("—" if p.completion is None else percent_text(p.completion))
        expected.append(percent_text(p.expected))
    return [progress.bucket, *("\n".join(x) for x in (names, reported, shares, expected))]


def with_target_columns(
    summary: Summary, cols: Sequence[Column], rows: Sequence[DataRow]
) -> tuple[list[Column], list[DataRow]]:
    """汇总's columns and rows with the target columns appended (rows in ordered_tasks order)."""
    first = len(cols)
    out = []
    for ts, row in zip(ordered_tasks(summary), rows, strict=True):
        overrides = dict(row.overrides)
        overrides[first] = {"bg_color": BUCKET_FILLS[ts.bucket], "bold": True}
        out.append(replace(row, values=[*row.values, *target_values(ts)], overrides=overrides))
    return [*cols, *TARGET_COLS], out


def bucket_counts(summary: Summary) -> dict[str, int]:
    """Tasks per 序时 bucket (targets.BUCKETS), each task in exactly one."""
    counts = dict.fromkeys(BUCKETS, 0)
    for ts in summary.tasks:
        counts[ts.bucket] += 1
    return counts


# ---------------------------------------------------------------------------------------------
# 全年进展

YEAR_LEAD_COLS = [
    Column("序号", 6, "center"),
    Column("工作事项", 34),
    Column("牵头处室", 14, "center"),
    Column("量化指标", 26),
]


def year_columns(master: Master) -> list[Column]:
    cols = list(YEAR_LEAD_COLS)
    targets = has_targets(master)
    for q in range(1, 5):
        cols.append(Column(f"第{quarter_name(q)}季度进展状态", 11, "center"))
        if targets:
            cols.append(Column(f"第{quarter_name(q)}季度累计完成", 24))
    return cols


def year_data_rows(master: Master, history) -> list[DataRow]:
    """One row per task: each quarter's status (filled by status) and, with targets, figures
    (filled by 序时 bucket), so the trend reads across."""
    targets = has_targets(master)
    rows = []
    for yr in year_rows(master, history):
        task = yr.task
        values: list[object] = [
            cell_text(task.label),
            cell_text(task.text),
            "、".join(cell_text(d) for d in task.leads),
            "\n".join(f"{t.name}：{amount_text(t.amount)}{t.unit}" for t in task.targets),
        ]
        overrides: dict[int, dict] = {}
        for cell in yr.quarters:
            col = len(values)
            values.append(cell.status)
            fill = STATUS_FILLS.get(cell.status) or (
                STATUS_FILLS.get("未报送") if cell.status == NOT_REPORTED else None
            )
            if fill:
                overrides[col] = {"bg_color": fill}
            if targets:
                values.append(cell.figures if task.targets else "")
                if task.targets and cell.bucket:
                    overrides[col + 1] = {"bg_color": BUCKET_FILLS[cell.bucket]}
        rows.append(DataRow(values, None, overrides))
    return rows


YEAR_NOTE = (
    "说明：进展状态为牵头处室所选（多个牵头处室取最差的一项），未报送指牵头处室没有可采用的报送文件，"
    "未填写指牵头处室没有写完成情况或没有选进展状态（与“汇总”的判断相同）；"
    "累计完成为牵头处室填报的截至该季度末累计数及其占全年目标的比例。颜色：绿色已完成，蓝色超序时，"
    "浅蓝达序时，橙色未达序时。数据取自工作目标档案。"
)
