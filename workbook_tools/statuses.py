"""The four 进展状态: the variants people type instead, folded to them, and the worst of several."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .files import visible_text
from .layout import normalise_space
from .model import STATUSES

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
# Statuses that do not contradict each other: one division done, another on schedule is no
# 状态不一致.
CALM_STATUSES = {"已完成", "按序时推进"}


def normalise_status(raw: str) -> tuple[str, str]:
    """(status, note). status is one of STATUSES, or "" when empty or not recognised."""
    key = normalise_space(raw)
    if not key:
        return "", ""
    if key in STATUSES:
        return key, ""
    seen = _ZERO_WIDTH.sub("", key)  # pasted from Word or a web page along with the word
    if seen != key and seen in STATUSES:
        return seen, f"进展状态“{visible_text(raw.strip())}”中有看不见的字符，按“{seen}”处理"
    if seen in STATUS_VARIANTS:
        status = STATUS_VARIANTS[seen]
        return status, f"进展状态“{visible_text(raw.strip())}”按“{status}”处理"
    return "", ""


_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]")


def worst_status(statuses: Iterable[str]) -> str:
    """The worst of ``statuses`` (滞后 first); "" when none is one of the four."""
    known = [s for s in statuses if s in _SEVERITY_ORDER]
    return min(known, key=_SEVERITY_ORDER.__getitem__) if known else ""
