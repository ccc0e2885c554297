"""Summary -> the words of the draft 通报 (report.py lays them out as a .docx).

The shape is the one supervision offices publish (title, opening, 总体情况 with counts and
shares, by category and by 分管领导, the tasks done and behind with the reasons their divisions
gave, who did not report, 存在问题, 下一步要求, and a per-task table as 附件). The coordinator
edits it; nothing in it is final.

Every count and share comes from :func:`overview.overview`, as 总览's do, so the draft and the
workbook say the same numbers. :func:`compose` is pure: it returns a :class:`Draft` of styled
paragraphs and the 附件 table's rows, the styles named here and defined in report.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from .cells import clean_text
from .model import BUREAU, SEVERITIES, Summary, quarter_name
from .overview import BUCKET_SCHEME, Group, Overview, Part, TaskView, overview, percent
from .quality import is_placeholder
from .targets import amount_text, percent_text

#: Styles of the draft's paragraphs (the keys of report._STYLES, which defines them).
TITLE, MARK, ADDRESSEE, BODY, HEADING1, HEADING2 = (
    "通报标题",
    "草稿标记",
    "主送机关",
    "通报正文",
    "一级标题",
    "二级标题",
)
ANNEX_NOTE, SIGNATURE, ANNEX_LABEL, ANNEX_TITLE = ("附件说明", "落款", "附件标识", "附件标题")
TABLE_TEXT, TABLE_HEAD, PAGE_NUMBER = ("表格文字", "表头", "页码")

ADDRESSEE_TEXT = "局机关各处室、各直属单位："
SENDER = f"{BUREAU}办公室"
DRAFT_MARK = "（草稿：由汇总表自动生成，请核实修改后印发）"
TABLE_HEADER = ("序号", "工作事项", "牵头处室", "进展状态", "完成情况摘要")

#: Most tasks named in one list of the body, most divisions named in one sentence; the rest
#: are in the 附件 and in the summary workbook.
LISTED_TASKS = 20
LISTED_DIVISIONS = 30
#: Characters kept of a task's text, of an answer in the body and in the 附件.
TASK_CHARS = 40
REASON_CHARS = 120
ANSWER_CHARS = 60

_NUMERALS = "一二三四五六七八九十"
# The city-level lead and responsible units at the end of a task's text: not needed in a list.
_CITY_UNITS = re.compile(r"[（(](?:牵头单位|责任单位)[:：][^（）()]*[）)]\s*$")


@dataclass(frozen=True)
class Block:
    """One paragraph of the draft and its style."""

    style: str
    text: str


@dataclass(frozen=True)
class Draft:
    """The draft's text: its paragraphs, then the 附件 table."""

    title: str
    blocks: tuple[Block, ...]
    annex_title: str
    table: tuple[tuple[str, ...], ...]  # rows below TABLE_HEADER


def _period(summary: Summary) -> str:
    return f"{summary.year}年第{quarter_name(summary.quarter)}季度"


def _plain(text: str) -> str:
    """Text fit for a paragraph: cleaned (no control characters), on one line."""
    cleaned, _ = clean_text(text)
    return re.sub(r"\s*[\r\n]+\s*", "；", cleaned).strip()


def _cut(text: str, limit: int) -> str:
    text = _plain(text)
    return text if len(text) <= limit else text[:limit].rstrip("，。；、 ") + "……"


def _sentence(text: str) -> str:
    """``text`` ending as a sentence: with 。 unless it was cut (……)."""
    return text if text.endswith(("……", "。", "！", "？")) else text + "。"


def _inner_quotes(text: str) -> str:
    """《》 inside a title that is itself quoted in 《》 become 〈〉."""
    return text.replace("《", "〈").replace("》", "〉")


def task_name(view: TaskView) -> str:
    """序号 and the task's text, without the city units in brackets, cut short."""
    text = _CITY_UNITS.sub("", _plain(view.task.text)) or _plain(view.task.text)
    return f"序号{view.task.label}“{_cut(text, TASK_CHARS)}”"


def _leads(view: TaskView) -> str:
    return "、".join(_plain(d) for d in view.task.leads) or "未明确"


