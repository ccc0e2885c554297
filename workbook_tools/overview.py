"""What leaders read first, decided once: each task's 总体状态 and what is counted from it.

A task is only as healthy as its worst-reporting division. Every division a task expects (its
牵头处室 and its 责任处室) has a state on it:

- 未报送: the division has no accepted return (问题清单: a 未报送 row of that division);
- 未填写: its return has no row for the task, or the row's 完成情况 is empty, or no 进展状态
  was chosen (问题清单: a 缺少事项 or 未填写 row of that division and task);
- otherwise the 进展状态 it chose (明细: its row).

The task's 总体状态 is the worst of its divisions' states, in the order of :data:`WORST_FIRST`.
summary.py (总览, and the 进展状态 column of 汇总) and report.py (the 通报 draft) both take
their counts, groups and lists from :func:`overview`, so the three cannot disagree.

Pure functions of a :class:`~workbook_tools.model.Summary`: no file is opened here.

How tasks are bucketed is a :class:`Scheme`: today :data:`STATUS_SCHEME`, by 进展状态. When
序时进度 from quantitative targets is known, another scheme (已完成 · 超序时 · 达序时 · 未达序时 ·
无量化指标, with 未填写 and 未报送 still first) takes its place: a new ``classify`` and labels;
the counting, the groups and the report's sentences follow the scheme's labels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from .model import (
    FLAG_TYPES,
    ROLE_ASSIST,
    ROLE_LEAD,
    SEVERITIES,
    STATUSES,
    Answer,
    Summary,
    TaskSummary,
)

NOT_SUBMITTED = "未报送"
NOT_FILLED = "未填写"
#: States as 总览 lists them: the four 进展状态, then the two that mean "not known".
STATE_LABELS = (*STATUSES, NOT_FILLED, NOT_SUBMITTED)
#: A task's 总体状态 is the first of these that any of its divisions has.
WORST_FIRST = (NOT_SUBMITTED, NOT_FILLED, "滞后", "未启动", "按序时推进", "已完成")
_RANK = {state: i for i, state in enumerate(WORST_FIRST)}

#: 问题类型 that mean a division's return is incomplete on a task.
INCOMPLETE_KINDS = ("未填写", "缺少事项")


# ---------------------------------------------------------------------------------------------
# One task


@dataclass(frozen=True)
class Part:
    """One expected division's part in a task: its role, its state, its answer (None: none)."""

    division: str
    role: str  # ROLE_LEAD or ROLE_ASSIST
    state: str  # 未报送, 未填写 or one of STATUSES
    answer: Answer | None


def division_state(answer: Answer | None, submitted: bool) -> str:
    """The state of one expected division on one task (the module docstring says why)."""
    if answer is None:
        return NOT_FILLED if submitted else NOT_SUBMITTED
    if not answer.answer.strip() or answer.status not in _RANK:
        return NOT_FILLED
    return answer.status


def task_parts(ts: TaskSummary, submitted: Mapping[str, bool]) -> tuple[Part, ...]:
    """Every division ``ts`` expects, leads first, each once, with its state.

    ``submitted`` maps a division to whether it has an accepted return; a division it does not
    name counts as submitted if it answered.
    """
    task = ts.task
    answers: dict[str, Answer] = {}
    for a in (*ts.lead_answers, *ts.partner_answers):
        answers.setdefault(a.division, a)
    parts = []
    for division in dict.fromkeys((*task.leads, *task.partners)):
        answer = answers.get(division)
        role = ROLE_LEAD if division in task.leads else ROLE_ASSIST
        given = submitted.get(division, answer is not None)
        parts.append(Part(division, role, division_state(answer, given), answer))
    return tuple(parts)


def worst(states: Iterable[str]) -> str:
    """The worst of ``states`` (WORST_FIRST); "" for none."""
    return min(states, key=_RANK.__getitem__, default="")


def task_state(ts: TaskSummary, submitted: Mapping[str, bool]) -> str:
    """A task's 总体状态: the worst state of its expected divisions.

    A task that expects no division (a master row without 牵头处室 or 责任处室) falls back to the
    lead status merge gave it, else 未报送: nobody reports on it.
    """
    state = worst(p.state for p in task_parts(ts, submitted))
    return state or ts.status or NOT_SUBMITTED


# ---------------------------------------------------------------------------------------------
# Schemes: how tasks are bucketed for leaders


@dataclass(frozen=True)
class Scheme:
    """Buckets of tasks as leaders read them; every task falls in exactly one label."""

    name: str  # what the buckets are, in headings: 总体状态
    labels: tuple[str, ...]  # in the order they are listed and counted
    done: tuple[str, ...]  # buckets the 通报 names as done
    behind: tuple[str, ...]  # buckets the 通报 names as behind, with the reasons given
    unknown: tuple[str, ...]  # buckets that mean a division did not report or fill in
    classify: Callable[[TaskSummary, Mapping[str, bool]], str]


STATUS_SCHEME = Scheme(
    name="总体状态",
    labels=STATE_LABELS,
    done=("已完成",),
    behind=("滞后", "未启动"),
    unknown=(NOT_FILLED, NOT_SUBMITTED),
    classify=task_state,
)


def task_bucket(ts: TaskSummary, submitted: Mapping[str, bool]) -> str:
    """A task's 序时 bucket (TaskSummary.bucket): 已完成 / 超序时 / 达序时 / 未达序时 by the
    figures that count, 无量化指标 without targets."""
    return ts.bucket


