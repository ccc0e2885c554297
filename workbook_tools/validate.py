"""One division's part of a return checked against the master -> its answers and flags. Pure.

Each task of the division is paired with its rows (:mod:`workbook_tools.pairing`); its answer,
plan, status and figures are read from them and every departure from the template is a
:class:`~workbook_tools.model.Flag`. What is typed and not read as an answer (rows of no task of
the division, cells outside the table, comments) is quoted whole, so nothing typed is lost.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .cells import clean_text
from .files import visible_text
from .identify import Part
from .layout import normalise_space, role_text
from .model import (
    SEVERITY_WARNING,
    STATUSES,
    Answer,
    Flag,
    Master,
    ReturnFile,
    ReturnRow,
    Stray,
    Task,
)
from .pairing import BY_ORDER, BY_POSITION, pair_rows, same_text, similarity, task_number
from .statuses import normalise_status
from .targets import format_target, match_figures, parse_figure

_FORMULA_START = re.compile(r"^\s*(?:[=@]|[+\-](?=[\s]*[0-9A-Za-z(=@+\-]))")
#: Rows outside the tasks flagged one by one; the rest are counted in one flag.
MAX_EXTRA_ROWS = 50


def looks_like_formula(text: str) -> bool:
    """An answer Excel would take for a formula if it were typed or written as a value."""
    return bool(_FORMULA_START.match(text))


@dataclass(frozen=True)
class Checked:
    """One return validated against the master."""

    answers: tuple[Answer, ...]
    flags: tuple[Flag, ...]
    expected: int


def where_in(ret: ReturnFile, row: ReturnRow, column: str, sheet: str = "") -> str:
    """Where a flag points: file, sheet, and the cell of ``column`` in ``row`` (else the row)."""
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

    where = lambda row, column: where_in(ret, row, column, part.sheet)  # noqa: E731
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
                else f"与分解方案不一致（相似度 {math.floor(similarity(row.text, task.text) * 100)}%"
                f"，{first_change(task.text, row.text)}）"
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
        answer, plan, status_raw = joined(rows, "answer"), joined(rows, "plan"), row.status
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
                f"进展状态“{visible_text(status_raw.strip())}”不是可选值，应为{'、'.join(STATUSES)}之一"
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
        shown = previous_cells((previous or {}).get((division, task.number)), task)
        for r in rows:
            if r.previous.strip():
                # The template wrote one of these there; anything else in it was typed.
                if normalise_space(r.previous) not in shown:
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
            report_stray(ret, stray, task, flag)
        for item in ret.extra:
            flag("多余内容", f"事项表以外的内容：{item}（{ret.source}）")
        unit = normalise_space(ret.unit)
        for stamp in ("(盖章)", "盖章"):  # 填报单位（盖章）：… as many forms print it
            unit = unit.removesuffix(stamp)
        if unit and unit != normalise_space(division):
            # Split writes the division there and locks it: a different unit was typed over it
            # (or the template came from another division). Quoted, so it is never lost.
            flag(
                "内容未读入",
                f"表格上方的填报单位为“{ret.unit}”，与{division}不一致，未读入；请核实"
                f"（{ret.source}，工作表 {part.sheet}）",
            )
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
            if target.name not in found:
                continue
            text, cell = found[target.name]
            try:
                value = parse_figure(text, target.unit)
            except ValueError as exc:
                flag(
                    f"序号 {task.label} 的“{target.name}”累计完成数“{text.strip()}”{exc}，未读入"
                    f"（{place(cell)}）；请填写不小于0的数字"
                )
                continue
            if values.get(target.name) is None:
                values[target.name] = value
            elif value is not None and value != values[target.name]:
                # A second row of the task (a continuation, a copied row) with another figure.
                flag(
                    f"序号 {task.label} 的“{target.name}”另有累计完成数“{text.strip()}”未读入"
                    f"（{place(cell)}），采用的是该事项第一行的数字"
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


def previous_cells(prev: object, task: Task) -> set[str]:
    """What split wrote in a task's 上季度完成情况 cell, space-normalised: the text of last
    quarter's row (template_extra.previous_text), or 上季度未报送. ``prev`` is that row (an
    archive row, or yearly.LastReport), None when the division had none."""
    from .template_extra import Previous, previous_text  # pure; the template's own wording

    texts = {normalise_space("（上季度未报送）")}
    row = getattr(prev, "row", prev)
    if row is not None:
        figures = tuple(sorted((getattr(row, "figures", None) or {}).items()))
        shown = Previous(getattr(row, "answer", ""), getattr(row, "status", ""), figures)
        texts.add(normalise_space(previous_text(shown, task.targets)))
    return texts


def joined(rows: Sequence[ReturnRow], name: str) -> str:
    """One answer from a task's rows: each different text once, in row order."""
    texts = [getattr(r, name) for r in rows]
    kept = list(dict.fromkeys(t for t in texts if t.strip()))
    return "\n".join(kept) if len(kept) > 1 else (kept[0] if kept else texts[0])


def report_stray(ret: ReturnFile, stray: Stray, task: Task | None, flag) -> None:
    """Flag a text typed outside the task rows, quoted whole; ``task`` is the task of its row."""
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


def first_change(original: str, edited: str, context: int = 4, most: int = 30) -> str:
    """Where ``edited`` first departs from ``original``, as “…”改为“…” with a few characters
    around it: a changed number in a long task text is seen at once."""
    a, b = original, edited
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op != "equal" and normalise_space(a[i1:i2]) != normalise_space(b[j1:j2]):
            lo_a, lo_b = max(0, i1 - context), max(0, j1 - context)
            old = a[lo_a : min(len(a), i2 + context)][:most]
            new = b[lo_b : min(len(b), j2 + context)][:most]
            return f"如“{old}”改为“{new}”"
    return "仅空白或全角半角不同"
