"""returns.py: real files made in tmp_path, read back by content, never trusted."""

from __future__ import annotations

import dataclasses
import io
import os
import random
import re
import shutil
import struct
import time
import zipfile
from pathlib import Path

import pytest
import python_calamine
import xlsxwriter
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name

from workbook_tools import containers, farcells, layout, reach, sheets
from workbook_tools.errors import ReturnReadError
from workbook_tools.inbox import Collected, Rejected, collect, member_name
from workbook_tools.limits import MAX_COLS, MAX_ROWS
from workbook_tools.returns import read_return, sniff

DIVISION = "养老服务处"
ROWS = (
    ("*1", "推进养老服务体系建设", "牵头", "=已完成 80%", "已完成", "无"),
    ("7", "提升社会救助水平", "配合", "进行中\n第二行 😀", "滞后", "资金未到位"),
)


# --- Builders ------------------------------------------------------------------------------
def build_return(
    path: Path,
    *,
    division: str = DIVISION,
    year: int = 2022,
    quarter: int = 1,
    identity: dict | None = None,
    props: dict | None = None,
    title: str | None = None,
    rows=ROWS,
    extra_cells: dict[tuple[int, int], object] | None = None,
    extra_sheet: dict[tuple[int, int], object] | None = None,
    with_identity_sheet: bool = True,
    with_props: bool = True,
    v1: bool = False,
    filler: dict[str, object] | None = None,
) -> Path:
    """An Annex 2 file following layout.py: title row 2, 填报单位 row 3, filler row 4, header
    row 5, tasks from 6. ``v1``: the first version's layout instead (one filler row 3 with
    填报人 / 联系电话 / 填报日期, header row 4, tasks from 5)."""
    version = "wbt-annex2-v1" if v1 else layout.TEMPLATE_VERSION
    header_row = layout.ROW_HEADER - 1 if v1 else layout.ROW_HEADER
    first_row = header_row + 1
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    ws = wb.add_worksheet(layout.DATA_SHEET)
    ws.write_string(0, 0, "附件2")
    if title is None:
        title = layout.title(year, quarter, division)
    if title:
        ws.write_string(layout.ROW_TITLE - 1, 0, title)
    if filler is None:
        filler = {
            "填报人": "张三",
            "审核人": "李四",
            "联系电话": 13800138000,
            "填报日期": "2022-03-31",
        }
    if v1:
        for i, (label, value) in enumerate((k, v) for k, v in filler.items() if k != "审核人"):
            ws.write_string(2, 2 * i, label)
            ws.write(2, 2 * i + 1, value)
    else:
        ws.write_string(layout.ROW_UNIT - 1, 0, f"填报单位：{division}")
        for label, value in filler.items():
            row, col = layout.FILLER_CELLS[label]
            ws.write_string(row - 1, col, label)
            ws.write(row - 1, col + 1, value)
    for c, h in enumerate(layout.HEADERS):
        ws.write_string(header_row - 1, c, h)
    for r, row in enumerate(rows, start=first_row - 1):
        for c, v in enumerate(row):
            if isinstance(v, int | float):
                ws.write_number(r, c, v)
            elif v is not None:
                ws.write_string(r, c, v)
    for (r, c), v in (extra_cells or {}).items():
        ws.write(r, c, v)
    if extra_sheet:
        other = wb.add_worksheet("Sheet2")
        for (r, c), v in extra_sheet.items():
            other.write(r, c, v)
    if with_identity_sheet:
        ident = {
            "版本": version,
            "年度": str(year),
            "季度": str(quarter),
            "处室": division,
        }
        ident.update(identity or {})
        idws = wb.add_worksheet(layout.IDENTITY_SHEET)
        idws.write_string(0, 0, layout.IDENTITY_BANNER)
        for r, (k, v) in enumerate(ident.items(), start=1):
            idws.write_string(r, 0, k)
            idws.write_string(r, 1, v)
        idws.write_row(6, 0, layout.ID_TABLE_HEADER)
        for r, row in enumerate(rows, start=7):
            number = str(row[0]).lstrip("*")
            idws.write_row(r, 0, [number, first_row + r - 7, layout.fingerprint(str(row[1]))])
        idws.hide()
    if with_props:
        values = {
            layout.PROP_VERSION: version,
            layout.PROP_YEAR: str(year),
            layout.PROP_QUARTER: str(quarter),
            layout.PROP_DIVISION: division,
        }
        values.update(props or {})
        for k, v in values.items():
            wb.set_custom_property(k, v)
    ws.activate()
    wb.close()
    return path


def read(path: Path, source: str | None = None):
    return read_return(path.read_bytes(), source or path.name)


def refused(data: bytes, source: str = "x.xlsx") -> ReturnReadError:
    with pytest.raises(ReturnReadError) as info:
        read_return(data, source)
    assert info.value.file == source
    return info.value


def patch_zip(src: bytes, replace: dict[str, bytes], add: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(src)) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for info in zin.infolist():
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info.filename)))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return out.getvalue()


def make_ole(streams: dict[str, bytes]) -> bytes:
    """A minimal compound file (512-byte sectors, no mini stream) holding ``streams``."""
    end, free, fatsect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    assert len(streams) <= 3
    fat = [fatsect, end]  # sector 0: FAT, sector 1: directory
    data = b""
    entries = [("Root Entry", 5, end, 0)]
    for name, body in streams.items():
        body = body.ljust(4096, b"\0")  # at the mini stream cutoff: regular sectors
        first = len(fat)
        n = len(body) // 512
        fat += [first + i + 1 for i in range(n - 1)] + [end]
        data += body
        entries.append((name, 2, first, len(body)))
    fat += [free] * (128 - len(fat))
    directory = b""
    for i, (name, etype, start, size) in enumerate(entries):
        raw = name.encode("utf-16-le") + b"\0\0"
        child = 1 if etype == 5 else free
        right = i + 1 if etype == 2 and i + 1 < len(entries) else free
        directory += (
            raw.ljust(64, b"\0")
            + struct.pack("<HBBIII", len(raw), etype, 1, free, right, child)
            + b"\0" * 36
            + struct.pack("<IQ", start, size)
        )
    directory = directory.ljust(512, b"\0")
    header = (
        bytes.fromhex("d0cf11e0a1b11ae1")
        + b"\0" * 16
        + struct.pack("<HHHHHH", 0x3E, 3, 0xFFFE, 9, 6, 0)
        + b"\0" * 4
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
        + struct.pack("<I", 0)
        + struct.pack("<108I", *([free] * 108))
    )
    assert len(header) == 512
    return header + struct.pack("<128I", *fat) + directory + data