def _buckets(labels: Sequence[str], counts: Sequence[int], total: int | None = None) -> str:
    """已完成2项（11.8%），按序时推进12项（70.6%）…: the non-empty buckets, with shares of
    ``total`` when given."""
    parts = []
    for label, count in zip(labels, counts, strict=True):
        if count:
            share = f"（{percent(Fraction(count, total))}）" if total else ""
            parts.append(f"{label}{count}项{share}")
    return "，".join(parts)


def _names(names: Sequence[str]) -> str:
    """Division names for a sentence: all of a bureau's; the first few of a province's."""
    shown = "、".join(_plain(n) for n in names[:LISTED_DIVISIONS])
    return shown if len(names) <= LISTED_DIVISIONS else f"{shown}等{len(names)}个"


def _group_sentence(group: Group, labels: Sequence[str], who: str) -> str:
    return f"{who}{group.total}项：{_buckets(labels, group.counts)}。"


def _reason(part: Part) -> str:
    """What a division said about its part: its 存在问题及下步打算, else its 完成情况 (a plan
    that is only 无 or another placeholder says no reason)."""
    answer = part.answer
    plan = answer.plan.strip() if answer else ""
    if plan and is_placeholder(plan):
        plan = ""
    said = (plan or answer.answer.strip()) if answer else ""
    role = "" if part.role == "牵头" else "（配合）"
    text = _cut(said, REASON_CHARS) if said else "未说明原因"
    return f"{_plain(part.division)}{role}报告{part.state}：{_sentence(text)}"


def _task_lines(views: Sequence[TaskView], count: int, line) -> list[Block]:
    lines = [Block(BODY, f"{i}. {line(v)}") for i, v in enumerate(views[:LISTED_TASKS], 1)]
    if len(views) > LISTED_TASKS:
        lines.append(Block(BODY, f"以上列出前{LISTED_TASKS}项，共{count}项，详见附件。"))
    return lines


def _done_line(view: TaskView) -> str:
    answers = [p.answer.answer for p in view.parts if p.role == "牵头" and p.answer]
    said = _sentence(_cut(answers[0], ANSWER_CHARS)) if answers else ""
    short = [
        f"{p.target.name}累计完成数为目标的{percent_text(p.completion)}"
        for p in (view.summary.progress.targets if view.summary.progress else ())
        if p.reported is not None and p.completion is not None and p.completion < 1
    ]
    check = f"但所报{'，'.join(short)}，与“已完成”不符，请核实。" if short else ""
    return f"{task_name(view)}（牵头处室：{_leads(view)}）。{said}{check}"


def _behind_line(view: TaskView, state: str = "") -> str:
    """A task behind, with the reasons of the divisions that report it so (``state``: the one
    they report, when the task is counted under another)."""
    reasons = "".join(_reason(p) for p in view.parts_in(state or view.state))
    return f"{task_name(view)}（牵头处室：{_leads(view)}）。{reasons}"


def _states(parts: Sequence[Part]) -> str:
    """Divisions with their states: 甲处按序时推进、市慈善服务中心（配合）未报送."""
    return "、".join(
        f"{_plain(p.division)}{'' if p.role == '牵头' else '（配合）'}{p.state}" for p in parts
    )


def _not_counted(view: TaskView, label: str) -> str:
    others = _states([p for p in view.parts if p.state != label])
    return (
        f"{task_name(view)}的牵头处室报告{label}，但{others}，"
        f"总体状态计为{view.state}，未列入上述{label}的任务。"
    )


def _why_counted(view: TaskView, unknown: Sequence[str]) -> str:
    """Why a task a division reports behind is counted under 未报送 or 未填写."""
    return f"另有{_states(view.parts_in(*unknown))}，总体状态计为{view.state}"


def _summary_cell(view: TaskView, ov: Overview) -> str:
    """完成情况摘要 in the 附件: the lead's answer, cut; who did not report or fill in, and a
    partner behind with its reason (the row's state may be the partner's)."""
    unknown = [p for p in view.parts if p.state in ov.scheme.unknown]
    notes = [f"{_plain(p.division)}{p.state}" for p in unknown]
    notes += [
        _reason(p).removesuffix("。")
        for p in view.parts
        if p.role != "牵头" and p.state in ov.scheme.behind
    ]
    answers = [
        (p.division, p.answer.answer)
        for p in view.parts
        if p.role == "牵头" and p.answer and p.answer.answer.strip()
    ]
    several = len(view.task.leads) > 1
    said = "\n".join(
        (f"【{_plain(d)}】" if several else "") + _cut(a, ANSWER_CHARS) for d, a in answers
    )
    return "\n".join(x for x in (said, f"（{'；'.join(notes)}）" if notes else "") if x)


