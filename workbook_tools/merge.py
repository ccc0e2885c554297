"""Returns + master -> Summary. Pure functions: no file is opened here.

The rules, in order: drop what cannot be used (unreadable, another period, unknown division),
keep the newest return per division, check every row against the master, then judge each task.
Every problem becomes a :class:`~workbook_tools.model.Flag`; nothing is printed and forgotten.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .cells import clean_text
from .identify import Part, identify, match_division, parts_of
from .layout import normalise_space, role_text
from .model import (
    ROLE_LEAD,
    SEVERITY_ERROR,
    SEVERITY_WARNING,
    STATUSES,
    Answer,
    Delivery,
    DivisionStatus,
    FileVerdict,
    Flag,
    Master,
    ReturnFile,
    ReturnRow,
    Stray,
    Summary,
    Task,
    TaskSummary,
    quarter_name,
)
from .pairing import (
    BY_ORDER,
    BY_POSITION,
    pair_rows,
    same_text,
    similarity,
    task_number,
)
from .quality import placeholders, quality_flags
from .targets import (
    TaskProgress,
    format_target,
    match_figures,
    parse_figure,
    target_flags,
    task_progress,
)

# Variants people type instead of the four statuses, folded before comparison.
STATUS_VARIANTS = {
    "完成": "已完成",
    "已完结": "已完成",
    "已完毕": "已完成",
    "完结": "已完成",
    "全部完成": "已完成",
    "已全部完成": "已完成",
    "已办结": "已完成",
    "正常推进": "按序时推进",
    "推进中": "按序时推进",
    "进行中": "按序时推进",
    "正在推进": "按序时推进",
    "序时推进": "按序时推进",
    "按序时进度推进": "按序时推进",
    "按进度推进": "按序时推进",
    "按计划推进": "按序时推进",
    "按时序推进": "按序时推进",
    "有序推进": "按序时推进",
    "正常": "按序时推进",
    "落后": "滞后",
    "进度滞后": "滞后",
    "延迟": "滞后",
    "延期": "滞后",
    "未开始": "未启动",
    "尚未启动": "未启动",
    "尚未开始": "未启动",
    "未开展": "未启动",
    "尚未开展": "未启动",
}
# Worst first: the lead status of a task with several leads is the worst of theirs.
_SEVERITY_ORDER = {"滞后": 0, "未启动": 1, "按序时推进": 2, "已完成": 3}
_CALM_STATUSES = {"已完成", "按序时推进"}

_FORMULA_START = re.compile(r"^\s*(?:[=@]|[+\-](?=[\s]*[0-9A-Za-z(=@+\-]))")
#: Rows outside the tasks flagged one by one; the rest are counted in one flag.
MAX_EXTRA_ROWS = 50


def looks_like_formula(text: str) -> bool:
    """An answer Excel would take for a formula if it were typed or written as a value."""
    return bool(_FORMULA_START.match(text))


def normalise_status(raw: str) -> tuple[str, str]:
    """(status, note). status is one of STATUSES, or "" when empty or not recognised."""
    key = normalise_space(raw)
    if not key:
        return "", ""
    if key in STATUSES:
        return key, ""
    if key in STATUS_VARIANTS:
        status = STATUS_VARIANTS[key]
        return status, f"进展状态“{raw.strip()}”按“{status}”处理"
    return "", ""


def worst_status(statuses: Iterable[str]) -> str:
    known = [s for s in statuses if s in _SEVERITY_ORDER]
    return min(known, key=_SEVERITY_ORDER.__getitem__) if known else ""


def _sort_time(ret: ReturnFile) -> tuple:
    """Newest wins: the saved time in the document, else the file time; ties by name."""
    stamp = ret.modified or ""
    if not stamp and ret.mtime:
        stamp = datetime.fromtimestamp(ret.mtime).isoformat(timespec="seconds")
    return (stamp, ret.mtime, ret.source)


def fill_time(ret: ReturnFile) -> str:
    """What 报送情况 shows as 填报时间."""
    if ret.fill_date:
        return ret.fill_date
    if ret.modified:
        return ret.modified.replace("T", " ")[:19]
    if ret.mtime:
        return datetime.fromtimestamp(ret.mtime).strftime("%Y-%m-%d %H:%M:%S")
    return ""


@dataclass(frozen=True)
class Checked:
    """One return validated against the master."""

    answers: tuple[Answer, ...]
    flags: tuple[Flag, ...]
    expected: int


def _where(ret: ReturnFile, row: ReturnRow, column: str, sheet: str = "") -> str:
    cell = row.cell(column)
    return f"{ret.source}，工作表 {sheet or ret.sheet}" + (
        f"，单元格 {cell}" if cell else f"，第{row.row}行"
    )


def check_return(master: Master, ret: ReturnFile, division: str) -> Checked:
    """Validate one return of ``division`` against the master: rows, texts, answers, statuses."""
    return check_part(master, Part(ret, division, ret.rows, ret.sheet))


def check_part(
    master: Master, part: Part, previous: Mapping[tuple[str, str], object] | None = None
) -> Checked:
    """Validate one part of a return against the master: rows, texts, answers, statuses."""
    ret, division = part.ret, part.division
    tasks = master.tasks_of(division)
    flags: list[Flag] = []
    answers: list[Answer] = []

    def flag(kind: str, detail: str, task: str = "", severity: str = "") -> None:
        flags.append(Flag(kind, detail, division, task, ret.source, severity))

    where = lambda row, column: _where(ret, row, column, part.sheet)  # noqa: E731
    template_rows = dict(ret.identity_rows) if part.main else {}
    pairing = pair_rows(tasks, part.rows, template_rows)
    row_task: dict[int, Task] = {}
    for task in tasks:
        rows = pairing.rows.get(task.number)
        if not rows:
            flag(
                "缺少事项",
                f"报送文件中没有序号 {task.label} 的事项行（{ret.source}，工作表 {part.sheet}）",
                task.number,
            )
            continue
        row, more = rows[0], rows[1:]
        for r in rows:
            row_task[r.row] = task
        how = pairing.how[task.number]
        if how in (BY_ORDER, BY_POSITION):
            flag(
                "事项被改动",
                f"第{row.row}行的序号“{row.number}”和责任事项都无法对应到分解方案，按{how}对应到序号 "
                f"{task.label}，请核实（{where(row, '责任事项')}）",
                task.number,
            )
        elif not same_text(row.text, task.text):
            state = (
                "内容为空"
                if not row.text.strip()
                else f"与分解方案不一致（相似度 {similarity(row.text, task.text):.0%}）"
            )
            flag(
                "事项被改动",
                f"序号 {task.label} 的责任事项{state}；已按分解方案原文汇总（{where(row, '责任事项')}）",
                task.number,
            )
        if how not in (BY_ORDER, BY_POSITION) and task_number(row.number) != task.number:
            flag(
                "事项被改动",
                f"序号被改为“{row.number}”，按{how}对应到序号 {task.label}（{where(row, '序号')}）",
                task.number,
            )
        notes = []
        answer, plan, status_raw = _joined(rows, "answer"), _joined(rows, "plan"), row.status
        if not status_raw.strip():
            status_raw = next((r.status for r in more if r.status.strip()), "")
        followers = [r.row for r in more]
        if followers:
            kinds = {pairing.follow[r] for r in followers}
            rows_text = "、".join(f"第{r}行" for r in followers)
            notes.append(f"{'、'.join(sorted(kinds))}（{rows_text}）的内容已并入")
            if "重复" in kinds:
                flag(
                    "事项被改动",
                    f"序号 {task.label} 的事项行重复出现（第{row.row}行、{rows_text}），各行的完成情况已合并"
                    f"（{ret.source}，工作表 {part.sheet}）",
                    task.number,
                )
        answer, removed = clean_text(answer)
        plan, removed_plan = clean_text(plan)
        if removed or removed_plan:
            notes.append("删除了 Excel 无法保存的控制字符")
        for label, text in (("完成情况", answer), ("存在问题及下步打算", plan)):
            if looks_like_formula(text):
                flag(
                    "疑似公式",
                    f"{label}以“{text.strip()[:1]}”开头，已按文本保存，未作为公式计算（{where(row, label)}）",
                    task.number,
                )
        status, status_note = normalise_status(status_raw)
        if status_note:
            notes.append(status_note)
        if not answer.strip():
            flag(
                "未填写",
                f"序号 {task.label} 的完成情况为空（{where(row, '完成情况')}）",
                task.number,
            )
        if not status:
            detail = (
                f"进展状态“{status_raw.strip()}”不是可选值，应为{'、'.join(STATUSES)}之一"
                if status_raw.strip()
                else f"序号 {task.label} 未选择进展状态"
            )
            flag("未填写", f"{detail}（{where(row, '进展状态')}）", task.number, SEVERITY_WARNING)
        if status == "滞后":
            flag(
                "进度滞后",
                f"{division}报告序号 {task.label} 进度滞后（{where(row, '进展状态')}）",
                task.number,
            )
        before = getattr((previous or {}).get((division, task.number)), "answer", "")
        for r in rows:
            if before.strip() and r.previous.strip():
                # The template showed last quarter's answer there; anything else was typed.
                if normalise_space(before) not in normalise_space(r.previous):
                    flag(
                        "内容未读入",
                        f"序号 {task.label} 的“上季度完成情况”栏被改写，其内容未作为本季度完成情况读入："
                        f"“{r.previous}”（{ret.source}，工作表 {part.sheet}，单元格 {r.previous_cell}）",
                        task.number,
                    )
            expected_role = role_text(task, division)
            if r.role.strip() and normalise_space(r.role) not in (
                normalise_space(expected_role),
                normalise_space(expected_role.split("\n")[0]),
            ):
                flag(
                    "内容未读入",
                    f"序号 {task.label} 的“本处室职责”栏被改写，其内容未作为完成情况读入："
                    f"“{r.role}”（{where(r, '本处室职责')}）",
                    task.number,
                )
        figures = _figures(
            task,
            rows,
            lambda detail, n=task.number: flag("内容未读入", detail, n),
            lambda cell: f"{ret.source}，工作表 {part.sheet}，单元格 {cell}",
        )
        answers.append(
            Answer(
                task_number=task.number,
                division=division,
                role=task.role_of(division) or "",
                answer=answer,
                status=status,
                status_raw=status_raw,
                plan=plan,
                source=ret.source,
                cell=row.cell("完成情况"),
                note="；".join(notes),
                figures=figures,
            )
        )
    _report_left(master, part, pairing.left, flag)
    if part.main:
        for stray in ret.strays:
            task = row_task.get(stray.row) if stray.sheet == part.sheet else None
            _report_stray(ret, stray, task, flag)
        for item in ret.extra:
            flag("多余内容", f"事项表以外的内容：{item}（{ret.source}）")
    return Checked(tuple(answers), tuple(flags), len(tasks))


def _figures(
    task: Task, rows: Sequence[ReturnRow], flag, place
) -> tuple[tuple[str, float | None], ...]:
    """(target name, cumulative figure) for each target of ``task`` from its rows' 累计完成
    cells (the first row that gives one); what cannot be read is flagged through ``flag``."""
    values: dict[str, float | None] = {}
    for r in rows:
        found, unplaced = match_figures(task.targets, r.figures)
        for target in task.targets:
            if values.get(target.name) is not None or target.name not in found:
                continue
            text, cell = found[target.name]
            try:
                values[target.name] = parse_figure(text, target.unit)
            except ValueError as exc:
                flag(
                    f"序号 {task.label} 的“{target.name}”累计完成数“{text.strip()}”{exc}，未读入"
                    f"（{place(cell)}）；请填写不小于0的数字"
                )
        for _, text, cell, *_ in unplaced:
            why = "没有量化指标" if not task.targets else "没有与之对应的量化指标"
            flag(f"序号 {task.label} {why}，所填累计完成数“{text.strip()}”未读入（{place(cell)}）")
        for i, (shown, *_, cell) in enumerate(r.figures):
            # The 量化指标 column is the template's: anything else typed there is quoted.
            expected = format_target(task.targets[i]) if i < len(task.targets) else ""
            if shown.strip() and normalise_space(shown) != normalise_space(expected):
                flag(
                    f"序号 {task.label} 的“量化指标”栏中有分解方案以外的内容，未读入："
                    f"“{shown}”（{place(cell)}）"
                )
    return tuple((t.name, values.get(t.name)) for t in task.targets)


def _joined(rows: Sequence[ReturnRow], name: str) -> str:
    """One answer from a task's rows: each different text once, in row order."""
    texts = [getattr(r, name) for r in rows]
    kept = list(dict.fromkeys(t for t in texts if t.strip()))
    return "\n".join(kept) if len(kept) > 1 else (kept[0] if kept else texts[0])


