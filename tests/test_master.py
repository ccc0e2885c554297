"""read_master: the shipped master's facts, variants built here with openpyxl, LibreOffice re-saves."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import sys
import unicodedata
from pathlib import Path

import openpyxl
import pytest
from conftest import REPO, SHIPPED_MASTER
from hypothesis import example, given
from hypothesis import strategies as st

from workbook_tools.errors import MasterLayoutError
from workbook_tools.master import read_master
from workbook_tools.master_categories import parse_category_note
from workbook_tools.master_divisions import parse_city_units, split_divisions
from workbook_tools.model import CATEGORY_LIVELIHOOD as LIVE
from workbook_tools.model import CATEGORY_REPORT as REPORT

SEED = REPO.parent / "shared" / "seed" / "000_4ce099a43fa14163.txt"
HEADER = ["序号", "工作事项", "分管领导", "牵头处室", "责任处室\n（单位）"]
HINT = "表头应在同一行依次写明：序号、工作事项、分管领导、牵头处室、责任处室（单位）"
TASK_TEXT = "扩大特困人员救助供养范围。（牵头单位：市民政局；责任单位：各区人民政府）"


@pytest.fixture(scope="module")
def shipped():
    return read_master(SHIPPED_MASTER)


def build(
    path: Path,
    rows: list[list[object]],
    *,
    header: list[str] = HEADER,
    title: str | None = "2023年某某工作责任分解方案",
    footnote: str | None = None,
    first_row: int = 1,
    first_col: int = 1,
    merges: tuple[str, ...] = (),
    sheet: str = "Sheet",
) -> Path:
    """A small master: optional title, the header, the rows, an optional footnote."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    r = first_row
    if title is not None:
        ws.cell(r, first_col, title)
        r += 1
    for c, name in enumerate(header):
        ws.cell(r, first_col + c, name)
    for row in rows:
        r += 1
        for c, value in enumerate(row):
            if value is not None:
                ws.cell(r, first_col + c, value)
    if footnote is not None:
        ws.cell(r + 1, first_col, footnote)
    for ref in merges:
        ws.merge_cells(ref)
    wb.save(path)
    return path


def facts(master) -> tuple[int, int, int]:
    return len(master.tasks), len(master.divisions), len(master.assignments)


# ------------------------------------------------------------------ the shipped master


def test_shipped_counts(shipped):
    assert facts(shipped) == (17, 12, 32)
    assert shipped.sheet == "分解方案"
    assert shipped.title == "2022年市《政府工作报告》民政工作责任分解方案"
    assert shipped.year == 2022
    assert shipped.warnings == ()
    assert [t.number for t in shipped.tasks] == [str(n) for n in range(1, 18)]
    assert [t.row for t in shipped.tasks] == list(range(4, 21))
    assert shipped.divisions == (
        "基层政权建设和社区治理处",
        "慈善事业促进和社会工作处",
        "社会组织管理和党建工作处",
        "养老服务处",
        "社会救助处",
        "市低保中心",
        "儿童福利处",
        "规划财务处",
        "政策法规处（局信息中心）",
        "区划地名处",
        "社会事务处",
        "市慈善服务中心",
    )


def test_shipped_stars_and_labels(shipped):
    assert [t.label for t in shipped.tasks][:7] == ["*1", "*2", "*3", "*4", "*5", "*6", "7"]
    assert [t.bureau_leads for t in shipped.tasks] == [True] * 6 + [False] * 11


