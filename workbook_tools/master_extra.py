"""The master's optional extra sheets: 序时进度 (each quarter's expected share of a yearly target)
and 占位答复 (answers that say nothing, one a cell)."""

from __future__ import annotations

import dataclasses

from .cells import value_text
from .errors import MasterLayoutError
from .layout import normalise_space
from .master_file import Sheet
from .model import DEFAULT_SCHEDULE
from .targets import parse_schedule

SCHEDULE_SHEET = "序时进度"  # optional sheet: each quarter's expected share of a yearly target
SCHEDULE_HINT = "每个季度一行，季度右侧写序时进度，如“第一季度 25%”…“第四季度 100%”"
PLACEHOLDER_SHEET = "占位答复"  # optional sheet: answers that say nothing (答复过简), one a cell


def read_schedule(sheets: list[Sheet], source: str):
    """The 序时进度 sheet's schedule, the default without one; MasterLayoutError if unreadable
    (a wrong schedule would misjudge every task)."""
    sheet = next((s for s in sheets if normalise_space(s.name) == SCHEDULE_SHEET), None)
    if sheet is None:
        return DEFAULT_SCHEDULE
    schedule, problems = parse_schedule(sheet.rows)
    if schedule is None:
        raise MasterLayoutError(
            "序时进度无法读取：" + "；".join(problems),
            file=source,
            sheet=sheet.name,
            hint=SCHEDULE_HINT,
        )
    return dataclasses.replace(schedule, source=f"工作表 {sheet.name}")


def read_placeholders(sheets: list[Sheet]) -> tuple[str, ...]:
    """The texts on a 占位答复 sheet, each non-empty cell one (a header cell 占位答复 or
    说明 lines starting with 说明 are skipped); () without the sheet."""
    sheet = next((s for s in sheets if normalise_space(s.name) == PLACEHOLDER_SHEET), None)
    if sheet is None:
        return ()
    out: dict[str, None] = {}
    for row in sheet.rows:
        for value in row:
            text = value_text(value).strip()
            key = normalise_space(text)
            if (
                text
                and key not in (PLACEHOLDER_SHEET, "占位答复（每格一个）")
                and not key.startswith("说明")
            ):
                out.setdefault(text, None)
    return tuple(out)