def _report_stray(ret: ReturnFile, stray: Stray, task: Task | None, flag) -> None:
    place = f"{ret.source}，工作表 {stray.sheet}，{stray.place}"
    if task is not None:
        flag(
            "内容未读入",
            f"序号 {task.label} 所在行的表格以外有内容，未读入：“{stray.text}”（{place}）",
            task.number,
        )
    elif stray.kind != "单元格":
        flag("内容未读入", f"{stray.kind}中的内容未读入：“{stray.text}”（{place}）")
    else:
        flag("多余内容", f"事项表以外的内容：“{stray.text}”（{place}）")


def _report_left(master: Master, part: Part, left: Sequence[ReturnRow], flag) -> None:
    """Rows that are none of the division's tasks, each quoted whole with its place."""
    ret = part.ret
    listed = 0
    for i, row in enumerate(left):
        texts = [("序号", row.number), ("责任事项", row.text), ("本处室职责", row.role)]
        texts += [("完成情况", row.answer)]
        texts += [("进展状态", row.status), ("存在问题及下步打算", row.plan)]
        for target, figure, *_ in row.figures:
            texts += [("量化指标", target), ("截至本季度末累计完成", figure)]
        content = "；".join(f"{label}：{t}" for label, t in texts if t.strip())
        if not content:
            continue
        if listed == MAX_EXTRA_ROWS:  # a pasted list must not bury 问题清单 under one row each
            rest = [r for r in left[i:] if (r.number + r.text + r.answer + r.plan).strip()]
            flag(
                "多余内容",
                f"另有 {len(rest)} 行（第{rest[0].row}行至第{rest[-1].row}行）不是{part.division}的事项，"
                f"未逐行列出（{ret.source}，工作表 {part.sheet}）",
            )
            break
        listed += 1
        other = master.task_or_none(task_number(row.number))
        why = (
            f"（序号 {other.label} 是分解方案中的事项，但不是{part.division}的事项）"
            if other is not None and part.division not in (*other.leads, *other.partners)
            else ""
        )
        kind = "内容未读入" if row.answer.strip() or row.plan.strip() else "多余内容"
        flag(
            kind,
            f"第{row.row}行不是{part.division}的事项{why}，未读入：“{content}”"
            f"（{ret.source}，工作表 {part.sheet}）",
        )


