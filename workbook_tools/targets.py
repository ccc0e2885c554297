"""Quantitative targets (量化指标): reading them and judging progress against 序时进度.

A target is one countable yearly goal of a task, written in the master's 量化指标 column as one
line per target: ``社区老年人服务中心（站）：80个`` or ``居家养老上门服务：1.1万人（第四季度）``.

The progress rule (what merge and the summary count):

* the expected share by the end of quarter q is the master's 序时进度 (25/50/75/100 % by
  default); a target due in quarter d is expected at share(q) / share(d), and in full from d on;
* completion = reported cumulative ÷ target. One target is
  已完成 when completion ≥ 100 %; 超序时 when it is at least ``margin`` (10 percentage points by
  default) ahead of the expected share; 达序时 when it is at or above the expected share but less
  than the margin ahead; 未达序时 when it is below the expected share, or no figure was reported;
* a task is 无量化指标 without targets, 已完成 when every target is, and otherwise takes the worst
  bucket of its targets (未达序时 < 达序时 < 超序时 < 已完成);
* the figure that counts is the first lead division's (in master order) that reported one; when
  no lead reported, the first assisting division's. Every other division that reported a
  different figure is listed as a disagreement.

Everything here is pure: no files, no workbooks.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from xlsxwriter.utility import xl_col_to_name

from .model import (
    DEFAULT_SCHEDULE,
    Flag,
    Schedule,
    Target,
    Task,
    quarter_name,
)

__all__ = [
    "Target",
    "Schedule",
    "DEFAULT_SCHEDULE",
    "BUCKETS",
    "parse_targets",
    "parse_schedule",
    "expected_share",
    "TargetProgress",
    "TaskProgress",
    "target_bucket",
    "task_bucket",
    "task_progress",
    "target_flags",
    "format_target",
    "parse_figure",
    "match_figures",
]

DONE, AHEAD, ON_TRACK, BEHIND, NO_TARGET = "已完成", "超序时", "达序时", "未达序时", "无量化指标"
BUCKETS = (DONE, AHEAD, ON_TRACK, BEHIND, NO_TARGET)
_RANK = {BEHIND: 0, ON_TRACK: 1, AHEAD: 2, DONE: 3}
MARGIN = 0.10  # 超序时: this far (a share of the target) ahead of the expected share
_EPS = 1e-9

EXAMPLE = "应写作“名称：数量单位”，如“社区老年人服务中心（站）：80个”或“居家养老上门服务：1.1万人（第四季度）”"

# Full-width digits and signs as typed with a Chinese input method.
_WIDE = str.maketrans("０１２３４５６７８９．，：％", "0123456789.,:%")
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_MULTIPLIERS = {"亿": 100_000_000, "万": 10_000, "千": 1_000, "百": 100}
#: Words of "about" after a figure (1200余, 1200多张, 1200+): the figure stands.
_APPROXIMATE = re.compile(r"^(?:余|多|左右|\+)")
#: Counters a figure may carry when its target names no unit.
_COUNTERS = frozenset("个张人台家处所座间名户项次件条")

_NUMBER = r"(\d+(?:,\d{3})*(?:\.\d+)?)"
# What may follow a number in the 量化指标 column: multiplier, unit, an optional due quarter.
_AMOUNT = re.compile(
    rf"{_NUMBER}\s*([万千百]?)\s*([^\d\s（()）:：,，;；]{{0,6}}?)\s*(?:[（(]([^（()）]*)[)）])?\s*[。.;；]?"
)
_PERCENT_UNITS = ("%", "个百分点", "百分点", "成")
_LIST_MARK = re.compile(r"^\s*(?:\d{1,2}\s*[、.)）]|[（(]\d{1,2}[)）]|[-·•*＊]|[①-⑳])\s*(?!\d)")


# --------------------------------------------------------------------------- the master's column


def parse_targets(cell_text: object) -> tuple[tuple[Target, ...], tuple[str, ...]]:
    """The targets written in one 量化指标 cell, and the problems found (Chinese, naming the line).

    One target a line: ``名称：数量单位`` with an optional due quarter in brackets after it
    (``（第二季度）``, ``（上半年）``, ``（6月底前）``, ``(Q2)``); the colon may be full-width or left
    out. ``1.1万`` is 11000, ``3千`` 3000; full-width digits and thousands separators are read.
    ``万元``/``亿元`` stay the unit as written (money is reported in them). A line that cannot be
    read is left out and named in the problems; percentages are refused (not a count that adds
    up over the year).
    """
    text = "" if cell_text is None else str(cell_text)
    lines = [line.strip() for line in re.split(r"[\r\n]+", text)]
    lines = [line for line in lines if line]
    targets: list[Target] = []
    problems: list[str] = []
    names: set[str] = set()
    for i, line in enumerate(lines, 1):
        where = f"第{i}行“{line}”" if len(lines) > 1 else f"“{line}”"
        found = _parse_line(line)
        if isinstance(found, str):
            problems.append(f"{where}：{found}；{EXAMPLE}")
            continue
        if found.name in names:
            problems.append(f"{where}：指标名称“{found.name}”重复，只保留第一个")
            continue
        names.add(found.name)
        targets.append(found)
    return tuple(targets), tuple(problems)


def _parse_line(raw: str) -> Target | str:
    """One line as a Target, or what is wrong with it."""
    line = _LIST_MARK.sub("", raw.translate(_WIDE)).strip()
    if ":" in line:
        name, rest = line.split(":", 1)
        m = _AMOUNT.fullmatch(rest.strip())
        if not m:
            if not re.search(r"\d", rest):
                return "冒号后没有数量"
            return f"冒号后的“{rest.strip()}”不是“数量单位”"
    else:
        # the first number from which the rest of the line is "数量单位（时限）"
        starts = (d.start() for d in re.finditer(r"(?<![\d.,])\d", line))
        m = next(filter(None, (_AMOUNT.fullmatch(line, i) for i in starts)), None)
        if not m:
            return "没有找到数量" if not re.search(r"\d", line) else "数量应写在名称之后"
        name = line[: m.start()]
    name = name.strip().rstrip("：:、，,").strip()
    number, multiplier, unit, bracket = m.group(1), m.group(2), m.group(3).strip(), m.group(4)
    if unit in _PERCENT_UNITS or unit.startswith("%"):
        return "百分比（增长率、覆盖率等）不是可以逐季累计的数量，不能作为量化指标"
    if not unit:
        return "缺少计量单位（个、张、人、台…）"
    amount = float(number.replace(",", ""))
    if multiplier and unit.startswith("元"):
        unit = multiplier + unit  # 500万元: the unit as money is reported in
    elif multiplier:
        amount *= _MULTIPLIERS[multiplier]
    if not name:
        return "缺少指标名称"
    if amount <= 0:
        return "数量应大于0"
    due = None
    if bracket is not None:
        due = _due_quarter(bracket)
        if due is False:
            return f"括号中的“{bracket}”不是完成时限（如“第二季度”“上半年”“6月底前”）"
    return Target(name, amount, unit, due or None, raw)


_DUE = re.compile(r"(?:第|前)?([一二三四1-4])季度|Q([1-4])|(上半年|年中)|(\d{1,2})月(?:底|末)?")


def _due_quarter(text: str) -> int | None | bool:
    """The quarter named in a bracket: 第二季度 / 二季度 / Q2 / 上半年 / 6月底前 -> 2;
    年底 / 全年 -> None (the year's end); anything else -> False."""
    t = re.sub(r"\s+", "", text.translate(_WIDE)).upper()
    t = re.sub(r"(?:前|末|底)?(?:完成)?$", "", t) if not re.search(r"月$", t) else t
    if t in ("", "年底", "年末", "全年", "第四季度", "四季度", "Q4", "12月", "12月底", "12月末"):
        return 4 if t and "四" in t or t == "Q4" else None
    m = _DUE.fullmatch(t)
    if not m:
        return False
    if m.group(1):
        return _CN_DIGITS[m.group(1)]
    if m.group(2):
        return int(m.group(2))
    if m.group(3):
        return 2
    month = int(m.group(4))
    return math.ceil(month / 3) if 1 <= month <= 12 else False


def format_target(target: Target) -> str:
    """A target as a line of the 量化指标 column (what parse_targets reads back)."""
    amount = target.amount
    number = (
        f"{amount_text(amount / 10_000)}万"
        if amount >= 10_000 and amount % 1000 == 0
        else amount_text(amount)
    )
    due = f"（第{quarter_name(target.due_quarter)}季度）" if target.due_quarter else ""
    return f"{target.name}：{number}{target.unit}{due}"


# --------------------------------------------------------------------------- reported figures

_FIGURE = re.compile(r"(\d+(?:\.\d+)?)([亿万千百]?)(.*)")


def parse_figure(text: object, unit: str = "") -> float | None:
    """A cumulative figure as typed or shown: "1,200", "1.1万", "１２００", "20个" (the target's
    unit, or 个/张/人… typed after it) -> a float; "" -> None. Raises ValueError with the reason
    (in Chinese) for anything else: words, a negative number, a percentage."""
    raw = "" if text is None else str(text)
    t = unicodedata.normalize("NFKC", raw.translate(_WIDE)).strip()
    if not t:
        return None
    # Spaces and commas only as thousands separators: "1 200", "1,200,300"; "1200 1300" is
    # two numbers and "1,2" or "12,00" a slip, and neither may be read as one.
    t = re.sub(r"(?<=\d)[ ,](?=\d{3}(?!\d))", "", t)
    if re.search(r"\d[\s,]+\d", t):
        raise ValueError("有多个数字或逗号位置不对")
    t = re.sub(r"\s+", "", t)
    if t.startswith("-"):
        raise ValueError("累计完成数不能小于0")
    m = _FIGURE.fullmatch(t.lstrip("+约"))
    if not m:
        raise ValueError("不是数字")
    rest = _APPROXIMATE.sub("", m.group(3))
    if rest.startswith("%"):
        raise ValueError("应填写累计完成的数量，不是百分比")
    # After the number only the target's own unit (or a plain counter when it has none):
    # "1.2w", "1.2k" are not 1.2, and "1200人" in a target counted in 张 is another target's.
    if rest and rest != unit and (unit or rest not in _COUNTERS):
        raise ValueError(f"单位“{rest}”不是该指标的单位{f'“{unit}”' if unit else ''}")
    value = float(m.group(1)) * _MULTIPLIERS.get(m.group(2), 1)
    if not math.isfinite(value):
        raise ValueError("不是数字")
    return value


def match_figures(
    targets: Sequence[Target], cells: Sequence[tuple[str, ...]]
) -> tuple[dict[str, tuple[str, str]], list[tuple[str, ...]]]:
    """The (figure text, cell) typed for each of ``targets`` from a row's target column pairs
    (target text, figure text, cell), by the target's name in its column, else by position; and
    the pairs no target takes (a figure typed where the task has none, or beside another
    task's target: rows sorted without their target columns)."""
    found: dict[str, tuple[str, str]] = {}
    left: list[tuple[int, tuple[str, str, str]]] = []
    unplaced = []
    by_name = {t.name: t for t in targets}
    for i, pair in enumerate(cells):
        named = parse_targets(pair[0])[0]
        name = named[0].name if named else ""
        if name in by_name and name not in found:
            found[name] = (pair[1], pair[2])
        elif name and name not in by_name:
            if pair[1].strip():
                unplaced.append(pair)
        else:
            left.append((i, pair))
    for i, pair in left:
        free = targets[i].name if i < len(targets) else None
        if free is not None and free not in found:
            found[free] = (pair[1], pair[2])
        elif pair[1].strip():
            unplaced.append(pair)
    return found, unplaced


# --------------------------------------------------------------------------- 序时进度


_QUARTER_LABEL = re.compile(r"(?:第)?([一二三四1-4])(?:季度|季)|Q([1-4])")


def parse_schedule(rows: Sequence[Sequence[object]]) -> tuple[Schedule | None, tuple[str, ...]]:
    """The schedule on a 序时进度 sheet, or (None, problems naming the cell).

    The sheet lists the four quarters (第一季度 / 一季度 / Q1, or 1-4 under a header 季度) each
    with its share of the yearly target to its right: 25%, 0.25 or 25. Shares must not fall
    from one quarter to the next, and the fourth quarter must be 100 %.
    """
    shares: dict[int, tuple[float, str]] = {}
    problems: list[str] = []
    quarter_cols: set[int] = set()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            label = _cell_text(value)
            if label in ("季度", "季 度"):
                quarter_cols.add(c)
                continue
            q = _quarter_of(value, c in quarter_cols)
            if q is None:
                continue
            cell = f"{xl_col_to_name(c)}{r + 1}"
            share_at = next((k for k in range(c + 1, len(row)) if _cell_text(row[k])), None)
            if share_at is None:
                problems.append(f"单元格 {cell}：第{quarter_name(q)}季度右侧没有序时进度")
                break
            share_cell = f"{xl_col_to_name(share_at)}{r + 1}"
            share = _share_of(row[share_at])
            if share is None:
                problems.append(
                    f"单元格 {share_cell}：“{_cell_text(row[share_at])}”不是百分比（如 25%）"
                )
            elif q in shares:
                problems.append(f"单元格 {cell}：第{quarter_name(q)}季度重复")
            else:
                shares[q] = (share, share_cell)
            break
    missing = [q for q in range(1, 5) if q not in shares]
    if missing and not problems:
        names = "、".join(f"第{quarter_name(q)}季度" for q in missing)
        problems.append(f"缺少{names}的序时进度")
    if problems:
        return None, tuple(problems)
    values = [shares[q][0] for q in range(1, 5)]
    for q in range(2, 5):
        if values[q - 1] + _EPS < values[q - 2]:
            problems.append(
                f"单元格 {shares[q][1]}：第{quarter_name(q)}季度的序时进度"
                f"（{percent_text(values[q - 1])}）低于上一季度（{percent_text(values[q - 2])}）"
            )
    if abs(values[3] - 1) > _EPS:
        problems.append(f"单元格 {shares[4][1]}：第四季度的序时进度应为100%")
    if any(v <= 0 for v in values):
        problems.append("序时进度应大于0")
    if problems:
        return None, tuple(problems)
    return Schedule(tuple(values)), ()  # type: ignore[arg-type]


def _quarter_of(value: object, numbers_allowed: bool) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if numbers_allowed and value in (1, 2, 3, 4):
            return int(value)
        return None
    text = re.sub(r"\s+", "", _cell_text(value).translate(_WIDE)).upper()
    if numbers_allowed and text in ("1", "2", "3", "4"):
        return int(text)
    m = _QUARTER_LABEL.fullmatch(text.removesuffix("末"))
    if not m:
        return None
    return _CN_DIGITS[m.group(1)] if m.group(1) else int(m.group(2))


def _share_of(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        share = float(value)
    else:
        text = re.sub(r"\s+", "", _cell_text(value).translate(_WIDE))
        m = re.fullmatch(r"(\d+(?:\.\d+)?)(%?)", text)
        if not m:
            return None
        share = float(m.group(1)) / (100 if m.group(2) else 1)
    if share > 1:  # 25 means 25 %
        share /= 100
    return share if 0 <= share <= 1 else None


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def expected_share(
    quarter: int, target: Target | None = None, schedule: Schedule = DEFAULT_SCHEDULE
) -> float:
    """The share of ``target`` expected done by the end of ``quarter`` (0-1).

    Without a due quarter it is the schedule's share; a target due in quarter d is expected in
    proportion before d (share(q) / share(d)) and in full from d on.
    """
    due = target.due_quarter if target is not None else None
    if due is None:
        return schedule.share(quarter)
    if quarter >= due:
        return 1.0
    return min(1.0, schedule.share(quarter) / schedule.share(due))


# --------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class TargetProgress:
    """One target's standing at the end of a quarter."""

    target: Target
    reported: float | None  # the cumulative figure that counts; None when none was reported
    division: str  # whose figure it is ("" when none)
    expected: float  # expected share, 0-1
    bucket: str  # 已完成 / 超序时 / 达序时 / 未达序时

    @property
    def completion(self) -> float | None:
        """reported ÷ target, or None when nothing was reported."""
        return None if self.reported is None else self.reported / self.target.amount


@dataclass(frozen=True)
class Disagreement:
    """A division whose figure for a target differs from the one that counts."""

    target: str  # target name
    division: str
    reported: float
    used_division: str
    used: float


@dataclass(frozen=True)
class TaskProgress:
    task_number: str
    targets: tuple[TargetProgress, ...]
    bucket: str  # one of BUCKETS
    disagreements: tuple[Disagreement, ...] = ()


def target_bucket(
    reported: float | None,
    target: Target,
    quarter: int,
    schedule: Schedule = DEFAULT_SCHEDULE,
    *,
    margin: float = MARGIN,
) -> str:
    """已完成 / 超序时 / 达序时 / 未达序时 for one target (the rule in the module docstring)."""
    if reported is None:
        return BEHIND
    completion = reported / target.amount
    expected = expected_share(quarter, target, schedule)
    if completion >= 1 - _EPS:
        return DONE
    if completion >= expected + margin - _EPS:
        return AHEAD
    if completion >= expected - _EPS:
        return ON_TRACK
    return BEHIND


def task_bucket(progress: Iterable[TargetProgress]) -> str:
    """A task's bucket from its targets': 无量化指标 without any, else the worst one."""
    buckets = [p.bucket for p in progress]
    if not buckets:
        return NO_TARGET
    return min(buckets, key=_RANK.__getitem__)


def task_progress(
    task: Task,
    quarter: int,
    figures: Mapping[str, Mapping[str, float | None]],
    schedule: Schedule = DEFAULT_SCHEDULE,
    *,
    margin: float = MARGIN,
) -> TaskProgress:
    """Where ``task`` stands at the end of ``quarter``.

    ``figures`` maps a division to {target name: cumulative figure it reported (None if blank)}.
    The lead's figure counts (see the module docstring); differing figures are disagreements.
    """
    out: list[TargetProgress] = []
    disagreements: list[Disagreement] = []
    order = [*task.leads, *(p for p in task.partners if p not in task.leads)]
    order += sorted(d for d in figures if d not in order)  # a division the master does not name
    for target in task.targets:
        reported = [
            (d, figures[d][target.name])
            for d in order
            if d in figures and figures[d].get(target.name) is not None
        ]
        division, value = reported[0] if reported else ("", None)
        for other, figure in reported[1:]:
            if abs(figure - value) > _EPS * max(1.0, abs(value)):  # type: ignore[operator]
                disagreements.append(Disagreement(target.name, other, figure, division, value))  # type: ignore[arg-type]
        out.append(
            TargetProgress(
                target,
                value,
                division,
                expected_share(quarter, target, schedule),
                target_bucket(value, target, quarter, schedule, margin=margin),
            )
        )
    return TaskProgress(task.number, tuple(out), task_bucket(out), tuple(disagreements))


def target_flags(
    task: Task,
    quarter: int,
    progress: TaskProgress,
    statuses: Mapping[str, str],
    figures: Mapping[str, Mapping[str, float | None]],
    previous: Mapping[str, Mapping[str, float | None]] | None = None,
    sources: Mapping[str, str] | None = None,
    previous_quarter: Mapping[str, int] | None = None,
) -> list[Flag]:
    """The flags a task's numbers raise this quarter.

    ``statuses``: division -> its 进展状态; ``figures``: as for task_progress;
    ``previous``: division -> {target name: last quarter's cumulative figure}; ``sources``:
    division -> the file it came from. Gives 未达序时 (one per target behind, for the division
    whose figure counts, or the first lead when nobody reported), 状态与数据不符 (已完成 with a
    target not reached; 按序时推进 with a target 未达序时; 未启动 with a figure above 0), 数据倒退
    (a figure lower than last quarter's) and 状态不一致 (divisions report different figures).
    """
    sources = sources or {}
    flags: list[Flag] = []
    q = f"第{quarter_name(quarter)}季度末"

    def flag(kind: str, division: str, detail: str) -> None:
        flags.append(Flag(kind, detail, division, task.number, sources.get(division, "")))

    lead = task.leads[0] if task.leads else (task.partners[0] if task.partners else "")
    for p in progress.targets:
        t = p.target
        if p.bucket != BEHIND:
            continue
        if p.reported is None:
            flag(
                "未达序时",
                lead,
                f"“{t.name}”（目标{amount_text(t.amount)}{t.unit}）未填报截至{q}累计完成数，按未达序时计",
            )
        else:
            flag(
                "未达序时",
                p.division,
                f"“{t.name}”截至{q}累计完成{amount_text(p.reported)}{t.unit}，"
                f"为目标{amount_text(t.amount)}{t.unit}的{percent_text(p.completion)}，"  # type: ignore[arg-type]
                f"低于序时进度{percent_text(p.expected)}",
            )
    expected_of = {p.target: p.expected for p in progress.targets}
    for division in sorted(figures, key=_order_key(task)):
        status = statuses.get(division, "")
        for t in task.targets:
            value = figures[division].get(t.name)
            if value is None:
                continue
            completion = value / t.amount
            behind = completion + _EPS < expected_of.get(t, expected_share(quarter, t))
            what = f"“{t.name}”累计完成{amount_text(value)}{t.unit}（{percent_text(completion)}）"
            if status == "已完成" and completion < 1 - _EPS:
                flag("状态与数据不符", division, f"进展状态为“已完成”，但{what}，未达到目标")
            elif status == "按序时推进" and behind:
                flag("状态与数据不符", division, f"进展状态为“按序时推进”，但{what}，未达序时进度")
            elif status == "未启动" and value > 0:
                flag("状态与数据不符", division, f"进展状态为“未启动”，但{what}")
            before = (previous or {}).get(division, {}).get(t.name)
            if before is not None and value + _EPS < before:
                then = (previous_quarter or {}).get(division, quarter - 1)
                when = "上季度末" if then == quarter - 1 else f"第{quarter_name(then)}季度末"
                flag(
                    "数据倒退",
                    division,
                    f"“{t.name}”截至{q}累计完成{amount_text(value)}{t.unit}，"
                    f"少于{when}的{amount_text(before)}{t.unit}",
                )
    for d in progress.disagreements:
        unit = next((t.unit for t in task.targets if t.name == d.target), "")
        flag(
            "状态不一致",
            d.division,
            f"“{d.target}”的累计完成数不一致：{d.used_division}填报{amount_text(d.used)}{unit}（采用），"
            f"{d.division}填报{amount_text(d.reported)}{unit}",
        )
    return flags


def _order_key(task: Task):
    order = {d: i for i, d in enumerate((*task.leads, *task.partners))}
    return lambda d: (order.get(d, len(order)), d)


def amount_text(x: float) -> str:
    """3000.0 -> "3000", 1.1 -> "1.1" (never an exponent)."""
    return f"{int(x)}" if float(x).is_integer() else f"{x:.6f}".rstrip("0").rstrip(".")


def percent_text(share: float) -> str:
    text = f"{share * 100:.1f}".removesuffix(".0")
    return f"{text}%"
