"""template.py: the Annex 2 writer. Every file written is reopened and checked by meaning."""

from __future__ import annotations

import math
import os
import re
import string
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from workbook_tools import layout
from workbook_tools.cells import MAX_ROW_HEIGHT
from workbook_tools.errors import InputError, OutputError
from workbook_tools.files import safe_filename
from workbook_tools.layout import role_text
from workbook_tools.model import STATUSES, Master, Task
from workbook_tools.template import build_template
from workbook_tools.template_files import TemplateInfo, write_template, write_templates
from workbook_tools.template_guide import EXCEL_ROW_CHARS

SHIPPED_MASTER = Path(__file__).resolve().parent.parent / "master" / "分解方案.xlsx"

YEAR, QUARTER = 2022, 1
JC = "基层政权建设和社区治理处"
CS = "慈善事业促进和社会工作处"
SZ = "社会组织管理和党建工作处"
YL = "养老服务处"
JZ = "社会救助处"
DB = "市低保中心"
ET = "儿童福利处"
ZC = "政策法规处（局信息中心）"
QH = "区划地名处"
SW = "社会事务处"


def task(number, text, leads, partners=(), star=False) -> Task:
    return Task(
        number=number,
        label=("*" if star else "") + number,
        text=text,
        leader="张明武",
        leads=tuple(leads),
        partners=tuple(partners),
        bureau_leads=star,
        categories=("政府工作报告",),
    )


# Tasks from the seed, with their texts exactly (task 7 is the longest one).
SEED_TASKS = (
    task(
        "1",
        "加强社区居委会、业委会、物业公司联动，提升物业管理服务水平。（牵头单位：市民政局；责任单位：市住房保障房管局，各区人民政府）",
        [JC],
        star=True,
    ),
    task(
        "2",
        "强化“五社联动”，推动社会治理重心下移，提升社区工作者队伍社会化、职业化、专业化水平。（牵头单位：市民政局；责任单位：各区人民政府）",
        [CS],
        [JC, SZ],
        star=True,
    ),
    task(
        "5",
        "扩大特困人员救助供养范围。（牵头单位：市民政局；责任单位：各区人民政府）",
        [JZ],
        [DB],
        star=True,
    ),
    task(
        "6",
        "建设街道（乡镇）社工站140个。为11个区级儿童福利指导中心增配专业社工。（牵头单位：市民政局；责任单位：各区人民政府）",
        [CS, ET],
        star=True,
    ),
    task(
        "7",
        "实施总部经济、枢纽经济、流量经济、楼宇经济四大提能行动，引进培育总部企业20家，实施服务业重大项目15个，"
        "新增规模以上服务业企业300家，打造一批百亿元服务业集聚区。加快发展金融保险、研发设计、信息服务、会展、"
        "人力资源、法律会计等生产性服务业，争取数字人民币试点，加快建设区域金融中心、世界设计之都、中国软件特色名城。"
        "提升健康、家政、物业、租赁等生活性服务业发展水平。（牵头单位：市发展改革委；责任单位：市委网信办，"
        "市经济和信息化局、市司法局、市民政局、市人社局、市城乡建设局、市商务局、市卫生健康委、市住房保障房管局、"
        "市市场监管局、市地方金融工作局，各区人民政府）",
        [YL],
    ),
    task(
        "10",
        "深入实施规划同编、交通同网、产业同链、科技同兴、民生同保。（牵头单位：市发展改革委；责任单位：市委外办，各区人民政府）",
        [SZ],
        [ZC, JZ, QH, SW, YL],
    ),
    task(
        "13",
        "建设国家智能社会治理实验基地。（牵头单位：市委网信办；责任单位：市发展改革委、市民政局，各区人民政府）",
        [ZC],
        [JC, YL],
    ),
)


def make_master(tasks=SEED_TASKS) -> Master:
    return Master(
        source="分解方案.xlsx", sheet="Sheet1", title="分解方案", year=YEAR, tasks=tuple(tasks)
    )


