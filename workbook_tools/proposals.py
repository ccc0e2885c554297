"""Proposed quantitative targets: the countable goals a task text states, for the coordinator.

``workbook-tools targets`` prints them; nothing here writes the master. A number is proposed
only when it counts things (个, 张, 人, 台, 家…) in a task that is the bureau's own; growth
rates, money, rankings, durations and other departments' city-wide goals are listed as refused,
each with its reason.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

from .model import CATEGORY_LIVELIHOOD, Master, Target, Task
from .targets import _CN_DIGITS, _MULTIPLIERS, _WIDE, format_target

__all__ = [
    "COUNT_UNITS",
    "Candidate",
    "TaskProposal",
    "examine_text",
    "propose_targets",
    "propose_for_master",
]


# Units that count things the bureau builds, equips, serves or trains, longest first.
COUNT_UNITS = (
    "人次", "户次", "个", "张", "人", "台", "家", "所", "处", "座", "间", "户", "名", "套",
    "辆", "件", "项", "场", "条", "支", "批", "份", "床", "架", "栋", "幢", "期",
)  # fmt: skip
# Verbs that open a target's phrase (新建X80个), stripped from its name; longest first.
_VERBS = (
    "新建改造", "新建", "新增", "建设", "建成", "建立", "打造", "培育", "配置", "配备", "增配",
    "设立", "设置", "改造", "实施", "完成", "开展", "举办", "提供", "培训", "引进", "发放",
    "资助", "救助", "安装", "创建", "认定", "招募",
)  # fmt: skip
_VERB = "|".join(_VERBS)
_PREPOSITION = re.compile(r"^(?:为|向|对|给|帮助|累计|全年|共|再)+")
_WITH_PLACE = re.compile(rf"^在(?P<place>.+?)(?:{_VERB})+(?P<rest>.+)$")
_LEADING_VERBS = re.compile(rf"^(?:{_VERB})+")
_CLAUSES = re.compile(r"(?:[，。；;！!？?\n]|,(?!\d{3}(?!\d)))+")  # not 1,200's comma
_DIGITS = re.compile(r"(?<![\d.])(\d+(?:,\d{3})*(?:\.\d+)?)")
_CITY_LEADS = re.compile(r"[（(]\s*牵头单位\s*[:：]\s*([^；;）)]*)")
_UNIT_PAREN = re.compile(r"[（(]\s*(?:牵头单位|责任单位|配合单位)\s*[:：]")
_PEOPLE = ("人", "人次", "名", "户", "户次")
_TIME_WORDS = re.compile(
    r"^(?:\d*月(?:底|末|份)?(?:前|内)?|[上下]半年|年底前?|年内|全年|第?[一二三四]季度(?:末|底)?(?:前|内)?)+"
)
_TIME_UNITS = ("分钟", "小时", "天", "日", "周", "个月", "月", "年", "季度", "岁", "周岁")


@dataclass(frozen=True)
class Candidate:
    """A number found in a task text: a proposed target, or why it is not one."""

    snippet: str  # the words around the number, as written
    target: Target | None  # the proposal, None when refused
    reason: str = ""  # why it is refused (Chinese), "" for a proposal


def examine_text(text: str, *, own: bool | None = None) -> list[Candidate]:
    """Every number of a task text, each proposed as a target or refused with its reason.

    Refused: growth rates and shares (%), money (元), rankings (前10, 第1, 10强, 10大),
    durations and dates, numbers without a countable unit, and every count of a task that is
    not the bureau's own (``own`` False): those are other departments' city-wide goals. When
    ``own`` is None it is read from the closing parenthesis: the bureau's own unless a
    牵头单位 other than 市民政局 is named.
    """
    text = str(text).translate(_WIDE)
    paren = _UNIT_PAREN.search(text)
    body = text[: paren.start()] if paren else text
    city_leads = _CITY_LEADS.search(text)
    if own is None:
        own = city_leads is None or "市民政局" in city_leads.group(1)
    lead_name = city_leads.group(1).strip() if city_leads else ""
    out: list[Candidate] = []
    for clause in _CLAUSES.split(body):
        previous_end = 0
        for m in _DIGITS.finditer(clause):
            found = _candidate(clause, m, previous_end, own, lead_name)
            if found is None:
                continue
            out.append(found)
            previous_end = m.end()
            if found.target:  # the next target's name starts after this one's unit
                previous_end += (clause[m.end()] in _MULTIPLIERS) + len(found.target.unit)
    return out


def _candidate(
    clause: str, m: re.Match, previous_end: int, own: bool, lead_name: str
) -> Candidate | None:
    before, after = clause[: m.start()], clause[m.end() :]
    snippet = clause[max(0, m.start() - 12) : m.end() + 8].strip()
    if re.match(r"\s*年", after) and re.fullmatch(r"(?:19|20)\d\d", m.group(1)):
        return None  # a year
    refused = _refusal(before, after)
    if refused:
        return Candidate(snippet, None, refused)
    multiplier = after[0] if after[:1] in _MULTIPLIERS else ""
    rest = after[len(multiplier) :]
    unit = next((u for u in COUNT_UNITS if rest.startswith(u)), "")
    if not unit:
        return Candidate(snippet, None, "没有可计数的单位")
    if not own:
        who = f"（牵头单位：{lead_name}）" if lead_name else ""
        return Candidate(snippet, None, f"属于其他部门牵头的全市目标{who}，不作为我局的量化指标")
    amount = float(m.group(1).replace(",", "")) * _MULTIPLIERS.get(multiplier, 1)
    name = _name(clause[previous_end : m.start()], rest[len(unit) :], unit in _PEOPLE)
    if not name:
        return Candidate(snippet, None, "找不到指标名称")
    if amount <= 0:
        return Candidate(snippet, None, "数量为0")
    target = Target(name, amount, unit, _due_in(clause))
    return Candidate(snippet, dataclasses.replace(target, raw=format_target(target)))


def _refusal(before: str, after: str) -> str:
    """Why a number is not a count, from the words either side; "" if it may be one."""
    a = after.lstrip()
    if a.startswith(("%", "个百分点", "百分点", "倍")) or re.search(
        r"(?:增长|增速|提高|下降)\s*$", before
    ):
        return "增长率或百分比，不是可计数的量化指标"
    if re.match(r"[万千百亿]*元", a) or re.search(r"[亿]\s*$", before):
        return "金额，不作为量化指标"
    if re.search(r"(?:前|第|TOP|top)\s*$", before) or re.match(r"(?:强|大|佳)", a):
        return "排名或“N大”提法，不是可计数的量化指标"
    if a.startswith(_TIME_UNITS):
        return "时间或期限，不是量化指标"
    return ""


def _name(before: str, after: str, people: bool) -> str:
    """The target's name: the words before the number (新建X80个 -> X; 在P配置X4000台 -> PX),
    or, when nothing but a verb or preposition precedes it, the words after the unit: for
    people what they are given (为1.1万人提供X -> X), for things all of it (为11个X增配Y ->
    X增配Y)."""
    before = re.sub(r"^(?:[、和及与]|以及)+", "", before.strip()).strip()
    before = _TIME_WORDS.sub("", before)
    m = _WITH_PLACE.match(before)
    if m:
        name = m.group("place") + m.group("rest")
    else:
        name = _LEADING_VERBS.sub("", _PREPOSITION.sub("", before))
    if not _PREPOSITION.sub("", _LEADING_VERBS.sub("", name)):
        following = re.split(r"[、]|\d", after, maxsplit=1)[0].strip()
        given = re.search(r"提供|发放|给予|开展|落实", following) if people else None
        name = following[given.end() :] if given else _LEADING_VERBS.sub("", following)
    return name.strip().rstrip("等的").strip()


def _due_in(clause: str) -> int | None:
    if "上半年" in clause:
        return 2
    m = re.search(r"(?:第)?([一二三])季度(?:末|底)?前", clause) or re.search(
        r"(\d{1,2})月(?:底|末)?前", clause
    )
    if not m:
        return None
    value = m.group(1)
    quarter = _CN_DIGITS.get(value) or math.ceil(int(value) / 3)
    return quarter if 1 <= quarter <= 3 else None


def propose_targets(text: str, *, own: bool | None = None) -> list[Target]:
    """The countable targets a task text states, for the coordinator to confirm (see
    examine_text for what is refused)."""
    return [c.target for c in examine_text(text, own=own) if c.target is not None]


@dataclass(frozen=True)
class TaskProposal:
    task: Task
    own: bool  # the bureau's own task (it leads it, or it is one of its 民生实事)
    candidates: tuple[Candidate, ...]

    @property
    def targets(self) -> tuple[Target, ...]:
        return tuple(c.target for c in self.candidates if c.target is not None)


def propose_for_master(master: Master) -> list[TaskProposal]:
    """Proposals for every task of ``master``. A task is the bureau's own when it carries `*`
    (or names 市民政局 as 牵头单位) or is one of its 民生实事 (the footnote says so); the counts
    of any other task are other departments' city-wide goals and are only listed as refused."""
    out = []
    for task in master.tasks:
        own = task.bureau_leads or CATEGORY_LIVELIHOOD in task.categories
        out.append(TaskProposal(task, own, tuple(examine_text(task.text, own=own))))
    return out