def _numbered(items: Sequence[str]) -> list[Block]:
    return [Block(BODY, f"{i}. {text}") for i, text in enumerate(items, 1)]


def compose(summary: Summary, ov: Overview | None = None) -> Draft:
    """The draft's text for ``summary`` (``ov``: its overview, computed if not given)."""
    ov = ov or overview(summary)
    scheme, period = ov.scheme, _period(summary)
    labels = scheme.labels
    title = f"关于{period}市《政府工作报告》民政工作任务推进情况的通报"
    plan = _inner_quotes(_plain(summary.master.title)) or "民政工作责任分解方案"
    blocks = [Block(MARK, DRAFT_MARK), Block(TITLE, title), Block(ADDRESSEE, ADDRESSEE_TEXT)]
    blocks.append(
        Block(
            BODY,
            f"根据《{plan}》，局办公室对各处室（单位）报送的{period}工作目标完成情况进行了汇总核实。"
            "现将有关情况通报如下。",
        )
    )
    headings = iter(_NUMERALS)

    def heading(text: str) -> None:
        blocks.append(Block(HEADING1, f"{next(headings)}、{text}"))

    # 一、总体情况
    heading("总体情况")
    expected = len(ov.divisions)
    reported = f"应报送的{expected}个处室（单位）中，已报送{ov.submitted}个，报送率{percent(ov.submission_rate)}"
    if ov.missing:
        reported += f"；未报送{len(ov.missing)}个"
    if ov.incomplete:
        reported += f"；已报送但报送不完整{len(ov.incomplete)}个"
    blocks.append(Block(BODY, reported + "。"))
    if ov.total:
        counted = _buckets(labels, [ov.counts[label] for label in labels], ov.total)
        blocks.append(Block(BODY, f"分解方案所列{ov.total}项任务中，{counted}。"))
        blocks.append(
            Block(
                BODY,
                f"每项任务的{scheme.name}取其全部应报处室（牵头和配合）中最差的情况：有一个处室未报送的计为"
                "未报送，有处室未填写完成情况或进展状态的计为未填写，其余按各处室所报进展状态中最差的一项计。",
            )
        )
        sub = iter(_NUMERALS)
        for name, groups, who in (
            ("按任务类别", ov.by_category, lambda g: f"{_plain(g.name)}任务"),
            ("按分管领导", ov.by_leader, lambda g: f"{_plain(g.name)}同志分管"),
        ):
            blocks.append(Block(HEADING2, f"（{next(sub)}）{name}"))
            blocks += [Block(BODY, _group_sentence(g, labels, who(g))) for g in groups]
        blocks += _bucket_count(summary)
    else:
        blocks.append(Block(BODY, "分解方案中没有任务。"))

    # 二、任务推进情况
    if ov.total:
        heading("任务推进情况")
        sub = iter(_NUMERALS)
        for label in scheme.done:
            done = ov.in_bucket(label)
            blocks.append(Block(HEADING2, f"（{next(sub)}）{label}的任务"))
            if done:
                blocks += _task_lines(done, ov.counts[label], _done_line)
            else:
                blocks.append(Block(BODY, f"本季度暂无{label}的任务。"))
            # A lead that reports the task done while another division of it does not: said,
            # so that the figures' 已完成 below and this list do not seem to disagree.
            blocks += [
                Block(BODY, _not_counted(v, label))
                for v in ov.tasks
                if v.state != label and any(p.role == "牵头" for p in v.parts_in(label))
            ][:LISTED_TASKS]
        for label in scheme.behind:
            behind = ov.in_bucket(label)
            # Reported behind by a division, counted under 未报送 or 未填写 by the worst-of rule:
            # still a task leaders must see among those behind.
            hidden = [v for v in ov.tasks if v.state in scheme.unknown and v.parts_in(label)]
            if behind or hidden:
                blocks.append(Block(HEADING2, f"（{next(sub)}）{label}的任务"))
                blocks += _task_lines(behind, ov.counts[label], _behind_line)
                first = min(len(behind), LISTED_TASKS) + 1
                blocks += [
                    Block(
                        BODY,
                        f"{i}. {_behind_line(v, label)}（{_why_counted(v, scheme.unknown)}）",
                    )
                    for i, v in enumerate(hidden[:LISTED_TASKS], first)
                ]
        blocks += _behind_targets(summary, sub)
        unknown = [(label, ov.in_bucket(label)) for label in scheme.unknown]
        if any(views for _, views in unknown):
            blocks.append(Block(HEADING2, f"（{next(sub)}）进展无法确认的任务"))
            for label, views in unknown:
                if views:
                    shown = "、".join(v.task.label for v in views[:LISTED_TASKS])
                    more = f"等{len(views)}项" if len(views) > LISTED_TASKS else ""
                    blocks.append(
                        Block(
                            BODY,
                            f"序号{shown}{more}的任务，因有应报处室{label}，本季度总体进展无法确认。",
                        )
                    )

    # 三、报送情况
    heading("报送情况")
    if not ov.missing and not ov.incomplete:
        blocks.append(Block(BODY, "各处室（单位）均已报送，所报事项均已填写。"))
    if ov.missing:
        blocks.append(Block(BODY, f"未报送的处室（单位）：{_names(ov.missing)}。"))
    if ov.incomplete:
        shown = [
            f"{_plain(d)}（序号{'、'.join(labels_[:LISTED_TASKS])}{'等' if len(labels_) > LISTED_TASKS else ''}）"
            for d, labels_ in ov.incomplete[:LISTED_DIVISIONS]
        ]
        more = f"等{len(ov.incomplete)}个" if len(ov.incomplete) > LISTED_DIVISIONS else ""
        blocks.append(
            Block(BODY, f"已报送但有事项未填写的处室（单位）：{'、'.join(shown)}{more}。")
        )

    # 四、存在问题 / 五、下一步要求
    problems, requests = _problems(ov)
    heading("存在问题")
    blocks += _numbered(problems) if problems else [Block(BODY, "本季度汇总未发现突出问题。")]
    heading("下一步要求")
    blocks += _numbered(requests)

    annex_title = f"{period}市《政府工作报告》民政工作任务推进情况表"
    blocks += [
        Block(ANNEX_NOTE, f"附件：{annex_title}"),
        Block(SIGNATURE, SENDER),
        Block(SIGNATURE, f"{summary.year}年  月  日"),
    ]
    table = tuple(
        (
            _plain(v.task.label),
            _plain(v.task.text),
            "、".join(_plain(d) for d in v.task.leads),
            v.state,
            _summary_cell(v, ov),
        )
        for v in ov.tasks
    )
    return Draft(title, tuple(blocks), annex_title, table)