@pytest.fixture
def master() -> Master:
    return make_master()


@pytest.fixture
def written(master, tmp_path) -> list[TemplateInfo]:
    return write_templates(master, YEAR, QUARTER, tmp_path / "outbox")


def load(path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path)


def info_of(infos, division) -> TemplateInfo:
    (info,) = [i for i in infos if i.division == division]
    return info


def task_rows(ws, n):
    first = layout.ROW_FIRST_TASK
    return [[ws.cell(r, c).value for c in range(1, 7)] for r in range(first, first + n)]


# ------------------------------------------------------------------------------- data sheet


def test_one_file_per_division_in_master_order(master, written):
    assert [i.division for i in written] == list(master.divisions)
    for info in written:
        assert info.path.name == safe_filename(layout.file_stem(YEAR, QUARTER, info.division))
        assert info.path.is_file()
        tasks = master.tasks_of(info.division)
        assert info.led + info.assisted == len(tasks)
    assert sum(i.led + i.assisted for i in written) == len(master.assignments)
    assert (info_of(written, CS).led, info_of(written, CS).assisted) == (2, 0)
    assert (info_of(written, YL).led, info_of(written, YL).assisted) == (1, 2)
    # No temporary files are left behind.
    assert sorted(p.name for p in written[0].path.parent.iterdir()) == sorted(
        i.path.name for i in written
    )


def test_data_sheet_fixed_rows(written):
    info = info_of(written, JC)
    wb = load(info.path)
    assert wb.sheetnames[0] == layout.DATA_SHEET
    assert wb.active.title == layout.DATA_SHEET
    ws = wb[layout.DATA_SHEET]
    assert ws.sheet_state == "visible"
    assert ws["A1"].value == "附件2"
    title = layout.title(YEAR, QUARTER, JC)
    assert ws.cell(layout.ROW_TITLE, 1).value == title
    assert f"A{layout.ROW_TITLE}:F{layout.ROW_TITLE}" in {str(r) for r in ws.merged_cells.ranges}
    assert layout.parse_title(title) == (YEAR, QUARTER, JC)
    # 填报单位 (written, locked, A..C) and 填报日期 in row 3; 填报人, 审核人, 联系电话 in row 4.
    unit = ws.cell(layout.ROW_UNIT, 1)
    assert unit.value == f"填报单位：{JC}" and unit.protection.locked
    assert f"A{layout.ROW_UNIT}:C{layout.ROW_UNIT}" in {str(r) for r in ws.merged_cells.ranges}
    assert [ws.cell(layout.ROW_UNIT, c).value for c in (5, 6)] == ["填报日期", None]
    r = layout.ROW_FILLER
    assert [ws.cell(r, c).value for c in (1, 3, 5)] == ["填报人", "审核人", "联系电话"]
    assert [ws.cell(r, c).value for c in (2, 4, 6)] == [None, None, None]
    for row, col in layout.FILLER_CELLS.values():
        assert ws.cell(row, col + 1).protection.locked  # the label
        assert not ws.cell(row, col + 2).protection.locked  # where its answer goes
    assert layout.ROW_HEADER == layout.ROW_FILLER + 1
    assert tuple(ws.cell(layout.ROW_HEADER, c).value for c in range(1, 7)) == layout.HEADERS
    assert ws.freeze_panes == f"A{layout.ROW_FIRST_TASK}"


def test_task_rows_exact_and_in_master_order(master, written):
    for info in written:
        tasks = master.tasks_of(info.division)
        ws = load(info.path)[layout.DATA_SHEET]
        rows = task_rows(ws, len(tasks))
        assert [r[0] for r in rows] == [t.label for t in tasks]
        assert [r[1] for r in rows] == [t.text for t in tasks]
        assert [r[2] for r in rows] == [role_text(t, info.division) for t in tasks]
        assert all(r[3:] == [None, None, None] for r in rows)
        # Nothing below the table.
        after = layout.ROW_FIRST_TASK + len(tasks)
        assert all(ws.cell(after, c).value is None for c in range(1, 7))
        assert all(isinstance(r[0], str) for r in rows)