def test_shipped_division_cells(shipped):
    t6, t10, t13, t14 = (shipped.task(n) for n in ("6", "10", "13", "14"))
    assert t6.leads == ("慈善事业促进和社会工作处", "儿童福利处")
    assert t6.leads_raw == "慈善事业促进和社会工作处\n\n儿童福利处"
    assert t14.leads == ("基层政权建设和社区治理处", "社会事务处")
    assert t13.leads == ("政策法规处（局信息中心）",)
    assert t13.leads_raw == "政策法规处\n（局信息中心）"
    assert t13.partners == ("基层政权建设和社区治理处", "养老服务处")
    assert "政策法规处（局信息中心）" in t10.partners
    assert len(t10.partners) == 5
    assert shipped.task("1").partners == () and shipped.task("1").partners_raw == ""
    assert [t.leader for t in shipped.tasks[:3]] == ["孙家同", "彭莉莉", "张明武"]
    assert {t.number for t in shipped.tasks_of("市低保中心")} == {"5", "15", "16"}


def test_shipped_categories(shipped):
    by_number = {t.number: t.categories for t in shipped.tasks}
    assert by_number["3"] == (REPORT, LIVE)
    assert shipped.task("3").category == "政府工作报告、民生实事"
    for n in ("4", "5", "6", "17"):
        assert by_number[n] == (LIVE,)
    for n in ("1", "2", *map(str, range(7, 17))):
        assert by_number[n] == (REPORT,)
    assert shipped.footnote.startswith("*为我局牵头任务，第3项为市《政府工作报告》")


def test_shipped_city_units(shipped):
    t17 = shipped.task("17")
    assert t17.city_leads == ("市卫生健康委",)
    assert t17.city_partners == ("市民政局", "市财政局", "市红十字会")
    assert shipped.task("1").city_leads == ("市民政局",)
    assert shipped.task("1").city_partners == ("市住房保障房管局", "各区人民政府")


@pytest.mark.skipif(not SEED.exists(), reason="seed text not present")
def test_shipped_texts_equal_the_seed(shipped):
    # Independent of the generator: every tab-led seed line carrying a 牵头单位 parenthesis.
    lines = SEED.read_text(encoding="utf-8").split("\n")
    annex1 = lines[: lines.index("附件2")]
    seed_texts = [line[1:] for line in annex1 if line.startswith("\t") and "（牵头单位：" in line]
    assert len(seed_texts) == 17
    assert [t.text for t in shipped.tasks] == seed_texts


