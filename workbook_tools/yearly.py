"""The year, not one quarter: the archive between merges, and what the summary shows of it.

Glue between :mod:`archive` (the SQLite record), :mod:`merge` (pure, given last quarter's
answers) and the summary's 全年进展 sheet and target columns. No workbook is written here.

* :func:`previous_for_merge` / :func:`previous_for_split`: last quarter's answers and figures,
  for 答复未更新 and 数据倒退, and for the grey 上季度完成情况 column of the next templates;
* :func:`archive_rows`: what a merge records (its accepted answers, their figures and files);
* :func:`summary_from_archive`: a quarter's Summary again, from the archive alone;
* :func:`year_history`: the year's archived rows with this merge's in place of its quarter's;
* :func:`year_rows`: one row per task with each recorded quarter's status and figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from .archive import Archive, ArchiveRow, rows_from_summary
from .model import (
    ROLE_LEAD,
    SEVERITY_WARNING,
    Answer,
    DivisionStatus,
    FileVerdict,
    Flag,
    Master,
    Summary,
    Task,
    quarter_name,
)
from .summarise import summarise
from .targets import BUCKETS, amount_text, percent_text, task_progress

__all__ = [
    "BUCKET_FILLS",
    "YearRow",
    "archive_rows",
    "figure_lines",
    "LastReport",
    "on_master",
    "previous_for_merge",
    "previous_for_split",
    "summary_from_archive",
    "year_history",
    "year_rows",
]

#: Fills of the 序时 buckets, as leaders read them: green done, blue ahead, light blue on
#: track, orange behind, grey without targets.
BUCKET_FILLS = dict(
    zip(BUCKETS, ("#C6EFCE", "#9BC2E6", "#DDEBF7", "#F8CBAD", "#EDEDED"), strict=True)
)
NOT_REPORTED = "未报送"


def on_master(master: Master, rows: Iterable[ArchiveRow]) -> list[ArchiveRow]:
    """Archived rows on the tasks of ``master`` as it is now. A row is found by the text its
    task had when the answer was recorded (the same text, or recognisably the same), so that
    an answer follows its task when the master inserts, deletes, reorders or rewords tasks; a
    row whose task the master no longer has is left out. Rows recorded before the archive kept
    the text go by their number."""
    out = []
    for row in rows:
        if not row.task_text:
            out.append(row)
            continue
        task = master.text_index.find(row.task_text)
        if task is not None:
            out.append(row if task.number == row.task else replace(row, task=task.number))
    return out


@dataclass(frozen=True)
class LastReport:
    """What a division last reported on a task before this quarter: its latest archived row
    (the answer 答复未更新 compares with, the file it came from) and the figures of the latest
    row that had any, with their quarter (数据倒退 compares with them)."""

    row: ArchiveRow
    figures: Mapping[str, float | None]
    figures_quarter: int

    # What merge reads of it besides the figures, all of the latest row.
    answer = property(lambda self: self.row.answer)
    status = property(lambda self: self.row.status)
    division = property(lambda self: self.row.division)
    source = property(lambda self: self.row.source)
    sha256 = property(lambda self: self.row.sha256)
    year = property(lambda self: self.row.year)
    quarter = property(lambda self: self.row.quarter)


def previous_for_merge(
    archive: Archive, year: int, quarter: int, master: Master | None = None
) -> dict[tuple[str, str], LastReport]:
    """(division, task number) -> what it last reported in an earlier quarter of ``year``
    (on ``master``'s tasks when given: on_master). A division that skipped a quarter is
    compared with what it said before."""
    rows = [r for r in archive.history(year) if r.quarter < quarter]  # by quarter
    latest: dict[tuple[str, str], LastReport] = {}
    for row in on_master(master, rows) if master is not None else rows:
        key = (row.division, row.task)
        figures = row.figures
        if any(v is not None for v in figures.values()) or key not in latest:
            latest[key] = LastReport(row, figures, row.quarter)
        else:
            kept = latest[key]
            latest[key] = LastReport(row, kept.figures, kept.figures_quarter)
    return latest


def previous_for_split(archive: Archive, year: int, quarter: int, master: Master | None = None):
    """division -> task number -> template_extra.Previous, from the latest earlier quarter
    (on ``master``'s tasks when given: on_master)."""
    from .template_extra import Previous

    rows = list(archive.previous_answers(year, quarter).values())
    out: dict[str, dict[str, Previous]] = {}
    for row in on_master(master, rows) if master is not None else rows:
        figures = tuple(sorted(row.figures.items()))
        out.setdefault(row.division, {})[row.task] = Previous(row.answer, row.status, figures)
    return out


def archive_rows(summary: Summary, hashes: Mapping[str, str]) -> tuple[ArchiveRow, ...]:
    """The rows a merge records: its accepted answers, with their figures and file hashes."""
    numbers = {(a.division, a.task_number): dict(a.figures) for a in summary.answers if a.figures}
    return rows_from_summary(summary, hashes, numbers)


def year_history(
    archive: Archive,
    year: int,
    quarter: int,
    rows: Sequence[ArchiveRow],
    master: Master | None = None,
) -> list[ArchiveRow] | None:
    """The year's rows for 全年进展: the other quarters' from the archive (on ``master``'s
    tasks when given: on_master) and ``rows`` as ``quarter``'s, by quarter; None while the
    archive holds no other quarter of ``year``."""
    others = [r for r in archive.history(year) if r.quarter != quarter]
    if not others:
        return None
    if master is not None:
        others = on_master(master, others)
    return sorted([*others, *rows], key=lambda r: r.quarter)


def _answer_flags(master: Master, division: str, answers: Sequence[Answer]) -> tuple[Flag, ...]:
    """What the recorded answers themselves show, as merge flagged them when they were read:
    an empty answer or a task with none (未填写), no status (未填写), 滞后 (进度滞后)."""
    flags = []
    given = {a.task_number: a for a in answers}
    for task in master.tasks_of(division):
        a = given.get(task.number)
        where = f"据档案，来源文件 {a.source}" if a is not None else "据档案"
        if a is None or not a.answer.strip():
            detail = f"序号 {task.label} 的完成情况为空（{where}）"
            flags.append(Flag("未填写", detail, division, task.number, a.source if a else ""))
            if a is None:
                continue
        if not a.status:
            detail = f"序号 {task.label} 未选择进展状态（{where}）"
            flags.append(Flag("未填写", detail, division, task.number, a.source, SEVERITY_WARNING))
        elif a.status == "滞后":
            detail = f"{division}报告序号 {task.label} 进度滞后（{where}）"
            flags.append(Flag("进度滞后", detail, division, task.number, a.source))
    return tuple(flags)


def summary_from_archive(
    master: Master, rows: Sequence[ArchiveRow], year: int, quarter: int, previous=None
) -> Summary:
    """The Summary of a recorded quarter, rebuilt from its archive rows: the answers, statuses
    and figures are as accepted, and what they show is flagged again (未填写, 进度滞后);
    problems found in the files themselves (cells outside the table, edited tasks…) are not in
    the archive and are not listed again."""
    answers = []
    for row in on_master(master, rows):
        task = master.task_or_none(row.task)
        if task is None:
            continue  # the master no longer has the task
        figures = row.figures
        answers.append(
            Answer(
                task_number=row.task,
                division=row.division,
                role=row.role,
                answer=row.answer,
                status=row.status,
                status_raw=row.status,
                plan=row.plan,
                source=row.source,
                figures=tuple((t.name, figures.get(t.name)) for t in task.targets),
            )
        )
    period = f"{year}年第{quarter_name(quarter)}季度"
    flags: list[Flag] = []
    statuses = []
    sources: dict[str, str] = {}
    for a in answers:
        sources.setdefault(a.division, a.source)
    for division in master.divisions:
        expected = len(master.tasks_of(division))
        mine = [a for a in answers if a.division == division]
        if not mine:
            flag = Flag(
                "未报送", f"{division}没有报送{period}的完成情况（应报 {expected} 项）", division
            )
            flags.append(flag)
            statuses.append(DivisionStatus(division, False, "", "", expected, 0, (flag,)))
            continue
        answered = sum(1 for a in mine if a.answer.strip())
        found = _answer_flags(master, division, mine)
        flags += found
        statuses.append(
            DivisionStatus(division, True, sources[division], "", expected, answered, found)
        )
    files = [
        FileVerdict(source, True, "、".join(d for d, s in sources.items() if s == source), "据档案")
        for source in sorted(set(sources.values()))
    ]
    return summarise(master, year, quarter, answers, statuses, flags, files, previous)


# ---------------------------------------------------------------------------------------------
# 全年进展


@dataclass(frozen=True)
class QuarterCell:
    """One task in one quarter: the lead's status and figures, and the bucket they make."""

    status: str  # the lead's 进展状态 (worst of several leads), 未报送, or "" when not merged
    figures: str  # "名称：20个（25%）" lines, "" without targets
    bucket: str  # one of targets.BUCKETS, "" when the quarter was not merged


@dataclass(frozen=True)
class YearRow:
    task: Task
    quarters: tuple[QuarterCell, QuarterCell, QuarterCell, QuarterCell]


def figure_lines(task: Task, progress) -> str:
    """Per target: name, the figure that counts and its share of the target."""
    lines = []
    for p in progress.targets if progress is not None else ():
        t = p.target
        if p.reported is None:
            lines.append(f"{t.name}：未填报")
        else:
            lines.append(
                f"{t.name}：{amount_text(p.reported)}{t.unit}（{percent_text(p.completion)}）"
            )
    return "\n".join(lines)


def _lead_state(task: Task, rows: Sequence[ArchiveRow], reported: set[str]) -> str:
    """The task's lead state in one quarter, as 汇总 judges a division: a lead without a return
    未报送, one whose answer or status is missing 未填写; several leads, the worst."""
    from .overview import WORST_FIRST, division_state

    given = {r.division: r for r in rows}
    leads = task.leads or tuple(r.division for r in rows if r.role == ROLE_LEAD)
    if not leads:
        return NOT_REPORTED
    states = [division_state(given.get(d), d in reported) for d in leads]
    return min(states, key=WORST_FIRST.index)


def year_rows(master: Master, history: Iterable[ArchiveRow]) -> list[YearRow]:
    """One row per task of ``master``: each quarter's status and figures as recorded."""

    by_quarter: dict[int, dict[str, list[ArchiveRow]]] = {}
    quarter_divisions: dict[int, set[str]] = {}  # the divisions with a return, each quarter
    for row in history:
        by_quarter.setdefault(row.quarter, {}).setdefault(row.task, []).append(row)
        quarter_divisions.setdefault(row.quarter, set()).add(row.division)
    out = []
    for task in master.tasks:
        cells = []
        for quarter in range(1, 5):
            if quarter not in by_quarter:
                cells.append(QuarterCell("", "", ""))
                continue
            rows = by_quarter[quarter].get(task.number, [])
            status = _lead_state(task, rows, quarter_divisions[quarter])
            progress = None
            if task.targets:
                figures = {r.division: r.figures for r in rows}
                progress = task_progress(task, quarter, figures, master.schedule)
            bucket = progress.bucket if progress is not None else BUCKETS[-1]
            cells.append(QuarterCell(status, figure_lines(task, progress), bucket))
        out.append(YearRow(task, tuple(cells)))  # type: ignore[arg-type]
    return out
