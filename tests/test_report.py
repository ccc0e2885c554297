"""What leaders read: 总览's counts traced to the rows of 汇总, 明细 and 问题清单, and the draft
通报 (.docx) read back and checked number by number against 总览, on several real inboxes
(templates split from the shipped master, filled, merged through the CLI)."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from fractions import Fraction
from pathlib import Path

import docx
import openpyxl
import pytest
from builders import SHIPPED_MASTER, fill_all, run_cli, sheet_rows, split_shipped

from workbook_tools.demo import Fill
from workbook_tools.model import (
    ROLE_ASSIST,
    ROLE_LEAD,
    STATUSES,
    Answer,
    DivisionStatus,
    Master,
    Summary,
    Task,
    TaskSummary,
)
from workbook_tools.overview import WORST_FIRST, overview, percent, task_state
from workbook_tools.report import report_name, write_report
from workbook_tools.report_text import LISTED_TASKS, compose

STATES = (*STATUSES, "未填写", "未报送")

# Inboxes: name -> (divisions that do not report, what some divisions type instead).
SCENARIOS = {
    "all_returned": (
        set(),
        {
            "养老服务处": {"4": Fill("家庭养老床位3000张已全部建成。", "已完成", "")},
            "规划财务处": {"8": Fill("投资结构持续优化。", "完成", "")},
        },
    ),
    "some_missing": ({"社会事务处", "市慈善服务中心", "区划地名处"}, {}),
    "some_lagging": (
        {"市慈善服务中心"},
        {
            "养老服务处": {"3": Fill("场地审批未完成。", "滞后", "受场地审批影响，加快审批。")},
            "社会救助处": {"5": Fill("方案起草中。", "未启动", "")},
            # the lead says 按序时推进, its partner 滞后: the task is 滞后
            "市低保中心": {"16": Fill("资助资金未拨付。", "滞后", "资金拨付滞后，正在协调。")},
            "儿童福利处": {"6": Fill("已完成增配。", "已完成", "")},
        },
    ),
    "empty_answers": (
        set(),
        {
            "社会救助处": {"15": Fill("", "按序时推进", "")},  # the lead left 完成情况 empty
            "儿童福利处": {"6": Fill("已增配社工5名。", "", "")},  # a co-lead chose no status
            "市低保中心": {"5": Fill("=1+1", "推进中", "")},  # kept as text
            "基层政权建设和社区治理处": {"11": Fill("已推进。", "按序时推进", "", text="改动")},
        },
    ),
}


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, Path]:
    return split_shipped(tmp_path_factory.mktemp("templates"))


def merged(tmp: Path, templates, scenario: str, *extra: str, fills=None) -> tuple[Path, Path, str]:
    """Fill ``scenario``'s inbox (or ``fills``: skip, overrides), merge it with the CLI;
    (summary, draft, output)."""
    skip, overrides = fills or SCENARIOS[scenario]
    inbox = tmp / scenario / "inbox"
    fill_all(templates, inbox, skip=skip, overrides=overrides)
    out = tmp / scenario / "outbox" / "汇总.xlsx"
    result = run_cli(
        "merge", "-q", 1, "--inbox", inbox, "--master", SHIPPED_MASTER, "--out", out, *extra
    )
    assert result.exit_code == 0, result.output
    return out, out.parent / report_name(2022, 1), result.output


@pytest.fixture(scope="module", params=list(SCENARIOS))
def case(request, tmp_path_factory, templates):
    return merged(tmp_path_factory.mktemp("merge"), templates, request.param)


# --- reading the summary back ------------------------------------------------------------------


def overview_sheet(path: Path) -> dict:
    """总览's tables, read by their headers (not by position)."""
    rows = [
        [c for c in r]
        for r in openpyxl.load_workbook(path)["总览"].iter_rows(values_only=True)
        if any(c is not None for c in r)
    ]

    def table(header: list) -> list[list]:
        start = next(i for i, r in enumerate(rows) if r[: len(header)] == header)
        out = []
        for r in rows[start + 1 :]:
            if r[0] is None or r[0] in ("合计",) or str(r[0]).startswith(("三、", "四、", "五、")):
                break
            out.append(r)
        return out

    submission = table(["应报送处室（单位）", "已报送", "未报送", "报送率", "报送不完整"])[0]
    named = {r[0]: r[1] for r in rows if r[0] in ("未报送处室（单位）", "报送不完整处室（单位）")}
    states = {r[0]: (r[1], r[2]) for r in table(["进展状态", "事项数", "占比"])}
    crosstab = ["合计", *STATES]
    categories = {r[0]: r[1:8] for r in table(["类别", *crosstab])}
    leaders = {r[0]: r[1:8] for r in table(["分管领导", *crosstab])}
    flags = {r[0]: r[1:5] for r in table(["问题类型", "合计", "错误", "警告", "提示"])}
    targets = ["序时进度情况", "事项数", "占比"]
    bucket_rows = table(targets) if any(r[:3] == targets for r in rows) else []
    flag_total = next(
        r[1:5]
        for r in rows[rows.index(next(r for r in rows if r[0] == "五、问题统计")) :]
        if r[0] == "合计"
    )
    return {
        "submission": submission[:5],
        "named": named,
        "states": states,
        "total": sum(n for n, _ in states.values()),
        "categories": categories,
        "leaders": leaders,
        "flags": flags,
        "flag_total": list(flag_total),
        "buckets": {r[0]: (r[1], r[2]) for r in bucket_rows},
    }


