"""Plain data passed between the stages. No I/O here.

master.py -> Master; template.py reads Master; returns.py -> ReturnFile;
merge.py (Master + ReturnFiles) -> Summary; summary.py writes Summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

# Fixed vocabularies of the bureau's forms. User-facing, do not translate.
STATUSES = ("已完成", "按序时推进", "滞后", "未启动")
CATEGORY_REPORT = "政府工作报告"
CATEGORY_LIVELIHOOD = "民生实事"
ROLE_LEAD = "牵头"
ROLE_ASSIST = "配合"
BUREAU = "市民政局"

SEVERITY_ERROR = "错误"
SEVERITY_WARNING = "警告"
SEVERITY_INFO = "提示"
SEVERITIES = (SEVERITY_ERROR, SEVERITY_WARNING, SEVERITY_INFO)

# 问题类型 -> its usual 严重程度.
FLAG_TYPES = {
    "未报送": SEVERITY_ERROR,
    "未填写": SEVERITY_ERROR,
    "进度滞后": SEVERITY_WARNING,
    "状态不一致": SEVERITY_WARNING,
    "事项被改动": SEVERITY_WARNING,
    "缺少事项": SEVERITY_ERROR,
    "多余内容": SEVERITY_WARNING,
    "非本期文件": SEVERITY_INFO,
    "重复报送": SEVERITY_INFO,
    "无法识别处室": SEVERITY_ERROR,
    "文件无法读取": SEVERITY_ERROR,
    "疑似公式": SEVERITY_INFO,
}

SUMMARY_SHEETS = ("总览", "汇总", "报送情况", "问题清单", "明细")

QUARTER_NAMES = {1: "一", 2: "二", 3: "三", 4: "四"}


def quarter_name(quarter: int) -> str:
    """1 -> '一' (as in 第一季度)."""
    return QUARTER_NAMES[quarter]


@dataclass(frozen=True)
class Task:
    """One row of the breakdown plan (附件1)."""

    number: str  # 序号 without the star: "1", "17"
    label: str  # 序号 as shown in the master: "*1", "7"
    text: str  # 工作事项, every character as in the master
    leader: str  # 分管领导
    leads: tuple[str, ...]  # 牵头处室, normalised division names
    partners: tuple[str, ...]  # 责任处室（单位）, normalised division names
    bureau_leads: bool  # `*` or 牵头单位：市民政局
    categories: tuple[str, ...]  # subset of (政府工作报告, 民生实事), in that order
    city_leads: tuple[str, ...] = ()  # 牵头单位 in the closing parenthesis
    city_partners: tuple[str, ...] = ()  # 责任单位 in the closing parenthesis
    row: int = 0  # 1-based row in the master sheet, for messages
    leads_raw: str = ""  # 牵头处室 cell exactly as written (line breaks kept)
    partners_raw: str = ""  # 责任处室 cell exactly as written

    @property
    def category(self) -> str:
        """类别 as shown to users: 政府工作报告 / 民生实事 / 政府工作报告、民生实事."""
        return "、".join(self.categories)

    def role_of(self, division: str) -> str | None:
        if division in self.leads:
            return ROLE_LEAD
        if division in self.partners:
            return ROLE_ASSIST
        return None


@dataclass(frozen=True)
class Assignment:
    """One (task, division) pair: the division leads or assists on the task."""

    task_number: str
    division: str
    role: str  # ROLE_LEAD or ROLE_ASSIST


@dataclass(frozen=True)
class Master:
    """The breakdown plan as read from the master workbook."""

    source: str  # path as given
    sheet: str
    title: str
    year: int | None
    tasks: tuple[Task, ...]
    footnote: str = ""
    warnings: tuple[str, ...] = ()

    # Derived views are computed once: merge and split ask for them per division and per return
    # (cached_property writes the instance __dict__, which a frozen dataclass allows).
    @cached_property
    def divisions(self) -> tuple[str, ...]:
        """Every division or unit that leads or assists, in order of first appearance."""
        seen: dict[str, None] = {}
        for task in self.tasks:
            for name in (*task.leads, *task.partners):
                seen.setdefault(name, None)
        return tuple(seen)

    @cached_property
    def assignments(self) -> tuple[Assignment, ...]:
        out = []
        for task in self.tasks:
            out += [Assignment(task.number, d, ROLE_LEAD) for d in task.leads]
            out += [
                Assignment(task.number, d, ROLE_ASSIST)
                for d in task.partners
                if d not in task.leads
            ]
        return tuple(out)

    @cached_property
    def _tasks_by_division(self) -> dict[str, tuple[Task, ...]]:
        index: dict[str, list[Task]] = {}
        for task in self.tasks:
            for name in dict.fromkeys((*task.leads, *task.partners)):
                index.setdefault(name, []).append(task)
        return {name: tuple(tasks) for name, tasks in index.items()}

    @cached_property
    def _tasks_by_number(self) -> dict[str, Task]:
        return {t.number: t for t in reversed(self.tasks)}  # the first wins, as before

    @cached_property
    def content_hash(self) -> int:
        """hash(self), computed once: it hashes every task."""
        return hash(self)

    def warm(self) -> Master:
        """Build the lookups now (divisions, tasks by division and by number, the hash): before
        forking worker processes, so that each of them does not build its own."""
        _ = self.divisions, self._tasks_by_division, self._tasks_by_number, self.content_hash
        return self

    def tasks_of(self, division: str) -> tuple[Task, ...]:
        """The tasks ``division`` leads or assists on, in master order."""
        return self._tasks_by_division.get(division, ())

    def task(self, number: str) -> Task:
        return self._tasks_by_number[number]


@dataclass(frozen=True)
class Flag:
    """One problem shown in 问题清单."""

    kind: str  # 问题类型, a key of FLAG_TYPES
    detail: str  # 说明: what exactly, and where (file, sheet, cell)
    division: str = ""
    task: str = ""  # 序号 (number without star) or ""
    source: str = ""  # 来源文件 (inbox-relative) or ""
    severity: str = ""  # defaults to FLAG_TYPES[kind]

    def __post_init__(self) -> None:
        if self.kind not in FLAG_TYPES:
            raise ValueError(f"unknown flag type {self.kind!r}")
        if not self.severity:
            object.__setattr__(self, "severity", FLAG_TYPES[self.kind])


@dataclass(frozen=True, slots=True)  # slots: thousands per inbox, sent back by worker processes
class ReturnRow:
    """One data row of a returned Annex 2 sheet, values as text exactly as read."""

    row: int  # 1-based sheet row
    number: str  # 序号 cell, stripped, as text ("*1", "1", "1.0" normalised to "1")
    text: str  # 责任事项
    answer: str  # 完成情况
    status: str  # 进展状态 as typed
    plan: str  # 存在问题及下步打算
    # column label -> column letter ("D"); one dict shared by the rows of a file
    columns: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def cells(self) -> dict[str, str]:
        """Column label -> this row's cell ("D5")."""
        return {label: f"{column}{self.row}" for label, column in self.columns.items()}

    def cell(self, label: str) -> str:
        """This row's cell in the column labelled ``label`` ("D5"), "" if there is none."""
        column = self.columns.get(label)
        return f"{column}{self.row}" if column else ""

    def __reduce__(self):
        # Rebuilt from its fields in order: about 30% quicker to unpickle and 45% to pickle
        # than the slots state a dataclass uses by default (thousands of rows come back from
        # the reading processes).
        return (
            ReturnRow,
            (self.row, self.number, self.text, self.answer, self.status, self.plan, self.columns),
        )


