"""The master's header row: where it is (the first rows of a sheet, extra columns allowed) and
which column is which (序号, 工作事项, 分管领导, 牵头处室, 责任处室, and the optional 类别 and 量化指标)."""

from __future__ import annotations

from dataclasses import dataclass

from .cells import value_text
from .layout import normalise_space
from .master_file import Sheet

HEADER_SCAN_ROWS = 15  # the header must start within the first rows of a sheet

# Header keys, in the order the header is described to users.
NUMBER, TEXT, LEADER, LEADS, PARTNERS, CATEGORY, TARGETS = (
    "序号",
    "工作事项",
    "分管领导",
    "牵头处室",
    "责任处室",
    "类别",
    "量化指标",
)
REQUIRED = (NUMBER, TEXT, LEADER, LEADS, PARTNERS)
HEADER_HINT = "表头应在同一行依次写明：序号、工作事项、分管领导、牵头处室、责任处室（单位）"


@dataclass
class Header:
    """The header row and the column of each key found in it."""

    row: int  # 0-based
    columns: dict[str, int]


def find_header(sheet: Sheet) -> Header | tuple[int, list[str], int]:
    """The header row, or (columns found in the best row, missing names, rows scanned)."""
    scanned = max(1, min(HEADER_SCAN_ROWS, len(sheet.rows)))
    best: dict[str, int] = {}
    for r in range(min(HEADER_SCAN_ROWS, len(sheet.rows))):
        columns: dict[str, int] = {}
        for c in range(len(sheet.rows[r])):
            key = _header_key(value_text(sheet.raw(r, c)))
            if key and key not in columns:
                columns[key] = c
        if all(k in columns for k in REQUIRED):
            return Header(r, columns)
        if sum(k in columns for k in REQUIRED) > sum(k in best for k in REQUIRED):
            best = columns
    missing = [k for k in REQUIRED if k not in best]
    return len(REQUIRED) - len(missing), missing, scanned


def _header_key(text: str) -> str | None:
    n = normalise_space(text)
    if not n:
        return None
    if n in ("序号", "编号", "序"):
        return NUMBER
    if "事项" in n or n in ("任务", "工作任务", "重点任务", "任务内容"):
        return TEXT
    if "领导" in n:
        return LEADER
    if n.startswith("牵头"):
        return LEADS
    if n.startswith(("责任处室", "责任单位", "配合")):
        return PARTNERS
    if "类别" in n or n in ("类型", "任务类型"):
        return CATEGORY
    if "量化" in n or n in ("指标", "目标", "目标任务", "年度目标", "目标数", "任务指标"):
        return TARGETS
    return None
