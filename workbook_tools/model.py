"""Plain data passed between the stages. No I/O here.

master.py -> Master; template.py reads Master; returns.py -> ReturnFile;
merge.py (Master + ReturnFiles; validate.py checks each, summarise.py totals) -> Summary;
summary.py writes Summary.
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
    "内容未读入": SEVERITY_WARNING,
    # Quantitative targets (targets.py) and answer quality (quality.py): never block a file.
    "未达序时": SEVERITY_WARNING,
    "状态与数据不符": SEVERITY_WARNING,
    "数据倒退": SEVERITY_WARNING,
    "答复未更新": SEVERITY_INFO,
    "答复雷同": SEVERITY_INFO,
    "答复过简": SEVERITY_WARNING,
}

#: 报送情况（收到的文件） is a sheet of its own because a sheet has one set of rows repeated at
#: the top of every printed page: under 报送情况's headings the files would print as divisions.
SUMMARY_SHEETS = ("总览", "汇总", "报送情况", "报送情况（收到的文件）", "问题清单", "明细")

QUARTER_NAMES = {1: "一", 2: "二", 3: "三", 4: "四"}


def quarter_name(quarter: int) -> str:
    """1 -> '一' (as in 第一季度)."""
    return QUARTER_NAMES[quarter]


@dataclass(frozen=True)
class Target:
    """One countable yearly target of a task (a line of the master's 量化指标 column)."""

    name: str  # 社区老年人服务中心（站）
    amount: float  # 80.0; 1.1万 is 11000.0
    unit: str  # 个 / 张 / 人 / 台 …
    due_quarter: int | None = None  # 1-4 when due before the year's end, else None
    raw: str = ""  # the line as written in the master

    @property
    def amount_text(self) -> str:
        """80.0 -> "80", 1.5 -> "1.5", never an exponent (as shown beside the number cell)."""
        x = self.amount
        return f"{int(x)}" if x.is_integer() else f"{x:.6f}".rstrip("0").rstrip(".")


# Expected share of a yearly target by the end of each quarter (序时进度), by default.
DEFAULT_SHARES = (0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class Schedule:
    """序时进度: the expected share of a yearly target by the end of quarters 1-4."""

    shares: tuple[float, float, float, float] = DEFAULT_SHARES
    source: str = ""  # "" for the default; else where it was read (工作表 序时进度)

    def share(self, quarter: int) -> float:
        return self.shares[quarter - 1]


DEFAULT_SCHEDULE = Schedule()


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
    targets: tuple[Target, ...] = ()  # 量化指标, in the order written

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
    schedule: Schedule = DEFAULT_SCHEDULE  # 序时进度 sheet, or the default 25/50/75/100 %
    placeholders: tuple[
        str, ...
    ] = ()  # 占位答复 sheet: answers that say nothing, besides the defaults

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

    def warm(self) -> Master:
        """Build the lookups now (divisions, tasks by division and by number), before worker
        processes are started, so that each of them does not build its own."""
        _ = self.divisions, self._tasks_by_division, self._tasks_by_number
        return self

    def tasks_of(self, division: str) -> tuple[Task, ...]:
        """The tasks ``division`` leads or assists on, in master order."""
        return self._tasks_by_division.get(division, ())

    def task(self, number: str) -> Task:
        return self._tasks_by_number[number]

    def task_or_none(self, number: str) -> Task | None:
        return self._tasks_by_number.get(number)

    @cached_property
    def text_index(self):
        """A pairing.TaskIndex of the tasks: finds a task by its text, or a text like it."""
        from .pairing import TaskIndex  # pairing builds on this module

        return TaskIndex(self.tasks)


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


@dataclass(frozen=True, slots=True)  # slots: thousands per inbox
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
    role: str = ""  # 本处室职责 as typed ("" when the table has no such column)
    # (target text beside the cell, 累计完成 as typed, its cell "H5", the target's cell "G5")
    # per target column pair
    figures: tuple[tuple[str, str, str, str], ...] = ()
    previous: str = ""  # the 上季度完成情况 cell, as it came back (the template filled it)
    previous_cell: str = ""  # where it is, e.g. "J5"

    @property
    def cells(self) -> dict[str, str]:
        """Column label -> this row's cell ("D5")."""
        return {label: f"{column}{self.row}" for label, column in self.columns.items()}

    def cell(self, label: str) -> str:
        """This row's cell in the column labelled ``label`` ("D5"), "" if there is none."""
        column = self.columns.get(label)
        return f"{column}{self.row}" if column else ""


@dataclass(frozen=True)
class Stray:
    """Text in a return that was not read as part of a task row, quoted whole with its place."""

    sheet: str
    place: str  # "单元格 G5", "单元格 D5 的批注", "文本框“文本框 1”"
    text: str
    row: int = 0  # 1-based row when the text is in a cell of a table's sheet, else 0
    kind: str = "单元格"  # 单元格 / 批注 / 文本框


@dataclass(frozen=True)
class ReturnTable:
    """A further task table found in the same file (a copied sheet, a second division's sheet)."""

    sheet: str
    rows: tuple[ReturnRow, ...]
    division: str | None = None  # from the title above the table, if it names one
    year: int | None = None
    quarter: int | None = None


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
    identity_rows: tuple[tuple[str, int], ...] = ()  # (task number, its row in the template)
    template_version: str = ""
    conflicts: tuple[str, ...] = ()  # e.g. "文件名为养老服务处，模板标识为社会救助处"
    extra: tuple[str, ...] = ()  # content outside the task table, described with its cell
    notes: tuple[str, ...] = ()  # non-fatal things seen while reading (macros, external links…)
    unit: str = ""  # 填报单位 as the file says it (split writes the division's name)
    filled_by: str = ""
    reviewer: str = ""  # 审核人 (or 负责人)
    phone: str = ""
    fill_date: str = ""
    modified: str = ""  # ISO time the document says it was last saved, "" if unknown
    mtime: float = 0.0  # file time
    strays: tuple[Stray, ...] = ()  # typed text outside the task rows' known columns
    tables: tuple[ReturnTable, ...] = ()  # task tables on other sheets
    title_division: str | None = None  # what the title above the table names
    file_division: str | None = None  # what the file name names
    identity_division: str | None = None  # what the identity sheet / properties name


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
    # (target name, cumulative figure reported or None) for each of the task's targets
    figures: tuple[tuple[str, float | None], ...] = ()


@dataclass(frozen=True)
class TaskSummary:
    task: Task
    status: str  # the lead division's status; the worst of several leads; "" if none
    lead_answers: tuple[Answer, ...]
    partner_answers: tuple[Answer, ...]
    flags: tuple[Flag, ...]
    # targets.TaskProgress against 序时进度; None when the task has no quantitative target
    progress: object = None

    @property
    def bucket(self) -> str:
        """已完成 / 超序时 / 达序时 / 未达序时, or 无量化指标 for a task without targets."""
        return self.progress.bucket if self.progress is not None else "无量化指标"


@dataclass(frozen=True)
class Delivery:
    """How a file reached the inbox by mail: when, from whom, and the sender's division."""

    received: str  # "2022-04-08 10:00:00"
    sender: str  # "张三 <zhangsan@example.org>"
    division: str = ""  # from the address book, "" when the sender is not in it


@dataclass(frozen=True)
class DivisionStatus:
    division: str
    submitted: bool
    source: str  # file used, "" when none
    fill_time: str
    expected: int
    answered: int
    flags: tuple[Flag, ...]
    # The header lines of the return used: who filled it, who checked it, and their phone.
    filled_by: str = ""
    reviewer: str = ""
    phone: str = ""


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