# --- Identity ------------------------------------------------------------------------------
def test_identity_from_sheet_and_properties(tmp_path):
    r = read(build_return(tmp_path / "whatever.xlsx"))
    assert (r.division, r.year, r.quarter, r.identified_by) == (DIVISION, 2022, 1, "模板标识")
    assert r.format == "xlsx" and r.sheet == layout.DATA_SHEET
    assert r.template_version == layout.TEMPLATE_VERSION
    assert r.fingerprints == (
        ("1", layout.fingerprint(ROWS[0][1])),
        ("7", layout.fingerprint(ROWS[1][1])),
    )
    assert r.unit == DIVISION
    assert (r.filled_by, r.reviewer, r.phone, r.fill_date) == (
        "张三",
        "李四",
        "13800138000",
        "2022-03-31",
    )
    assert r.conflicts == () and r.extra == () and r.notes == () and r.strays == ()


def test_first_version_templates_read_alike(tmp_path):
    """A return of a template written before 填报单位 and 审核人 were added (header in row 4)
    reads the same, with no note about its version."""
    new = read(build_return(tmp_path / "new.xlsx"))
    old = read(build_return(tmp_path / "old.xlsx", v1=True))
    assert old.template_version == "wbt-annex2-v1"
    assert [(row.number, row.answer, row.status, row.plan) for row in old.rows] == [
        (row.number, row.answer, row.status, row.plan) for row in new.rows
    ]
    assert [row.cell("完成情况") for row in old.rows] == ["D5", "D6"]
    assert [row.cell("完成情况") for row in new.rows] == ["D6", "D7"]
    assert (old.filled_by, old.reviewer, old.phone) == ("张三", "", "13800138000")
    assert old.notes == () and old.strays == () and old.extra == ()


def test_reviewer_written_as_fuzeren_in_one_cell(tmp_path):
    """负责人 is read as 审核人; "审核人：王五" in one cell too."""
    for typed in ("负责人：王五", "审核人:王五"):
        row = layout.ROW_FILLER - 1  # label and value typed in the label's cell
        path = build_return(tmp_path / "r.xlsx", filler={}, extra_cells={(row, 2): typed})
        r = read(path)
        assert r.reviewer == "王五", typed
        assert r.strays == () and r.extra == (), typed
    assert r.modified.startswith(str(time.gmtime().tm_year)[:2])
    assert len(r.sha256) == 64


def test_identity_from_properties_alone(tmp_path):
    path = build_return(tmp_path / "x.xlsx", with_identity_sheet=False, title="")
    r = read(path)
    assert (r.division, r.year, r.quarter, r.identified_by) == (DIVISION, 2022, 1, "模板标识")
    assert r.fingerprints == ()


def test_identity_sheet_wins_over_properties(tmp_path):
    path = build_return(tmp_path / "x.xlsx", props={layout.PROP_DIVISION: "社会救助处"})
    r = read(path)
    assert r.division == DIVISION
    assert r.conflicts == (
        "文档属性中的处室为“社会救助处”，模板标识工作表为“养老服务处”，以模板标识工作表为准",
    )


def test_identity_from_title(tmp_path):
    path = build_return(
        tmp_path / "x.xlsx",
        division="政策法规处(局信息中心)",
        quarter=3,
        with_identity_sheet=False,
        with_props=False,
    )
    r = read(path)
    assert (r.division, r.year, r.quarter, r.identified_by) == (
        "政策法规处（局信息中心）",
        2022,
        3,
        "标题",
    )


@pytest.mark.parametrize(
    "name, expected",
    [
        ("2022年第二季度工作目标完成情况-养老服务处.xlsx", ("养老服务处", 2022, 2)),
        ("2022年第二季度工作目标完成情况-养老服务处(1).xlsx", ("养老服务处", 2022, 2)),
        ("2022年第二季度工作目标完成情况-养老服务处 - 副本.xlsx", ("养老服务处", 2022, 2)),
        ("2022年市民政局社会事务处第四季度工作目标完成情况.xls", ("社会事务处", 2022, 4)),
        ("附件2-市低保中心.xlsx", ("市低保中心", None, None)),
    ],
)
def test_identity_from_file_name(tmp_path, name, expected):
    path = build_return(tmp_path / "x.xlsx", title="", with_identity_sheet=False, with_props=False)
    r = read(path, source=f"inbox/sub/{name}")
    assert (r.division, r.year, r.quarter) == expected
    assert r.identified_by == "文件名"


def test_nothing_identifies_the_file(tmp_path):
    path = build_return(tmp_path / "x.xlsx", title="", with_identity_sheet=False, with_props=False)
    r = read(path, source="新建 Microsoft Excel 工作表.xlsx")
    assert (r.division, r.year, r.quarter, r.identified_by) == (None, None, None, "")


def test_conflicts_between_identity_title_and_file_name(tmp_path):
    path = build_return(
        tmp_path / "x.xlsx",
        title=layout.title(2022, 2, "养老服务处"),
        identity={"处室": "社会救助处", "季度": "1"},
        props={layout.PROP_DIVISION: "社会救助处"},
    )
    r = read(path, source="2021年第一季度工作目标完成情况-社会事务处.xlsx")
    assert (r.division, r.year, r.quarter, r.identified_by) == ("社会救助处", 2022, 1, "模板标识")
    # The division each place names is kept for merge, which judges them against the plan.
    assert (r.identity_division, r.title_division, r.file_division) == (
        "社会救助处",
        "养老服务处",
        "社会事务处",
    )
    assert r.conflicts == (
        "文件名中的年度为“2021”，模板标识为“2022”，以模板标识为准",
        "标题中的季度为“第二季度”，模板标识为“第一季度”，以模板标识为准",
    )


def test_title_wins_over_file_name(tmp_path):
    path = build_return(tmp_path / "x.xlsx", with_identity_sheet=False, with_props=False)
    r = read(path, source="2022年第一季度工作目标完成情况-社会事务处.xlsx")
    assert (r.division, r.identified_by) == (DIVISION, "标题")
    assert (r.title_division, r.file_division) == (DIVISION, "社会事务处")


# --- Values --------------------------------------------------------------------------------
def test_values_exact(tmp_path):
    long_text = "长" * 32_000
    rows = (
        (" *1 ", "事项一", "牵头", "=SUM(A1:A3)", " 已完成 ", "  前后空格保留  "),
        (3, "事项三\t制表符", "配合", "控制字符\x01\x0b保留", "滞后", long_text),
        (4.0, "事项四", "", "emoji 😀👍🏽 与 \u200b 零宽", "", "+1"),
        ("", "没有序号的事项", "", "-1", "", "@cmd"),
        (5, "", "", 2.5, "", 44651),
    )
    r = read(build_return(tmp_path / "x.xlsx", rows=rows))
    got = [(x.row, x.number, x.text, x.answer, x.status, x.plan) for x in r.rows]
    first = layout.ROW_FIRST_TASK
    assert got == [
        (first, "*1", "事项一", "=SUM(A1:A3)", "已完成", "  前后空格保留  "),
        (first + 1, "3", "事项三\t制表符", "控制字符\x01\x0b保留", "滞后", long_text),
        (first + 2, "4", "事项四", "emoji 😀👍🏽 与 \u200b 零宽", "", "+1"),
        (first + 3, "", "没有序号的事项", "-1", "", "@cmd"),
        (first + 4, "5", "", "2.5", "", "44651"),
    ]
    assert r.rows[0].cells == {
        "序号": f"A{first}",
        "责任事项": f"B{first}",
        "本处室职责": f"C{first}",
        "完成情况": f"D{first}",
        "进展状态": f"E{first}",
        "存在问题及下步打算": f"F{first}",
    }