def _split(cell) -> list[str]:
    return [x for x in (cell.value or "").split("、") if x]


def derived(path: Path) -> dict:
    """What 总览 should say, derived only from the rows of 汇总, 明细, 问题清单 and 报送情况."""
    flags = [r for r in sheet_rows(path, "问题清单", 2) if r["问题类型"].value]  # not 未发现问题
    details = sheet_rows(path, "明细", 1)
    tasks = sheet_rows(path, "汇总", 2)
    divisions = sheet_rows(path, "报送情况", 2)
    missing = {r["处室"].value for r in flags if r["问题类型"].value == "未报送"}
    unfilled = {
        (r["处室"].value, r["序号"].value)
        for r in flags
        if r["问题类型"].value in ("未填写", "缺少事项")
    }
    status = {(r["处室"].value, r["序号"].value): r["进展状态"].value for r in details}
    states = {}
    for row in tasks:
        label = row["序号"].value
        expected = _split(row["牵头处室"]) + _split(row["责任处室"])
        each = []
        for division in expected:
            if division in missing:
                each.append("未报送")
            elif (division, label) in unfilled:
                each.append("未填写")
            else:
                each.append(status[division, label])
        state = min(each, key=WORST_FIRST.index)
        assert row["进展状态"].value == state, label  # 汇总 says what the flags and answers say
        states[label] = (state, row["类别"].value, row["分管领导"].value)
    listed = [r for r in divisions if r["报送状态"].value in ("已报送", "未报送")]
    incomplete = {d for d, _ in unfilled} - missing
    counts = Counter(s for s, _, _ in states.values())

    def crosstab(column: int) -> dict:
        groups: dict[str, Counter] = {}
        for state, *keys in states.values():
            groups.setdefault(keys[column], Counter())[state] += 1
        return {g: [sum(c.values()), *(c[s] for s in STATES)] for g, c in groups.items()}

    by_kind: dict[str, Counter] = {}
    for r in flags:
        by_kind.setdefault(r["问题类型"].value, Counter())[r["严重程度"].value] += 1
    severities = Counter(r["严重程度"].value for r in flags)
    return {
        "states": states,
        "counts": counts,
        "submission": [
            len(listed),
            len(listed) - len(missing),
            len(missing),
            (len(listed) - len(missing)) / len(listed),
            len(incomplete),
        ],
        "missing": missing,
        "incomplete": incomplete,
        "categories": crosstab(0),
        "leaders": crosstab(1),
        "flags": {
            k: [sum(c.values()), c["错误"], c["警告"], c["提示"]] for k, c in by_kind.items()
        },
        "flag_total": [len(flags), severities["错误"], severities["警告"], severities["提示"]],
    }


# --- 总览 tells the truth ----------------------------------------------------------------------


def test_overview_counts_are_the_rows_of_the_detail_sheets(case):
    summary, _, _ = case
    shown, truth = overview_sheet(summary), derived(summary)
    total = len(truth["states"])
    assert shown["total"] == total == 17
    assert {s: n for s, (n, _) in shown["states"].items()} == {
        s: truth["counts"][s] for s in STATES
    }
    for n, share in shown["states"].values():
        assert share == pytest.approx(n / total)
    assert shown["submission"] == pytest.approx(truth["submission"])
    assert shown["categories"] == truth["categories"]
    assert shown["leaders"] == truth["leaders"]
    assert shown["flags"] == truth["flags"]
    assert shown["flag_total"] == truth["flag_total"]
    named = shown["named"]
    assert set(_names(named["未报送处室（单位）"])) == truth["missing"]
    assert set(_names(named["报送不完整处室（单位）"])) == truth["incomplete"]