def test_role_text():
    t2, t6, t10 = SEED_TASKS[1], SEED_TASKS[3], SEED_TASKS[5]
    assert role_text(SEED_TASKS[0], JC) == "牵头"
    assert role_text(t2, CS) == f"牵头\n配合：{JC}、{SZ}"
    assert role_text(t2, JC) == f"配合\n牵头：{CS}\n其他配合：{SZ}"
    assert role_text(t6, ET) == f"牵头\n共同牵头：{CS}"
    assert role_text(t10, YL) == f"配合\n牵头：{SZ}\n其他配合：{ZC}、{JZ}、{QH}、{SW}"
    with pytest.raises(ValueError):
        role_text(t2, YL)


def test_locked_and_unlocked_cells(master, written):
    info = info_of(written, YL)
    n = len(master.tasks_of(YL))
    ws = load(info.path)[layout.DATA_SHEET]
    unlocked = {f"{c}{layout.ROW_FILLER}" for c in "BDF"} | {f"F{layout.ROW_UNIT}"}
    for r in range(layout.ROW_FIRST_TASK, layout.ROW_FIRST_TASK + n):
        unlocked |= {f"D{r}", f"E{r}", f"F{r}"}
    for r in range(1, layout.ROW_FIRST_TASK + n):
        for c in "ABCDEF":
            ref = f"{c}{r}"
            assert ws[ref].protection.locked == (ref not in unlocked), ref
    assert ws.protection.sheet is True
    assert not ws.protection.password
    assert ws.protection.formatRows is False  # allowed
    assert ws.protection.formatColumns is False
    assert ws.protection.selectLockedCells is False  # allowed
    assert ws.protection.insertRows is True and ws.protection.deleteRows is True


def test_status_dropdown(master, written):
    for info in written:
        n = len(master.tasks_of(info.division))
        ws = load(info.path)[layout.DATA_SHEET]
        (dv,) = ws.data_validations.dataValidation
        assert dv.type == "list"
        assert dv.formula1 == '"' + ",".join(STATUSES) + '"'
        first, last = layout.ROW_FIRST_TASK, layout.ROW_FIRST_TASK + n - 1
        assert str(dv.sqref) == (f"E{first}:E{last}" if n > 1 else f"E{first}")
        assert dv.showErrorMessage and dv.errorStyle in (None, "stop")
        assert all(s in dv.error for s in STATUSES)


def test_print_setup_and_row_heights(master, written):
    info = info_of(written, YL)
    n = len(master.tasks_of(YL))
    ws = load(info.path)[layout.DATA_SHEET]
    assert ws.page_setup.orientation == "landscape"
    assert str(ws.page_setup.paperSize) == "9"
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    # fitToWidth defaults to 1 and xlsxwriter leaves the default out.
    assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows == f"${layout.ROW_TITLE}:${layout.ROW_HEADER}"
    assert ws.print_area == f"'{layout.DATA_SHEET}'!$A$1:$F${layout.ROW_FIRST_TASK + n - 1}"
    assert ws.print_options.horizontalCentered
    heights = [
        ws.row_dimensions[r].height for r in range(layout.ROW_FIRST_TASK, layout.ROW_FIRST_TASK + n)
    ]
    assert all(h and h >= 2 * 14 for h in heights)
    # Task 7, the longest text, is YL's first row and the tallest.
    assert heights[0] == max(heights) and heights[0] > 5 * 14
    widths = {c: ws.column_dimensions[c].width for c in "ABCDEF"}
    assert widths["B"] > widths["C"] > widths["A"]
    # 完成情况 gets the room; 本处室职责 (牵头 / 配合) stays as narrow as its header.
    assert widths["D"] == max(widths.values()) and widths["C"] < 14
    # The header row is plain, as on a printed form: 黑体, ruled, not shaded.
    for c in "ABCDEF":
        header = ws[f"{c}{layout.ROW_HEADER}"]
        assert header.font.name == "黑体" and header.border.bottom.style == "thin"
        assert header.fill.fill_type is None, c
    first_text = ws[f"B{layout.ROW_FIRST_TASK}"]
    assert first_text.font.name == "宋体" and first_text.alignment.wrap_text
    assert ws["A2"].font.sz >= 15
    assert first_text.border.left.style == "thin"