def test_dates_read_as_shown(tmp_path):
    import datetime as dt

    path = tmp_path / "x.xlsx"
    build_return(path)
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(layout.DATA_SHEET)
    fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for c, h in enumerate(layout.HEADERS):
        ws.write_string(3, c, h)
    ws.write_string(2, 4, "填报日期")
    ws.write_datetime(2, 5, dt.datetime(2022, 3, 31), fmt)
    ws.write_row(4, 0, ["1", "事项"])
    ws.write_datetime(
        4, 3, dt.datetime(2022, 3, 1, 9, 30), wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    )
    wb.close()
    r = read(path)
    assert r.fill_date == "2022-03-31"
    # As the cell's number format showed them, not the value behind it.
    assert r.rows[0].answer == "2022-03-01 09:30"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    answer=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff\x00"),
        max_size=200,
    )
)
def test_what_is_filled_comes_back_exactly(tmp_path, answer):
    path = build_return(
        tmp_path / "h.xlsx", rows=(("1", "事项", "牵头", answer, "已完成", answer),)
    )
    row = read(path).rows[0]
    assert (row.answer, row.plan) == (answer, answer)


def test_content_outside_the_table(tmp_path):
    path = build_return(
        tmp_path / "x.xlsx",
        extra_cells={
            (6, 7): "我在表格右边写了很长很长很长很长很长很长很长很长很长很长很长的一段话",
            (8, 3): "表格下面的备注",
        },
        extra_sheet={(0, 0): "另起一页", (1, 1): 42},
    )
    r = read(path)
    assert [(x.sheet, x.place, x.text) for x in r.strays] == [
        (
            "完成情况",
            "单元格 H7",
            "我在表格右边写了很长很长很长很长很长很长很长很长很长很长很长的一段话",
        ),
        ("Sheet2", "单元格 A1", "另起一页"),
        ("Sheet2", "单元格 B2", "42"),
    ]
    # Text in a column of the table is a row of it; merge decides whose (a note two rows
    # below the last task is nobody's, and is quoted whole).
    assert [(x.row, x.answer) for x in r.rows][2:] == [(9, "表格下面的备注")]


def test_header_found_elsewhere_and_columns_by_name(tmp_path):
    path = tmp_path / "moved.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("说明").write_string(0, 0, "随便写点")
    ws = wb.add_worksheet("Sheet1")
    ws.write_string(0, 0, "2022年市民政局养老服务处第一季度工作目标完成情况")
    headers = ["完成情况", "序 号", "责任事项", "进展状态", "存在问题及下步打算"]
    for c, h in enumerate(headers):
        ws.write_string(5, c + 1, h)
    ws.write_row(6, 1, ["做完了", "2", "事项二", "已完成", ""])
    wb.close()
    r = read(path)
    assert r.sheet == "Sheet1"
    assert [(x.number, x.text, x.answer, x.status) for x in r.rows] == [
        ("2", "事项二", "做完了", "已完成")
    ]
    assert r.rows[0].cells["完成情况"] == "B7"
    assert r.identified_by == "标题"
    assert ("说明", "单元格 A1", "随便写点") in [(x.sheet, x.place, x.text) for x in r.strays]


def test_no_header_lists_the_sheets(tmp_path):
    path = tmp_path / "x.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("Sheet1").write_string(0, 0, "hello")
    wb.add_worksheet("数据")
    wb.close()
    err = refused(path.read_bytes())
    assert (
        err.message == "找不到任务表：没有一个工作表含有“完成情况”列和“序号”或“责任事项”列的表头"
        "（文件中的工作表：Sheet1、数据）"
    )


def test_macros_and_external_links_are_noted(tmp_path):
    data = build_return(tmp_path / "x.xlsx").read_bytes()
    data = patch_zip(
        data, {}, {"xl/vbaProject.bin": b"\0" * 100, "xl/externalLinks/externalLink1.xml": b"<x/>"}
    )
    r = read_return(data, "x.xlsm")
    assert r.notes == (
        "含宏（VBA），仅读取数值，未运行任何宏",
        "含外部链接（引用其他工作簿），读取的是文件中保存的值，可能不是最新",
    )


# --- LibreOffice round trips ---------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
def test_resaved_by_libreoffice_reads_the_same(tmp_path, soffice, fmt):
    rows = (*ROWS, (3, "事项三", "配合", "=不是公式", "按序时推进", "无"))
    (tmp_path / "src").mkdir()
    original = build_return(tmp_path / "src" / "a.xlsx", rows=rows)
    converted = soffice.convert(original, fmt, tmp_path / "out")
    a, b = read(original), read(converted)
    assert sniff(converted.read_bytes()) == fmt
    assert b.format == fmt
    assert b.rows == a.rows
    assert [x.cells for x in b.rows] == [x.cells for x in a.rows]
    assert (b.division, b.year, b.quarter, b.identified_by) == (DIVISION, 2022, 1, "模板标识")
    assert b.fingerprints == a.fingerprints
    assert (b.filled_by, b.phone, b.fill_date) == (a.filled_by, a.phone, a.fill_date)
    assert b.extra == () and b.conflicts == ()
    assert b.modified


def test_ods_renamed_xlsx_is_read_by_content(tmp_path, soffice):
    (tmp_path / "src").mkdir()
    ods = soffice.convert(build_return(tmp_path / "src" / "a.xlsx"), "ods", tmp_path / "out")
    renamed = tmp_path / "2022年第一季度工作目标完成情况-养老服务处.xlsx"
    shutil.copy(ods, renamed)
    r = read(renamed)
    assert r.format == "ods" and r.division == DIVISION and len(r.rows) == 2


