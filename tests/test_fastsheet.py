"""fastsheet: the faster cell writer must give exactly the bytes xlsxwriter's own code gives."""

from __future__ import annotations

import datetime
import io
import zipfile

import openpyxl
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook
from test_summary import make_summary
from xlsxwriter.packager import Packager
from xlsxwriter.worksheet import Worksheet

from workbook_tools import fastsheet, layout
from workbook_tools.fastsheet import FastWorkbook, FastWorksheet, render_rows, write_values_plain
from workbook_tools.master import read_master
from workbook_tools.summary import _build
from workbook_tools.template import build_template

FIXED_TIME = {"created": datetime.datetime(2022, 4, 1)}
OPTIONS = {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


@pytest.fixture
def plain_xlsxwriter(monkeypatch):
    """Turn every fast path off: FastWorkbook then writes through xlsxwriter's own code."""

    def use_plain() -> None:
        monkeypatch.setattr(FastWorksheet, "_write_rows", Worksheet._write_rows)
        monkeypatch.setattr(FastWorksheet, "_calculate_spans", Worksheet._calculate_spans)
        monkeypatch.setattr(FastWorksheet, "write_values", write_values_plain)
        monkeypatch.setattr(FastWorkbook, "_get_packager", lambda self: Packager())
        monkeypatch.setattr(FastWorkbook, "_store_workbook", xlsxwriter.Workbook._store_workbook)

    return use_plain


@pytest.fixture
def slow_cells(monkeypatch):
    """Count the cells the fast writer hands back to xlsxwriter's per-cell code."""
    calls = []
    original = Worksheet._write_cell

    def spy(self, row, col, cell):
        calls.append(cell.__class__.__name__)
        return original(self, row, col, cell)

    monkeypatch.setattr(Worksheet, "_write_cell", spy)
    return calls


def summary_bytes(tmp_path, name: str) -> bytes:
    target = tmp_path / name
    _build(make_summary(), str(target))
    return target.read_bytes()


def test_summary_same_bytes_as_xlsxwriter(tmp_path, plain_xlsxwriter, slow_cells, monkeypatch):
    # The rows rendered apart (汇总 and 明细 data) go through xlsxwriter too in this comparison.
    reference_rows(monkeypatch)
    fast = summary_bytes(tmp_path, "fast.xlsx")
    assert slow_cells == []  # every cell of the summary went through the fast writer
    plain_xlsxwriter()
    plain = summary_bytes(tmp_path, "plain.xlsx")
    assert len(slow_cells) > 100  # ... which the plain run did not use
    assert parts(fast) == parts(plain)
    assert len(fast) != len(plain)  # only the compression differs


def reference_rows(monkeypatch) -> None:
    """Make summary and template write their rendered rows with write_values / set_row instead."""
    from workbook_tools import summary, summary_rows, template

    def render(first_row, rows, clean=False):
        rows = list(rows)
        widest = max((len(v) for v, _, _ in rows if v is not None), default=0)
        return rows, first_row + len(rows) - 1, widest - 1

    def attach(self, first_row, rendered):
        for r, (values, formats, height) in enumerate(rendered[0], first_row):
            if values is None:  # a row left empty
                continue
            self.write_values(r, 0, values, formats)
            if height is not None:
                self.set_row(r, height)

    monkeypatch.setattr(summary, "render_rows", render)
    monkeypatch.setattr(summary_rows, "render_rows", render)
    monkeypatch.setattr(summary_rows, "deflate_rows", lambda rendered: rendered)
    monkeypatch.setattr(summary._Styles, "xfs", lambda self, *a: self.row(*a)[0])
    monkeypatch.setattr(summary._Styles, "xf", lambda self, fmt: fmt)
    monkeypatch.setattr(template, "render_rows", render)
    monkeypatch.setattr(template, "_xf_indices", lambda formats: formats)
    monkeypatch.setattr(FastWorksheet, "attach_rows", attach)


def cell_view(path):
    """Every cell's value and look, and every row's height, as openpyxl reads them."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                f, a = c.font, c.alignment
                out[(ws.title, c.coordinate)] = (
                    c.value,
                    c.data_type,
                    f.name,
                    f.sz,
                    f.b,
                    f.color.rgb if f.color else None,
                    c.fill.fgColor.rgb,
                    a.horizontal,
                    a.vertical,
                    a.wrap_text,
                    c.border.left.style,
                    c.number_format,
                )
        out[(ws.title, "heights")] = {r: d.height for r, d in ws.row_dimensions.items()}
        out[(ws.title, "merged")] = sorted(str(r) for r in ws.merged_cells.ranges)
        out[(ws.title, "filter")] = ws.auto_filter.ref
    return out


def test_rendered_rows_read_as_xlsxwriter_rows(tmp_path, monkeypatch):
    fast = tmp_path / "fast.xlsx"
    _build(make_summary(), str(fast))
    reference_rows(monkeypatch)
    plain = tmp_path / "plain.xlsx"
    _build(make_summary(), str(plain))
    got, want = cell_view(fast), cell_view(plain)
    assert got.keys() == want.keys()
    assert [k for k in want if got[k] != want[k]] == []
    assert ("明细", "G2") in got and ("汇总", "H3") in got
    # calamine (what merge and staff tools read with) sees the same text
    for path in (fast, plain):
        book = CalamineWorkbook.from_path(str(path))
        assert (
            book.get_sheet_by_name("明细").to_python()
            == CalamineWorkbook.from_path(str(plain)).get_sheet_by_name("明细").to_python()
        )


INLINE_TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=["Cs", "Cc"]), max_size=40),
    st.sampled_from(
        [
            " 前导空格",
            "末尾空格 ",
            "\t制表",
            "换行\n",
            "_x0041_",
            "a_x00",
            "A&B<C>D",
            "😀",
            "甲" * 3000,
        ]
    ),
)


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(
        st.lists(
            st.one_of(INLINE_TEXT, st.integers(-(10**9), 10**9), st.none()), min_size=1, max_size=5
        ),
        min_size=1,
        max_size=20,
    ),
    first_row=st.integers(1, 50),
)
def test_render_rows_read_back_exactly(rows, first_row):
    buf = io.BytesIO()
    wb = FastWorkbook(buf, OPTIONS)
    ws = wb.add_worksheet("表")
    fmt = wb.add_format({"text_wrap": True})
    ws.write_string(0, 0, "表头", fmt)
    xf = fmt._get_xf_index()
    rendered = render_rows(first_row, [(v, [xf] * len(v), 20.0) for v in rows])
    ws.attach_rows(first_row, rendered)
    wb.close()
    grid = CalamineWorkbook.from_filelike(io.BytesIO(buf.getvalue())).get_sheet_by_name("表")
    got = grid.to_python(skip_empty_area=False)
    for r, values in enumerate(rows, first_row):
        for c, value in enumerate(values):
            cell = got[r][c] if r < len(got) and c < len(got[r]) else ""
            want = "" if value is None else value
            assert cell == want or (isinstance(want, int) and cell == float(want))


def test_attach_rows_refuses_rows_below():
    wb = FastWorkbook(io.BytesIO(), OPTIONS)
    ws = wb.add_worksheet()
    ws.write_string(5, 0, "下方已有内容")
    with pytest.raises(ValueError):
        ws.attach_rows(2, render_rows(2, [(["x"], [0], 20.0)]))


def test_template_same_bytes_as_xlsxwriter(plain_xlsxwriter, monkeypatch):
    # The task rows (rendered apart) go through xlsxwriter too in this comparison.
    reference_rows(monkeypatch)
    master = read_master("master/分解方案.xlsx")
    divisions = master.divisions[:3]
    fast = [build_template(master, d, 2022, 1) for d in divisions]
    plain_xlsxwriter()
    assert [parts(build_template(master, d, 2022, 1)) for d in divisions] == [
        parts(x) for x in fast
    ]


def test_template_rendered_rows_read_as_xlsxwriter_rows(tmp_path, monkeypatch):
    master = read_master("master/分解方案.xlsx")
    fast = {d: build_template(master, d, 2022, 1) for d in master.divisions}
    reference_rows(monkeypatch)
    checked = 0
    for division, data in fast.items():
        (tmp_path / "fast.xlsx").write_bytes(data)
        (tmp_path / "plain.xlsx").write_bytes(build_template(master, division, 2022, 1))
        got, want = cell_view(tmp_path / "fast.xlsx"), cell_view(tmp_path / "plain.xlsx")
        assert got.keys() == want.keys()
        assert [k for k in want if got[k] != want[k]] == []
        # the task rows are there, with their text, look and height
        assert (
            got[(layout.DATA_SHEET, f"B{layout.ROW_FIRST_TASK}")][0]
            == master.tasks_of(division)[0].text
        )
        checked += len(got)
        books = [CalamineWorkbook.from_path(str(tmp_path / n)) for n in ("fast.xlsx", "plain.xlsx")]
        for name in books[1].sheet_names:
            grids = [b.get_sheet_by_name(name).to_python(skip_empty_area=False) for b in books]
            assert grids[0] == grids[1], (division, name)
    assert checked > 1000


def test_zip_compression_level_restored(deflate_lib):
    import xlsxwriter.workbook

    buf = io.BytesIO()
    wb = FastWorkbook(buf, OPTIONS)
    wb.add_worksheet().write_string(0, 0, "压缩" * 2000)
    wb.close()
    assert xlsxwriter.workbook.ZipFile is zipfile.ZipFile  # swapped back after close()
    with zipfile.ZipFile(buf) as zf:
        info = zf.getinfo("xl/sharedStrings.xml")
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert zf.testzip() is None


# Text that exercises every branch of the shared-strings writer and of write_values.
TRICKY = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " 前导空格",
            "末尾空格 ",
            "末尾换行\n",
            "\t制表",
            "_x0041_ 已是转义",
            "a_xZZ",
            "<r>像富文本</r>",
            "A&B<C>D\"E'",
            "含\x01控制\x1f字符",
            "完成了😀",
            "\u3000全角空格开头",
            "甲" * 20000,
        ]
    ),
)
VALUES = st.lists(
    st.one_of(
        TRICKY,
        st.integers(-(10**12), 10**12),
        st.floats(allow_nan=False, allow_infinity=False),
        st.none(),
    ),
    min_size=1,
    max_size=6,
)


def workbook_bytes(cls, rows, first_col: int, writer) -> bytes:
    buf = io.BytesIO()
    wb = cls(buf, OPTIONS)
    wb.set_properties(FIXED_TIME)  # else two builds a second apart differ in docProps/core.xml
    ws = wb.add_worksheet("表")
    fmt, other = wb.add_format({"text_wrap": True}), wb.add_format({"bold": True})
    ws.set_row(0, 30)  # a row with attributes only
    for r, values in enumerate(rows, 2):
        formats = [fmt if (r + i) % 2 else other for i in range(len(values))]
        writer(ws, r, first_col, values, formats)
        ws.set_row(r, 18 + r)
    ws.write_string(len(rows) + 3, 0, "无格式")  # no format: xlsxwriter's own code
    ws.write_rich_string(len(rows) + 4, 1, "富", other, "文本")
    ws.merge_range(len(rows) + 5, 0, len(rows) + 5, 3, "合并", fmt)
    wb.close()
    return buf.getvalue()


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(VALUES, min_size=1, max_size=40), first_col=st.integers(0, 30))
def test_any_cells_same_bytes(rows, first_col):
    fast = workbook_bytes(FastWorkbook, rows, first_col, FastWorksheet.write_values)
    plain = workbook_bytes(xlsxwriter.Workbook, rows, first_col, write_values_plain)
    assert parts(fast) == parts(plain)


def test_comments_fall_back_to_xlsxwriter():
    def book(cls) -> bytes:
        buf = io.BytesIO()
        wb = cls(buf, OPTIONS)
        wb.set_properties(FIXED_TIME)
        ws = wb.add_worksheet()
        ws.write_string(0, 0, "有批注", wb.add_format({"bold": True}))
        ws.write_comment(0, 0, "批注")
        ws.write_number(40, 2, 3.5, wb.add_format({"italic": True}))
        wb.close()
        return buf.getvalue()

    assert parts(book(FastWorkbook)) == parts(book(xlsxwriter.Workbook))


def test_module_documents_its_xlsxwriter_major():
    # The fast paths override private methods; a new major version must be checked again.
    assert xlsxwriter.__version__.split(".")[0] == "3", fastsheet.__doc__


def test_render_rows_cuts_a_cell_over_excels_limit():
    from workbook_tools.cells import CELL_LIMIT, TRUNCATION_MARKER, utf16_len

    long_text = "状" * (CELL_LIMIT + 10)
    buf = io.BytesIO()
    wb = FastWorkbook(buf, OPTIONS)
    ws = wb.add_worksheet("表")
    ws.attach_rows(0, render_rows(0, [(["短", long_text, "😀" * 20000], [0, 0, 0], 20.0)]))
    wb.close()
    row = CalamineWorkbook.from_filelike(io.BytesIO(buf.getvalue())).get_sheet_by_name("表")
    got = row.to_python()[0]
    assert got[0] == "短"
    assert got[1].endswith(TRUNCATION_MARKER) and utf16_len(got[1]) <= CELL_LIMIT
    assert got[2].endswith(TRUNCATION_MARKER) and utf16_len(got[2]) <= CELL_LIMIT


def test_summary_with_an_over_long_status_still_opens(tmp_path):
    import dataclasses

    from workbook_tools.cells import CELL_LIMIT, utf16_len
    from workbook_tools.summary import write_summary

    summary = make_summary()
    first = dataclasses.replace(summary.answers[0], status_raw="状" * (CELL_LIMIT + 1))
    summary = dataclasses.replace(summary, answers=(first, *summary.answers[1:]))
    out = write_summary(summary, tmp_path / "汇总.xlsx")
    sheet = openpyxl.load_workbook(out)["明细"]  # openpyxl refuses what Excel would repair
    lengths = [utf16_len(str(c.value)) for row in sheet.iter_rows() for c in row if c.value]
    assert max(lengths) <= CELL_LIMIT


ROW_TEXT = st.one_of(
    st.text(max_size=12),  # any character: NUL, controls, spaces of every kind, surrogates
    st.sampled_from(
        [
            "",
            " 前导",
            "末尾 ",
            "\n",
            "\u3000全角",
            "_",
            "x0041_",
            "_x",
            "_x0041_",
            "a_x00fF_b",
            "&",
            "\x00",
        ]
    ),
    st.sampled_from(["\x85", "\xa0", "\u2028", "\u200b", "\x1c", "\r", "\t", "a\xa0", "\xa0a"]),
)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(ROW_TEXT, min_size=1, max_size=6), min_size=1, max_size=8))
def test_render_rows_fast_path_same_as_cell_by_cell(rows):
    # A row of plain strings is written in one go; it must be exactly what the general
    # per-cell path writes (which escapes, preserves spaces, and is read back in the test above).
    xfs = [[3 + i for i in range(len(v))] for v in rows]
    starts = [f'<c r="{c}' for c in "ABCDEF"]
    want = []
    for ref, (values, xf) in enumerate(zip(rows, xfs, strict=True), 1):
        want.append(f'<row r="{ref}" ht="15" customHeight="1">')
        fastsheet._render_cells(want.append, starts, str(ref), values, xf)
        want.append("</row>")
    got = render_rows(0, [(v, x, 15.0) for v, x in zip(rows, xfs, strict=True)])
    assert got == ("".join(want), len(rows) - 1, max(len(v) for v in rows) - 1)


def test_render_rows_default_height():
    xml, _, _ = render_rows(0, [(["甲"], [1], None), (["乙"], [1], 20.0)])
    assert xml.startswith('<row r="1"><c r="A1" s="1" t="inlineStr">')
    assert '<row r="2" ht="20.25" customHeight="1">' in xml


@pytest.fixture(params=["isal", "zlib"])
def deflate_lib(request, monkeypatch):
    """Deflate with ISA-L (a declared dependency) and with zlib (where it has no wheel)."""
    import zlib

    if request.param == "zlib":
        monkeypatch.setattr(fastsheet, "_deflate_lib", zlib)
        monkeypatch.setattr(fastsheet, "_crc32_combine", fastsheet.crc32_combine)
    return request.param


def test_isal_deflates_when_installed():
    # The dependency is declared, so a normal install deflates with it.
    assert fastsheet._deflate_lib.__name__ == "isal.isal_zlib"
    assert fastsheet._crc32_combine is not fastsheet.crc32_combine


@pytest.mark.parametrize("sheets", [1, 3])
def test_attached_rows_deflated_ahead_give_the_same_file(sheets, deflate_lib):
    rows = [(["甲", " 前导", "A&B"], [0, 0, 0], 20.0), (["乙", "", "😀"], [0, 0, 0], None)]
    rows += [([f"第{i}行", "长" * (i % 700)], [0, 0], 15.0) for i in range(3000)]

    def book(deflate: bool) -> bytes:
        buf = io.BytesIO()
        wb = FastWorkbook(buf, OPTIONS)
        wb.set_properties(FIXED_TIME)
        for i in range(sheets):
            ws = wb.add_worksheet(f"表{i}")
            ws.write_string(0, 0, "表头")
            ws.autofilter(0, 0, 10, 2)  # markup after the rows, in the same part
            rendered = render_rows(1, rows)
            ws.attach_rows(1, fastsheet.deflate_rows(rendered) if deflate else rendered)
        wb.close()
        return buf.getvalue()

    ahead, plain = book(deflate=True), book(deflate=False)
    with zipfile.ZipFile(io.BytesIO(ahead)) as zf:
        assert zf.testzip() is None  # every member's CRC checks out
        info = zf.getinfo(f"xl/worksheets/sheet{sheets}.xml")
        assert info.compress_type == zipfile.ZIP_DEFLATED and info.compress_size < info.file_size
    assert parts(ahead) == parts(plain)
    assert all(b"attached-rows" not in data for data in parts(ahead).values())
    grid = CalamineWorkbook.from_filelike(io.BytesIO(ahead)).get_sheet_by_name("表0").to_python()
    assert grid[2][2] == "😀" and grid[-1][1] == "长" * (2999 % 700)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=3000))
def test_crc32_combine_as_zlib(a, b):
    import zlib

    assert fastsheet.crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
    assert fastsheet._crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_joined_rows_are_the_rows_rendered_in_one_go(deflate_lib):
    rows = [([f"第{i}行", "内容" * (i % 50)], [0, 0], 15.0) for i in range(500)]
    whole = fastsheet.deflate_rows(render_rows(1, rows))
    joined = fastsheet.join_rows(
        fastsheet.deflate_rows(render_rows(1, rows[:123])),
        fastsheet.deflate_rows(render_rows(124, rows[123:])),
    )
    assert joined[1:] == whole[1:] == (500, 1)
    assert (joined[0].crc, joined[0].size) == (whole[0].crc, whole[0].size)
    import zlib

    inflate = zlib.decompressobj(-15)
    assert inflate.decompress(joined[0].data) == render_rows(1, rows)[0].encode()


def test_clean_rows_promise_is_checked_in_tests():
    # conftest checks render_rows(clean=True) callers on every row: a broken promise fails.
    with pytest.raises(AssertionError, match="not clean"):
        render_rows(0, [(["甲\x0b乙"], [0], None)], clean=True)
    assert "甲_x000B_乙" in render_rows(0, [(["甲\x0b乙"], [0], None)])[0]
    assert render_rows(0, [(["甲\n乙\t丙"], [0], None)], clean=True)[0].count("甲\n乙\t丙") == 1


def test_rows_left_empty_and_merges_of_rendered_rows(tmp_path):
    # render_rows skips a row given as None (no <row> element); merge_rendered records a merge
    # over rendered cells as merge_range would, refusing an overlap as it does.
    from xlsxwriter.exceptions import OverlappingRange

    from workbook_tools.fastsheet import FastWorkbook

    xml, last_row, last_col = render_rows(
        2, [(["a", "b"], [0, 0], None), (None, None, None), (["c", "", ""], [0, 0, 0], 30.0)]
    )
    assert '<row r="4"' not in xml and '<row r="3"' in xml and '<row r="5"' in xml
    assert (last_row, last_col) == (4, 2)
    path = tmp_path / "m.xlsx"
    wb = FastWorkbook(str(path))
    ws = wb.add_worksheet("s")
    ws.write_string(0, 0, "head")
    ws.merge_rendered(4, 0, 4, 2)
    with pytest.raises(OverlappingRange):
        ws.merge_rendered(4, 1, 5, 1)
    ws.attach_rows(2, (xml, last_row, last_col))
    wb.close()
    got = openpyxl.load_workbook(path)["s"]
    assert [str(r) for r in got.merged_cells.ranges] == ["A5:C5"]
    assert [got["A3"].value, got["B3"].value, got["A5"].value] == ["a", "b", "c"]
    assert got.row_dimensions[5].height == 30


def test_written_workbooks_leave_nothing_for_the_cyclic_collector(tmp_path):
    # The stages that write workbooks hold the cyclic garbage collector (gcpause): what they let
    # go must be freed by reference counting alone. xlsxwriter's worksheets keep the workbook's
    # add_format, a cycle through every cell; FastWorkbook.close breaks it.
    import gc

    from workbook_tools.summary import write_summary
    from workbook_tools.template import write_templates

    master = read_master("master/分解方案.xlsx")
    gc.collect()
    gc.disable()
    try:
        write_templates(master, 2022, 1, tmp_path / "outbox")  # 12 divisions: in this process
        write_summary(make_summary(), tmp_path / "汇总.xlsx")
        assert gc.collect() == 0
    finally:
        gc.enable()