@pytest.mark.skipif(not SEED.exists(), reason="seed text not present")
def test_make_master_is_deterministic_and_shipped_is_current(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location(
        "make_master", REPO / "scripts" / "make_master.py"
    )
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_master", module)  # dataclasses look it up
    spec.loader.exec_module(module)
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    assert module.main([str(SEED), "-o", str(a)]) == 0
    assert module.main([str(SEED), "-o", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    # The shipped file says the same: other xlsxwriter versions write other bytes.
    assert _workbook_meaning(a) == _workbook_meaning(SHIPPED_MASTER)


def _workbook_meaning(path):
    """Every cell's value and look, merges, sizes, panes and print settings, sheet by sheet."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        cells = {
            c.coordinate: (
                c.value,
                c.font.b,
                c.font.name,
                c.alignment.wrap_text,
                c.border.left.style,
            )
            for row in ws.iter_rows()
            for c in row
        }
        out[ws.title] = (
            cells,
            sorted(str(r) for r in ws.merged_cells.ranges),
            {k: d.width for k, d in ws.column_dimensions.items()},
            # in whole pixels: newer xlsxwriter versions write heights rounded to them
            {k: round(d.height * 4 / 3) for k, d in ws.row_dimensions.items() if d.height},
            ws.freeze_panes,
            ws.print_title_rows,
            ws.sheet_state,
        )
    return out


def test_shipped_layout():
    wb = openpyxl.load_workbook(SHIPPED_MASTER)
    assert wb.sheetnames == ["分解方案"]
    ws = wb.active
    assert ws.sheet_state == "visible"
    assert ws["A1"].value == "附件1"
    assert ws["A2"].value == "2022年市《政府工作报告》民政工作责任分解方案"
    assert [c.value for c in ws[3]] == [*HEADER, "量化指标"]
    assert ws["A4"].value == "*1" and ws["A10"].value == 7
    assert {str(r) for r in ws.merged_cells.ranges} == {"A2:F2", "A21:F21"}
    assert ws["A21"].value.startswith("*为我局牵头任务")
    assert ws.freeze_panes == "A4"
    assert ws.print_title_rows == "$3:$3"
    assert ws.page_setup.orientation == "landscape"
    assert str(ws.page_setup.paperSize) == "9"
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    # fitToWidth is omitted when it is the default, 1
    assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0)
    assert ws["B4"].font.name == "宋体" and ws["A3"].font.name == "黑体"
    assert ws["A2"].font.sz > ws["B4"].font.sz
    assert ws["E13"].alignment.wrap_text and ws["E13"].border.left.style == "thin"
    assert wb.properties.created.year == 2022


def test_reading_never_changes_the_file(tmp_path):
    copy = tmp_path / "m.xlsx"
    shutil.copy2(SHIPPED_MASTER, copy)
    before = (hashlib.sha256(copy.read_bytes()).hexdigest(), copy.stat().st_mtime_ns)
    read_master(copy)
    assert (hashlib.sha256(copy.read_bytes()).hexdigest(), copy.stat().st_mtime_ns) == before


# ------------------------------------------------------------------ LibreOffice re-saves


@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_libreoffice_resave_reads_the_same(soffice, shipped, tmp_path, fmt):
    out = soffice.convert(SHIPPED_MASTER, fmt, tmp_path)
    master = read_master(out)
    assert facts(master) == (17, 12, 32)
    assert master.tasks == shipped.tasks
    assert (master.title, master.year, master.footnote) == (
        shipped.title,
        shipped.year,
        shipped.footnote,
    )
    # By content, not by suffix: the same file renamed .xlsx still reads.
    renamed = tmp_path / f"renamed-{fmt}.xlsx"
    shutil.copy(out, renamed)
    assert read_master(renamed).tasks == shipped.tasks


@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_libreoffice_keeps_merged_leaders(soffice, tmp_path, fmt):
    src = build(
        tmp_path / "merged.xlsx",
        [[1, "甲", "孙家同", "养老服务处", ""], [2, "乙", None, "社会救助处", ""]],
        merges=("C3:C4",),
    )
    master = read_master(soffice.convert(src, fmt, tmp_path / "out"))
    assert [t.leader for t in master.tasks] == ["孙家同", "孙家同"]


# ------------------------------------------------------------------ variants


def test_merged_leader_belongs_to_every_row(tmp_path):
    path = build(
        tmp_path / "m.xlsx",
        [
            ["*1", TASK_TEXT, "张明武", "社会救助处", "市低保中心"],
            ["*2", "乙", None, "养老服务处", None],
            [3, "丙", None, "儿童福利处", None],
            [4, "丁", "彭莉莉", "儿童福利处", None],
        ],
        merges=("C3:C5",),
    )
    master = read_master(path)
    assert [t.leader for t in master.tasks] == ["张明武", "张明武", "张明武", "彭莉莉"]


def test_merged_number_joins_division_rows(tmp_path):
    path = build(
        tmp_path / "m.xlsx",
        [[1, "甲", "张明武", "养老服务处", "社会救助处"], [None, None, None, "儿童福利处", None]],
        merges=("A3:A4", "B3:B4", "C3:C4"),
    )
    master = read_master(path)
    assert len(master.tasks) == 1
    assert master.tasks[0].leads == ("养老服务处", "儿童福利处")
    assert master.tasks[0].partners == ("社会救助处",)
    assert not [w for w in master.warnings if w.startswith("第")]


def test_other_separators(tmp_path):
    path = build(
        tmp_path / "m.xlsx",
        [
            [1, "甲", "张", "养老服务处、社会救助处", "市低保中心；儿童福利处"],
            [2, "乙", "张", "区划地名处  社会事务处", "规划财务处\u3000政策法规处 (局信息中心)"],
            [3, "丙", "张", "社会救助处/养老服务处", "养老服务处，市低保中心,社会救助处"],
            [4, "丁", "张", "政策法规处\n（局信息\n中心）", "—"],
        ],
    )
    master = read_master(path)
    t1, t2, t3, t4 = master.tasks
    assert t1.leads == ("养老服务处", "社会救助处")
    assert t1.partners == ("市低保中心", "儿童福利处")
    assert t2.leads == ("区划地名处", "社会事务处")
    assert t2.partners == ("规划财务处", "政策法规处（局信息中心）")
    assert t3.leads == ("社会救助处", "养老服务处")
    assert t3.partners == ("市低保中心",)  # a lead that is also listed as partner is lead only
    assert t3.partners_raw == "养老服务处，市低保中心,社会救助处"
    assert t4.leads == ("政策法规处（局信息中心）",) and t4.partners == ()
    assert len(master.assignments) == 12


def test_split_divisions():
    assert split_divisions("政策法规处\n（局信息中心）\n\n社会救助处\n\n社会救助处") == (
        "政策法规处（局信息中心）",
        "社会救助处",
    )
    assert split_divisions(" 养老服务处 ／ 社会事务处 ") == ("养老服务处", "社会事务处")
    assert split_divisions("") == () and split_divisions("无") == ()


def test_shifted_header_with_extra_columns(tmp_path):
    header = [
        "序号",
        "备注一",
        "责任事项",
        "分管局领导",
        "牵头处室（单位）",
        "配合处室",
        "完成时限",
    ]
    path = build(
        tmp_path / "m.xlsx",
        [
            ["＊1", "x", TASK_TEXT, "张明武", "社会救助处", "市低保中心", "6月"],
            [" 2 ", "", "乙", "张明武", "养老服务处", "", "12月"],
            [3.0, "", "丙", "彭莉莉", "儿童福利处", "", ""],
        ],
        header=header,
        title="关于印发2024年工作方案的通知",
        first_row=4,
        first_col=2,
    )
    master = read_master(path)
    assert master.title == "关于印发2024年工作方案的通知" and master.year == 2024
    assert [(t.label, t.number, t.row) for t in master.tasks] == [
        ("*1", "1", 6),
        ("2", "2", 7),
        ("3", "3", 8),
    ]
    assert [t.bureau_leads for t in master.tasks] == [True, False, False]
    assert master.tasks[0].text == TASK_TEXT
    assert master.tasks[0].partners == ("市低保中心",)
    assert master.tasks[1].leader == "张明武"


def test_bureau_leads_from_the_parenthesis(tmp_path):
    text = "某事项。(牵头单位:市民政局;责任单位:市财政局、各区人民政府)"
    path = build(tmp_path / "m.xlsx", [[1, text, "张", "养老服务处", ""]])
    task = read_master(path).tasks[0]
    assert task.bureau_leads and task.label == "1"
    assert (task.city_leads, task.city_partners) == (("市民政局",), ("市财政局", "各区人民政府"))


def test_parse_city_units():
    assert parse_city_units("无括号的事项。") == ((), ())
    assert parse_city_units(
        "甲（乙）。（牵头单位：市商务局；责任单位：市委外办，市教育局、市民政局）"
    ) == (
        ("市商务局",),
        ("市委外办", "市教育局", "市民政局"),
    )


def test_category_column(tmp_path):
    path = build(
        tmp_path / "m.xlsx",
        [
            [1, "甲", "张", "养老服务处", "", "政府工作报告"],
            [2, "乙", "张", "养老服务处", "", "民生实事"],
            [3, "丙", "张", "养老服务处", "", "政府工作报告、民生实事"],
            [4, "丁", "张", "养老服务处", "", "双重任务"],
            [5, "戊", "张", "养老服务处", "", "其他"],
        ],
        header=[*HEADER, "类别"],
        footnote="*第1-5项为市政府民生实事",  # the column wins over the footnote
    )
    master = read_master(path)
    assert [t.categories for t in master.tasks] == [
        (REPORT,),
        (LIVE,),
        (REPORT, LIVE),
        (REPORT, LIVE),
        (REPORT,),
    ]
    assert master.warnings == ("第7行（序号 5）：类别“其他”无法识别，按“政府工作报告”处理",)


def test_footnote_ranges_and_notes_below(tmp_path):
    rows = [[n, f"事项{n}", "张", "养老服务处", ""] for n in range(1, 6)]
    path = build(
        tmp_path / "m.xlsx",
        rows,
        footnote="注：第1至2项为市政府民生实事，其余为市《政府工作报告》任务。",
    )
    ws_path = path
    wb = openpyxl.load_workbook(ws_path)
    wb.active["A12"] = "填表人：张三"  # a note under the table, after a blank row
    wb.save(ws_path)
    master = read_master(ws_path)
    assert len(master.tasks) == 5
    assert master.footnote == "注：第1至2项为市政府民生实事，其余为市《政府工作报告》任务。"
    assert [t.categories for t in master.tasks] == [
        (LIVE,),
        (LIVE,),
        (REPORT,),
        (REPORT,),
        (REPORT,),
    ]
    assert master.warnings == ()


def test_parse_category_note():
    explicit, rest = parse_category_note("第1-3项、第5项为民生实事")
    assert explicit == {"1": (LIVE,), "2": (LIVE,), "3": (LIVE,), "5": (LIVE,)}
    assert rest is None
    explicit, rest = parse_category_note(
        "第2、4项为市《政府工作报告》和民生实事的双重任务，其余是民生实事"
    )
    assert explicit == {"2": (REPORT, LIVE), "4": (REPORT, LIVE)} and rest == (LIVE,)


def test_no_footnote_no_column_defaults_with_warning(tmp_path):
    path = build(tmp_path / "m.xlsx", [[1, "甲", "张", "养老服务处", ""]], title=None)
    master = read_master(path)
    assert master.tasks[0].categories == (REPORT,)
    assert master.title == "" and master.year is None
    assert master.warnings == (
        "表头（第1行）上方没有找到标题（应含“方案”或“年”），年度未知",
        "没有“类别”列，脚注中也没有说明各项类别，全部按“政府工作报告”处理",
    )


def test_task_without_division_and_duplicate_number_warn(tmp_path):
    path = build(
        tmp_path / "m.xlsx",
        [
            [1, "甲", "张", "养老服务处", ""],
            [],
            [],
            [5, "乙", "张", "", ""],
            [5, "丙", "张", "社会救助处", ""],
            ["一、其他", "丁", "", "", ""],
            [None, "注意关注这一事项", "张", "养老服务处", ""],  # no 序号: not the footnote
        ],
        footnote="*为我局牵头任务",
    )
    master = read_master(path)
    assert [t.text for t in master.tasks] == ["甲", "乙"]
    assert master.warnings == (
        "第7行（序号 5）：序号与第6行重复，该行已忽略",
        "第8行：序号“一、其他”不是事项编号，该行已跳过",
        "第9行：序号为空，该行已跳过",
        "没有“类别”列，脚注中也没有说明各项类别，全部按“政府工作报告”处理",
        "第6行（序号 5）：没有牵头处室或责任处室，该事项不会分发给任何处室",
    )
    assert master.footnote == "*为我局牵头任务"


# ------------------------------------------------------------------ errors


def test_missing_column_message(tmp_path):
    rows = [[n, f"事项{n}", "张", ""] for n in range(1, 20)]
    path = build(tmp_path / "m.xlsx", rows, header=["序号", "工作事项", "分管领导", "责任处室"])
    with pytest.raises(MasterLayoutError) as info:
        read_master(path)
    assert str(info.value) == (
        f"文件 {path}，工作表 Sheet：找不到表头列“牵头处室”（已查找第1-15行）；{HINT}"
    )
    assert info.value.sheet == "Sheet" and info.value.file == str(path)


def test_no_header_in_a_short_sheet(tmp_path):
    path = tmp_path / "m.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "表1"
    wb.active["A1"] = "随便写的内容"
    wb.active["A3"] = "序号"
    wb.save(path)
    with pytest.raises(MasterLayoutError) as info:
        read_master(path)
    assert str(info.value) == (
        f"文件 {path}，工作表 表1：找不到表头列“工作事项”、“分管领导”、“牵头处室”、“责任处室”"
        f"（已查找第1-3行）；{HINT}"
    )


def test_header_without_tasks(tmp_path):
    path = build(tmp_path / "m.xlsx", [["说明：暂无", "", "", "", ""]])
    with pytest.raises(MasterLayoutError) as info:
        read_master(path)
    assert str(info.value) == (
        f"文件 {path}，工作表 Sheet：表头（第2行）下面没有找到任何事项；"
        "每个事项一行，序号写作 1、2、3…，我局牵头的写作 *1"
    )


def test_not_a_workbook(tmp_path):
    path = tmp_path / "分解方案.xlsx"
    path.write_text("序号,工作事项\n1,甲\n", encoding="utf-8")
    with pytest.raises(MasterLayoutError) as info:
        read_master(path)
    assert str(info.value) == (
        f"文件 {path}：不是Excel工作簿（应为.xlsx、.xls或.ods）；请用Excel或WPS打开后另存为.xlsx"
    )


def test_html_and_corrupt_files(tmp_path):
    html = tmp_path / "a.xls"
    html.write_text("<html><body><table><tr><td>序号</td></tr></table></body></html>")
    with pytest.raises(MasterLayoutError, match="网页"):
        read_master(html)
    truncated = tmp_path / "b.xlsx"
    truncated.write_bytes(SHIPPED_MASTER.read_bytes()[:3000])
    with pytest.raises(MasterLayoutError, match="损坏"):
        read_master(truncated)


def test_a_parser_panic_is_a_master_error_not_a_crash(tmp_path, monkeypatch):
    # python-calamine is Rust: a panic on a malformed file reaches Python as pyo3's
    # PanicException, a BaseException, which `except Exception` let through as a traceback.
    import python_calamine

    class PanicException(BaseException):  # what pyo3 raises, by its base class
        pass

    class Panicking:
        @staticmethod
        def from_filelike(_):
            raise PanicException("index out of bounds")

    monkeypatch.setattr(python_calamine, "CalamineWorkbook", Panicking)
    with pytest.raises(MasterLayoutError) as info:
        read_master(SHIPPED_MASTER)
    assert str(info.value) == (
        f"文件 {SHIPPED_MASTER}：无法读取工作簿（PanicException: index out of bounds）；"
        "文件可能已损坏或加密，请用Excel或WPS打开后另存为.xlsx"
    )
    monkeypatch.setattr(Panicking, "from_filelike", staticmethod(lambda _: 1 / 0), raising=True)
    with pytest.raises(MasterLayoutError, match="ZeroDivisionError"):
        read_master(SHIPPED_MASTER)

    def interrupted(_):
        raise KeyboardInterrupt

    monkeypatch.setattr(Panicking, "from_filelike", staticmethod(interrupted), raising=True)
    with pytest.raises(KeyboardInterrupt):
        read_master(SHIPPED_MASTER)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.xlsx"
    with pytest.raises(MasterLayoutError) as info:
        read_master(path)
    assert str(info.value) == (f"文件 {path}：找不到分解方案文件；请检查文件路径和文件名是否正确")


def test_a_plan_ten_times_a_province_is_read_whole(tmp_path):
    """20,000 tasks (ten times a province's 2,000, as benchmarks/run.py --divisions 2000 makes)
    span more than 20,000 rows with title, header and footnote: read, not refused. Here the
    footnote alone lies that far down."""
    import xlsxwriter

    path = tmp_path / "大表.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("分解方案")
    ws.write_row(0, 0, ["序号", "工作事项", "分管领导", "牵头处室", "责任处室"])
    ws.write_row(1, 0, ["1", "某项工作", "张三", "养老服务处", ""])
    ws.write_row(2, 0, ["2", "另一项工作", "张三", "养老服务处", ""])
    ws.write_string(20_004, 0, "*第2项为市政府民生实事")
    wb.close()
    master = read_master(path)
    assert [t.number for t in master.tasks] == ["1", "2"]
    assert master.footnote == "*第2项为市政府民生实事"
    assert master.tasks[1].categories == ("民生实事",)


def test_a_master_longer_than_the_cap_is_refused_not_cut(tmp_path):
    """Rows past the read cap are refused, not dropped silently with the footnote."""
    import xlsxwriter

    from workbook_tools.master_file import MAX_ROWS

    path = tmp_path / "长表.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("分解方案")
    ws.write_row(0, 0, ["序号", "工作事项", "分管领导", "牵头处室", "责任处室"])
    ws.write_row(1, 0, ["1", "某项工作", "张三", "养老服务处", ""])
    ws.write_string(MAX_ROWS + 4, 0, "*为我局牵头任务")
    wb.close()
    with pytest.raises(MasterLayoutError) as err:
        read_master(path)
    assert str(err.value) == (
        f"文件 {path}，工作表 分解方案：工作表第 {MAX_ROWS + 5} 行仍有内容，超过可读取的 {MAX_ROWS} 行；"
        "请删除表格下方多余的内容，或把分解方案拆成几个文件分别处理"
    )


def test_a_cell_far_away_is_refused_before_calamine_sees_it(tmp_path):
    """Regression: one stray cell at XFD1048576 made python-calamine abort the whole process."""
    import xlsxwriter

    path = tmp_path / "远处有字.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("分解方案")
    ws.write_row(0, 0, ["序号", "工作事项", "分管领导", "牵头处室", "责任处室"])
    ws.write_row(1, 0, ["1", "某项工作", "张三", "养老服务处", ""])
    ws.write_string(1048575, 16383, "误输入")
    wb.close()
    with pytest.raises(MasterLayoutError) as err:
        read_master(path)
    assert str(path) in str(err.value) and "XFD1048576" in str(err.value)


UNIT_TEXT = st.lists(
    st.one_of(
        st.text(max_size=8),
        st.sampled_from(
            ["（", "(", "﹙", "）", ")", "牵头单位", "责任单位", "配合单位", "：", ":", "；", "、",
             "市民政局", "⑴", "ｘ", "　", " "]
        ),
    ),
    max_size=14,
).map("".join)  # fmt: skip


STRUCTURED_UNIT_TEXT = st.tuples(
    UNIT_TEXT,
    st.sampled_from(["（", "(", "﹙", "⑴"]),
    st.sampled_from(["牵头单位", "责任单位", "配合单位"]),
    st.sampled_from(["：", ":", " : "]),
    UNIT_TEXT,
    st.sampled_from(["）", ")", "﹚", ""]),
    UNIT_TEXT,
).map("".join)


@given(st.one_of(UNIT_TEXT, STRUCTURED_UNIT_TEXT))
@example("任务内容（牵头单位：市民政局；责任单位：各区政府）")
@example("⑴（牵头单位：甲）（责任单位：乙）")
@example("说明(责任单位:乙、丙)")
@example("﹙配合单位：丁﹚")
def test_city_units_need_only_the_normalised_tail(text):
    from workbook_tools import master_divisions

    fast = master_divisions.parse_city_units(text)
    original = master_divisions._normalise_tail
    try:
        master_divisions._normalise_tail = lambda t: unicodedata.normalize("NFKC", t)
        assert master_divisions.parse_city_units(text) == fast
    finally:
        master_divisions._normalise_tail = original