@dataclass(frozen=True)
class ReturnFile:
    """A returned file read from the inbox: what it says and where it claims to come from."""

    source: str  # inbox-relative display path ("a.zip!/x.xlsx" for archive members)
    sha256: str
    format: str  # xlsx / xlsm / xls / ods
    sheet: str  # the sheet the rows came from
    division: str | None
    year: int | None
    quarter: int | None
    identified_by: str  # 模板标识 / 标题 / 文件名 / ""
    rows: tuple[ReturnRow, ...]
    fingerprints: tuple[tuple[str, str], ...] = ()  # (task number, fingerprint) from the identity
    template_version: str = ""
    conflicts: tuple[str, ...] = ()  # e.g. "文件名为养老服务处，模板标识为社会救助处"
    extra: tuple[str, ...] = ()  # content outside the task table, described with its cell
    notes: tuple[str, ...] = ()  # non-fatal things seen while reading (macros, external links…)
    filled_by: str = ""
    phone: str = ""
    fill_date: str = ""
    modified: str = ""  # ISO time the document says it was last saved, "" if unknown
    mtime: float = 0.0  # file time


@dataclass(frozen=True)
class Answer:
    """One division's answer on one task, after validation."""

    task_number: str
    division: str
    role: str
    answer: str
    status: str  # one of STATUSES, or "" when missing/unrecognised
    status_raw: str
    plan: str
    source: str
    cell: str = ""  # where the 完成情况 was read, e.g. "D5"
    note: str = ""  # normalisations applied (状态“完成”按“已完成”处理; 删除了控制字符…)

    def __reduce__(self):
        # Rebuilt from its fields in order, as ReturnRow: answers checked in the reading
        # processes come back by the thousand.
        return (Answer, tuple(getattr(self, f) for f in _ANSWER_FIELDS))


_ANSWER_FIELDS = tuple(Answer.__dataclass_fields__)


@dataclass(frozen=True)
class TaskSummary:
    task: Task
    status: str  # the lead division's status; the worst of several leads; "" if none
    lead_answers: tuple[Answer, ...]
    partner_answers: tuple[Answer, ...]
    flags: tuple[Flag, ...]


@dataclass(frozen=True)
class DivisionStatus:
    division: str
    submitted: bool
    source: str  # file used, "" when none
    fill_time: str
    expected: int
    answered: int
    flags: tuple[Flag, ...]


@dataclass(frozen=True)
class FileVerdict:
    source: str
    accepted: bool
    division: str
    reason: str  # Chinese, one line


@dataclass(frozen=True)
class Summary:
    year: int
    quarter: int
    master: Master
    tasks: tuple[TaskSummary, ...]
    divisions: tuple[DivisionStatus, ...]
    answers: tuple[Answer, ...]
    flags: tuple[Flag, ...]
    files: tuple[FileVerdict, ...]