def _names(cell: str) -> list[str]:
    return [] if cell == "无" else cell.split("、")


def test_demo_overview_agrees_with_its_details(tmp_path):
    # The demo's case: task 15's lead left 完成情况 empty, task 14's co-lead 社会事务处 did
    # not report; 总览 must not show 17 healthy tasks.
    result = run_cli("demo", tmp_path / "demo", "--master", SHIPPED_MASTER)
    assert result.exit_code == 0, result.output
    summary = tmp_path / "demo" / "outbox" / "2022年第一季度工作目标完成情况汇总.xlsx"
    draft = tmp_path / "demo" / "outbox" / report_name(2022, 1)
    assert f"通报草稿：{draft}" in result.output
    shown, truth = overview_sheet(summary), derived(summary)
    assert truth["states"]["15"][0] == "未填写"
    assert truth["states"]["14"][0] == "未报送"
    assert {s: n for s, (n, _) in shown["states"].items()} == {
        s: truth["counts"][s] for s in STATES
    }
    assert shown["states"]["未报送"][0] == 3  # 10, 14, 17: a division of each did not report
    assert shown["states"]["未填写"][0] == 1
    assert shown["states"]["按序时推进"][0] == 12
    rows = {r["序号"].value: r for r in sheet_rows(summary, "汇总", 2)}
    assert "未报送" in rows["14"]["问题标记"].value
    check_draft(summary, draft)
    # The README's excerpt of the demo's draft: every line is a paragraph of it.
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    excerpt = readme.split("演示数据生成的草稿开头如下：\n\n```\n", 1)[1].split("```", 1)[0]
    texts = paragraphs(draft)
    assert len(excerpt.splitlines()) >= 10
    for line in excerpt.splitlines():
        assert line in texts, line


# --- the draft says what 总览 says -------------------------------------------------------------


def paragraphs(path: Path) -> list[str]:
    return [p.text for p in docx.Document(str(path)).paragraphs]


def section(texts: list[str], heading: str) -> list[str]:
    """The paragraphs under a heading such as 总体情况 (一、总体情况), up to the next one."""
    start = next(
        i for i, t in enumerate(texts) if re.fullmatch(rf"[一二三四五六七八九十]、{heading}", t)
    )
    out = []
    for text in texts[start + 1 :]:
        if re.match(r"[一二三四五六七八九十]、", text) or text.startswith("附件："):
            break
        out.append(text)
    return out


def buckets(text: str) -> dict[str, tuple[int, str | None]]:
    """按序时推进12项（70.6%），滞后1项 -> {label: (count, share)}."""
    found = re.findall(rf"({'|'.join(STATES)})(\d+)项(?:（([\d.]+%)）)?", text)
    return {label: (int(n), share or None) for label, n, share in found}


def excel_percent(value: float) -> str:
    """How Excel shows ``value`` with the number format 0.0% (half up)."""
    return percent(Fraction(repr(value)))


