"""What the data rows of the summary's two large sheets say: 汇总 (one row per task, quoting
each answer up to SUMMARY_EXCERPT characters) and 明细 (one row per answer, whole), with the
vocabulary and order they share with the other sheets.

Plain values only: each row is its cell values and the look it asks for (a fill, and the
properties some columns add); summary_book.py turns looks into formats and summary.py writes
the workbook.
Every piece of user text goes through :func:`cells.cell_text`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from . import overview
from .cells import (
    CELL_LIMIT,
    cell_text,
    clean_text,
    fit_cell,
    text_lines,
    truncation_marker,
    utf16_len,
)
from .model import (
    FLAG_TYPES,
    ROLE_LEAD,
    SEVERITIES,
    SEVERITY_ERROR,
    Answer,
    Flag,
    Summary,
    Task,
    TaskSummary,
)

__all__ = [
    "DETAIL_COLS",
    "DETAIL_TRUNCATION_MARKER",
    "ERROR_MARK",
    "NOT_FILLED",
    "NOT_SUBMITTED",
    "STATUS_FILLS",
    "STATUS_LABELS",
    "SUMMARY_EXCERPT",
    "TASK_COLS",
    "TRUNCATION_MARKER",
    "Column",
    "DataRow",
    "detail_rows",
    "flag_kinds",
    "ordered_flags",
    "ordered_tasks",
    "task_rows",
    "task_status_label",
]

TRUNCATION_MARKER = truncation_marker("“明细”")  # in 汇总
DETAIL_TRUNCATION_MARKER = truncation_marker("来源文件")  # in 明细 and 问题清单

#: Characters of each division's answer (完成情况, 存在问题及下步打算) that 汇总 quotes. 汇总 is
#: the overview leaders print, one row per task with every division's text in it: long answers
#: quoted whole made rows reach Excel's 409 pt limit (a row or two to an A4 page, and the text
#: past the limit not printed). 150 characters take eight to fourteen lines of those columns.
#: 明细 holds every answer whole, and the marker sends the reader there.
SUMMARY_EXCERPT = 150
#: Lines a 汇总 text cell may take (about 200 pt). A task with several divisions quotes each
#: of them shorter, alike, down to SUMMARY_EXCERPT_MIN characters, until its cell fits: on
#: paper a row stops at 409 pt, and what lies below is not printed, without any mark.
SUMMARY_LINES = 12
SUMMARY_EXCERPT_MIN = 20

# A task's 总体状态 (overview.py): one of the four statuses, or 未填写 / 未报送.
NOT_SUBMITTED = overview.NOT_SUBMITTED
NOT_FILLED = overview.NOT_FILLED
STATUS_LABELS = overview.STATE_LABELS

# Light fills for the rows of each status (the charts' stronger colours are in
# summary_overview.py), and the look of a task's 问题标记 when it has an error.
STATUS_FILLS = {
    "已完成": "#E2EFDA",
    "按序时推进": "#DDEBF7",
    "滞后": "#F8CBAD",
    "未启动": "#E7E6E6",
    NOT_FILLED: "#FFF2CC",
    NOT_SUBMITTED: "#FFF2CC",
}
ERROR_MARK = {"bg_color": "#FFC7CE", "font_color": "#9C0006", "bold": True}


# ---------------------------------------------------------------------------------------------
# Text helpers


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def flag_kinds(flags: Iterable[Flag]) -> str:
    """问题类型 of ``flags``, each once, in the order of model.FLAG_TYPES."""
    order = list(FLAG_TYPES)
    kinds = _unique(f.kind for f in flags)
    return "、".join(sorted(kinds, key=lambda k: order.index(k) if k in order else len(order)))


def task_status_label(ts: TaskSummary, submitted: dict[str, bool]) -> str:
    """进展状态 shown for a task: its 总体状态, the worst of its divisions' (overview.py), as
    总览 counts it. ``submitted``: division -> whether it has an accepted return."""
    return overview.task_state(ts, submitted)


# ---------------------------------------------------------------------------------------------
# Columns


@dataclass(frozen=True)
class Column:
    """A column of a table on the summary: header, width in Excel units, alignment, number format."""

    header: str
    width: float
    align: str = "left"
    num_format: str = ""


@dataclass(frozen=True)
class DataRow:
    """One data row: its cell values, and its look (a fill for the whole row, or None, and
    extra format properties by column index)."""

    values: list[object]
    fill: str | None = None
    overrides: dict[int, dict] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Ordering


def _task_order(summary: Summary) -> dict[str, int]:
    return {t.number: i for i, t in enumerate(summary.master.tasks)}


def ordered_tasks(summary: Summary) -> list[TaskSummary]:
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
# 汇总

TASK_COLS = [
    Column("序号", 6, "center"),
    Column("类别", 10, "center"),
    Column("工作事项", 34),
    Column("分管领导", 9, "center"),
    Column("牵头处室", 13, "center"),
    Column("责任处室", 15, "center"),
    Column("进展状态", 10, "center"),
    Column("牵头处室完成情况", 44),
    Column("配合处室完成情况", 40),
    Column("存在问题及下步打算", 32),
    Column("问题标记", 12, "center"),
]
_WIDTH = {c.header: c.width for c in TASK_COLS}


def _quoted(a: Answer, field: str, excerpt: int = SUMMARY_EXCERPT) -> str:
    """A division's ``field`` as 汇总 quotes it: its first ``excerpt`` characters and
    TRUNCATION_MARKER when longer (one the marker would not shorten is whole); "" when blank."""
    room = excerpt + utf16_len(TRUNCATION_MARKER)
    return fit_cell(cell_text(getattr(a, field)).strip(), TRUNCATION_MARKER, room)[0]


def _quoted_cell(
    width: float,
    divisions: Sequence[str],
    answers: Sequence[Answer],
    field: str,
    submitted: dict[str, bool],
    text: Callable[[object], str] = cell_text,
) -> str:
    """:func:`_by_division` with each division quoted as long as the cell, ``width`` units
    wide, stays within SUMMARY_LINES lines (the row-height model of cells.py)."""
    excerpt = SUMMARY_EXCERPT
    while True:
        value = _by_division(divisions, answers, field, submitted, text, excerpt)
        if excerpt <= SUMMARY_EXCERPT_MIN or text_lines(value, width) <= SUMMARY_LINES:
            return value
        excerpt = max(SUMMARY_EXCERPT_MIN, excerpt * 2 // 3)


def _by_division(
    divisions: Sequence[str],
    answers: Sequence[Answer],
    field: str,
    submitted: dict[str, bool],
    text: Callable[[object], str] = cell_text,
    excerpt: int = SUMMARY_EXCERPT,
) -> str:
    """Answers prefixed with their division (【养老服务处】…), divisions in master order, each
    quoted up to ``excerpt`` characters (:func:`_quoted`).

    For 完成情况 a division without an answer is listed too, so leaders see who is missing;
    plans are listed only where one was written. ``text`` is cell_text, or a memo of it for the
    division names.
    """
    if not answers and field != "answer":
        return ""
    found = {a.division: a for a in answers}
    listed = set(divisions)
    if len(found) < len(answers) or len(listed) < len(divisions) or not found.keys() <= listed:
        return _by_division_sorted(divisions, answers, field, submitted, text, excerpt)
    # The usual case: at most one answer per division, each from a division of the task. The
    # order is then the divisions' (what _by_division_sorted gives, in one pass).
    parts = []
    for d in divisions:
        a = found.get(d)
        if a is None:
            if field == "answer":
                parts.append(f"【{text(d)}】（{'未填报此事项' if submitted.get(d) else '未报送'}）")
            continue
        answer = _quoted(a, field, excerpt)
        if answer or field == "answer":
            parts.append(f"【{text(d)}】{answer or '（未填写）'}")
    # Only the answers are quoted short: a master with very long division names could still
    # pass Excel's cell limit.
    return fit_cell("\n\n".join(parts), TRUNCATION_MARKER)[0]


def _by_division_sorted(
    divisions: Sequence[str],
    answers: Sequence[Answer],
    field: str,
    submitted: dict[str, bool],
    text: Callable[[object], str] = cell_text,
    excerpt: int = SUMMARY_EXCERPT,
) -> str:
    """_by_division for any answers: by division rank, then as given."""
    rank = {d: i for i, d in enumerate(divisions)}
    entries: list[tuple[int, int, str]] = []
    for seq, a in enumerate(answers):
        answer = _quoted(a, field, excerpt)
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


def _task_style(ts: TaskSummary, submitted: dict[str, bool]) -> tuple[str | None, dict[int, dict]]:
    """Fill and per-column overrides of a task's 汇总 row."""
    overrides = {6: {"bold": True}}
    if any(f.severity == SEVERITY_ERROR for f in ts.flags):
        overrides[10] = ERROR_MARK
        overrides[0] = {"font_color": "#9C0006", "bold": True}
    return STATUS_FILLS.get(task_status_label(ts, submitted)), overrides