# --- Sniffing and refusals -----------------------------------------------------------------
def test_sniff_kinds(tmp_path):
    xlsx = build_return(tmp_path / "x.xlsx").read_bytes()
    assert sniff(xlsx) == "xlsx"
    assert sniff(patch_zip(xlsx, {}, {"xl/vbaProject.bin": b"x"})) == "xlsx"  # types decide
    types = zipfile.ZipFile(io.BytesIO(xlsx)).read("[Content_Types].xml")
    macro = types.replace(b"sheet.main+xml", b"sheet.macroEnabled.main+xml")
    assert sniff(patch_zip(xlsx, {"[Content_Types].xml": macro})) == "xlsm"
    assert sniff(b"") == "empty"
    assert sniff(xlsx[: len(xlsx) // 2]) == "corrupt"
    assert sniff(b"%PDF-1.7\n...") == "pdf"
    assert sniff(b"<html><body><table><tr><td>1</td></tr></table></body></html>") == "html"
    assert sniff("\ufeff<table border=1><tr><td>序号</td></tr></table>".encode()) == "html"
    assert sniff("序号,责任事项\n1,事项".encode()) == "unknown"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.xlsx", xlsx)
    assert sniff(archive.getvalue()) == "zip"
    assert sniff(make_ole({"EncryptionInfo": b"x", "EncryptedPackage": b"y"})) == "encrypted"
    assert sniff(make_ole({"Workbook": b"\x09\x08\x10\x00" + b"\0" * 16})) == "xls"
    assert sniff(make_ole({"Workbook": b"\x09\x08\x04\x00\0\0\0\0\x2f\x00\x00\x00"})) == "encrypted"
    assert sniff(make_ole({"WordDocument": b"x"})) == "unknown"
    assert sniff(make_ole({"SomethingElse": b"x"})) == "et"


@pytest.mark.parametrize(
    "data, source, message, hint",
    [
        (b"", "空.xlsx", "文件是空的（没有任何内容）", "请重新保存后再报送"),
        (
            b"%PDF-1.4\n%...",
            "a.pdf",
            "这是 PDF 文件，不是 Excel 工作簿",
            "请使用下发的 Excel 模板（.xlsx）填报后报送",
        ),
        (
            "<html><table><tr><td>序号</td></tr></table></html>".encode(),
            "系统导出.xls",
            "这是网页导出的表格（HTML），不是真正的 Excel 工作簿",
            "请用 Excel 或 WPS 打开后另存为 .xlsx 再报送",
        ),
        (
            "这不是表格".encode(),
            "a.xlsx",
            "不是 Excel 工作簿（文本文件）",
            "请使用下发的 Excel 模板（.xlsx）填报后报送",
        ),
        (
            make_ole({"EncryptionInfo": b"x", "EncryptedPackage": b"y"}),
            "加密.xlsx",
            "文件已加密（设置了打开密码）",
            "请取消密码后另存为 .xlsx 再报送",
        ),
        (
            make_ole({"ETStream": b"x"}),
            "a.et",
            "无法识别的表格格式（可能是 WPS 表格 .et 文件）",
            "请在 WPS 中另存为 .xlsx 再报送",
        ),
    ],
)
def test_refusals(data, source, message, hint):
    err = refused(data, source)
    assert (err.message, err.hint) == (message, hint)
    assert str(err) == f"文件 {source}：{message}；{hint}"


def test_truncated_zip_refused(tmp_path):
    data = build_return(tmp_path / "x.xlsx").read_bytes()
    err = refused(data[: len(data) - 100])
    assert err.message.startswith("文件已损坏或不完整")


def test_really_encrypted_xlsx_refused(tmp_path):
    msoffcrypto = pytest.importorskip("msoffcrypto")
    src = build_return(tmp_path / "x.xlsx")
    out = io.BytesIO()
    with src.open("rb") as f:
        msoffcrypto.OfficeFile(f).encrypt("x", out)
    assert sniff(out.getvalue()) == "encrypted"
    assert refused(out.getvalue()).message == "文件已加密（设置了打开密码）"


def test_zip_bomb_refused_fast(tmp_path):
    data = build_return(tmp_path / "x.xlsx").read_bytes()
    bomb = patch_zip(data, {"xl/worksheets/sheet1.xml": b"<row/>" * 10_000_000})
    assert len(bomb) < 1_000_000
    err = refused(bomb)
    # Refused from the central directory, before any of it is inflated.
    assert err.message.startswith("压缩条目 xl/worksheets/sheet1.xml 的压缩比异常")
    assert "疑似压缩炸弹" in err.message


def test_zip_with_lying_sizes_refused(tmp_path):
    data = build_return(tmp_path / "x.xlsx").read_bytes()
    real = b"<!-- " + b"x" * 900_000 + b" -->"
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    padded = patch_zip(
        data, {"xl/worksheets/sheet1.xml": sheet.replace(b"<sheetData>", real + b"<sheetData>")}
    )
    size = len(sheet) + len(real)
    lying = padded.replace(struct.pack("<I", size), struct.pack("<I", 5000))
    assert lying != padded
    assert refused(lying).message.startswith("文件已损坏")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_entity_bomb_refused(tmp_path, encoding):
    data = build_return(tmp_path / "x.xlsx").read_bytes()
    lol = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol2;</t></si></sst>'
    )
    bomb = patch_zip(data, {"xl/sharedStrings.xml": lol.encode(encoding)})
    err = refused(bomb)
    assert "DOCTYPE/ENTITY" in err.message and "xl/sharedStrings.xml" in err.message


def far_texts(ret) -> tuple[str, ...]:
    """Texts of the cells past the read range (row MAX_ROWS or column MAX_COLS), as listed."""
    out = []
    for x in ret.strays:
        row, col = xl_cell_to_rowcol(x.place.removeprefix("单元格 "))
        if row >= MAX_ROWS or col >= MAX_COLS:
            out.append(f"工作表 {x.sheet} {x.place}：“{x.text}”（超出读取范围）")
    return tuple(out)


@pytest.mark.parametrize("far", [(59_999, 699), (1_048_575, 16_383)], ids=["ZX60000", "XFD1048576"])
def test_far_away_cells_are_left_out_and_reported(tmp_path, far):
    # calamine allocates rows x columns of a sheet's used range (and aborts the process when it
    # cannot): it reads a copy without the far cells, whose texts come back with their cells.
    path = build_return(
        tmp_path / "x.xlsx",
        extra_cells={far: "远处的备注", (far[0], far[1] - 1): 12.5, (far[0] - 1, 55): True},
        extra_sheet={(0, 0): "甲", far: "另一张表远处"},
    )
    data = path.read_bytes()
    ref = xl_col_to_name(far[1]) + str(far[0] + 1)
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert f'<c r="{ref}" t="s"'.encode() in sheet  # a shared string, resolved for the quote
    ret = read_return(data, "x.xlsx")
    assert ret.rows == read(build_return(tmp_path / "plain.xlsx")).rows
    left = xl_col_to_name(far[1] - 1) + str(far[0] + 1)
    assert [(x.sheet, x.place, x.text) for x in ret.strays] == [
        ("完成情况", f"单元格 BD{far[0]}", "TRUE"),
        ("完成情况", f"单元格 {left}", "12.5"),
        ("完成情况", f"单元格 {ref}", "远处的备注"),
        ("Sheet2", "单元格 A1", "甲"),
        ("Sheet2", f"单元格 {ref}", "另一张表远处"),
    ]
    assert ret.notes == ()
    assert path.read_bytes() == data


def test_far_away_rich_text_reads_as_its_characters(tmp_path):
    path = tmp_path / "x.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(layout.DATA_SHEET)
    for c, h in enumerate(layout.HEADERS):
        ws.write_string(3, c, h)
    ws.write_string(4, 0, "1")
    ws.write_string(4, 1, "事项")
    bold = wb.add_format({"bold": True})
    ws.write_rich_string(70_000, 1000, "粗体", bold, "与普通", "文字 & <符号>")
    wb.close()
    assert far_texts(read(path)) == (
        "工作表 完成情况 单元格 ALM70001：“粗体与普通文字 & <符号>”（超出读取范围）",
    )


def test_many_far_away_cells_are_counted_past_the_listed_ones(tmp_path):
    cells = {(10_000 + r, 0): f"第{r}条" for r in range(120)}
    cells[(1_048_575, 0)] = "最后"
    ret = read(build_return(tmp_path / "x.xlsx", extra_cells=cells))
    listed = list(far_texts(ret))
    assert listed[:2] == [
        "工作表 完成情况 单元格 A10001：“第0条”（超出读取范围）",
        "工作表 完成情况 单元格 A10002：“第1条”（超出读取范围）",
    ]
    assert ret.notes == (
        "工作表 完成情况 在第 5001 行以下或第 50 列以右共有 121 个单元格有内容，未读取，列出了其中 50 个",
    )


def test_far_cells_are_counted_exactly_across_a_sheet_read_in_pieces(tmp_path):
    # A sheet of several MB is cut as it streams by: no cell is lost or counted twice where the
    # pieces meet. (Rows past those read are cut first, by row: these cells are right of them.)
    cells = {(r, c): f"第{r}行" for r in range(10, 5_000) for c in range(60, 80)}
    cells[(4_999, 699)] = "远处"
    path = build_return(tmp_path / "x.xlsx", extra_cells=cells)
    with zipfile.ZipFile(path) as z:
        assert z.getinfo("xl/worksheets/sheet1.xml").file_size > 3 * containers.CHUNK
    ret = read(path)
    far = (5_000 - 10) * 20 + 1
    assert ret.notes == (
        f"工作表 完成情况 在第 5001 行以下或第 50 列以右共有 {far} 个单元格有内容，未读取，列出了其中 50 个",
    )
    assert ret.rows == read(build_return(tmp_path / "plain.xlsx")).rows


def relocate_sheet(data: bytes, target: str) -> bytes:
    """The first worksheet moved to xl/<target>: calamine reads it wherever the relationships
    point, whatever the part is called."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for info in zin.infolist():
            raw = zin.read(info.filename)
            name = "xl/" + target if info.filename == "xl/worksheets/sheet1.xml" else info.filename
            if info.filename in ("xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
                raw = raw.replace(b"worksheets/sheet1.xml", target.encode())
            zout.writestr(name, raw)
    return out.getvalue()


def restyle_sheet(data: bytes, style: str) -> bytes:
    """Cells as other writers save them: ``unnamed`` without r="A1" (cells follow each other),
    ``prefixed`` with every tag in a namespace prefix (<x:c r="A1">)."""
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    if style == "unnamed":
        sheet = re.sub(rb'(<c) r="[A-Z]+[0-9]+"', rb"\1", sheet)
    elif style == "prefixed":
        sheet = re.sub(rb"<(/?)(?![?!])", rb"<\1x:", sheet).replace(b'xmlns="', b'xmlns:x="', 1)
    return patch_zip(data, {"xl/worksheets/sheet1.xml": sheet})


@pytest.mark.parametrize("style", ["named", "unnamed", "prefixed"])
@pytest.mark.parametrize(
    "part", ["worksheets/sheet1.xml", "data/cells.xml", "worksheets/sheet1.dat", "media/a.png"]
)
def test_far_away_cell_left_out_wherever_the_sheet_is(tmp_path, part, style):
    path = build_return(tmp_path / "x.xlsx", extra_cells={(1_048_575, 16_383): "远处"})
    data = relocate_sheet(restyle_sheet(path.read_bytes(), style), part)
    ret = read_return(data, "x.xlsx")
    assert ret.rows == read(build_return(tmp_path / "plain.xlsx")).rows
    far = "XFD1048576" if style != "unnamed" else "A1048576"  # unnamed: the row's first cell
    assert far_texts(ret) == (f"工作表 完成情况 单元格 {far}：“远处”（超出读取范围）",)


@pytest.mark.parametrize("part", ["data/cells.xml", "media/a.png"])
def test_sheet_elsewhere_in_the_zip_is_read(tmp_path, part):
    data = build_return(tmp_path / "x.xlsx").read_bytes()
    assert (
        read_return(relocate_sheet(data, part), "x.xlsx").rows == read_return(data, "x.xlsx").rows
    )


def _reach(scanner, xml: bytes, chunk: int) -> dict:
    """Extents found by ``scanner`` fed as inspect_workbook_zip feeds it, ``chunk`` at a time."""
    extents: dict = {}
    s = scanner(extents, "sheet")
    buf, pos = b"", 0
    while True:
        piece = xml[pos : pos + chunk]
        pos += chunk
        buf += piece
        cut = len(buf) - reach.OVERLAP if piece else len(buf)
        if cut > 0:
            s.feed(buf, cut)
            buf = buf[cut:]
        if not piece:
            break
    return {k: (e.min_row, e.max_row, e.min_col, e.max_col) for k, e in extents.items()}, s


CELL = st.builds(
    lambda prefix, row, col, named, lead, value, gap: (
        f"<{prefix}c"
        + (f' r="{xl_col_to_name(col)}{row}"' if named else "")
        + lead
        + (f">{gap}<{prefix}v>1</{prefix}v></{prefix}c>" if value else "/>")
    ),
    prefix=st.sampled_from(["", "", "x:"]),
    row=st.integers(1, 2_000_000),
    col=st.integers(0, 20_000),
    named=st.booleans(),
    lead=st.sampled_from(["", ' s="1"', ' t="s"']),
    value=st.booleans(),
    gap=st.sampled_from(["", " ", "\n" + " " * 70]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["", ' r="7"']), st.lists(CELL, max_size=6)), max_size=40
    ),
    pad=st.integers(0, 6000),
    chunk=st.sampled_from([4500, 6000, 1 << 20]),
)
@example(rows=[("", ['<c r="AAAA1"/>'])], pad=0, chunk=4500)  # four letters: not a reference
def test_fast_reach_is_the_tag_by_tag_reach(rows, pad, chunk):
    xml = (
        "<worksheet><sheetData>"
        + "<!--" + "-" * pad + "-->"  # moves the cells across chunk boundaries
        + "".join(f"<row{r}>{''.join(cells)}</row>" for r, cells in rows)
        + "</sheetData></worksheet>"
    ).encode()  # fmt: skip
    slow, _ = _reach(reach.XlsxScanner, xml, chunk)
    fast, scan = _reach(reach.SheetReach, xml, chunk)
    if scan.gave_up:  # allowed only where a <c> does not start with a valid reference
        named = re.compile(r'<(?:x:)?c r="[A-Z]{1,3}[0-9]+"')
        assert not all(named.match(c) for _, cells in rows for c in cells)
    else:
        assert fast == slow


def _plain_cells(cells) -> bytes:
    """Sheet XML of plain cells ((row, column letters, with a value), each in its own row tag
    of the same row), as Excel writes them."""
    return (
        b"<worksheet><sheetData>"
        + b"".join(
            f'<row r="{r}"><c r="{c}{r}" s="1"{"><v>1</v></c>" if v else "/>"}</row>'.encode()
            for r, c, v in cells
        )
        + b"</sheetData></worksheet>"
    )


@pytest.mark.parametrize("chunk", [4500, 1 << 20])
@pytest.mark.parametrize("case", ["in order", "shuffled", "leading zeros", "empty ones outside"])
def test_plain_reach_is_the_tag_by_tag_reach(case, chunk):
    # The plain path finds the box from its first and last cells and widens it for every cell
    # found outside; cells far out of order (more widenings than it allows) are measured cell
    # by cell; either way the reach is the tag-by-tag one.
    rng = random.Random(7)
    letters = [xl_col_to_name(c) for c in range(800)]
    if case == "in order":
        cells = [(r, letters[c], True) for r in range(3, 3000) for c in (0, 3, 5)]
    elif case == "shuffled":
        cells = [(rng.randrange(1, 10**6), rng.choice(letters), True) for _ in range(3000)]
    elif case == "leading zeros":
        cells = [(r, letters[r % 30], True) for r in range(1, 500)]
    else:
        cells = [(r, "B", True) for r in range(10, 2000)]
        cells += [(rng.randrange(1, 10**6), rng.choice(letters), False) for _ in range(500)]
        rng.shuffle(cells)
    xml = _plain_cells(cells)
    if case == "leading zeros":
        xml = re.sub(rb'r="([A-Z]+)(\d)', rb'r="\g<1>00\2', xml)
    slow, _ = _reach(reach.XlsxScanner, xml, chunk)
    fast, scan = _reach(reach.SheetReach, xml, chunk)
    assert not scan.gave_up
    assert fast == slow


def test_a_plain_sheet_is_measured_without_a_match_per_cell(monkeypatch):
    # Cells as Excel writes them: the box comes from a few searches, not from a list of cells.
    class CellByCell:
        def findall(self, *args):
            raise AssertionError("measured cell by cell")

    monkeypatch.setattr(reach, "_CELL_RE", (CellByCell(), CellByCell()))
    xml = _plain_cells([(r, c, True) for r in range(2, 30_000) for c in "BCF"])
    fast, scan = _reach(reach.SheetReach, xml, 1 << 20)
    assert fast == {"sheet": (1, 29_998, 1, 5)} and not scan.gave_up


def test_plain_reach_gives_up_on_a_cell_inside_another_tag():
    # Not well-formed: a "<" inside a row tag's attribute. The tag-by-tag scanner takes the row
    # tag to end at the first ">", so it sees no cell at Z99.
    xml = (
        b'<worksheet><sheetData><row r="3"><c r="A3"><v>1</v></c></row>'
        b'<row r="4" x="<c r="Z99"><v>1</v>"><c r="B4"><v>1</v></c></row>'
        b"</sheetData></worksheet>"
    )
    _, scan = _reach(reach.SheetReach, xml, 1 << 20)
    assert scan.gave_up
    slow, _ = _reach(reach.XlsxScanner, xml, 1 << 20)
    assert slow == {"sheet": (2, 3, 0, 1)}


def add_sheet_rows(data: bytes, rows: bytes, after: bytes = b"") -> bytes:
    """``data`` with ``rows`` at the end of its first sheet's sheetData, ``after`` right after."""
    part = "xl/worksheets/sheet1.xml"
    xml = zipfile.ZipFile(io.BytesIO(data)).read(part)
    return patch_zip(data, {part: xml.replace(b"</sheetData>", rows + b"</sheetData>" + after)})


def text_rows(first: int, last: int, cols: str = "A") -> bytes:
    return b"".join(
        f'<row r="{r}">'.encode()
        + b"".join(
            f'<c r="{c}{r}" t="inlineStr"><is><t>第{r}行</t></is></c>'.encode() for c in cols
        )
        + b"</row>"
        for r in range(first, last + 1)
    )


def calamine_rows(data: bytes) -> list[list]:
    """Every row python-calamine parses in the sheet 完成情况."""
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    return book.get_sheet_by_name(layout.DATA_SHEET).to_python(skip_empty_area=False)


MERGED = b'<mergeCells count="1"><mergeCell ref="B7000:C7000"/></mergeCells>'


def test_a_long_sheet_is_parsed_only_to_the_row_after_those_read(tmp_path):
    # 100,000 pasted rows: calamine parses a sheet whole although only MAX_ROWS + 1 rows are
    # read; it is handed a copy that ends there (the row after shows that the sheet goes on).
    data = add_sheet_rows(
        build_return(tmp_path / "x.xlsx").read_bytes(), text_rows(10, 100_000), MERGED
    )
    facts = containers.inspect_workbook_zip(data, "xlsx", list_far=True)
    assert list(facts.cuts) == ["xl/worksheets/sheet1.xml"] and not facts.far
    copy = farcells.without_rows_past(data, facts)
    whole, cut = calamine_rows(data), calamine_rows(copy)
    assert len(whole) == 100_000
    assert len(cut) == MAX_ROWS + 2
    assert cut[: MAX_ROWS + 1] == whole[: MAX_ROWS + 1]
    sheet = zipfile.ZipFile(io.BytesIO(copy)).read("xl/worksheets/sheet1.xml")
    original = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    tail = original[original.index(b"</sheetData>") :]
    assert MERGED in tail and sheet.endswith(tail)  # what follows the rows is kept
    ret = read_return(data, "x.xlsx")
    plain = read(build_return(tmp_path / "plain.xlsx")).rows
    assert ret.rows[: len(plain)] == plain
    assert ret.rows[-1].row == MAX_ROWS and ret.rows[-1].number == f"第{MAX_ROWS}行"
    assert ret.notes == ("工作表 完成情况 超过 5000 行，只读取了前 5000 行",)
    assert ret.extra == ("工作表 完成情况 第 5001 行及以后仍有内容（超过 5000 行的部分未读取）",)


EMPTY_ROWS = b"".join(b'<row r="%d"><c r="A%d" s="0"/></row>' % (r, r) for r in range(5002, 30_000))


@pytest.mark.parametrize(
    "rows, cut",
    [
        (text_rows(10, 5000) + text_rows(5003, 12_000), True),  # rows MAX_ROWS + 1 and + 2 empty
        (text_rows(10, 5001) + EMPTY_ROWS, True),  # nothing with a value past them
        (text_rows(10, 4000) + EMPTY_ROWS, True),
        (text_rows(10, 12_000, "AB"), True),
        # A cell out of order after the rows cut names a row that is read: no cut.
        (text_rows(10, 12_000) + b'<row r="12001"><c r="B7"><v>3</v></c></row>', False),
        # A cell without its reference is placed by its row: no cut.
        (text_rows(10, 12_000) + b'<row r="12001"><c><v>3</v></c></row>', False),
        (text_rows(10, 12_000).replace(b"<row ", b'<row spans="1:1" '), False),  # r not first
    ],
    ids=[
        "gap",
        "empty past",
        "empty past, short",
        "two columns",
        "out of order",
        "unnamed",
        "spans",
    ],
)
def test_a_sheet_cut_after_the_rows_read_reads_as_the_whole(tmp_path, rows, cut):
    data = add_sheet_rows(build_return(tmp_path / "x.xlsx").read_bytes(), rows, MERGED)
    facts = containers.inspect_workbook_zip(data, "xlsx", list_far=True)
    assert bool(facts.cuts) == cut
    book = farcells.without_rows_past(data, facts) if cut else data
    whole, copy = sheets.load_sheets(data, "x.xlsx"), sheets.load_sheets(book, "x.xlsx")
    assert [(s.grid, s.rows_cut, s.beyond) for s in copy] == [
        (s.grid, s.rows_cut, s.beyond) for s in whole
    ]
    assert read_return(data, "x.xlsx") == dataclasses.replace(
        read_return(book, "x.xlsx"), sha256=read_return(data, "x.xlsx").sha256
    )


def test_far_away_cell_in_xls_refused(tmp_path, soffice):
    # calamine allocates the whole A1:IV65536 span (about a gigabyte) for such a small xls.
    (tmp_path / "src").mkdir()
    path = build_return(tmp_path / "src" / "far.xlsx", extra_cells={(65_535, 255): "远处"})
    xls = soffice.convert(path, "xls", tmp_path / "out")
    err = refused(xls.read_bytes(), "far.xls")  # by the BIFF walk, before calamine parses it
    assert (
        err.message
        == "工作表 完成情况 的内容范围过大（单元格 IV65536 处仍有内容，最多读取 5000 行、50 列）"
    )


def test_far_cell_in_an_ods_is_read_around(soffice, tmp_path):
    # LibreOffice writes the note at ZX60000 into the .ods; the table is read, the note quoted.
    path = build_return(tmp_path / "x.xlsx", extra_cells={(59_999, 699): "远处的备注"})
    ods = soffice.convert(path, "ods", tmp_path / "ods")
    ret = read_return(ods.read_bytes(), "x.ods")
    plain = read(build_return(tmp_path / "plain.xlsx")).rows
    assert [(r.number, r.answer) for r in ret.rows] == [(r.number, r.answer) for r in plain]
    assert [(x.sheet, x.place, x.text) for x in ret.strays] == [
        ("完成情况", "单元格 ZX60000", "远处的备注")
    ]


def test_ods_repeated_rows_are_cut_to_what_is_read(tmp_path):
    # A million rows of a thousand cells, by repetition: calamine gets only the rows and columns
    # read (it would allocate the whole span), so the file is parsed, and found to hold no table.
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet>'
        '<table:table table:name="完成情况"><table:table-row table:number-rows-repeated="1000000">'
        '<table:table-cell table:number-columns-repeated="1000" office:value-type="string"><text:p>x</text:p>'
        "</table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)
        z.writestr("META-INF/manifest.xml", ODS_MANIFEST)
    data = out.getvalue()
    assert sniff(data) == "ods"
    assert refused(data).message.startswith("找不到任务表")


ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" '
    'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def test_oversized_file_refused():
    err = refused(b"PK\x03\x04" + b"\0" * (20 * 1024 * 1024))
    assert err.message.startswith("文件过大")


# --- The inbox -----------------------------------------------------------------------------
def gbk_zip(members: dict[str, bytes]) -> bytes:
    """A zip as made on Chinese Windows: names in GBK, UTF-8 flag (0x800) clear."""
    out = io.BytesIO()
    placeholders = {}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (name, data) in enumerate(members.items()):
            raw = name.encode("gbk")
            stand_in = f"{i:03d}".ljust(len(raw), "_").encode()
            placeholders[stand_in] = raw
            z.writestr(stand_in.decode(), data)
    blob = out.getvalue()
    for stand_in, raw in placeholders.items():
        blob = blob.replace(stand_in, raw)
    for info in zipfile.ZipFile(io.BytesIO(blob)).infolist():
        assert not info.flag_bits & 0x800
    return blob


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath, f)
            if p.is_symlink() or not os.access(p, os.R_OK):
                continue
            out[p.relative_to(root).as_posix()] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