def check_draft(summary: Path, draft: Path) -> None:
    shown, texts = overview_sheet(summary), paragraphs(draft)
    whole = "\n".join(texts)
    expected, submitted, missing, rate, incomplete = shown["submission"]

    # 一、总体情况: submission, buckets with shares, by category, by leader
    general = section(texts, "总体情况")
    joined = "\n".join(general)
    assert (
        f"应报送的{expected}个处室（单位）中，已报送{submitted}个，报送率{excel_percent(rate)}"
        in joined
    )
    assert (f"未报送{missing}个" in joined) == bool(missing)
    assert (f"报送不完整{incomplete}个" in joined) == bool(incomplete)
    total = shown["total"]
    [counted] = [t for t in general if t.startswith(f"分解方案所列{total}项任务中，")]
    assert buckets(counted) == {
        s: (n, excel_percent(share)) for s, (n, share) in shown["states"].items() if n
    }
    for name, numbers in shown["categories"].items():
        [line] = [t for t in general if t.startswith(f"{name}任务{numbers[0]}项：")]
        assert buckets(line) == {
            s: (n, None) for s, n in zip(STATES, numbers[1:], strict=True) if n
        }
    for name, numbers in shown["leaders"].items():
        [line] = [t for t in general if t.startswith(f"{name}同志分管{numbers[0]}项：")]
        assert buckets(line) == {
            s: (n, None) for s, n in zip(STATES, numbers[1:], strict=True) if n
        }
    # Every count and share in 总体情况 and 存在问题 is one of 总览's numbers.
    numbers = {
        str(v)
        for table in ("categories", "leaders", "flags")
        for r in shown[table].values()
        for v in r
    }
    numbers |= {str(n) for n, _ in shown["states"].values()} | {str(total)}
    numbers |= {excel_percent(s) for _, s in shown["states"].values()}
    numbers |= {str(v) for v in (expected, submitted, missing, incomplete)} | {excel_percent(rate)}
    numbers |= {str(v) for v in shown["flag_total"]}
    numbers |= {str(n) for n, _ in shown["buckets"].values()}
    numbers |= {excel_percent(s) for _, s in shown["buckets"].values()}
    problems = section(texts, "存在问题")
    for text in general + problems:
        for n, pct in re.findall(r"(?<![序号\d.])(\d+(?:\.\d+)?)(%?)", text):
            assert n + pct in numbers, (n + pct, text)

    # 存在问题: the flag counts, as 总览's 问题统计
    if shown["flag_total"][0] and problems:
        total_flags, *by_severity = shown["flag_total"]
        said = "、".join(
            f"{s}{n}个" for s, n in zip(("错误", "警告", "提示"), by_severity, strict=True) if n
        )
        assert f"共列出问题{total_flags}个（{said}）" in "\n".join(problems)
    for kind in ("事项被改动", "缺少事项", "多余内容"):
        if kind in shown["flags"]:
            assert f"{kind}{shown['flags'][kind][0]}个" in "\n".join(problems)

    # the tasks named: done, behind (with lead and reason), unknown
    tasks = {r["序号"].value: r for r in sheet_rows(summary, "汇总", 2)}
    progress = "\n".join(section(texts, "任务推进情况"))
    said: dict[str, set[tuple[str, str]]] = {}  # task -> (职责, 进展状态) of its divisions
    for r in sheet_rows(summary, "明细", 1):
        said.setdefault(r["序号"].value, set()).add((r["职责"].value, r["进展状态"].value))
    for label, row in tasks.items():
        state = row["进展状态"].value
        named = f"序号{label}“" in progress
        bucket = row["序时进度情况"].value if "序时进度情况" in row else None
        # Also named: a task a lead reports done, counted otherwise (and why), and a task a
        # division reports behind, counted 未报送 or 未填写.
        lead_done = ("牵头", "已完成") in said.get(label, set())
        behind = {s for _, s in said.get(label, set())} & {"滞后", "未启动"}
        assert named == (
            state in ("已完成", "滞后", "未启动")
            or bucket == "未达序时"
            or lead_done
            or bool(behind and state in ("未填写", "未报送"))
        ), (label, state)
        if state in ("滞后", "未启动"):
            lead = row["牵头处室"].value
            [line, *_] = [t for t in section(texts, "任务推进情况") if f"序号{label}“" in t]
            assert f"（牵头处室：{lead}）" in line and f"报告{state}：" in line
    for state in ("未填写", "未报送"):
        labels = [k for k, r in tasks.items() if r["进展状态"].value == state]
        if labels:
            assert (
                f"序号{'、'.join(labels)}的任务，因有应报处室{state}，本季度总体进展无法确认"
                in (progress)
            )

    # 报送情况: the divisions named are 总览's
    reported = "\n".join(section(texts, "报送情况"))
    for division in _names(shown["named"]["未报送处室（单位）"]):
        assert division in reported.split("未报送的处室（单位）：")[1].split("。")[0]
    for division in _names(shown["named"]["报送不完整处室（单位）"]):
        assert f"{division}（序号" in reported

    # 附件: one row per task, in 汇总's order, with 汇总's state
    [table] = docx.Document(str(draft)).tables
    rows = [[c.text for c in r.cells] for r in table.rows]
    assert rows[0] == ["序号", "工作事项", "牵头处室", "进展状态", "完成情况摘要"]
    assert [(r[0], r[3]) for r in rows[1:]] == [(k, r["进展状态"].value) for k, r in tasks.items()]
    assert "附件：" in whole and "— " not in whole  # the page number is in the footer only