def test_hostile_task_texts_stay_strings(tmp_path):
    texts = [
        "=SUM(A1:A3)",
        "http://example.com/a",
        "+1-2",
        "@cmd",
        "0012",
        "1e5",
        "  两端空格  ",
        "a\tb\r\nc",
        "literal _x000D_ stays literal",
        "vertical\x0btab from Word",
    ]
    tasks = [task(str(i), t, [YL]) for i, t in enumerate(texts, start=1)]
    m = make_master(tasks)
    info = write_template(m, YL, YEAR, QUARTER, tmp_path / "t.xlsx")
    with zipfile.ZipFile(info.path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet and "hyperlink" not in sheet
        assert "xl/worksheets/_rels/sheet1.xml.rels" not in z.namelist()
    # xlsxwriter stores \r as _x000D_ (as Excel does); calamine decodes it, openpyxl does not.
    sheet = CalamineWorkbook.from_path(info.path).get_sheet_by_name(layout.DATA_SHEET).to_python()
    got = [row[1] for row in sheet[layout.ROW_FIRST_TASK - 1 :]]
    assert got == texts


def test_too_long_text_is_refused_not_truncated(tmp_path):
    m = make_master([task("1", "字" * 32768, [YL])])
    with pytest.raises(InputError, match="32767") as refused:
        write_template(m, YL, YEAR, QUARTER, tmp_path / "t.xlsx")
    assert f"单元格 B{layout.ROW_FIRST_TASK}" in str(refused.value)
    assert not (tmp_path / "t.xlsx").exists()


def test_bad_period_and_unknown_division(master, tmp_path):
    with pytest.raises(InputError, match="季度"):
        build_template(master, YL, YEAR, 5)
    with pytest.raises(InputError, match="年度"):
        build_template(master, YL, 22, 1)
    with pytest.raises(InputError, match="没有牵头或配合"):
        build_template(master, "不存在处", YEAR, QUARTER)


# ------------------------------------------------------------------------------- guide sheet


def test_guide_sheet(written):
    info = info_of(written, JZ)
    wb = load(info.path)
    assert wb.sheetnames == [layout.DATA_SHEET, layout.GUIDE_SHEET, layout.IDENTITY_SHEET]
    ws = wb[layout.GUIDE_SHEET]
    assert ws.sheet_state == "visible"
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    for word in (
        *STATUSES,
        layout.COL_ANSWER,
        layout.COL_STATUS,
        layout.COL_PLAN,
        "必填",
        ".xlsx",
        "邮件",
        JZ,
        "2022年第一季度",
    ):
        assert word in text, word
    assert "全年目标已完成" in text and "尚未开展" in text and "进度与时间进度相符" in text
    assert str(ws.page_setup.paperSize) == "9" and ws.sheet_properties.pageSetUpPr.fitToPage
    # What the * before a 序号 means, and that rows grow with what is typed.
    assert "标有“*”的事项，由我局（市民政局）作为全市的牵头单位" in text
    assert "行高随内容自动增加" in text and f"约 {EXCEL_ROW_CHARS} 字" in text


def test_task_rows_have_a_height_but_grow_with_the_answer(master, written):
    """Task rows open at a computed height, but not one marked as set by hand (customHeight),
    which Excel, WPS and LibreOffice would keep however much is typed; the fixed rows above the
    table keep theirs."""
    for info in written:
        n = len(master.tasks_of(info.division))
        with zipfile.ZipFile(info.path) as z:
            sheet = z.read("xl/worksheets/sheet1.xml").decode()
        rows = {int(m[1]): m[0] for m in re.finditer(r'<row r="(\d+)"[^>]*>', sheet)}
        tasks = range(layout.ROW_FIRST_TASK, layout.ROW_FIRST_TASK + n)
        assert set(tasks) <= set(rows)
        for r in tasks:
            assert 'ht="' in rows[r] and "customHeight" not in rows[r], (info.division, r)
        for r in (layout.ROW_TITLE, layout.ROW_HEADER):
            assert 'customHeight="1"' in rows[r]


def test_excel_row_chars_is_what_a_409_pt_row_holds(master, written):
    """The guide's EXCEL_ROW_CHARS is no more than the row-height model gives for the answer
    column of every template of the shipped master."""
    for info in written:
        width = load(info.path)[layout.DATA_SHEET].column_dimensions["D"].width
        per_line = math.floor((width - 1.5) * 0.9 / 2)
        lines = math.floor((MAX_ROW_HEIGHT - 6) / (11 * 1.45))
        assert EXCEL_ROW_CHARS <= per_line * lines, (info.division, width)


# ------------------------------------------------------------------------------- identity


def check_identity(wb, master, division, *, year=YEAR, quarter=QUARTER):
    assert wb.active.title == layout.DATA_SHEET
    ws = wb[layout.IDENTITY_SHEET]
    assert ws.sheet_state == "hidden"
    assert ws["A1"].value == layout.IDENTITY_BANNER
    keys = [(ws.cell(r, 1).value, ws.cell(r, 2).value) for r in range(2, 6)]
    assert keys == [
        (layout.ID_VERSION, layout.TEMPLATE_VERSION),
        (layout.ID_YEAR, str(year)),
        (layout.ID_QUARTER, str(quarter)),
        (layout.ID_DIVISION, division),
    ]
    assert tuple(ws.cell(7, c).value for c in (1, 2, 3)) == layout.ID_TABLE_HEADER
    tasks = master.tasks_of(division)
    table = [tuple(ws.cell(8 + i, c).value for c in (1, 2, 3)) for i in range(len(tasks))]
    assert table == [
        (t.number, str(layout.ROW_FIRST_TASK + i), layout.fingerprint(t.text))
        for i, t in enumerate(tasks)
    ]
    assert ws.cell(8 + len(tasks), 1).value is None
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props == {
        layout.PROP_VERSION: layout.TEMPLATE_VERSION,
        layout.PROP_YEAR: str(year),
        layout.PROP_QUARTER: str(quarter),
        layout.PROP_DIVISION: division,
    }
    assert wb[layout.DATA_SHEET].cell(layout.ROW_TITLE, 1).value == layout.title(
        year, quarter, division
    )


def test_identity_sheet_and_properties(master, written):
    for info in written:
        wb = load(info.path)
        check_identity(wb, master, info.division)
        assert wb.properties.title == layout.title(YEAR, QUARTER, info.division)
        assert wb.properties.creator == "市民政局"
        assert "workbook-tools" in (wb.properties.description or "")
        assert wb.properties.created.year == YEAR


def test_same_input_same_bytes(master, tmp_path):
    a = write_templates(master, YEAR, QUARTER, tmp_path / "a")
    b = write_templates(master, YEAR, QUARTER, tmp_path / "b")
    for x, y in zip(a, b, strict=True):
        assert x.path.name == y.path.name
        assert x.path.read_bytes() == y.path.read_bytes()
    assert build_template(master, YL, YEAR, 2) != build_template(master, YL, YEAR, 1)


# ------------------------------------------------------------------------------- file names

HOSTILE = ("../x", "a/b", "CON", "a:b*?", "长" * 40, "以点结尾.", "a\\b", "..", "NUL.txt", "a b ")


def test_hostile_division_names_stay_inside_the_outbox(tmp_path):
    tasks = [task(str(i), f"事项{i}", [name]) for i, name in enumerate(HOSTILE, start=1)]
    m = make_master(tasks)
    outbox = tmp_path / "out" / "box"
    infos = write_templates(m, YEAR, QUARTER, outbox)
    assert [i.division for i in infos] == list(HOSTILE)
    names = [i.path.name for i in infos]
    assert len({n.casefold() for n in names}) == len(names)
    root = outbox.resolve()
    for info in infos:
        assert info.path.resolve().parent == root
        assert info.path.is_file()
        assert info.path.suffix == ".xlsx"
        # The division is still named exactly inside the file.
        check_identity(load(info.path), m, info.division)
    assert sorted(p.name for p in root.iterdir()) == sorted(names)
    assert not (tmp_path / "out" / "x").exists() and not (tmp_path / "x").exists()


def test_clashing_names_get_numbered(tmp_path):
    divisions = ["a/b", "a:b", "a|b", "ABC", "abc"]
    m = make_master([task(str(i), f"事项{i}", [d]) for i, d in enumerate(divisions, start=1)])
    infos = write_templates(m, YEAR, QUARTER, tmp_path)
    stem = layout.file_stem(YEAR, QUARTER, "")
    assert [i.path.name for i in infos] == [
        f"{stem}a_b.xlsx",
        f"{stem}a_b-2.xlsx",
        f"{stem}a_b-3.xlsx",
        f"{stem}ABC.xlsx",
        f"{stem}abc-2.xlsx",
    ]


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("a:b*?", "a_b__.xlsx"),
        ("CON", "_CON.xlsx"),
        ("con.txt", "_con.txt.xlsx"),
        ("Com1", "_Com1.xlsx"),
        ("LPT9 ", "_LPT9.xlsx"),
        ("CONSOLE", "CONSOLE.xlsx"),
        ("../x", "_x.xlsx"),
        ("a/b", "a_b.xlsx"),
        ("name. . ", "name.xlsx"),
        (".hidden", "hidden.xlsx"),
        ("", "_.xlsx"),
        ("...", "_.xlsx"),
        ("a\x00b\x1fc", "a_b_c.xlsx"),
        ("养老服务处", "养老服务处.xlsx"),
    ],
)
def test_safe_filename_examples(stem, expected):
    assert safe_filename(stem) == expected