def test_collect_inbox(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "b" / "sub").mkdir(parents=True)
    (inbox / "a").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    build_return(
        inbox / "b" / "sub" / "2022年第一季度工作目标完成情况-社会救助处.xlsx",
        division="社会救助处",
    )
    build_return(inbox / "a" / "养老.xlsx")
    build_return(outside / "linked.xlsx", division="社会事务处")
    (inbox / "link.xlsx").symlink_to(outside / "linked.xlsx")
    (inbox / "loop").symlink_to(inbox, target_is_directory=True)
    (inbox / "~$养老.xlsx").write_bytes(b"owner")
    (inbox / "a" / ".~lock.养老.xlsx#").write_text("lock")
    (inbox / ".DS_Store").write_bytes(b"\0\0")
    (inbox / "Thumbs.db").write_bytes(b"\0")
    (inbox / "desktop.ini").write_text("[x]")
    (inbox / "._养老.xlsx").write_bytes(b"\0")
    (inbox / "说明.pdf").write_bytes(b"%PDF-1.4")
    (inbox / "broken.xlsx").symlink_to(tmp_path / "missing.xlsx")
    member = build_return(tmp_path / "m.xlsx", division="儿童福利处").read_bytes()
    (inbox / "returns.zip").write_bytes(
        gbk_zip(
            {
                "儿童福利处/儿童福利处.xlsx": member,
                "~$儿童福利处.xlsx": b"x",
                "说明.txt": "随便".encode("gbk"),
            }
        )
    )
    before = snapshot(inbox)

    got = collect(inbox)

    assert isinstance(got, Collected)
    assert [r.source for r in got.returns] == [
        "a/养老.xlsx",
        "b/sub/2022年第一季度工作目标完成情况-社会救助处.xlsx",
        "link.xlsx",
        "returns.zip/儿童福利处/儿童福利处.xlsx",
    ]
    assert [r.division for r in got.returns] == [
        "养老服务处",
        "社会救助处",
        "社会事务处",
        "儿童福利处",
    ]
    assert got.returns[3].mtime > 0
    assert [r.source for r in got.rejected] == ["broken.xlsx", "returns.zip/说明.txt", "说明.pdf"]
    assert got.rejected[0].reason.startswith("无法读取文件（文件不存在")
    assert got.rejected[2] == Rejected(
        "说明.pdf", "这是 PDF 文件，不是 Excel 工作簿；请使用下发的 Excel 模板（.xlsx）填报后报送"
    )
    assert got.skipped == (
        ".DS_Store",
        "._养老.xlsx",
        "Thumbs.db",
        "a/.~lock.养老.xlsx#",
        "desktop.ini",
        "loop",
        "returns.zip/~$儿童福利处.xlsx",
        "~$养老.xlsx",
    )
    assert snapshot(inbox) == before