def test_draft_numbers_are_overview_numbers(case):
    summary, draft, output = case
    assert f"通报草稿：{draft}" in output
    check_draft(summary, draft)


def test_no_report_writes_no_draft(tmp_path, templates):
    summary, draft, output = merged(tmp_path, templates, "some_missing", "--no-report")
    assert summary.exists() and not draft.exists()
    assert "通报草稿" not in output


def test_draft_is_reproducible(tmp_path, templates):
    _, draft, _ = merged(tmp_path / "a", templates, "empty_answers")
    _, again, _ = merged(tmp_path / "b", templates, "empty_answers")
    assert draft.read_bytes() == again.read_bytes()


def test_draft_page_and_fonts(case):
    from docx.shared import Pt

    _, draft, _ = case
    document = docx.Document(str(draft))
    [section_] = document.sections
    assert (round(section_.page_width.mm), round(section_.page_height.mm)) == (210, 297)
    margins = (
        section_.top_margin,
        section_.bottom_margin,
        section_.left_margin,
        section_.right_margin,
    )
    assert [round(m.mm) for m in margins] == [37, 35, 28, 26]
    styles = {p.text: p.style for p in document.paragraphs}
    title = next(s for t, s in styles.items() if t.startswith("关于2022年第一季度"))
    assert (title.font.name, title.font.size) == ("方正小标宋简体", Pt(22))
    assert (styles["一、总体情况"].font.name, styles["一、总体情况"].font.size) == ("黑体", Pt(16))
    assert styles["（一）按任务类别"].font.name == "楷体_GB2312"
    body = next(s for t, s in styles.items() if t.startswith("根据《"))
    assert (body.font.name, body.font.size) == ("仿宋_GB2312", Pt(16))
    xml = body.element.xml
    assert 'w:eastAsia="仿宋_GB2312"' in xml  # Chinese text takes the font too
    footer = section_.footer.paragraphs[0]
    assert footer.text.startswith("— ") and footer.text.endswith(" —")
    assert "PAGE" in footer._p.xml


# --- LibreOffice: the draft prints ----------------------------------------------------------


