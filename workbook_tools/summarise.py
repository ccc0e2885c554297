"""Accepted answers -> :class:`~workbook_tools.model.Summary`, and the Summary as JSON. Pure.

Each task is judged (the worst of its leads' statuses; 状态不一致), a task with targets is weighed
against 序时进度 (:mod:`workbook_tools.targets`), the answers' quality is checked when the year is
tracked (:mod:`workbook_tools.quality`), and every task-level flag is attached to its task so that
汇总 shows its 问题标记. :mod:`workbook_tools.summary` writes the leaders' workbook from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .model import (
    ROLE_LEAD,
    Answer,
    DivisionStatus,
    FileVerdict,
    Flag,
    Master,
    Summary,
    Task,
    TaskSummary,
)
from .quality import placeholders, quality_flags
from .statuses import CALM_STATUSES, worst_status
from .targets import TaskProgress, target_flags, task_progress
from .validate import previous_cells


def _judge_task(task: Task, answers: Sequence[Answer]) -> tuple[str, list[Flag]]:
    leads = [a for a in answers if a.role == ROLE_LEAD]
    status = worst_status(a.status for a in leads)
    given = {a.status for a in answers if a.status}
    flags = []
    if len(given) > 1 and not given <= CALM_STATUSES:
        said = "；".join(f"{a.division}（{a.role}）：{a.status}" for a in answers if a.status)
        flags.append(
            Flag(
                "状态不一致",
                f"序号 {task.label} 各处室报告的进展状态不一致：{said}",
                "",
                task.number,
            )
        )
    return status, flags


def summarise(
    master: Master,
    year: int,
    quarter: int,
    answers: list[Answer],
    statuses: list[DivisionStatus],
    flags: list[Flag],
    verdicts: list[FileVerdict],
    previous: Mapping[tuple[str, str], object] | None = None,
) -> Summary:
    """The Summary of accepted ``answers``: each task judged, its targets against 序时进度,
    the answers' quality; ``flags`` (those found so far) are extended."""
    answers_by_task: dict[str, list[Answer]] = {}
    for a in answers:
        answers_by_task.setdefault(a.task_number, []).append(a)
    judged = []
    for task in master.tasks:
        mine = answers_by_task.get(task.number, [])
        status, task_flags = _judge_task(task, mine)
        flags += task_flags
        progress = None
        if task.targets:
            progress, target_flags = _progress(master, task, quarter, mine, previous or {})
            flags += target_flags
        judged.append((task, status, mine, progress))
    if tracks_year(master, previous):
        known = placeholders(master.placeholders)
        # Last quarter's answer, or the whole 上季度完成情况 cell copied over as it was.
        before = {}
        for (division, number), p in (previous or {}).items():
            task = master.task_or_none(number)
            cells = previous_cells(p, task) if task is not None else set()
            before[(division, number)] = (getattr(p, "answer", ""), *sorted(cells))
        flags += quality_flags(answers, before, known)
    # Attach every task-level flag to its task, so 汇总 can show 问题标记.
    by_task: dict[str, list[Flag]] = {}
    for f in flags:
        if f.task:
            by_task.setdefault(f.task, []).append(f)
    # A division that did not report is a problem of every task it leads or assists on: its
    # 未报送 flag (one row of 问题清单) is shown with each of them too.
    for status in statuses:
        if not status.submitted:
            for task in master.tasks_of(status.division):
                by_task.setdefault(task.number, []).extend(status.flags)
    task_summaries = [
        TaskSummary(
            task=task,
            status=status,
            lead_answers=tuple(a for a in mine if a.role == ROLE_LEAD),
            partner_answers=tuple(a for a in mine if a.role != ROLE_LEAD),
            flags=tuple(by_task.get(task.number, ())),
            progress=progress,
        )
        for task, status, mine, progress in judged
    ]
    verdicts.sort(key=lambda v: v.source)
    return Summary(
        year=year,
        quarter=quarter,
        master=master,
        tasks=tuple(task_summaries),
        divisions=tuple(statuses),
        answers=tuple(answers),
        flags=tuple(flags),
        files=tuple(verdicts),
    )


def tracks_year(master: Master, previous: Mapping | None = None) -> bool:
    """Whether merge checks the year's progress and the answers' quality (答复过简, 答复雷同,
    答复未更新): when the master states quantitative targets or placeholders (占位答复), or an
    earlier quarter of the year is known. A plain master's first quarter is judged as before."""
    return bool(previous) or bool(master.placeholders) or any(t.targets for t in master.tasks)


def _progress(
    master: Master,
    task: Task,
    quarter: int,
    answers: Sequence[Answer],
    previous: Mapping[tuple[str, str], object],
) -> tuple[TaskProgress, list[Flag]]:
    """Where a task with targets stands (the lead's figures count) and the flags its numbers
    raise: 未达序时, 状态与数据不符, 数据倒退, 状态不一致 (targets.target_flags)."""
    figures = {a.division: dict(a.figures) for a in answers if a.figures}
    statuses = {a.division: a.status for a in answers}
    sources = {a.division: a.source for a in answers}
    before, then = {}, {}
    for division in figures:
        prev = previous.get((division, task.number))
        if prev is not None:
            before[division] = dict(getattr(prev, "figures", {}) or {})
            when = getattr(prev, "figures_quarter", getattr(prev, "quarter", None))
            if isinstance(when, int):
                then[division] = when  # a division that skipped a quarter: which one
    progress = task_progress(task, quarter, figures, master.schedule)
    flags = target_flags(task, quarter, progress, statuses, figures, before, sources, then)
    return progress, flags


def to_json(summary: Summary) -> dict:
    """The merge result for scripts: per-file verdicts, per-task answers and flags."""

    def flag_dict(f: Flag) -> dict:
        return {
            "severity": f.severity,
            "type": f.kind,
            "division": f.division,
            "task": f.task,
            "detail": f.detail,
            "source": f.source,
        }

    def answer_dict(a: Answer) -> dict:
        return {
            "division": a.division,
            "role": a.role,
            "answer": a.answer,
            "status": a.status,
            "status_raw": a.status_raw,
            "plan": a.plan,
            "source": a.source,
            "cell": a.cell,
            "note": a.note,
            "figures": dict(a.figures),
        }

    return {
        "year": summary.year,
        "quarter": summary.quarter,
        "files": [
            {"source": v.source, "accepted": v.accepted, "division": v.division, "reason": v.reason}
            for v in summary.files
        ],
        "divisions": [
            {
                "division": d.division,
                "submitted": d.submitted,
                "source": d.source,
                "fill_time": d.fill_time,
                "filled_by": d.filled_by,
                "reviewer": d.reviewer,
                "phone": d.phone,
                "expected": d.expected,
                "answered": d.answered,
            }
            for d in summary.divisions
        ],
        "tasks": [
            {
                "number": ts.task.number,
                "label": ts.task.label,
                "category": ts.task.category,
                "leader": ts.task.leader,
                "text": ts.task.text,
                "status": ts.status,
                "bucket": ts.bucket,
                "answers": [answer_dict(a) for a in (*ts.lead_answers, *ts.partner_answers)],
                "flags": [flag_dict(f) for f in ts.flags],
            }
            for ts in summary.tasks
        ],
        "flags": [flag_dict(f) for f in summary.flags],
    }