def test_safe_filename_caps_length():
    name = safe_filename("x" * 200)
    assert len(name) == 120 and name.endswith(".xlsx")
    name = safe_filename("长" * 200)  # 3 bytes each in UTF-8; Linux allows 255 bytes
    assert len(name.encode()) <= 240 and name.endswith(".xlsx") and name.startswith("长" * 70)
    assert len(safe_filename("x" * 200, max_len=20)) == 20
    # Cut to "CONIN$" (a device name), then made safe.
    assert safe_filename("CONIN$X", max_len=8, suffix=".x") == "_CONIN.x"
    assert len(safe_filename("字" * 119).encode()) <= 240


BAD = set('<>:"/\\|?*')
RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{d}" for p in ("COM", "LPT") for d in "123456789"}
name_text = st.lists(
    st.one_of(
        st.characters(),
        st.sampled_from(sorted(BAD) + [".", " ", "..", "CON", "com1", "Lpt3", "\x00", "长"]),
    ),
    max_size=150,
).map("".join)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stem=name_text, max_len=st.integers(min_value=12, max_value=200))
def test_safe_filename_properties(tmp_path, stem, max_len):
    name = safe_filename(stem, max_len=max_len)
    assert name and name.endswith(".xlsx")
    assert len(name) <= max_len
    assert len(name.encode("utf-8")) <= 255
    assert not any(c in BAD or ord(c) < 32 for c in name)
    assert os.sep not in name and "/" not in name and "\\" not in name
    base = name[: -len(".xlsx")]
    assert base and base[0] not in ". " and base[-1] not in ". "
    assert name.split(".")[0].rstrip(" ").upper() not in RESERVED
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()
    assert name not in (".", "..")


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stem=st.text(alphabet=string.printable + "养老服务处（）：", max_size=150))
def test_safe_filename_can_be_created(tmp_path, stem):
    path = tmp_path / safe_filename(stem)
    path.write_bytes(b"x")
    assert path.read_bytes() == b"x"
    path.unlink()


