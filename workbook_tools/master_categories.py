"""Each task's categories (政府工作报告 / 民生实事 / both): from a 类别 column when the master has one,
else from the footnote under the table (第3项为…双重任务，第4、5项为…民生实事，其余…)."""

from __future__ import annotations

import re

from .layout import normalise_space
from .master_header import CATEGORY
from .model import CATEGORY_LIVELIHOOD, CATEGORY_REPORT

__all__ = ["parse_category_note", "task_categories"]

BOTH = (CATEGORY_REPORT, CATEGORY_LIVELIHOOD)

_NOTE_CLAUSES = re.compile(r"[，,；;。\n](?!\s*\d)")
_NOTE_ITEMS = re.compile(r"第\s*([\d\s、,，和及\-－—–~～至到]+?)\s*项")
_NOTE_RANGE = re.compile(r"(\d+)\s*[-－—–~～至到]\s*(\d+)")


def parse_category_note(note: str) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...] | None]:
    """Categories named in a footnote: ({序号: categories}, categories of 其余 or None).

    Understands the seed's wording, e.g. 「第3项为…双重任务，第4、5、6、17项为市政府民生实事的
    民政任务，其余是市《政府工作报告》的民政工作任务」, and item lists such as 第1-3项 / 第1至3项.
    """
    explicit: dict[str, tuple[str, ...]] = {}
    rest = None
    for clause in _NOTE_CLAUSES.split(str(note)):
        items = list(_NOTE_ITEMS.finditer(clause))
        if items:
            category = _category_of(clause[items[-1].end() :]) or _category_of(clause)
            if category:
                for m in items:
                    for number in _expand_items(m.group(1)):
                        explicit.setdefault(number, category)
        elif re.search(r"其余|其他|其它|剩余", clause):
            rest = _category_of(clause) or rest
    return explicit, rest


def task_categories(
    tasks: list[dict], has_column: bool, note: str, warnings: list[str]
) -> dict[str, tuple[str, ...]]:
    """{序号: categories} of the plan's tasks (rows as dicts keyed by the header keys): from the
    类别 column if the master has one, else from the footnote ``note``; doubts go to ``warnings``."""
    default = (CATEGORY_REPORT,)
    if has_column:
        out = {}
        for t in tasks:
            found = _category_of(t[CATEGORY])
            if not found:
                warnings.append(
                    f"第{t['row']}行（序号 {t['number']}）：类别“{t[CATEGORY].strip()}”无法识别，"
                    f"按“{CATEGORY_REPORT}”处理"
                )
            out[t["number"]] = found or default
        return out
    explicit, rest = parse_category_note(note)
    if not explicit and not rest:
        warnings.append(f"没有“类别”列，脚注中也没有说明各项类别，全部按“{CATEGORY_REPORT}”处理")
    numbers = {t["number"] for t in tasks}
    for number in sorted(set(explicit) - numbers, key=int):
        warnings.append(f"脚注提到第{number}项，但分解方案中没有序号为 {number} 的事项")
    return {t["number"]: explicit.get(t["number"], rest or default) for t in tasks}


def _category_of(text: str) -> tuple[str, ...] | None:
    n = normalise_space(text)
    report = "政府工作报告" in n or n in ("报告", "工作报告")
    livelihood = "民生" in n
    if "双重" in n or (report and livelihood):
        return BOTH
    if livelihood:
        return (CATEGORY_LIVELIHOOD,)
    if report:
        return (CATEGORY_REPORT,)
    return None


def _expand_items(items: str) -> list[str]:
    numbers: list[str] = []
    for m in _NOTE_RANGE.finditer(items):
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo <= hi <= lo + 500:
            numbers += [str(n) for n in range(lo, hi + 1)]
    numbers += [str(int(n)) for n in re.findall(r"\d+", _NOTE_RANGE.sub("", items))]
    return numbers
