"""Returns + master -> Summary. Pure functions: no file is opened here.

The rules, in order: drop what cannot be used (unreadable, another period, unknown division),
keep the newest return per division, check every row against the master, then judge each task.
Every problem becomes a :class:`~workbook_tools.model.Flag`; nothing is printed and forgotten.

Here: which part of which file each division's answers are taken from (the newest; set-aside
files quoted where they differ), how a return came by mail, and each file's verdict. Checking a
part is :mod:`workbook_tools.validate`, judging the tasks and building the Summary
:mod:`workbook_tools.summarise`, the four statuses :mod:`workbook_tools.statuses`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime

from .identify import Part, identify, match_division, parts_of
from .model import (
    SEVERITY_ERROR,
    SEVERITY_WARNING,
    Answer,
    Delivery,
    DivisionStatus,
    FileVerdict,
    Flag,
    Master,
    ReturnFile,
    ReturnRow,
    Summary,
    Task,
    quarter_name,
)
from .pairing import pair_rows, same_text
from .summarise import summarise
from .targets import match_figures, parse_figure
from .validate import Checked, check_part, joined, report_stray, where_in


def _sort_time(ret: ReturnFile, delivered: Mapping[str, Delivery]) -> tuple:
    """Newest wins: the time the mail bringing it was received (a sender's computer clock may
    be years off; the mail server's is not), else the saved time in the document, else the
    file time; ties by name."""
    mail = delivered.get(ret.source)
    when = saved_at(mail.received) if mail is not None else 0.0
    return (when or saved_at(ret.modified) or ret.mtime, ret.mtime, ret.source)


def saved_at(stamp: str) -> float:
    """A saved time as the file stores it, as seconds since the epoch; 0.0 if unreadable.

    Excel writes UTC ("…Z") and LibreOffice's .ods local time without a zone, so the texts
    cannot be compared as they are: a draft saved in LibreOffice in Beijing would look eight
    hours newer than a correction saved an hour later in Excel. A time without a zone is this
    computer's local time, as the bureau's files are made in one time zone."""
    if not stamp:
        return 0.0
    text = stamp.strip().replace("Z", "+00:00").replace("z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # LibreOffice writes nanoseconds
    try:
        return datetime.fromisoformat(text).timestamp()  # naive: local time
    except (ValueError, OverflowError, OSError):
        return 0.0


def fill_time(ret: ReturnFile) -> str:
    """What 报送情况 shows as 填报时间."""
    if ret.fill_date:
        return ret.fill_date
    if ret.modified:
        return ret.modified.replace("T", " ")[:19]
    if ret.mtime:
        return datetime.fromtimestamp(ret.mtime).strftime("%Y-%m-%d %H:%M:%S")
    return ""


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
    for folder, why in collected.unread_folders:
        flags.append(Flag("文件无法读取", why, "", "", f"{folder}/", SEVERITY_WARNING))
        verdicts.append(FileVerdict(f"{folder}/", False, "", f"未读取：{why}"))

    # The files last quarter's answers came from: the same bytes again are that quarter's return
    # left in the inbox, even when nothing in it names a period (a table pasted into a new
    # workbook).
    earlier = {getattr(r, "sha256", ""): r for r in (previous or {}).values()}
    earlier.pop("", None)
    candidates: dict[str, list[Part]] = {d: [] for d in divisions}
    for ret in sorted(collected.returns, key=lambda r: r.source):
        old = earlier.get(ret.sha256)
        if old is not None and (old.year, old.quarter) != (year, quarter):
            got = f"{old.year}年第{quarter_name(old.quarter)}季度"
            detail = f"与{got}已采用的文件 {old.source} 完全相同，是{got}的报送，未采用"
            flags.append(Flag("非本期文件", detail, old.division, "", ret.source))
            verdicts.append(FileVerdict(ret.source, False, old.division, f"非本期文件（{got}）"))
            continue
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
        parts = sorted(
            candidates[division], key=lambda p: _sort_time(p.ret, delivered), reverse=True
        )
        # Stable, so newest first within each kind: a part with something typed in it before one
        # with nothing (a blank template sent again by mistake never displaces answers), and the
        # division's own file before a doubtful or borrowed one.
        parts.sort(key=lambda p: (not _typed(p), p.rank))
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


def _typed(part: Part) -> bool:
    """Whether anything was typed into the part's answer cells."""
    return any(
        r.answer.strip()
        or r.status.strip()
        or r.plan.strip()
        or any(typed.strip() for _, typed, _, _ in r.figures)
        for r in part.rows
    )


def _set_aside_reason(used: Part, other: Part) -> str:
    if other.ret.sha256 == used.ret.sha256:
        return f"与 {used.ret.source} 内容完全相同，按一份计"
    if not _typed(other) and _typed(used):
        return f"未填写任何内容，采用已填写的 {used.ret.source}"
    if other.rank == 0:
        return f"重复报送，采用 {used.ret.source}"
    return f"未采用：{used.division}另有采用的报送文件 {used.ret.source}（本文件的内容见问题清单）"


def _not_used(
    master: Master, division: str, used: Part, other: Part, checked: Checked, seen: set[str]
) -> list[Flag]:
    """Flags for a part of ``division`` that another part was preferred to. An older return of
    the division's own is 重复报送, and what it answers where the file used left the cell empty
    is quoted (内容未读入): a correction sent with only the changed rows loses nothing. Anything
    else typed in any other part that differs from what was used is quoted whole, so that
    nothing typed is lost."""
    source = other.ret.source
    own = other.main and other.rank == 0
    if own and other.ret.sha256 in seen:
        return []
    flags = []
    if own:
        blank = "本文件未填写任何内容，" if not _typed(other) and _typed(used) else ""
        newest = "已填写的" if blank else "最新的"
        flags.append(
            Flag(
                "重复报送",
                f"{division}报送了多份文件，{blank}采用{newest} {used.ret.source}，未采用本文件",
                division,
                "",
                source,
            )
        )
    # A note may end in 中 itself ("与…的报送在同一工作表中").
    where = (other.note or "文件").removesuffix("中")
    used_text = {a.task_number: (a.answer, a.plan) for a in checked.answers}
    used_figures = {a.task_number: dict(a.figures) for a in checked.answers}
    pairing = pair_rows(master.tasks_of(division), other.rows)
    for number, rows in pairing.rows.items():
        task = master.task(number)
        for label, name, i in (("完成情况", "answer", 0), ("存在问题及下步打算", "plan", 1)):
            text = joined(rows, name)
            kept = used_text.get(number, ("", ""))[i]
            if not text.strip() or same_text(text, kept) or (own and kept.strip()):
                continue
            compare = (
                f"与采用的{used.ret.source} 不同"
                if kept.strip()
                else f"在采用的{used.ret.source} 中没有填写"
            )
            flags.append(
                Flag(
                    "内容未读入",
                    f"未采用的{where}中，序号 {task.label} 的{label}{compare}，未读入：“{text}”"
                    f"（{where_in(other.ret, rows[0], label, other.sheet)}）",
                    division,
                    number,
                    source,
                )
            )
        flags += _unread_figures(task, rows, used_figures.get(number, {}), own, where, other)
    if own:
        return flags
    for row in pairing.left:
        if row.answer.strip() or row.plan.strip():
            flags.append(
                Flag(
                    "内容未读入",
                    f"未采用的{where}中第{row.row}行未读入："
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
            report_stray(other.ret, stray, None, unread)
    return flags


def _unread_figures(
    task: Task,
    rows: Iterable[ReturnRow],
    used: Mapping[str, float | None],
    own: bool,
    where: str,
    other: Part,
) -> list[Flag]:
    """The 累计完成 figures of a part not used, quoted where the file used has none for the
    target (or, for a file not the division's own, another one)."""
    flags = []
    for r in rows:
        found, _ = match_figures(task.targets, r.figures)
        for target in task.targets:
            text, cell = found.get(target.name, ("", ""))
            if not text.strip():
                continue
            try:
                value = parse_figure(text, target.unit)
            except ValueError:
                value = None
            kept = used.get(target.name)
            if kept is None or (not own and value != kept):
                flags.append(
                    Flag(
                        "内容未读入",
                        f"未采用的{where}中，序号 {task.label} 的“{target.name}”累计完成数“{text.strip()}”"
                        f"未读入（{other.ret.source}，工作表 {other.sheet}，单元格 {cell}）",
                        other.division,
                        task.number,
                        other.ret.source,
                    )
                )
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