# ------------------------------------------------------------------------------- writing safely


def test_file_open_elsewhere_leaves_old_file_intact(master, tmp_path, monkeypatch):
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"old")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OutputError) as exc:
        write_template(master, YL, YEAR, QUARTER, path)
    assert "其他程序" in str(exc.value) and str(path) in str(exc.value)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]


def test_existing_file_is_replaced(master, tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"old")
    write_template(master, YL, YEAR, QUARTER, path)
    assert load(path)[layout.DATA_SHEET].cell(layout.ROW_TITLE, 1).value == layout.title(
        YEAR, QUARTER, YL
    )


def test_missing_folder_is_created_like_every_output_folder(master, tmp_path):
    info = write_template(master, YL, YEAR, QUARTER, tmp_path / "missing" / "t.xlsx")
    assert info.path.read_bytes() == build_template(master, YL, YEAR, QUARTER)


def test_folder_that_cannot_be_made_is_an_output_error(master, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="无法创建文件夹"):
        write_template(master, YL, YEAR, QUARTER, tmp_path / "file" / "sub" / "t.xlsx")


def test_outbox_is_a_file(master, tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError):
        write_templates(master, YEAR, QUARTER, tmp_path / "f")


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_planted_symlink_is_refused(master, tmp_path):
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    elsewhere = tmp_path / "elsewhere.xlsx"
    elsewhere.write_bytes(b"keep")
    name = safe_filename(layout.file_stem(YEAR, QUARTER, master.divisions[0]))
    (outbox / name).symlink_to(elsewhere)
    with pytest.raises(OutputError, match="之外"):
        write_templates(master, YEAR, QUARTER, outbox)
    assert elsewhere.read_bytes() == b"keep"