def _judge_task(task: Task, answers: Sequence[Answer]) -> tuple[str, list[Flag]]:
    leads = [a for a in answers if a.role == ROLE_LEAD]
    status = worst_status(a.status for a in leads)
    given = {a.status for a in answers if a.status}
    flags = []
    if len(given) > 1 and not given <= _CALM_STATUSES:
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


def merge(
    master: Master,
    collected,
    year: int,
    quarter: int,
    delivered: Mapping[str, Delivery] | None = None,
    previous: Mapping[tuple[str, str], object] | None = None,
) -> Summary:
    """Consolidate the returns of one period against the master.

    ``collected`` is a :class:`workbook_tools.inbox.Collected` (returns, rejected, skipped).
    ``delivered`` maps a return's source to how it came by mail (``collect`` records it): its
    received time is the division's 报送时间, and a sender of another division is flagged.
    ``previous`` maps (division, task number) to what that division reported on the task last
    quarter (anything with ``answer`` and ``figures``, such as archive.ArchiveRow): it gives
    答复未更新 and 数据倒退. Without it (a first quarter, no archive) neither is checked.
    """
    delivered = delivered or {}
    divisions = master.divisions
    flags: list[Flag] = []
    verdicts: list[FileVerdict] = []
    period = f"{year}年第{quarter_name(quarter)}季度"

    # Files in source order, whatever order they were given in: the result must not depend on it.
    for bad in sorted(collected.rejected, key=lambda r: r.source):
        flags.append(Flag("文件无法读取", bad.reason, "", "", bad.source))
        verdicts.append(FileVerdict(bad.source, False, "", f"无法读取：{bad.reason}"))

    candidates: dict[str, list[Part]] = {d: [] for d in divisions}
    for ret in sorted(collected.returns, key=lambda r: r.source):
        ident = identify(master, ret, year, quarter)
        flags += ident.flags
        if ident.rejection or ident.division is None:
            verdicts.append(FileVerdict(ret.source, False, ident.division or "", ident.rejection))
            continue
        for part in parts_of(master, ret, ident):
            candidates[part.division].append(part)

    answers: list[Answer] = []
    statuses: list[DivisionStatus] = []
    used_files: dict[str, list[tuple[str, str]]] = {}
    set_aside: dict[str, tuple[str, str]] = {}
    for division in divisions:
        expected = len(master.tasks_of(division))
        parts = sorted(candidates[division], key=lambda p: _sort_time(p.ret), reverse=True)
        parts.sort(key=lambda p: p.rank)  # stable: newest first within a rank
        if not parts:
            flag = Flag(
                "未报送", f"{division}没有报送{period}的完成情况（应报 {expected} 项）", division
            )
            flags.append(flag)
            statuses.append(DivisionStatus(division, False, "", "", expected, 0, (flag,)))
            continue
        used, others = parts[0], parts[1:]
        division_flags: list[Flag] = []
        checked = check_part(master, used, previous)
        division_flags += checked.flags
        answers += checked.answers
        if not used.main:
            division_flags.append(
                Flag(
                    "无法识别处室",
                    f"{division}的事项填写在{used.note}，已按{division}汇总",
                    division,
                    "",
                    used.ret.source,
                    SEVERITY_WARNING,
                )
            )
        seen_hashes = {used.ret.sha256}
        for other in others:
            division_flags += _not_used(master, division, used, other, checked, seen_hashes)
            if other.main:
                seen_hashes.add(other.ret.sha256)
                set_aside.setdefault(other.ret.source, (division, _set_aside_reason(used, other)))
        answered = sum(1 for a in checked.answers if a.answer.strip())
        said = f"已填 {answered}/{expected} 项"
        mail = delivered.get(used.ret.source)
        if mail is not None:
            said += f"（邮件：{mail.sender}，{mail.received} 收到）"
            sender_division = match_division(mail.division, divisions)
            if sender_division and sender_division != division:
                division_flags.append(
                    Flag(
                        "无法识别处室",
                        f"发件人 {mail.sender} 属于{sender_division}，文件按{division}汇总；"
                        f"请核实是否{sender_division}代报或误用了{division}的模板",
                        division,
                        "",
                        used.ret.source,
                        SEVERITY_WARNING,
                    )
                )
        used_files.setdefault(used.ret.source, []).append((division, said))
        statuses.append(
            DivisionStatus(
                division,
                True,
                used.ret.source,
                mail.received if mail is not None else fill_time(used.ret),
                expected,
                answered,
                tuple(division_flags),
                used.ret.filled_by,
                used.ret.reviewer,
                used.ret.phone,
            )
        )
        flags += division_flags
    verdicts += _verdicts(sorted(collected.returns, key=lambda r: r.source), used_files, set_aside)
    return summarise(master, year, quarter, answers, statuses, flags, verdicts, previous)


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
        before = {key: getattr(p, "answer", "") for key, p in (previous or {}).items()}
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
    before = {}
    for division in figures:
        prev = previous.get((division, task.number))
        if prev is not None:
            before[division] = dict(getattr(prev, "figures", {}) or {})
    progress = task_progress(task, quarter, figures, master.schedule)
    return progress, target_flags(task, quarter, progress, statuses, figures, before, sources)


