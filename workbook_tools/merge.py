"""Returns + master -> Summary. Pure functions: no file is opened here.

The rules, in order: drop what cannot be used (unreadable, another period, unknown division),
keep the newest return per division, check every row against the master, then judge each task.
Every problem becomes a :class:`~workbook_tools.model.Flag`; nothing is printed and forgotten.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from .cells import clean_text
from .layout import fingerprint, normalise_division, normalise_space
from .model import (
    ROLE_LEAD,
    SEVERITY_ERROR,
    SEVERITY_WARNING,
    STATUSES,
    Answer,
    DivisionStatus,
    FileVerdict,
    Flag,
    Master,
    ReturnFile,
    ReturnRow,
    Summary,
    Task,
    TaskSummary,
    quarter_name,
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
_STAR = re.compile(r"^[\s*＊]+")
TEXT_MATCH_RATIO = 0.6
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


_WHOLE_NUMBER = re.compile(r"\d+(\.0+)?")


def task_number(cell: str) -> str:
    """'*1', '＊1', ' 1 ', '1.0' -> '1'. Anything else is returned stripped."""
    if cell.__class__ is str and 0 < len(cell) <= 15 and cell.isascii() and cell.isdigit():
        if cell[0] != "0":
            return cell  # "12", as most cells say: what the rules below give, sooner
    text = _STAR.sub("", str(cell)).strip()
    if _WHOLE_NUMBER.fullmatch(text):
        return str(int(float(text)))
    return text


def worst_status(statuses: Iterable[str]) -> str:
    known = [s for s in statuses if s in _SEVERITY_ORDER]
    return min(known, key=_SEVERITY_ORDER.__getitem__) if known else ""


def _same_text(a: str, b: str) -> bool:
    """Equal but for width and whitespace: the common case, decided without difflib."""
    return a == b or normalise_space(a) == normalise_space(b)


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, normalise_space(a), normalise_space(b)).ratio()


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


def match_division(name: str | None, divisions: Sequence[str]) -> str | None:
    """The expected division a file names, allowing extra words around it (养老服务处（已填）)."""
    if not name:
        return None
    name = normalise_division(name)
    if name in divisions:
        return name
    inside = [d for d in divisions if d in name]
    if inside:
        return max(inside, key=len)
    around = [d for d in divisions if len(name) >= 3 and name in d]
    return around[0] if len(around) == 1 else None


@dataclass(frozen=True)
class Checked:
    """One return validated against the master."""

    answers: tuple[Answer, ...]
    flags: tuple[Flag, ...]
    expected: int


@dataclass(frozen=True)
class CheckedReturn(ReturnFile):
    """A return validated where it was read (``collect(..., check=precheck(...))``): its rows
    were checked there and are not kept; ``checked`` is what check_return gave."""

    checked: Checked | None = None
    checked_for: tuple = ()  # (master hash, year, quarter, division) it was checked for


def precheck(master: Master, year: int, quarter: int) -> Callable[[ReturnFile], ReturnFile]:
    """A ``check`` for :func:`inbox.collect`: identifies each return's division and validates
    it against ``master`` where it is read, so that reading processes do that work too.

    merge() with the same master and period takes the result as it is; with another one it
    refuses it (the rows are not kept). A return that cannot be used stays as read.
    """
    master.warm()  # here, not in every reading process
    key = (master.content_hash, year, quarter)

    def check(ret: ReturnFile) -> ReturnFile:
        division, _, rejection = identify(master, ret, year, quarter)
        if rejection or division is None:
            return ret
        state = {f.name: getattr(ret, f.name) for f in fields(ReturnFile)}
        state["rows"] = ()
        return CheckedReturn(
            **state, checked=check_return(master, ret, division), checked_for=(*key, division)
        )

    return check


def _check(master: Master, ret: ReturnFile, division: str, key: Callable[[], tuple]) -> Checked:
    """check_return of ``ret``, or what precheck found where it was read (``key()``: the
    master's hash and the period)."""
    if not isinstance(ret, CheckedReturn):
        return check_return(master, ret, division)
    if ret.checked is None or ret.checked_for != (*key(), division):
        raise ValueError(
            f"{ret.source} was checked for {ret.checked_for[1:]} against another master; "
            "collect without that check, or merge with the same master and period"
        )
    return ret.checked


def _where(ret: ReturnFile, row: ReturnRow, column: str) -> str:
    cell = row.cell(column)
    return f"{ret.source}，工作表 {ret.sheet}" + (
        f"，单元格 {cell}" if cell else f"，第{row.row}行"
    )


def _pair_rows(
    tasks: Sequence[Task], rows: Sequence[ReturnRow]
) -> tuple[dict[str, ReturnRow], list[ReturnRow]]:
    """Match rows to tasks: by 序号 first, then by text for rows whose number is off."""
    by_number = {t.number: t for t in tasks}
    paired: dict[str, ReturnRow] = {}
    left: list[ReturnRow] = []
    for row in rows:
        number = task_number(row.number)
        if number in by_number and number not in paired:
            task = by_number[number]
            # A number that points at a task while the text clearly belongs to another one:
            # trust the text (rows were renumbered).
            if (
                _same_text(row.text, task.text)
                or not row.text.strip()
                or _similarity(row.text, task.text) >= TEXT_MATCH_RATIO
            ):
                paired[number] = row
                continue
        left.append(row)
    extra: list[ReturnRow] = []
    for row in left:
        if not row.text.strip():
            extra.append(row)
            continue
        fp = fingerprint(row.text)
        candidates = [t for t in tasks if t.number not in paired]
        exact = [t for t in candidates if fingerprint(t.text) == fp]
        if exact:
            paired[exact[0].number] = row
            continue
        scored = sorted(
            ((_similarity(row.text, t.text), t.number) for t in candidates), reverse=True
        )
        if scored and scored[0][0] >= TEXT_MATCH_RATIO:
            paired[scored[0][1]] = row
        else:
            number = task_number(row.number)
            if number in by_number and number not in paired:
                paired[number] = row  # text rewritten beyond recognition; number still says it
            else:
                extra.append(row)
    return paired, extra


def check_return(master: Master, ret: ReturnFile, division: str) -> Checked:
    """Validate one return of ``division`` against the master: rows, texts, answers, statuses."""
    tasks = master.tasks_of(division)
    flags: list[Flag] = []
    answers: list[Answer] = []

    def flag(kind: str, detail: str, task: str = "", severity: str = "") -> None:
        flags.append(Flag(kind, detail, division, task, ret.source, severity))

    paired, extra = _pair_rows(tasks, ret.rows)
    for task in tasks:
        row = paired.get(task.number)
        if row is None:
            flag(
                "缺少事项",
                f"报送文件中没有序号 {task.label} 的事项行（{ret.source}，工作表 {ret.sheet}）",
                task.number,
            )
            continue
        if not _same_text(row.text, task.text):
            how = (
                "内容为空"
                if not row.text.strip()
                else f"与分解方案不一致（相似度 {_similarity(row.text, task.text):.0%}）"
            )
            flag(
                "事项被改动",
                f"序号 {task.label} 的责任事项{how}；已按分解方案原文汇总（{_where(ret, row, '责任事项')}）",
                task.number,
            )
        if task_number(row.number) != task.number:
            flag(
                "事项被改动",
                f"序号被改为“{row.number}”，按内容对应到序号 {task.label}（{_where(ret, row, '序号')}）",
                task.number,
            )
        notes = []
        answer, removed = clean_text(row.answer)
        plan, removed_plan = clean_text(row.plan)
        if removed or removed_plan:
            notes.append("删除了 Excel 无法保存的控制字符")
        for label, text in (("完成情况", answer), ("存在问题及下步打算", plan)):
            if looks_like_formula(text):
                flag(
                    "疑似公式",
                    f"{label}以“{text.strip()[:1]}”开头，已按文本保存，未作为公式计算（{_where(ret, row, label)}）",
                    task.number,
                )
        status, status_note = normalise_status(row.status)
        if status_note:
            notes.append(status_note)
        if not answer.strip():
            flag(
                "未填写",
                f"序号 {task.label} 的完成情况为空（{_where(ret, row, '完成情况')}）",
                task.number,
            )
        if not status:
            if row.status.strip():
                flag(
                    "未填写",
                    f"进展状态“{row.status.strip()}”不是可选值，应为{'、'.join(STATUSES)}之一（{_where(ret, row, '进展状态')}）",
                    task.number,
                    SEVERITY_WARNING,
                )
            else:
                flag(
                    "未填写",
                    f"序号 {task.label} 未选择进展状态（{_where(ret, row, '进展状态')}）",
                    task.number,
                    SEVERITY_WARNING,
                )
        if status == "滞后":
            flag(
                "进度滞后",
                f"{division}报告序号 {task.label} 进度滞后（{_where(ret, row, '进展状态')}）",
                task.number,
            )
        answers.append(
            Answer(
                task_number=task.number,
                division=division,
                role=task.role_of(division) or "",
                answer=answer,
                status=status,
                status_raw=row.status,
                plan=plan,
                source=ret.source,
                cell=row.cell("完成情况"),
                note="；".join(notes),
            )
        )
    listed = 0
    for i, row in enumerate(extra):
        content = "；".join(x for x in (row.number, row.text[:30], row.answer[:30]) if x.strip())
        if not content:
            continue
        if listed == MAX_EXTRA_ROWS:  # a pasted list must not bury 问题清单 under one row each
            rest = [r for r in extra[i:] if (r.number + r.text + r.answer).strip()]
            flag(
                "多余内容",
                f"另有 {len(rest)} 行（第{rest[0].row}行至第{rest[-1].row}行）不属于本处室的任何事项，"
                f"未逐行列出（{ret.source}，工作表 {ret.sheet}）",
            )
            break
        listed += 1
        other = task_number(row.number)
        why = (
            f"（序号 {other} 不是本处室的事项）"
            if any(t.number == other for t in master.tasks)
            else ""
        )
        flag(
            "多余内容",
            f"第{row.row}行不属于本处室的任何事项{why}：“{content}”（{ret.source}，工作表 {ret.sheet}）",
        )
    for item in ret.extra:
        flag("多余内容", f"事项表以外的内容：{item}（{ret.source}）")
    return Checked(tuple(answers), tuple(flags), len(tasks))


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


def identify(
    master: Master, ret: ReturnFile, year: int | None, quarter: int | None
) -> tuple[str | None, list[Flag], str]:
    """(division, flags, rejection reason) of one return; the reason is "" when it can be used.

    ``year``/``quarter`` of None accept any period (``check`` without --quarter).
    """
    divisions = master.divisions
    division = match_division(ret.division, divisions)
    if (year is not None and ret.year is not None and ret.year != year) or (
        quarter is not None and ret.quarter is not None and ret.quarter != quarter
    ):
        got = f"{ret.year or '?'}年第{quarter_name(ret.quarter) if ret.quarter in (1, 2, 3, 4) else '?'}季度"
        want = (
            f"{year or ''}{'年' if year else ''}第{quarter_name(quarter)}季度"
            if quarter
            else f"{year}年"
        )
        flag = Flag(
            "非本期文件", f"该文件属于{got}，本期为{want}，未采用", division or "", "", ret.source
        )
        return division, [flag], f"非本期文件（{got}）"
    if division is None:
        seen = f"“{ret.division}”" if ret.division else "（模板标识、标题和文件名中都没有处室名称）"
        flag = Flag(
            "无法识别处室",
            f"文件中的处室{seen}不在分解方案的处室名单中；应为：{'、'.join(divisions)}",
            "",
            "",
            ret.source,
        )
        return None, [flag], f"无法识别处室{seen}"
    flags = [
        Flag("无法识别处室", c, division, "", ret.source, SEVERITY_WARNING) for c in ret.conflicts
    ]
    return division, flags, ""


def merge(master: Master, collected, year: int, quarter: int) -> Summary:
    """Consolidate the returns of one period against the master.

    ``collected`` is a :class:`workbook_tools.returns.Collected` (returns, rejected, skipped).
    """
    divisions = master.divisions
    flags: list[Flag] = []
    verdicts: list[FileVerdict] = []
    period = f"{year}年第{quarter_name(quarter)}季度"

    # Files in source order, whatever order they were given in: the result must not depend on it.
    for bad in sorted(collected.rejected, key=lambda r: r.source):
        flags.append(Flag("文件无法读取", bad.reason, "", "", bad.source))
        verdicts.append(FileVerdict(bad.source, False, "", f"无法读取：{bad.reason}"))

    check_key = functools.cache(lambda: (master.content_hash, year, quarter))  # prechecked ones
    candidates: dict[str, list[ReturnFile]] = {d: [] for d in divisions}
    for ret in sorted(collected.returns, key=lambda r: r.source):
        division, file_flags, rejection = identify(master, ret, year, quarter)
        flags += file_flags
        if rejection:
            verdicts.append(FileVerdict(ret.source, False, division or "", rejection))
        else:
            candidates[division].append(ret)

    answers: list[Answer] = []
    statuses: list[DivisionStatus] = []
    for division in divisions:
        expected = len(master.tasks_of(division))
        rets = sorted(candidates[division], key=_sort_time, reverse=True)
        if not rets:
            flag = Flag(
                "未报送", f"{division}没有报送{period}的完成情况（应报 {expected} 项）", division
            )
            flags.append(flag)
            statuses.append(DivisionStatus(division, False, "", "", expected, 0, (flag,)))
            continue
        used, others = rets[0], rets[1:]
        division_flags: list[Flag] = []
        seen_hashes = {used.sha256}
        for other in others:
            if other.sha256 in seen_hashes:
                verdicts.append(
                    FileVerdict(
                        other.source, False, division, f"与 {used.source} 内容完全相同，按一份计"
                    )
                )
                continue
            seen_hashes.add(other.sha256)
            division_flags.append(
                Flag(
                    "重复报送",
                    f"{division}报送了多份文件，采用最新的 {used.source}，未采用本文件",
                    division,
                    "",
                    other.source,
                )
            )
            verdicts.append(
                FileVerdict(other.source, False, division, f"重复报送，采用 {used.source}")
            )
        checked = _check(master, used, division, check_key)
        division_flags += checked.flags
        answers += checked.answers
        answered = sum(1 for a in checked.answers if a.answer.strip())
        # What the reader noticed (macros not run, external links, sheet hidden…) is shown
        # with the verdict, so a coordinator sees it.
        reason = "；".join((f"已采用，已填 {answered}/{expected} 项", *used.notes))
        verdicts.append(FileVerdict(used.source, True, division, reason))
        statuses.append(
            DivisionStatus(
                division,
                True,
                used.source,
                fill_time(used),
                expected,
                answered,
                tuple(division_flags),
            )
        )
        flags += division_flags

    answers_by_task: dict[str, list[Answer]] = {}
    for a in answers:
        answers_by_task.setdefault(a.task_number, []).append(a)
    judged = []
    for task in master.tasks:
        mine = answers_by_task.get(task.number, [])
        status, task_flags = _judge_task(task, mine)
        flags += task_flags
        judged.append((task, status, mine))
    # Attach every task-level flag to its task, so 汇总 can show 问题标记.
    by_task: dict[str, list[Flag]] = {}
    for f in flags:
        if f.task:
            by_task.setdefault(f.task, []).append(f)
    task_summaries = [
        TaskSummary(
            task=task,
            status=status,
            lead_answers=tuple(a for a in mine if a.role == ROLE_LEAD),
            partner_answers=tuple(a for a in mine if a.role != ROLE_LEAD),
            flags=tuple(by_task.get(task.number, ())),
        )
        for task, status, mine in judged
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
                "answers": [answer_dict(a) for a in (*ts.lead_answers, *ts.partner_answers)],
                "flags": [flag_dict(f) for f in ts.flags],
            }
            for ts in summary.tasks
        ],
        "flags": [flag_dict(f) for f in summary.flags],
    }