# ------------------------------------------------------------------------------- LibreOffice


def test_libreoffice_opens_every_template_and_keeps_identity(master, written, soffice, tmp_path):
    for info in written:
        pdf = soffice.convert(info.path, "pdf", tmp_path / "pdf")
        assert pdf.read_bytes().startswith(b"%PDF")
        xlsx = soffice.convert(info.path, "xlsx", tmp_path / "xlsx")
        wb = load(xlsx)
        check_identity(wb, master, info.division)
        ws = wb[layout.DATA_SHEET]
        n = len(master.tasks_of(info.division))
        assert [r[1] for r in task_rows(ws, n)] == [t.text for t in master.tasks_of(info.division)]
        assert ws.protection.sheet
        (dv,) = ws.data_validations.dataValidation
        assert dv.formula1 == '"' + ",".join(STATUSES) + '"'
        first = layout.ROW_FIRST_TASK
        assert not ws[f"D{first}"].protection.locked and ws[f"B{first}"].protection.locked
        for row, col in layout.FILLER_CELLS.values():  # LibreOffice keeps the filler unlocked
            assert not ws.cell(row, col + 2).protection.locked


# ------------------------------------------------------------------------------- shipped master


def test_shipped_master_splits(tmp_path):
    master_mod = pytest.importorskip("workbook_tools.master")
    if not SHIPPED_MASTER.exists():
        pytest.skip("master/分解方案.xlsx is not in the repository")
    m = master_mod.read_master(SHIPPED_MASTER)
    infos = write_templates(m, YEAR, QUARTER, tmp_path)
    assert len(infos) == 12
    assert sum(i.led + i.assisted for i in infos) == 32
    for info in infos:
        check_identity(load(info.path), m, info.division)