def _set_aside_reason(used: Part, other: Part) -> str:
    if other.ret.sha256 == used.ret.sha256:
        return f"与 {used.ret.source} 内容完全相同，按一份计"
    if other.rank == 0:
        return f"重复报送，采用 {used.ret.source}"
    return f"未采用：{used.division}另有采用的报送文件 {used.ret.source}（本文件的内容见问题清单）"


def _not_used(
    master: Master, division: str, used: Part, other: Part, checked: Checked, seen: set[str]
) -> list[Flag]:
    """Flags for a part of ``division`` that another part was preferred to. An older return of
    the division's own is 重复报送; anything else typed in it that differs from what was used is
    quoted whole (内容未读入), so that nothing typed is lost."""
    source = other.ret.source
    if other.main and other.rank == 0:
        if other.ret.sha256 in seen:
            return []
        return [
            Flag(
                "重复报送",
                f"{division}报送了多份文件，采用最新的 {used.ret.source}，未采用本文件",
                division,
                "",
                source,
            )
        ]
    flags = []
    used_text = {a.task_number: (a.answer, a.plan) for a in checked.answers}
    pairing = pair_rows(master.tasks_of(division), other.rows)
    for number, rows in pairing.rows.items():
        task = master.task(number)
        for label, name, i in (("完成情况", "answer", 0), ("存在问题及下步打算", "plan", 1)):
            text = _joined(rows, name)
            if text.strip() and not same_text(text, used_text.get(number, ("", ""))[i]):
                flags.append(
                    Flag(
                        "内容未读入",
                        f"未采用的{other.note or '文件'}中，序号 {task.label} 的{label}与采用的"
                        f"{used.ret.source} 不同，未读入：“{text}”"
                        f"（{_where(other.ret, rows[0], label, other.sheet)}）",
                        division,
                        number,
                        source,
                    )
                )
    for row in pairing.left:
        if row.answer.strip() or row.plan.strip():
            flags.append(
                Flag(
                    "内容未读入",
                    f"未采用的{other.note or '文件'}中第{row.row}行未读入："
                    f"“{row.answer}{('；' + row.plan) if row.plan.strip() else ''}”"
                    f"（{source}，工作表 {other.sheet}）",
                    division,
                    "",
                    source,
                )
            )
    if other.main:  # the whole file was set aside: what it held outside the rows too

        def unread(kind: str, detail: str, task: str = "", severity: str = "") -> None:
            flags.append(Flag("内容未读入", detail, division, task, source, severity))

        for stray in other.ret.strays:
            _report_stray(other.ret, stray, None, unread)
    return flags


def _verdicts(
    returns: Iterable[ReturnFile],
    used_files: dict[str, list[tuple[str, str]]],
    set_aside: dict[str, tuple[str, str]],
) -> list[FileVerdict]:
    """采用 / 未采用 for every file that was identified and not rejected: ``used_files`` maps a
    file to the (division, 已填 x/y 项) it was used for, ``set_aside`` to (division, why not)."""
    out = []
    for ret in returns:
        if ret.source in used_files:
            divisions = [d for d, _ in used_files[ret.source]]
            said = "；".join(
                (f"{d}" if len(divisions) > 1 else "") + text for d, text in used_files[ret.source]
            )
            reason = "；".join((f"已采用，{said}", *ret.notes))
            out.append(FileVerdict(ret.source, True, "、".join(divisions), reason))
        elif ret.source in set_aside:
            division, reason = set_aside[ret.source]
            out.append(FileVerdict(ret.source, False, division, reason))
    return out


def has_errors(flags: Iterable[Flag]) -> bool:
    return any(f.severity == SEVERITY_ERROR for f in flags)


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