def _task_values(
    ts: TaskSummary, submitted: dict[str, bool], text: Callable[[object], str] = cell_text
) -> list[object]:
    """The 汇总 cells of one task; ``text`` is cell_text, or a memo of it for repeated values."""
    task = ts.task
    lead_divisions = task.leads
    partner_divisions = tuple(d for d in task.partners if d not in task.leads)
    plans = _quoted_cell(
        _WIDTH["存在问题及下步打算"],
        (*lead_divisions, *partner_divisions),
        (*ts.lead_answers, *ts.partner_answers),
        "plan",
        submitted,
        text,
    )
    return [
        text(task.label),
        text(task.category),
        cell_text(task.text),
        text(task.leader),
        "、".join(text(d) for d in task.leads),
        "、".join(text(d) for d in partner_divisions),
        task_status_label(ts, submitted),
        _quoted_cell(
            _WIDTH["牵头处室完成情况"], lead_divisions, ts.lead_answers, "answer", submitted, text
        ),
        _quoted_cell(
            _WIDTH["配合处室完成情况"],
            partner_divisions,
            ts.partner_answers,
            "answer",
            submitted,
            text,
        ),
        plans,
        flag_kinds(ts.flags) if ts.flags else "",
    ]


def task_rows(summary: Summary) -> list[DataRow]:
    """The 汇总 data rows: one per task, in master order."""
    submitted = {d.division: d.submitted for d in summary.divisions}
    text = functools.cache(cell_text)  # division names, categories, leaders: on many rows
    rows = []
    for ts in ordered_tasks(summary):
        fill, overrides = _task_style(ts, submitted)
        rows.append(DataRow(_task_values(ts, submitted, text), fill, overrides))
    return rows


