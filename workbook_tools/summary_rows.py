"""The data rows of the summary's large sheets, 汇总 (one row per task) and 明细 (one row per
answer): what each cell says, how tall each row is, and the rows rendered as sheet XML, partly in
a worker process for a large summary (:func:`_start_rows`). The workbook around them, its
formats and its other sheets are summary.py's.

Every piece of user text goes through :func:`_text` (cells.clean_text), so the rows are rendered
with ``render_rows(clean=True)``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from . import overview, parallel
from .cells import CELL_LIMIT, clean_text, fit_cell, row_heights
from .fastsheet import deflate_rows, join_rows, render_rows
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

if TYPE_CHECKING:
    from .summary import _Styles

TRUNCATION_MARKER = "……（内容过长，已截断，完整内容见“明细”工作表）"  # in 汇总
DETAIL_TRUNCATION_MARKER = "……（内容过长，已截断，完整内容见来源文件）"

# A task's 总体状态 (overview.py): one of the four statuses, or 未填写 / 未报送.
NOT_SUBMITTED = overview.NOT_SUBMITTED
NOT_FILLED = overview.NOT_FILLED
STATUS_LABELS = overview.STATE_LABELS

# Light fills for the rows of each status (the charts' stronger colours are in summary.py), and
# the look of a task's 问题标记 when it has an error.
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


def task_status_label(ts: TaskSummary, submitted: dict[str, bool]) -> str:
    """进展状态 shown for a task: its 总体状态, the worst of its divisions' (overview.py), as
    总览 counts it. ``submitted``: division -> whether it has an accepted return."""
    return overview.task_state(ts, submitted)


# ---------------------------------------------------------------------------------------------
# Columns


class _Col:
    def __init__(
        self, header: str, width: float, align: str = "left", num_format: str = ""
    ) -> None:
        self.header, self.width, self.align, self.num_format = header, width, align, num_format


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


def _task_style(ts: TaskSummary, submitted: dict[str, bool]) -> tuple[str | None, dict[int, dict]]:
    """Fill and per-column overrides of a task's 汇总 row."""
    overrides = {6: {"bold": True}}
    if any(f.severity == SEVERITY_ERROR for f in ts.flags):
        overrides[10] = ERROR_MARK
        overrides[0] = {"font_color": "#9C0006", "bold": True}
    return STATUS_FILLS.get(task_status_label(ts, submitted)), overrides


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
        task_status_label(ts, submitted),
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
    submitted = {d.division: d.submitted for d in summary.divisions}
    for ts in _ordered_tasks(summary):
        fill, overrides = _task_style(ts, submitted)
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
    deflate_rows gives them (:func:`_in_chunks`), or as render_rows does (``deflate`` False)."""
    submitted = {d.division: d.submitted for d in summary.divisions}
    widths = [c.width for c in TASK_COLS]
    text = functools.cache(_text)  # division names, categories, leaders: on many rows
    tasks = _ordered_tasks(summary)[start:stop]
    values = lambda ts: _task_values(ts, submitted, text)  # noqa: E731
    return _in_chunks(
        functools.partial(_rows, values, widths, 2), start, tasks, looks[start:stop], deflate
    )


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
    looks = [xfs[_detail_fill(a)] for a in answers]
    details = lambda a: _detail_values(a, tasks.get(a.task_number), text)  # noqa: E731
    return _in_chunks(functools.partial(_rows, details, widths, 1), start, answers, looks, deflate)


#: Rows rendered and deflated at a time (:func:`_in_chunks`).
CHUNK_ROWS = 4000


def _rows(values_of, widths: list[float], top: int, first: int, items: list, looks: list):
    """The data rows of ``items`` (cells from ``values_of``, heights from ``widths``), the first
    of them on sheet row ``top + first`` (0-based), as render_rows gives them."""
    values = [values_of(item) for item in items]
    heights = row_heights(values, widths)
    return render_rows(top + first, zip(values, looks, heights, strict=True), clean=True)


def _in_chunks(render, start: int, items: list, looks: list, deflate: bool):
    """``render(start, items, looks)`` (:func:`_rows`), the rows of ``items`` from ``start`` on;
    with ``deflate``, rendered and deflated CHUNK_ROWS at a time and joined (deflate_rows,
    join_rows).

    Deflated rows go into the file as they are: from a worker, ~1.5 MB come back instead of
    ~12 MB of XML to decode, encode again and deflate while the parent closes the workbook. In
    chunks, only one chunk's XML is held at a time, not a whole sheet's: on a plan of 20,000
    tasks that is some 200 MB less at the peak.
    """
    if not deflate:
        return render(start, items, looks)
    joined = None
    for i in range(0, max(len(items), 1), CHUNK_ROWS):  # no items: one empty run of rows
        end = i + CHUNK_ROWS
        joined = _joined(joined, deflate_rows(render(start + i, items[i:end], looks[i:end])))
    return joined


#: From this many data rows (汇总, 明细, 问题清单 and 报送情况 together; each costs about the same,
#: ~30 µs on one CPU) part of the 汇总 and 明细 rows are rendered in a worker process, beside the
#: rest of the workbook: about 60 ms of work, where a worker costs ~5 ms to start and stop.
BESIDE_FROM = 2000

#: The worker's part of those rows. Under half: it also pays for starting, for touching the
#: summary's objects (copied on write after the fork) and for sending its rows back. Set so that
#: both processes finish about together on the summaries of benchmarks/run.py (20 and 200
#: returns on a 2,000-task plan).
WORKER_PART = 0.45


def _worker_share(summary: Summary) -> tuple[int, int]:
    """How many of the first 汇总 and of the first 明细 data rows a worker renders: (0, 0) for
    a small summary, else WORKER_PART of all the data rows, 明细 rows first (the other sheets are
    written here). This process renders the rest once it has written the other sheets."""
    tasks, details = len(summary.tasks), len(summary.answers)
    total = tasks + details + len(summary.flags) + len(summary.divisions)
    if total < BESIDE_FROM:
        return 0, 0
    budget = int(total * WORKER_PART)
    there_details = min(details, budget)
    return min(tasks, budget - there_details), there_details


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
            # Deflated as they are rendered (in chunks: a large summary never holds the XML of
            # a whole sheet), to join the worker's rows and go into the zip as they are.
            mine = (
                tasks_here() if there_tasks < len(summary.tasks) else None,
                details_here() if there_details < len(summary.answers) else None,
            )
        except BaseException:
            with contextlib.suppress(Exception):
                there()  # let the worker finish and be reaped before the error goes up
            raise
        theirs = there()
        tasks, details = _joined(theirs[0], mine[0]), _joined(theirs[1], mine[1])
        # A sheet without data rows (no tasks, say) still gets its (empty) rows.
        return tasks or render_rows(2, []), details or render_rows(1, [])

    return rows
