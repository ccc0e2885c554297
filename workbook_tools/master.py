"""The master workbook (分解方案, Annex 1) -> :class:`model.Master`.

The reader is forgiving about where things are (the header may sit anywhere in the first rows,
with extra columns around it; cells may be merged; divisions may be separated by blank lines,
line breaks, 、 or spaces) and strict about what must be there (the five header columns and at
least one task). It reads values only, with python-calamine, and never writes to the file.

This module reads the plan's rows: the title and year above the header, each task (序号 with its
*, text, 分管领导, divisions, 量化指标) and the footnote under the table. The rest of the master's
layout is in master_file.py (the file -> its sheets), master_header.py (the header row),
master_divisions.py (the division names in a cell or a task text), master_categories.py (类别
column or footnote) and master_extra.py (the optional sheets 序时进度 and 占位答复).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from xlsxwriter.utility import xl_col_to_name

from .cells import value_text
from .errors import MasterLayoutError
from .layout import normalise_space
from .master_categories import task_categories
from .master_divisions import parse_city_units, split_divisions
from .master_extra import read_placeholders, read_schedule
from .master_file import Sheet, open_workbook, read_bytes
from .master_header import (
    CATEGORY,
    HEADER_HINT,
    LEADER,
    LEADS,
    NUMBER,
    PARTNERS,
    TARGETS,
    TEXT,
    Header,
    find_header,
)
from .model import BUREAU, DEFAULT_SCHEDULE, Master, Task
from .targets import parse_targets

__all__ = ["read_master"]

_TASK_NUMBER = re.compile(r"(\*?)0*(\d+)(?:\.0*|、)?")
_YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")


def read_master(path: str | Path) -> Master:
    """Read the breakdown plan from an .xlsx/.xlsm/.xls/.ods workbook (by content, not suffix).

    Raises :class:`MasterLayoutError` when the file is missing, is not a workbook, or has no
    usable header or tasks. Problems that still leave a usable plan go to ``Master.warnings``.
    """
    source = str(path)
    return _parse(read_bytes(Path(path), source), source)


def _parse(data: bytes, source: str) -> Master:
    sheets = open_workbook(data, source)

    best: tuple[int, Sheet, list[str], int] | None = None
    for sheet in sheets:
        found = find_header(sheet)
        if isinstance(found, Header):
            master = _read_plan(sheet, found, source, read_schedule(sheets, source))
            extra = read_placeholders(sheets)
            return dataclasses.replace(master, placeholders=extra) if extra else master
        count, missing, scanned = found
        if best is None or count > best[0]:
            best = (count, sheet, missing, scanned)
    if best is None:
        raise MasterLayoutError("工作簿中没有工作表", file=source, hint=HEADER_HINT)
    _, sheet, missing, scanned = best
    names = "、".join(f"“{name}”" for name in missing)
    raise MasterLayoutError(
        f"找不到表头列{names}（已查找第1-{scanned}行）",
        file=source,
        sheet=sheet.name,
        hint=HEADER_HINT,
    )


def _read_plan(sheet: Sheet, header: Header, source: str, schedule=DEFAULT_SCHEDULE) -> Master:
    cols = header.columns
    warnings: list[str] = []
    title = _find_title(sheet, header.row)
    year_match = _YEAR.search(title)
    if not title:
        warnings.append(
            f"表头（第{header.row + 1}行）上方没有找到标题（应含“方案”或“年”），年度未知"
        )

    tasks: list[dict] = []
    by_number: dict[str, dict] = {}
    footnote: list[str] = []
    for r in range(header.row + 1, len(sheet.rows)):
        if sheet.row_is_empty(r):
            if footnote:
                break
            continue
        if footnote:  # a footnote may run over several rows
            footnote.append(_row_text(sheet, r))
            continue
        star, number = _parse_number(sheet.value(r, cols[NUMBER]))
        if number is None:
            label = sheet.text(r, cols[NUMBER]).strip()
            first = _row_text(sheet, r)
            if normalise_space(label) == "序号":
                continue  # a repeated header
            if _is_footnote(sheet, r, first):
                footnote.append(first)
                continue
            what = f"序号“{label}”不是事项编号" if label else "序号为空"
            warnings.append(f"第{r + 1}行：{what}，该行已跳过")
            continue
        origin = sheet.merged.get((r, cols[NUMBER]))
        if (
            origin
            and origin[0] < r
            and number in by_number
            and by_number[number]["row"] == origin[0] + 1
        ):
            # 序号 merged down: one task whose divisions are written on several rows
            task = by_number[number]
            for key in (LEADS, PARTNERS):
                extra = sheet.text(r, cols[key])
                if extra.strip() and extra not in task[key]:
                    task[key] = f"{task[key]}\n\n{extra}" if task[key].strip() else extra
            continue
        if number in by_number:
            first_row = by_number[number]["row"]
            warnings.append(f"第{r + 1}行（序号 {number}）：序号与第{first_row}行重复，该行已忽略")
            continue
        task = {
            "row": r + 1,
            "number": number,
            "star": star,
            TEXT: sheet.text(r, cols[TEXT]).strip(),
            LEADER: sheet.text(r, cols[LEADER]).strip(),
            LEADS: sheet.text(r, cols[LEADS]),
            PARTNERS: sheet.text(r, cols[PARTNERS]),
            CATEGORY: sheet.text(r, cols[CATEGORY]) if CATEGORY in cols else "",
            TARGETS: sheet.text(r, cols[TARGETS]) if TARGETS in cols else "",
            "targets_cell": f"{xl_col_to_name(cols[TARGETS])}{r + 1}" if TARGETS in cols else "",
        }
        tasks.append(task)
        by_number[number] = task

    if not tasks:
        raise MasterLayoutError(
            f"表头（第{header.row + 1}行）下面没有找到任何事项",
            file=source,
            sheet=sheet.name,
            hint="每个事项一行，序号写作 1、2、3…，我局牵头的写作 *1",
        )
    note = "\n".join(footnote)
    categories = task_categories(tasks, CATEGORY in cols, note, warnings)
    return Master(
        source=source,
        sheet=sheet.name,
        title=title,
        year=int(year_match.group(1)) if year_match else None,
        tasks=tuple(_make_task(t, categories[t["number"]], warnings) for t in tasks),
        footnote=note,
        warnings=tuple(warnings),
        schedule=schedule,
    )


def _make_task(t: dict, categories: tuple[str, ...], warnings: list[str]) -> Task:
    where = f"第{t['row']}行（序号 {t['number']}）"
    leads = split_divisions(t[LEADS])
    partners = tuple(p for p in split_divisions(t[PARTNERS]) if p not in leads)
    if not leads and not partners:
        warnings.append(f"{where}：没有牵头处室或责任处室，该事项不会分发给任何处室")
    elif not leads:
        warnings.append(f"{where}：没有牵头处室")
    if not t[TEXT]:
        warnings.append(f"{where}：工作事项为空")
    city_leads, city_partners = parse_city_units(t[TEXT])
    targets, problems = parse_targets(t[TARGETS])
    for problem in problems:
        warnings.append(f"单元格 {t['targets_cell']}（序号 {t['number']}，量化指标）：{problem}")
    return Task(
        number=t["number"],
        label=f"*{t['number']}" if t["star"] else t["number"],
        text=t[TEXT],
        leader=t[LEADER],
        leads=leads,
        partners=partners,
        bureau_leads=t["star"] or BUREAU in city_leads,
        categories=categories,
        city_leads=city_leads,
        city_partners=city_partners,
        row=t["row"],
        leads_raw=t[LEADS],
        partners_raw=t[PARTNERS],
        targets=targets,
    )


def _find_title(sheet: Sheet, header_row: int) -> str:
    for r in range(header_row):
        for c in range(len(sheet.rows[r])):
            text = value_text(sheet.raw(r, c)).strip()
            if text and re.search(r"方案|年", text):
                return text
    return ""


def _is_footnote(sheet: Sheet, r: int, first: str) -> bool:
    """A note under the table: one text in the row (often merged across), starting with * or
    saying 注/说明/牵头任务. A task row that merely lacks its 序号 has several cells filled."""
    texts = [t for t in (value_text(v).strip() for v in sheet.rows[r]) if t]
    if len(texts) != 1:
        return False
    return first.startswith(("*", "＊")) or bool(re.search(r"说明|注|牵头任务", first))


def _row_text(sheet: Sheet, r: int) -> str:
    for value in sheet.rows[r]:
        text = value_text(value).strip()
        if text:
            return text
    return ""


def _parse_number(value: object) -> tuple[bool, str | None]:
    """(starred, number) of a 序号 cell: 1, 1.0, "1", " 1 ", "*1", "＊1"; (False, None) otherwise."""
    if isinstance(value, bool):
        return False, None
    if isinstance(value, int | float):
        if value == int(value) and value > 0:
            return False, str(int(value))
        return False, None
    m = _TASK_NUMBER.fullmatch(normalise_space(value_text(value)))
    if not m or int(m.group(2)) == 0:
        return False, None
    return bool(m.group(1)), str(int(m.group(2)))