#: The 序时 buckets of quantitative targets (targets.py), each task in exactly one.
BUCKET_SCHEME = Scheme(
    name="序时进度情况",
    labels=("已完成", "超序时", "达序时", "未达序时", "无量化指标"),
    done=("已完成",),
    behind=("未达序时",),
    unknown=(),
    classify=task_bucket,
)


# ---------------------------------------------------------------------------------------------
# The whole summary


@dataclass(frozen=True)
class TaskView:
    """A task as leaders read it."""

    summary: TaskSummary
    state: str  # its bucket in the scheme
    parts: tuple[Part, ...]

    @property
    def task(self):
        return self.summary.task

    def parts_in(self, *states: str) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if p.state in states)


@dataclass(frozen=True)
class Group:
    """Tasks of one category or one 分管领导, counted by bucket (in the scheme's order)."""

    name: str
    total: int
    counts: tuple[int, ...]


@dataclass(frozen=True)
class FlagCount:
    kind: str
    total: int
    by_severity: tuple[int, ...]  # in the order of model.SEVERITIES


@dataclass(frozen=True)
class Overview:
    """Everything 总览 shows and the 通报 says, computed once from a Summary."""

    scheme: Scheme
    tasks: tuple[TaskView, ...]  # master order
    counts: Mapping[str, int]  # bucket -> tasks
    by_category: tuple[Group, ...]
    by_leader: tuple[Group, ...]
    divisions: tuple[str, ...]  # every expected division, master order
    missing: tuple[str, ...]  # no accepted return
    incomplete: tuple[tuple[str, tuple[str, ...]], ...]  # (division, task labels left unfilled)
    flags: tuple[FlagCount, ...]  # by 问题类型, in the order of model.FLAG_TYPES
    flag_totals: tuple[int, ...]  # all flags, then by severity (SEVERITIES)

    @property
    def total(self) -> int:
        return len(self.tasks)

    @property
    def submitted(self) -> int:
        return len(self.divisions) - len(self.missing)

    def share(self, label: str) -> Fraction:
        """The share of tasks in bucket ``label`` (0 when there are no tasks)."""
        return Fraction(self.counts.get(label, 0), self.total) if self.total else Fraction(0)

    @property
    def submission_rate(self) -> Fraction:
        return Fraction(self.submitted, len(self.divisions)) if self.divisions else Fraction(0)

    def in_bucket(self, *labels: str) -> tuple[TaskView, ...]:
        return tuple(v for v in self.tasks if v.state in labels)


def _groups(views: Sequence[TaskView], labels: Sequence[str], key) -> tuple[Group, ...]:
    """Tasks counted by ``key`` (groups in order of first appearance) and by bucket."""
    groups: dict[str, Counter] = {}
    for view in views:
        groups.setdefault(key(view.task), Counter())[view.state] += 1
    return tuple(
        Group(name, sum(c.values()), tuple(c[label] for label in labels))
        for name, c in groups.items()
    )


def category_of(task) -> str:
    return task.category or "未分类"


def leader_of(task) -> str:
    return task.leader or "未明确"


def overview(summary: Summary, scheme: Scheme = STATUS_SCHEME) -> Overview:
    """The leaders' view of ``summary``: each task's bucket, the counts, groups and lists."""
    order = {t.number: i for i, t in enumerate(summary.master.tasks)}
    tasks = sorted(summary.tasks, key=lambda ts: order.get(ts.task.number, len(order)))
    submitted = {d.division: d.submitted for d in summary.divisions}
    views = tuple(
        TaskView(ts, scheme.classify(ts, submitted), task_parts(ts, submitted)) for ts in tasks
    )
    counts = Counter(v.state for v in views)
    unfilled: dict[str, list[str]] = {}
    for view in views:
        for part in view.parts_in(NOT_FILLED):
            unfilled.setdefault(part.division, []).append(view.task.label)
    incomplete = tuple(
        (d.division, tuple(unfilled[d.division]))
        for d in summary.divisions
        if d.submitted and d.division in unfilled
    )
    by_kind: dict[str, Counter] = {}
    for flag in summary.flags:
        by_kind.setdefault(flag.kind, Counter())[flag.severity] += 1
    flags = tuple(
        FlagCount(kind, sum(by_kind[kind].values()), tuple(by_kind[kind][s] for s in SEVERITIES))
        for kind in FLAG_TYPES
        if kind in by_kind
    )
    severities = Counter(f.severity for f in summary.flags)
    return Overview(
        scheme=scheme,
        tasks=views,
        counts={label: counts[label] for label in scheme.labels},
        by_category=_groups(views, scheme.labels, category_of),
        by_leader=_groups(views, scheme.labels, leader_of),
        divisions=tuple(d.division for d in summary.divisions),
        missing=tuple(d.division for d in summary.divisions if not d.submitted),
        incomplete=incomplete,
        flags=flags,
        flag_totals=(len(summary.flags), *(severities[s] for s in SEVERITIES)),
    )


def percent(share: Fraction | float) -> str:
    """A share as 总览 shows it with the number format 0.0%: 0.1176 -> "11.8%".

    Rounded half up, as Excel rounds for display (Python's round-half-even on the binary float
    would print 1/16 as 6.2%, where Excel shows 6.3%).
    """
    value = (
        Decimal(share.numerator) / Decimal(share.denominator)
        if isinstance(share, Fraction)
        else Decimal(repr(share))
    )
    return f"{(value * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"
