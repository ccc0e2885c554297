"""summary.write_summary: the leaders' workbook, reopened and checked cell by cell."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbook_tools.cells import (
    CELL_LIMIT,
    clean_text,
    fit_cell,
    lines_height,
    text_lines,
    utf16_len,
)
from workbook_tools.errors import OutputError
from workbook_tools.model import (
    CATEGORY_LIVELIHOOD,
    CATEGORY_REPORT,
    ROLE_ASSIST,
    ROLE_LEAD,
    SUMMARY_SHEETS,
    Answer,
    DivisionStatus,
    FileVerdict,
    Flag,
    Master,
    Summary,
    Task,
    TaskSummary,
)
from workbook_tools.summary import write_summary
from workbook_tools.summary_rows import (
    DETAIL_TRUNCATION_MARKER,
    SUMMARY_EXCERPT,
    SUMMARY_EXCERPT_MIN,
    SUMMARY_LINES,
    TASK_COLS,
    TRUNCATION_MARKER,
)

TASK_WIDTH = {c.header: c.width for c in TASK_COLS}

YANG = "养老服务处"
JIU = "社会救助处"
SHI = "社会事务处"
CAI = "规划财务处"

LONG_A = "甲" * CELL_LIMIT
LONG_B = "乙" * CELL_LIMIT
DIRTY = "含控制字符\x0b和\x00以及孤立代理\ud800结束"
EMOJI = "完成了😀，涉及𠀀𪚥等生僻字"


def make_summary() -> Summary:
    t1 = Task(
        number="1",
        label="*1",
        text="推进养老服务体系建设（牵头单位：市民政局）",
        leader="张三",
        leads=(YANG,),
        partners=(JIU, CAI),
        bureau_leads=True,
        categories=(CATEGORY_REPORT,),
    )
    t2 = Task(
        "2", "*2", "做好困难群众救助工作", "李四", (JIU,), (YANG,), True, (CATEGORY_LIVELIHOOD,)
    )
    t3 = Task(
        "3",
        "3",
        "两个牵头处室的事项",
        "张三",
        (YANG, SHI),
        (),
        False,
        (CATEGORY_REPORT, CATEGORY_LIVELIHOOD),
    )
    t4 = Task("4", "4", "规划财务处牵头的事项", "李四", (CAI,), (), False, (CATEGORY_REPORT,))
    t5 = Task("5", "5", "牵头处室未选进展状态的事项", "王五", (SHI,), (), False, (CATEGORY_REPORT,))
    master = Master("分解方案.xlsx", "Sheet1", "分解方案", 2022, (t1, t2, t3, t4, t5))

    def ans(task, division, role, answer, status, plan="", note="", cell="D5"):
        src = f"{division}.xlsx"
        return Answer(task, division, role, answer, status, status, plan, src, cell, note)

    a1 = ans("1", YANG, ROLE_LEAD, "=1+1", "已完成", "@SUM(A1)")
    a2 = ans("1", JIU, ROLE_ASSIST, "+86 138 0000 0000", "滞后", "-")
    a3 = ans("2", JIU, ROLE_LEAD, '=HYPERLINK("http://x")', "按序时推进", "http://example.com")
    a4 = ans("2", YANG, ROLE_ASSIST, DIRTY, "已完成", EMOJI, note="删除了控制字符")
    a5 = ans("3", YANG, ROLE_LEAD, LONG_A, "滞后")
    a6 = ans("3", SHI, ROLE_LEAD, LONG_B, "按序时推进")
    a7 = ans("5", SHI, ROLE_LEAD, "", "")
    f_formula = Flag(
        "疑似公式",
        "养老服务处.xlsx 完成情况!D5 以“=”开头，已按文本保留",
        YANG,
        "1",
        "养老服务处.xlsx",
    )
    f_late = Flag("进度滞后", "社会救助处报告滞后", JIU, "1", "社会救助处.xlsx")
    f_missing = Flag("未报送", "规划财务处未报送", CAI)
    f_empty = Flag("未填写", "完成情况为空", SHI, "5", "社会事务处.xlsx")
    f_mismatch = Flag("状态不一致", "牵头已完成，配合滞后", "", "1")
    f_repeat = Flag(
        "重复报送", "养老服务处报送了两个文件，采用较新的", YANG, "", "养老服务处(1).xlsx"
    )
    flags = (f_formula, f_late, f_missing, f_empty, f_mismatch, f_repeat)
    tasks = (
        # deliberately not in master order: the writer must sort
        TaskSummary(t2, "按序时推进", (a3,), (a4,), ()),
        # merge attaches a division's 未报送 to every task it is expected on
        TaskSummary(t1, "已完成", (a1,), (a2,), (f_formula, f_late, f_mismatch, f_missing)),
        TaskSummary(t3, "滞后", (a5, a6), (), ()),
        TaskSummary(t4, "", (), (), (f_missing,)),
        TaskSummary(t5, "", (a7,), (), (f_empty,)),
    )
    divisions = (
        DivisionStatus(
            YANG,
            True,
            "养老服务处.xlsx",
            "2022-04-06",
            3,
            3,
            (f_formula, f_repeat),
            "张三",
            "李四",
            "027-12345678",
        ),
        DivisionStatus(JIU, True, "社会救助处.xlsx", "2022-04-07", 2, 2, (f_late,)),
        DivisionStatus(SHI, True, "社会事务处.xlsx", "", 2, 1, (f_empty,)),
        DivisionStatus(CAI, False, "", "", 2, 0, (f_missing,)),
    )
    files = (
        FileVerdict("养老服务处.xlsx", True, YANG, "采用"),
        FileVerdict("养老服务处(1).xlsx", False, YANG, "重复报送，采用较新的文件"),
    )
    answers = (a7, a6, a5, a4, a3, a2, a1)  # reversed: the writer must sort
    return Summary(2022, 1, master, tasks, divisions, answers, flags, files)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("summary") / "汇总" / "2022年第一季度汇总.xlsx"
    assert write_summary(make_summary(), out) == out
    return out


@pytest.fixture(scope="module")
def wb(written):
    return openpyxl.load_workbook(written)


def rows(ws, first: int) -> list[list]:
    """Cell values from row ``first``; a blank cell (nothing to say) reads as ""."""
    return [["" if c.value is None else c.value for c in r] for r in ws.iter_rows(min_row=first)]


# --- the workbook as a whole -------------------------------------------------------------------


def test_sheets_in_order_and_overview_active(wb):
    assert wb.sheetnames == list(SUMMARY_SHEETS)
    assert wb.active.title == "总览"


def test_no_formula_anywhere(written, wb):
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    with zipfile.ZipFile(written) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in z.read(name).decode("utf-8"), name
        # no hyperlinks made from answers that look like URLs
        assert not [n for n in z.namelist() if "hyperlink" in n.lower()]
        for name in z.namelist():
            if name.endswith(".rels"):
                assert "hyperlink" not in z.read(name).decode("utf-8")


def test_same_input_same_bytes(tmp_path):
    a = write_summary(make_summary(), tmp_path / "a.xlsx")
    b = write_summary(make_summary(), tmp_path / "b.xlsx")
    assert a.read_bytes() == b.read_bytes()


def test_created_time_fixed(wb):
    assert wb.properties.created.year == 2022
    assert (wb.properties.created.month, wb.properties.created.day) == (1, 1)


# --- 汇总 --------------------------------------------------------------------------------------

TASK_HEADER = [
    "序号",
    "类别",
    "工作事项",
    "分管领导",
    "牵头处室",
    "责任处室",
    "进展状态",
    "牵头处室完成情况",
    "配合处室完成情况",
    "存在问题及下步打算",
    "问题标记",
]


def test_tasks_sheet_rows(wb):
    ws = wb["汇总"]
    assert ws["A1"].value == "2022年市《政府工作报告》民政工作第一季度完成情况汇总表"
    assert [c.value for c in ws[2]] == TASK_HEADER
    data = rows(ws, 3)
    assert [r[0] for r in data] == ["*1", "*2", "3", "4", "5"]
    assert data[0] == [
        "*1",
        "政府工作报告",
        "推进养老服务体系建设（牵头单位：市民政局）",
        "张三",
        YANG,
        f"{JIU}、{CAI}",
        "未报送",  # the lead said 已完成; a partner did not report: the worst decides
        f"【{YANG}】=1+1",
        f"【{JIU}】+86 138 0000 0000\n\n【{CAI}】（未报送）",
        f"【{YANG}】@SUM(A1)\n\n【{JIU}】-",
        "未报送、进度滞后、状态不一致、疑似公式",
    ]
    assert data[1][6:10] == [
        "按序时推进",
        f'【{JIU}】=HYPERLINK("http://x")',
        f"【{YANG}】含控制字符\n和以及孤立代理结束",
        f"【{JIU}】http://example.com\n\n【{YANG}】{EMOJI}",
    ]
    assert data[2][1] == "政府工作报告、民生实事"
    assert data[2][4] == f"{YANG}、{SHI}"
    assert data[3][6] == "未报送"
    assert data[3][7] == f"【{CAI}】（未报送）"
    assert data[3][10] == "未报送"
    assert data[4][6] == "未填写"
    assert data[4][7] == f"【{SHI}】（未填写）"


def test_answer_cells_are_strings(wb):
    ws = wb["汇总"]
    for row in ws.iter_rows(min_row=3, min_col=8, max_col=10):
        for cell in row:
            assert cell.data_type == ("s" if cell.value is not None else "n"), cell.coordinate
    ws = wb["明细"]
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if cell.value is not None:
                assert cell.data_type == "s", cell.coordinate


def test_each_long_answer_quoted_in_tasks_whole_in_details(wb):
    # Two leads, each answering with Excel's cell limit: 汇总 quotes the start of each, alike and
    # shorter than one lead alone gets, so the cell stays within SUMMARY_LINES lines; 明细 holds
    # both whole (test_details_exact).
    cell = wb["汇总"]["H5"].value
    m = re.fullmatch(
        f"【{YANG}】(甲+){re.escape(TRUNCATION_MARKER)}\n\n"
        f"【{SHI}】(乙+){re.escape(TRUNCATION_MARKER)}",
        cell,
    )
    assert m, cell
    assert len(m[1]) == len(m[2])
    assert SUMMARY_EXCERPT_MIN <= len(m[1]) < SUMMARY_EXCERPT
    assert text_lines(cell, TASK_WIDTH["牵头处室完成情况"]) <= SUMMARY_LINES


# --- 汇总 quotes each answer; 明细, the JSON and the archive keep it whole ---------------------


def numbered(n: int, word: str = "句") -> str:
    """``n`` characters in numbered pieces, so a cut in the wrong place cannot pass."""
    return "".join(f"第{i:03d}{word}，" for i in range(n))[:n]


def one_task(answer: str, plan: str = "") -> Summary:
    """One task, led by 养老服务处 alone, which answered ``answer`` and ``plan``."""
    task = Task("1", "1", "推进养老服务体系建设", "张三", (YANG,), (), False, (CATEGORY_REPORT,))
    master = Master("分解方案.xlsx", "Sheet1", "分解方案", 2022, (task,))
    a = Answer("1", YANG, ROLE_LEAD, answer, "按序时推进", "按序时推进", plan, "养.xlsx", "D5")
    return Summary(
        2022,
        1,
        master,
        (TaskSummary(task, "按序时推进", (a,), (), ()),),
        (DivisionStatus(YANG, True, "养.xlsx", "2022-04-06", 1, 1, ()),),
        (a,),
        (),
        (),
    )


def test_long_answer_quoted_in_tasks_whole_in_details_json_and_archive(tmp_path):
    from workbook_tools.archive import rows_from_summary
    from workbook_tools.summarise import to_json

    answer, plan = numbered(400), numbered(400, "计")
    summary = one_task(answer, plan)
    wb = openpyxl.load_workbook(write_summary(summary, tmp_path / "汇总.xlsx"))
    [task] = rows(wb["汇总"], 3)
    assert task[7] == f"【{YANG}】{answer[:SUMMARY_EXCERPT]}{TRUNCATION_MARKER}"
    assert task[9] == f"【{YANG}】{plan[:SUMMARY_EXCERPT]}{TRUNCATION_MARKER}"
    [detail] = rows(wb["明细"], 2)
    assert detail[6:8] == [answer, plan]
    assert detail[10] == ""  # nothing was cut in 明细: no note
    [said] = to_json(summary)["tasks"][0]["answers"]
    assert (said["answer"], said["plan"]) == (answer, plan)
    [kept] = rows_from_summary(summary, {})
    assert (kept.answer, kept.plan) == (answer, plan)


MARKED = SUMMARY_EXCERPT + len(TRUNCATION_MARKER)  # what a cut text takes: its start and the marker


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("已完成年度目标", "已完成年度目标"),
        (numbered(SUMMARY_EXCERPT), numbered(SUMMARY_EXCERPT)),
        # The marker would not shorten it: whole.
        (numbered(MARKED), numbered(MARKED)),
        (numbered(MARKED + 1), numbered(SUMMARY_EXCERPT) + TRUNCATION_MARKER),
        ("  " + numbered(400) + "\n", numbered(SUMMARY_EXCERPT) + TRUNCATION_MARKER),
        # Excel counts a character outside the BMP twice; a cut never splits one.
        ("😀" * 200, "😀" * (SUMMARY_EXCERPT // 2) + TRUNCATION_MARKER),
        ("a" + "😀" * 200, "a" + "😀" * ((SUMMARY_EXCERPT - 1) // 2) + TRUNCATION_MARKER),
    ],
)
def test_tasks_sheet_quotes_each_answer_up_to_the_excerpt(text, quoted):
    from workbook_tools.summary_rows import task_rows

    [row] = task_rows(one_task(text, text))
    assert row.values[7] == f"【{YANG}】{quoted}"
    assert row.values[9] == f"【{YANG}】{quoted}"
    assert TRUNCATION_MARKER not in text  # a marker in the cell was put there by the cut


def test_tasks_row_height_follows_the_quoted_answer(tmp_path):
    from workbook_tools.cells import MAX_ROW_HEIGHT, row_height
    from workbook_tools.summary_rows import TASK_COLS

    answer, plan = numbered(400), numbered(400, "计")
    wb = openpyxl.load_workbook(write_summary(one_task(answer, plan), tmp_path / "汇总.xlsx"))
    height = wb["汇总"].row_dimensions[3].height
    assert 100 < height < 250, height
    # Quoted whole, the plan alone would need nearly Excel's limit.
    assert row_height([f"【{YANG}】{plan}"], [TASK_COLS[9].width]) > 0.85 * MAX_ROW_HEIGHT
    wb = openpyxl.load_workbook(write_summary(one_task("已完成"), tmp_path / "短.xlsx"))
    assert wb["汇总"].row_dimensions[3].height < 40


def test_tasks_cell_of_very_long_division_names_fits_excel():
    from workbook_tools.summary_rows import _by_division

    names = ["处" * 20_000, "室" * 20_000]  # only a broken master has such names
    cell = _by_division(names, [], "answer", {})
    assert utf16_len(cell) <= CELL_LIMIT and cell.endswith(TRUNCATION_MARKER)


def test_tasks_sheet_layout(wb):
    ws = wb["汇总"]
    assert ws.freeze_panes == "A3"
    assert ws.auto_filter.ref == "A2:K7"
    assert ws.print_title_rows == "$1:$2"
    # Two leads' quoted answers: a tall row, but no taller than SUMMARY_LINES lines.
    assert 100 < ws.row_dimensions[5].height <= lines_height(SUMMARY_LINES)
    assert 20 < ws.row_dimensions[3].height < 100
    # status colours, error rows marked
    assert ws["G3"].fill.fgColor.rgb.endswith("FFF2CC")  # 未报送 (a partner)
    assert ws["G4"].fill.fgColor.rgb.endswith("DDEBF7")  # 按序时推进
    assert ws["G5"].fill.fgColor.rgb.endswith("F8CBAD")  # 滞后
    assert ws["G6"].fill.fgColor.rgb.endswith("FFF2CC")  # 未报送
    assert ws["K6"].fill.fgColor.rgb.endswith("FFC7CE")  # 错误 flag
    assert ws["K3"].fill.fgColor.rgb.endswith("FFC7CE")  # 错误 flag: a partner's 未报送
    assert ws["K4"].fill.fgColor.rgb.endswith("DDEBF7")  # no flag: not marked
    assert ws["C3"].alignment.wrap_text
    assert ws["C3"].font.name == "宋体"
    assert ws["A2"].font.name == "黑体"


def test_print_settings_every_sheet(wb):
    for ws in wb.worksheets:
        want = "portrait" if ws.title == "总览" else "landscape"
        assert ws.page_setup.orientation == want, ws.title
        assert int(ws.page_setup.paperSize) == 9, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToWidth in (1, None), ws.title  # 1 is the default, may be omitted
        assert ws.page_setup.fitToHeight == 0, ws.title  # as many pages as the rows need
    # 明细 keeps its header in row 1 for pivot tables; on paper its title is the page header.
    assert "2022年第一季度各处室（单位）填报明细" in wb["明细"].oddHeader.center.text


# --- 总览 --------------------------------------------------------------------------------------


def test_overview(wb):
    ws = wb["总览"]
    assert ws["A1"].value == "2022年市《政府工作报告》民政工作第一季度完成情况汇总"
    values = rows(ws, 1)
    first = {r[0]: r[1:] for r in values if r[0] is not None}
    # 报送情况: expected, submitted, missing, rate
    header_row = next(i for i, r in enumerate(values) if r[0] == "应报送处室（单位）")
    assert values[header_row + 1][:5] == [4, 3, 1, 0.75, 1]
    assert first["未报送处室（单位）"][0] == CAI
    assert first["报送不完整处室（单位）"][0] == SHI  # task 5 left empty
    # tasks by 总体状态: the worst of every expected division's
    # (task 1's lead said 已完成, but its partner 规划财务处 did not report)
    states = next(i for i, r in enumerate(values) if r[:3] == ["进展状态", "事项数", "占比"])
    by_state = {r[0]: r[1:3] for r in values[states + 1 : states + 8]}
    assert by_state == {
        "已完成": [0, 0],
        "按序时推进": [1, 0.2],
        "滞后": [1, 0.2],
        "未启动": [0, 0],
        "未填写": [1, 0.2],
        "未报送": [2, 0.4],
        "合计": [5, 1],
    }
    # by category and by leader: total then one column per state
    assert first["政府工作报告"][:7] == [3, 0, 0, 0, 0, 1, 2]
    assert first["政府工作报告、民生实事"][:5] == [1, 0, 0, 1, 0]
    assert first["张三"][:7] == [2, 0, 0, 1, 0, 0, 1]
    assert first["李四"][0] == 2
    assert first["王五"][0] == 1
    # flags by type and severity: total, 错误, 警告, 提示
    assert first["未报送"][0] == 1  # (status table row comes first; the flag rows follow)
    flag_rows = [r for r in values if r[0] in ("疑似公式", "进度滞后", "状态不一致")]
    assert [r[:5] for r in flag_rows] == [
        ["进度滞后", 1, 0, 1, 0],
        ["状态不一致", 1, 0, 1, 0],
        ["疑似公式", 1, 0, 0, 1],
    ]


def test_overview_charts(written, wb):
    with zipfile.ZipFile(written) as z:
        charts = [n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
        assert len(charts) == 3
        xml = z.read("xl/charts/chart1.xml").decode("utf-8")
        assert "总览" in xml and "任务进展状态" in xml
    assert len(wb["总览"]._charts) == 3


def _overview_missing(tmp_path, names: list[str]) -> str:
    master = Master("分解方案.xlsx", "Sheet1", "分解方案", 2022, ())
    statuses = tuple(DivisionStatus(n, False, "", "", 0, 0, ()) for n in names)
    out = write_summary(Summary(2022, 1, master, (), statuses, (), (), ()), tmp_path / "s.xlsx")
    listed = rows(openpyxl.load_workbook(out)["报送情况"], 3)
    assert [r[0] for r in listed[: len(names)]] == names  # every one listed there
    return next(
        r[1] for r in rows(openpyxl.load_workbook(out)["总览"], 1) if r[0] == "未报送处室（单位）"
    )


def test_overview_names_the_first_30_units_not_submitted(tmp_path):
    # A bureau's dozen units are all named on 总览; of a province's hundreds, the first 30, with
    # how many there are and where the full list is.
    names = [f"某某区某某街道社区服务中心{n:04d}" for n in range(1600)]
    assert _overview_missing(tmp_path, names[:30]) == "、".join(names[:30])
    assert _overview_missing(tmp_path, names) == (
        "、".join(names[:30]) + "等 1600 个（完整名单见“报送情况”工作表）"
    )


def test_overview_missing_list_cut_to_a_cell(tmp_path):
    # Units with very long names: what is listed is cut to Excel's cell limit, with a marker.
    names = [f"{'某' * 1200}{n:02d}" for n in range(30)]
    listed = _overview_missing(tmp_path, names)
    assert len(listed) <= CELL_LIMIT
    assert listed.endswith("……（未列全，完整名单见“报送情况”工作表）")
    assert listed.startswith("、".join(names[:20]))


def _chart_units(path: Path) -> list[list[str]]:
    """The majorUnit values on each chart of a summary, chart by chart."""
    with zipfile.ZipFile(path) as z:
        names = sorted(n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n))
        return [re.findall(r'<c:majorUnit val="([^"]*)"', z.read(n).decode()) for n in names]


def test_overview_chart_steps_follow_the_counts(written, tmp_path):
    # A few tasks: every chart marks each task, no 0.5 steps.
    assert _chart_units(written) == [["1"], ["1"], ["1"]]
    # A province plan: 11 tasks of one leader and category, none reported. A step of one task
    # would draw a gridline and a label per task (thousands); Excel chooses the steps instead.
    tasks = tuple(
        Task(str(n), str(n), f"事项{n}", "张三", (YANG,), (), False, (CATEGORY_REPORT,))
        for n in range(1, 12)
    )
    master = Master("分解方案.xlsx", "Sheet1", "分解方案", 2022, tasks)
    summary = Summary(
        2022,
        1,
        master,
        tuple(TaskSummary(t, "", (), (), ()) for t in tasks),
        (DivisionStatus(YANG, False, "", "", len(tasks), 0, ()),),
        (),
        (),
        (),
    )
    out = write_summary(summary, tmp_path / "汇总.xlsx")
    assert _chart_units(out) == [[], [], []]
    # Ten tasks still get a step of one.
    small = Summary(2022, 1, master, summary.tasks[:10], summary.divisions, (), (), ())
    assert _chart_units(write_summary(small, tmp_path / "十项.xlsx")) == [["1"], ["1"], ["1"]]


# --- 报送情况 ----------------------------------------------------------------------------------


def test_divisions_sheet(wb):
    ws = wb["报送情况"]
    assert [c.value for c in ws[2]] == [
        "处室（单位）",
        "报送状态",
        "采用文件",
        "填报时间",
        "填报人",
        "审核人",
        "联系电话",
        "应报事项数",
        "已填报事项数",
        "问题",
    ]
    data = rows(ws, 3)
    assert data[0] == [
        YANG,
        "已报送",
        "养老服务处.xlsx",
        "2022-04-06",
        "张三",
        "李四",
        "027-12345678",
        3,
        3,
        "重复报送、疑似公式",
    ]
    assert data[3] == [CAI, "未报送", "", "", "", "", "", 2, 0, "未报送"]
    assert ws["A6"].fill.fgColor.rgb.endswith("FFF2CC")
    assert ws["A3"].fill.fgColor.rgb in (None, "00000000")
    assert ws.auto_filter.ref == "A2:J6"
    assert ws.max_row == 6  # the files received are on a sheet of their own
    assert ws.print_title_rows == "$1:$2"


def test_files_sheet_lists_every_file_under_its_own_headings(wb):
    """Its own sheet, so its own rows repeat on every printed page (a sheet has one set)."""
    ws = wb["报送情况（收到的文件）"]
    assert ws["A1"].value == "2022年第一季度收到的文件"
    assert [c.value for c in ws[2]] == ["识别为处室（单位）", "是否采用", "文件", "说明"]
    data = rows(ws, 3)
    assert [YANG, "未采用", "养老服务处(1).xlsx", "重复报送，采用较新的文件"] in data
    assert [YANG, "采用", "养老服务处.xlsx"] in [r[:3] for r in data]
    unused = 3 + [r[1] for r in data].index("未采用")
    assert ws[f"D{unused}"].fill.fgColor.rgb.endswith("FFF2CC")  # not used: marked like 未报送
    assert ws["B3"].alignment.horizontal == "center"
    assert ws.print_title_rows == "$1:$2" and ws.freeze_panes == "A3"
    assert ws.auto_filter.ref == f"A2:D{2 + len(data)}"


# --- 问题清单 ----------------------------------------------------------------------------------


def test_flags_sorted_by_severity_stable(wb):
    ws = wb["问题清单"]
    assert [c.value for c in ws[2]] == ["严重程度", "问题类型", "处室", "序号", "说明", "来源文件"]
    data = rows(ws, 3)
    assert [(r[0], r[1]) for r in data] == [
        ("错误", "未报送"),
        ("错误", "未填写"),
        ("警告", "进度滞后"),
        ("警告", "状态不一致"),
        ("提示", "疑似公式"),
        ("提示", "重复报送"),
    ]
    assert data[2] == ["警告", "进度滞后", JIU, "*1", "社会救助处报告滞后", "社会救助处.xlsx"]
    assert data[0][3] == ""  # no task
    assert ws["A3"].fill.fgColor.rgb.endswith("FFC7CE")
    assert ws.auto_filter.ref == "A2:F8"
    assert ws.freeze_panes == "A3"


# --- 明细 --------------------------------------------------------------------------------------

DETAIL_HEADER = [
    "序号",
    "工作事项",
    "处室",
    "职责",
    "进展状态",
    "进展状态（原文）",
    "完成情况",
    "存在问题及下步打算",
    "来源文件",
    "单元格",
    "备注",
    "类别",
    "分管领导",
]


def test_details_exact(wb):
    ws = wb["明细"]
    assert [c.value for c in ws[1]] == DETAIL_HEADER
    data = rows(ws, 2)
    t1 = "推进养老服务体系建设（牵头单位：市民政局）"
    assert [(r[0], r[2], r[3]) for r in data] == [
        ("*1", YANG, "牵头"),
        ("*1", JIU, "配合"),
        ("*2", JIU, "牵头"),
        ("*2", YANG, "配合"),
        ("3", YANG, "牵头"),
        ("3", SHI, "牵头"),
        ("5", SHI, "牵头"),
    ]
    assert data[0] == [
        "*1",
        t1,
        YANG,
        "牵头",
        "已完成",
        "已完成",
        "=1+1",
        "@SUM(A1)",
        "养老服务处.xlsx",
        "D5",
        "",
        "政府工作报告",
        "张三",
    ]
    assert data[1][6:8] == ["+86 138 0000 0000", "-"]
    assert data[2][6:8] == ['=HYPERLINK("http://x")', "http://example.com"]
    assert data[3][6] == "含控制字符\n和以及孤立代理结束"  # Word's line break kept
    assert data[3][7] == EMOJI
    assert data[3][10] == "删除了控制字符；写入汇总时删除了完成情况中 Excel 无法保存的字符"
    assert data[4][6] == LONG_A  # both long answers in full
    assert data[5][6] == LONG_B
    assert data[6][4:8] == ["", "", "", ""]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:M8"


# --- atomic write ------------------------------------------------------------------------------


def test_target_open_elsewhere_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "汇总.xlsx"
    target.write_bytes(b"old summary")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OutputError) as info:
        write_summary(make_summary(), target)
    message = str(info.value)
    assert str(target) in message
    assert "可能正在被其他程序（如 Excel、WPS）打开" in message
    assert "原文件未改动" in message
    assert target.read_bytes() == b"old summary"
    assert os.listdir(tmp_path) == ["汇总.xlsx"]


def test_folder_not_writable_keeps_old_file(tmp_path):
    target = tmp_path / "汇总.xlsx"
    target.write_bytes(b"old summary")
    # a directory where the temporary file would go makes the write fail
    (tmp_path / f".汇总.xlsx.tmp-{os.getpid()}").mkdir()
    with pytest.raises(OutputError) as info:
        write_summary(make_summary(), target)
    assert "原文件未改动" in str(info.value)
    assert target.read_bytes() == b"old summary"


def test_parent_is_a_file(tmp_path):
    (tmp_path / "a").write_text("x")
    with pytest.raises(OutputError) as info:
        write_summary(make_summary(), tmp_path / "a" / "汇总.xlsx")
    assert "无法创建文件夹" in str(info.value)


def test_replaces_existing_file(tmp_path):
    target = tmp_path / "汇总.xlsx"
    target.write_bytes(b"old summary")
    write_summary(make_summary(), target)
    assert openpyxl.load_workbook(target).sheetnames == list(SUMMARY_SHEETS)
    assert os.listdir(tmp_path) == ["汇总.xlsx"]


def test_empty_summary(tmp_path):
    s = make_summary()
    empty = Summary(s.year, 4, s.master, (), (), (), (), ())
    out = write_summary(empty, tmp_path / "空.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == list(SUMMARY_SHEETS)
    assert wb["总览"]["A1"].value.endswith("第四季度完成情况汇总")
    assert wb["问题清单"]["A3"].value == "未发现问题"


# --- text helpers ------------------------------------------------------------------------------


def test_clean_text():
    assert clean_text("正常文本\t\n\r") == ("正常文本\t\n\r", False)
    assert clean_text("a\x0bb\x00c\x1fd") == ("a\nbcd", True)
    assert clean_text("x\ud800y") == ("xy", True)
    assert clean_text("\ud83d\ude00") == ("😀", False)  # a surrogate pair is joined, not removed
    assert clean_text("😀𠀀") == ("😀𠀀", False)


ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
any_code_points = st.lists(st.integers(0, 0x10FFFF)).map(lambda cps: "".join(map(chr, cps)))


@given(any_code_points)
def test_clean_text_always_writable(s):
    cleaned, removed = clean_text(s)
    cleaned.encode("utf-8")  # no lone surrogates left
    assert not ILLEGAL.search(cleaned)
    assert clean_text(cleaned) == (cleaned, False)
    if not re.search("[\ud800-\udfff]", s):
        # Word's line break (a vertical tab, or Excel's _x000B_ escape of it) becomes a line feed;
        # that is not a removal.
        breaks = re.sub("_x000b_", "\n", s, flags=re.IGNORECASE).replace("\x0b", "\n")
        assert cleaned == ILLEGAL.sub("", breaks)
        assert removed == (cleaned != breaks)


@given(st.text(alphabet="a甲😀", max_size=40), st.integers(0, 3))
def test_fit_cell(s, copies):
    text = s * (CELL_LIMIT // max(len(s), 1)) * copies
    cut, was_cut = fit_cell(text, TRUNCATION_MARKER)
    assert utf16_len(cut) <= CELL_LIMIT
    assert was_cut == (utf16_len(text) > CELL_LIMIT)
    if was_cut:
        assert cut.endswith(TRUNCATION_MARKER)
        assert text.startswith(cut[: -len(TRUNCATION_MARKER)])
    else:
        assert cut == text


@given(st.text(alphabet="a甲😀\n", max_size=300), st.integers(30, 200))
def test_fit_cell_to_a_shorter_limit(text, limit):
    cut, was_cut = fit_cell(text, TRUNCATION_MARKER, limit)
    assert was_cut == (utf16_len(text) > limit)
    if was_cut:
        assert utf16_len(cut) <= limit and cut.endswith(TRUNCATION_MARKER)
        kept = cut[: -len(TRUNCATION_MARKER)]
        assert text.startswith(kept)
        # As much as fits: at most one unit short (a character counted twice did not fit).
        assert utf16_len(kept) >= limit - utf16_len(TRUNCATION_MARKER) - 1
    else:
        assert cut == text


def test_fit_cell_other_marker():
    cut, was_cut = fit_cell("😀" * CELL_LIMIT, DETAIL_TRUNCATION_MARKER)
    assert was_cut and cut.endswith(DETAIL_TRUNCATION_MARKER)
    assert utf16_len(cut) <= CELL_LIMIT


# --- LibreOffice -------------------------------------------------------------------------------


def test_opens_in_libreoffice(written, soffice, tmp_path):
    pdf = soffice.convert(written, "pdf", tmp_path / "pdf")
    assert pdf.stat().st_size > 1000
    again = soffice.convert(written, "xlsx", tmp_path / "xlsx")
    wb = openpyxl.load_workbook(again)
    assert wb.sheetnames == list(SUMMARY_SHEETS)
    ws = wb["汇总"]
    assert ws["H3"].value == f"【{YANG}】=1+1"
    assert ws["H3"].data_type == "s"
    assert wb["明细"]["G2"].value == "=1+1"
    assert wb["明细"]["G2"].data_type == "s"


DIVISION_NAMES = ["养老服务处", "社会救助处", "社会事务处", "政策法规处（局信息中心）", "财务处"]


@given(
    st.lists(st.sampled_from(DIVISION_NAMES), max_size=5),
    st.lists(
        st.tuples(
            st.sampled_from(DIVISION_NAMES),
            st.sampled_from(
                ["", "  ", "已完成年度目标", "第一段\n第二段", "=1+1", "含\x0b控制", "长" * 400]
            ),
        ),
        max_size=6,
    ),
    st.sampled_from(["answer", "plan"]),
    st.dictionaries(st.sampled_from(DIVISION_NAMES), st.booleans()),
)
def test_by_division_in_one_pass_is_the_sorted_listing(divisions, given_answers, field, submitted):
    from workbook_tools import summary_rows

    answers = [Answer("1", d, "牵头", text, "", "", text, "x.xlsx") for d, text in given_answers]
    one_pass = summary_rows._by_division(divisions, answers, field, submitted)
    assert one_pass == summary_rows._by_division_sorted(divisions, answers, field, submitted)


def test_summary_without_tasks_still_has_every_sheet_and_its_details(tmp_path):
    import dataclasses

    empty = dataclasses.replace(make_summary(), tasks=())
    path = write_summary(empty, tmp_path / "汇总.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == list(SUMMARY_SHEETS)
    assert wb["汇总"].max_row == 2 and wb["明细"].max_row == 1 + len(empty.answers)


def test_same_summary_same_bytes(tmp_path):
    a = write_summary(make_summary(), tmp_path / "a.xlsx").read_bytes()
    b = write_summary(make_summary(), tmp_path / "b.xlsx").read_bytes()
    assert a == b


def test_truncation_markers_say_where_the_whole_text_is():
    from workbook_tools.cells import truncation_marker

    assert TRUNCATION_MARKER == truncation_marker("“明细”")
    assert DETAIL_TRUNCATION_MARKER == truncation_marker("来源文件")
    assert TRUNCATION_MARKER == "……（全文见“明细”）"  # short: 汇总 quotes many answers