def test_collect_order_does_not_depend_on_creation_order(tmp_path):
    names = ["c.xlsx", "a.xlsx", "b/z.xlsx", "b/a.xlsx"]
    results = []
    for attempt, order in enumerate((names, list(reversed(names)))):
        inbox = tmp_path / f"inbox{attempt}"
        for name in order:
            (inbox / name).parent.mkdir(parents=True, exist_ok=True)
            build_return(inbox / name)
        results.append([r.source for r in collect(inbox).returns])
    assert results[0] == results[1] == ["a.xlsx", "b/a.xlsx", "b/z.xlsx", "c.xlsx"]


def test_unreadable_file_rejected(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    build_return(inbox / "ok.xlsx")
    locked = build_return(inbox / "locked.xlsx")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as root: chmod 000 does not stop reading")
        got = collect(inbox)
        assert got.rejected == (Rejected("locked.xlsx", "无法读取文件（没有读取权限）"),)
        assert [r.source for r in got.returns] == ["ok.xlsx"]
    finally:
        locked.chmod(0o644)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_special_file_rejected_without_blocking(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    build_return(inbox / "ok.xlsx")
    os.mkfifo(inbox / "pipe.xlsx")  # opening a pipe for reading would block forever
    got = collect(inbox)
    assert got.rejected == (Rejected("pipe.xlsx", "不是普通文件"),)
    assert [r.source for r in got.returns] == ["ok.xlsx"]


def test_bad_zip_in_inbox_does_not_stop_others(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    build_return(inbox / "ok.xlsx")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.xlsx", b"\0" * 50_000_000)
    (inbox / "bomb.zip").write_bytes(bomb.getvalue())
    nested = io.BytesIO()
    with zipfile.ZipFile(nested, "w") as z:
        z.writestr("inner.zip", bomb.getvalue())
    (inbox / "nested.zip").write_bytes(nested.getvalue())
    got = collect(inbox)
    assert [r.source for r in got.returns] == ["ok.xlsx"]
    assert [r.source for r in got.rejected] == ["bomb.zip", "nested.zip/inner.zip"]
    assert "疑似压缩炸弹" in got.rejected[0].reason


def test_member_name_decoding():
    info = zipfile.ZipInfo("养老服务处.xlsx".encode("gbk").decode("cp437"))
    assert member_name(info) == "养老服务处.xlsx"
    info = zipfile.ZipInfo("plain.xlsx")
    assert member_name(info) == "plain.xlsx"
    info = zipfile.ZipInfo("养老.xlsx")
    info.flag_bits |= 0x800
    assert member_name(info) == "养老.xlsx"


def test_a_deleted_header_row_leaves_the_first_task_read(tmp_path):
    import openpyxl

    path = build_return(tmp_path / "built.xlsx")
    wb = openpyxl.load_workbook(path)
    wb[layout.DATA_SHEET].delete_rows(layout.ROW_HEADER)  # the first task moves up into its row
    wb.save(tmp_path / "deleted.xlsx")
    r = read(tmp_path / "deleted.xlsx")
    assert [(x.row, x.number, x.answer, x.plan) for x in r.rows] == [
        (layout.ROW_HEADER, "*1", ROWS[0][3], ROWS[0][5]),
        (layout.ROW_HEADER + 1, "7", ROWS[1][3], ROWS[1][5]),
    ]
    assert r.filled_by == "张三"


def test_folders_not_read_are_named_and_zip_paths_with_dots_are_read(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / ".草稿").mkdir(parents=True)
    build_return(inbox / ".草稿" / "养老服务处.xlsx")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (inbox / "链接").symlink_to(elsewhere, target_is_directory=True)
    data = build_return(tmp_path / "x.xlsx").read_bytes()
    with zipfile.ZipFile(inbox / "returns.zip", "w") as zf:
        zf.writestr("./a/养老服务处.xlsx", data)
        zf.writestr(".报送/社会救助处.xlsx", data)
        zf.writestr("../儿童福利处.xlsx", data)
        zf.writestr("__MACOSX/._养老服务处.xlsx", b"\0")
    got = collect(inbox, processes=0)
    assert [r.source for r in got.returns] == [
        "returns.zip/../儿童福利处.xlsx",
        "returns.zip/.报送/社会救助处.xlsx",
        "returns.zip/a/养老服务处.xlsx",
    ]
    assert [folder for folder, _ in got.unread_folders] == [".草稿", "链接"]
    assert "隐藏文件夹" in got.unread_folders[0][1] and "链接" in got.unread_folders[1][1]


def test_characters_cut_between_xls_records_come_back_whole(tmp_path, soffice):
    # A long text is stored in an .xls in pieces of about 8 KB; with a four-byte character on
    # every third position, some piece ends between the two halves of one.
    answer = "完成率😀𠀀" * 3000
    rows = (("*1", "推进养老服务体系建设", "牵头", answer, "已完成", "无"),)
    (tmp_path / "src").mkdir()
    original = build_return(tmp_path / "src" / "a.xlsx", rows=rows)
    converted = soffice.convert(original, "xls", tmp_path / "out")
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(converted.read_bytes()))
    as_decoded = book.get_sheet_by_name(layout.DATA_SHEET).to_python()[layout.ROW_HEADER][3]
    assert "\ufffd" in as_decoded  # what python-calamine gives: the case is real
    assert read(converted).rows[0].answer == answer


def test_string_texts_of_what_is_no_xls_is_nothing():
    from workbook_tools.biffshown import string_texts

    assert string_texts(b"\xd0\xcf\x11\xe0 not an ole file", "完成情况", ["D6"]) == {}
    assert string_texts(make_ole({"Workbook": b"\x09\x08\x02"}), "完成情况", ["D6"]) == {}


def test_a_link_is_quoted_unless_its_cell_shows_the_address(tmp_path):
    import openpyxl

    rows = (
        ("*1", "推进养老服务体系建设", "牵头", "https://mz.example.gov.cn/a", "已完成", "无"),
        ("7", "提升社会救助水平", "配合", "详见附件报告", "滞后", "资金未到位"),
    )
    wb = openpyxl.load_workbook(build_return(tmp_path / "built.xlsx", rows=rows))
    ws = wb[layout.DATA_SHEET]
    ws["D6"].hyperlink = "https://mz.example.gov.cn/a"  # a typed address, made a link
    ws["D7"].hyperlink = "https://mz.example.gov.cn/报告.pdf"
    wb.save(tmp_path / "links.xlsx")
    r = read(tmp_path / "links.xlsx")
    links = [(s.place, s.text) for s in r.strays if s.kind == "链接"]
    assert links == [("单元格 D7 的链接", "https://mz.example.gov.cn/报告.pdf")]