def _bucket_count(summary: Summary) -> list[Block]:
    """With quantitative targets: the 序时 buckets counted, as 总览's 六 counts them."""
    if not any(t.targets for t in summary.master.tasks):
        return []
    ov = overview(summary, BUCKET_SCHEME)
    labels = ov.scheme.labels
    counts = [ov.counts[label] for label in labels]
    return [
        Block(HEADING2, "（三）按量化指标序时进度"),
        Block(
            BODY,
            f"按各项任务量化指标的累计完成数与序时进度比较（以牵头处室填报的数字为准，牵头处室"
            f"未填报的取配合处室所填，有多个指标的取最差的一个），{ov.total}项任务中，"
            f"{_buckets(labels, counts, ov.total)}。",
        ),
    ]


def _behind_targets(summary: Summary, sub) -> list[Block]:
    """The tasks 未达序时, each with the figures that make it so."""
    behind = overview(summary, BUCKET_SCHEME).in_bucket("未达序时")
    if not behind:
        return []
    return [
        Block(HEADING2, f"（{next(sub)}）量化指标未达序时的任务"),
        *_task_lines(behind, len(behind), _figures_line),
    ]


def _figures_line(view: TaskView) -> str:
    said = []
    for p in view.summary.progress.targets if view.summary.progress else ():
        t = p.target
        if p.reported is None:
            said.append(f"{t.name}未填报累计完成数")
        elif p.bucket == "未达序时":
            said.append(
                f"{t.name}累计完成{amount_text(p.reported)}{t.unit}，为目标的{percent_text(p.completion)}，"
                f"低于序时进度{percent_text(p.expected)}"
            )
    return f"{task_name(view)}（牵头处室：{_leads(view)}）。{'；'.join(said)}。"