# ---------------------------------------------------------------------------------------------
# 明细

DETAIL_COLS = [
    Column("序号", 6, "center"),
    Column("工作事项", 30),
    Column("处室", 20),
    Column("职责", 6, "center"),
    Column("进展状态", 10, "center"),
    Column("进展状态（原文）", 16, "center"),
    Column("完成情况", 50),
    Column("存在问题及下步打算", 36),
    Column("来源文件", 30),
    Column("单元格", 8, "center"),
    Column("备注", 24),
    # Last, so that the columns before them keep their places; for pivot tables by leader and
    # category.
    Column("类别", 12, "center"),
    Column("分管领导", 10, "center"),
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


def _detail_values(a: Answer, task: Task | None, text=cell_text) -> list[object]:
    """The 明细 cells of one answer; ``text`` is cell_text, or a memo of it for repeated values."""
    notes = [cell_text(a.note)] if a.note else []
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
        cell_text(a.cell),
        "；".join(notes),
        text(task.category if task else ""),
        text(task.leader if task else ""),
    ]


def detail_rows(summary: Summary) -> list[DataRow]:
    """The 明细 data rows: one per answer, by task, leads first, then by division."""
    tasks = {ts.task.number: ts.task for ts in summary.tasks}
    tasks.update({t.number: t for t in summary.master.tasks})
    text = functools.cache(cell_text)  # task texts, divisions, files: the same on many rows
    return [
        DataRow(_detail_values(a, tasks.get(a.task_number), text), _detail_fill(a))
        for a in _ordered_answers(summary)
    ]