def words_outside(pdftotext: str, pdf: Path) -> list[str]:
    """Words LibreOffice put outside the type area (the page number aside): cut or overflowing."""
    html = subprocess.run(
        [pdftotext, "-bbox", str(pdf), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode("utf-8")
    mm = 72 / 25.4
    left, right, top = 28 * mm - 2, (210 - 26) * mm + 2, 37 * mm - 2
    bottom = (297 - 35) * mm + 2
    outside = []
    for x0, y0, x1, y1, word in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
        html,
    ):
        x0, y0, x1, y1 = map(float, (x0, y0, x1, y1))
        footer = y0 > bottom and re.fullmatch(r"—?\d*—?", word)
        if not footer and (x0 < left or x1 > right or y0 < top or y1 > bottom):
            outside.append(word)
    return outside


def test_draft_converts_to_pdf_whole(tmp_path, templates, soffice, poppler):
    summary, draft, _ = merged(tmp_path, templates, "some_lagging")
    # A long unbroken answer and a long task list must wrap inside the table, not run off it.
    pdf = soffice.convert(draft, "pdf", tmp_path / "pdf")
    pages = poppler.pages(pdf, layout=False)
    sizes = poppler.page_sizes(pdf)
    assert len(pages) >= 3 and len(sizes) == len(pages)
    assert all(abs(w - 595.3) < 1 and abs(h - 841.9) < 1 for w, h in sizes)  # A4 portrait
    for i, page in enumerate(pages, 1):
        assert re.search(rf"—\s*{i}\s*—", page), i  # "— 1 —" at the foot of every page
    flat = [re.sub(r"\s+", "", p) for p in pages]
    assert flat[0].startswith("（草稿") and "关于2022年第一季度市《政府工作报告》" in flat[0]
    annex = next(i for i, p in enumerate(flat) if p.startswith("附件2022年"))
    assert annex > 0  # on a page of its own
    # Every paragraph and every cell of the draft is on the pages, whole.
    text = "".join(flat)
    document = docx.Document(str(draft))
    for p in document.paragraphs:
        assert re.sub(r"\s+", "", p.text) in text, p.text
    # The table's columns are interleaved line by line in the text: every character of every
    # cell is there as often as in the .docx (a row cut at the page's foot would lose some).
    cells = "".join(c.text for r in document.tables[0].rows for c in r.cells)
    assert Counter(re.sub(r"\s+", "", cells)) <= Counter(text)
    assert words_outside(poppler.pdftotext_exe, pdf) == []


def test_long_answers_stay_inside_the_page(tmp_path, templates, soffice, poppler):
    long_word = "https://example.com/" + "a" * 300
    fills = {
        "养老服务处": {
            "3": Fill(long_word, "滞后", "原因" * 200),
            "4": Fill("完成" * 500, "已完成", ""),
        }
    }
    _, draft, _ = merged(tmp_path, templates, "long", fills=(set(), fills))
    pdf = soffice.convert(draft, "pdf", tmp_path / "pdf")
    assert words_outside(poppler.pdftotext_exe, pdf) == []


# --- the rule, on hand-made summaries ----------------------------------------------------------


def _summary(
    answers: dict[str, list[tuple[str, str, str]]], missing=(), n_tasks: int = 2, plan="计划"
):
    """Tasks 1..n, each led by 甲处 with 乙处 assisting; answers: number -> (division, answer,
    status); every answer's 存在问题及下步打算 is ``plan``."""
    tasks = tuple(
        Task(str(i), str(i), f"事项{i}", "张三", ("甲处",), ("乙处",), False, ("政府工作报告",))
        for i in range(1, n_tasks + 1)
    )
    master = Master("m.xlsx", "s", "2022年分解方案", 2022, tasks)
    summaries, every = [], []
    for task in tasks:
        given = [
            Answer(task.number, d, ROLE_LEAD if d == "甲处" else ROLE_ASSIST, a, s, s, plan, "f")
            for d, a, s in answers.get(task.number, [])
        ]
        every += given
        lead = tuple(a for a in given if a.role == ROLE_LEAD)
        status = lead[0].status if lead else ""
        summaries.append(
            TaskSummary(task, status, lead, tuple(a for a in given if a.role != ROLE_LEAD), ())
        )
    divisions = tuple(
        DivisionStatus(d, d not in missing, "", "", n_tasks, 0, ()) for d in ("甲处", "乙处")
    )
    return Summary(2022, 1, master, tuple(summaries), divisions, tuple(every), (), ())


@pytest.mark.parametrize(
    ("lead", "partner", "partner_missing", "state"),
    [
        (("做了", "按序时推进"), ("做了", "已完成"), False, "按序时推进"),
        (("做了", "已完成"), ("做了", "已完成"), False, "已完成"),
        (("", "按序时推进"), ("做了", "已完成"), False, "未填写"),  # empty answer
        (("做了", ""), ("做了", "已完成"), False, "未填写"),  # no status chosen
        (("做了", "已完成"), None, False, "未填写"),  # reported, but not this task
        (("做了", "已完成"), None, True, "未报送"),  # the partner did not report
        (("", ""), None, True, "未报送"),  # 未报送 is worse than 未填写
        (("做了", "按序时推进"), ("做了", "滞后"), False, "滞后"),  # a partner behind
        (("做了", "未启动"), ("做了", "滞后"), False, "滞后"),
        (("做了", "已完成"), ("做了", "未启动"), False, "未启动"),
    ],
)
def test_task_state_is_the_worst_division(lead, partner, partner_missing, state):
    answers = [("甲处", *lead)] + ([("乙处", *partner)] if partner else [])
    summary = _summary({"1": answers}, missing={"乙处"} if partner_missing else (), n_tasks=1)
    [ts] = summary.tasks
    submitted = {d.division: d.submitted for d in summary.divisions}
    assert task_state(ts, submitted) == state
    assert overview(summary).counts[state] == 1


def test_long_lists_are_cut_with_the_overview_count():
    n = LISTED_TASKS + 5
    answers = {
        str(i): [("甲处", "做了", "滞后"), ("乙处", "做了", "按序时推进")] for i in range(1, n + 1)
    }
    draft = compose(_summary(answers, n_tasks=n))
    texts = [b.text for b in draft.blocks]
    assert f"以上列出前{LISTED_TASKS}项，共{n}项，详见附件。" in texts
    assert sum(t.startswith(f"{i}. 序号") for t in texts for i in range(1, n + 1)) == LISTED_TASKS
    assert len(draft.table) == n


def test_control_characters_and_formulas_are_plain_text(tmp_path):
    answers = {
        "1": [("甲处", "=cmd|' /C calc'!A0\x0b\x00完成", "已完成"), ("乙处", "@SUM(A1)", "已完成")]
    }
    path = write_report(_summary(answers, n_tasks=1), tmp_path / "r.docx")
    document = docx.Document(str(path))
    [row] = document.tables[0].rows[1:]
    assert (
        row.cells[4].text == "=cmd|' /C calc'!A0；完成"
    )  # Word's line break kept, shown as a separator
    assert "已完成的任务" in "\n".join(p.text for p in document.paragraphs)


@pytest.mark.parametrize(
    ("share", "shown"),
    [
        (Fraction(1, 16), "6.3%"),
        (Fraction(12, 17), "70.6%"),
        (Fraction(0), "0.0%"),
        (Fraction(1), "100.0%"),
    ],
)
def test_percent_rounds_as_excel_shows(share, shown):
    assert percent(share) == shown


def _draft_texts(summary) -> list[str]:
    return [b.text for b in compose(summary).blocks]


def test_a_lead_reporting_done_counted_otherwise_is_explained():
    answers = {"1": [("甲处", "全部建成", "已完成"), ("乙处", "配合推进", "按序时推进")]}
    texts = _draft_texts(_summary(answers, n_tasks=1))
    assert "本季度暂无已完成的任务。" in texts
    assert (
        "序号1“事项1”的牵头处室报告已完成，但乙处（配合）按序时推进，总体状态计为按序时推进，"
        "未列入上述已完成的任务。"
    ) in texts


def test_a_task_reported_behind_is_listed_even_when_a_partner_did_not_report():
    answers = {"1": [("甲处", "资金未到位", "滞后")]}
    texts = _draft_texts(_summary(answers, missing={"乙处"}, n_tasks=1, plan="争取财政支持"))
    assert "（二）滞后的任务" in texts
    assert (
        "1. 序号1“事项1”（牵头处室：甲处）。甲处报告滞后：争取财政支持。"
        "（另有乙处（配合）未报送，总体状态计为未报送）"
    ) in texts
    assert "序号1的任务，因有应报处室未报送，本季度总体进展无法确认。" in texts


def test_a_placeholder_plan_gives_way_to_the_answer_as_the_reason():
    answers = {"1": [("甲处", "受审批影响进度滞后", "滞后"), ("乙处", "配合", "按序时推进")]}
    texts = _draft_texts(_summary(answers, n_tasks=1, plan="无"))
    assert any("甲处报告滞后：受审批影响进度滞后。" in t for t in texts)


def test_problems_say_only_what_happened():
    # Both reported; 乙处 left task 2 empty. Nobody was late, and no flag was raised.
    answers = {
        "1": [("甲处", "做了", "未启动"), ("乙处", "做了", "按序时推进")],
        "2": [("甲处", "做了", "按序时推进")],
    }
    texts = "\n".join(_draft_texts(_summary(answers)))
    assert "报送不完整。" in texts and "不及时" not in texts
    assert "共列出问题0个" not in texts and "（）" not in texts


def test_a_task_reported_done_below_its_target_says_so():
    from dataclasses import replace

    from workbook_tools.model import Target
    from workbook_tools.targets import TargetProgress, TaskProgress

    summary = _summary({"1": [("甲处", "建成", "已完成"), ("乙处", "建成", "已完成")]}, n_tasks=1)
    beds = Target("家庭养老床位", 3000.0, "张")
    progress = TaskProgress(
        "1", (TargetProgress(beds, 600.0, "甲处", 0.25, "未达序时"),), "未达序时"
    )
    summary = replace(summary, tasks=(replace(summary.tasks[0], progress=progress),))
    texts = "\n".join(_draft_texts(summary))
    assert "但所报家庭养老床位累计完成数为目标的20%，与“已完成”不符，请核实。" in texts


def test_the_annex_says_whose_state_a_row_shows():
    answers = {"1": [("甲处", "任务全部完成", "已完成"), ("乙处", "系统改造延误", "滞后")]}
    [row] = compose(_summary(answers, n_tasks=1, plan="下步加快")).table
    assert row[3] == "滞后"
    assert row[4] == "任务全部完成\n（乙处（配合）报告滞后：下步加快）"