#: How many of what each figures flag counts: a target, or a division's row of a task.
_FIGURE_FLAGS = {
    "未达序时": "未达序时的量化指标{}个",
    "状态与数据不符": "进展状态与所报数据不符{}处",
    "数据倒退": "累计完成数比此前所报减少的量化指标{}个",
}

#: 问题类型 that mean a return did not follow the template.
_FORM_KINDS = ("事项被改动", "缺少事项", "多余内容", "无法识别处室", "文件无法读取", "非本期文件")


def _problems(ov: Overview) -> tuple[list[str], list[str]]:
    """存在问题 and 下一步要求, drafted from the counts and the flags (for the coordinator to
    edit)."""
    problems: list[str] = []
    requests: list[str] = []
    scheme = ov.scheme
    flags = {f.kind: f.total for f in ov.flags}
    unknown = [(label, ov.counts[label]) for label in scheme.unknown if ov.counts[label]]
    if ov.missing or ov.incomplete:
        said = []
        if ov.missing:
            said.append(f"{len(ov.missing)}个处室（单位）未报送")
        if ov.incomplete:
            said.append(f"{len(ov.incomplete)}个处室（单位）报送不完整")
        tasks = "、".join(f"{n}项任务因有处室{label}" for label, n in unknown)
        what = "、".join(
            w for w, shown in (("报送不及时", ov.missing), ("报送不完整", ov.incomplete)) if shown
        )
        problems.append(
            f"{what}。{'，'.join(said)}，{tasks}而无法确认进展。"
            if tasks
            else f"{what}。{'，'.join(said)}。"
        )
        requests.append(
            "请未报送和报送不完整的处室（单位）于  月  日前补报，逐项填写完成情况、进展状态和存在问题。"
        )
    behind = [(label, ov.counts[label]) for label in scheme.behind if ov.counts[label]]
    if behind:
        said = "，".join(f"{n}项任务{label}" for label, n in behind)
        problems.append(
            f"部分任务推进不力。{said}，详见第二部分；相关处室应分析原因，提出切实可行的措施。"
        )
        requests.append(
            "请相关任务的牵头处室对照序时进度，查找原因，明确措施和完成时限，加快推进；"
            "分管领导加强督促。"
        )
    if flags.get("状态不一致"):
        problems.append(
            f"部分任务牵头处室与配合处室报告的进展状态不一致（{flags['状态不一致']}个），"
            "需加强沟通、统一口径。"
        )
    numbers = [(k, flags[k]) for k in ("未达序时", "状态与数据不符", "数据倒退") if flags.get(k)]
    if numbers:
        said = "、".join(_FIGURE_FLAGS[kind].format(n) for kind, n in numbers)
        problems.append(
            f"部分量化指标进度不足或数据不实。汇总时发现{said}，详见汇总表“问题清单”和“全年进展”。"
        )
        requests.append(
            "请填报累计完成数的处室如实填报截至本季度末的累计数，进展状态与数据保持一致；"
            "未达序时的指标要说明原因和赶进度的措施。"
        )
    quality = [(k, flags[k]) for k in ("答复未更新", "答复雷同", "答复过简") if flags.get(k)]
    if quality:
        said = "、".join(f"{kind}{n}个" for kind, n in quality)
        problems.append(f"部分答复内容不够具体。{said}。")
        requests.append("请各处室（单位）逐项写明本季度的具体举措和量化成效，不照抄上季度内容。")
    form = [(k, flags[k]) for k in _FORM_KINDS if flags.get(k)]
    if form:
        said = "、".join(f"{kind}{n}个" for kind, n in form)
        problems.append(f"报送文件不够规范。汇总时发现{said}，详见汇总表“问题清单”。")
        requests.append(
            "请各处室（单位）使用下发的模板填报，不改动事项内容和表格结构，按时报送本期文件。"
        )
    total, *by_severity = ov.flag_totals
    if problems and total:
        counted = "、".join(f"{s}{n}个" for s, n in zip(SEVERITIES, by_severity, strict=True) if n)
        problems.append(f"汇总表“问题清单”共列出问题{total}个（{counted}），请逐条核实。")
    requests.append(
        "各处室（单位）要对照分解方案，压实责任，按序时进度推进各项任务，确保全年目标如期完成。"
    )
    return problems, requests


__all__ = ["Block", "Draft", "compose", "task_name"]
