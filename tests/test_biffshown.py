"""biffshown.py: an .xls re-saved by LibreOffice or Gnumeric reads as the person saw its numbers.

Returns are written as .xlsx with number formats, converted to .xls by the real suites, then read
with read_return; the .xlsx itself is read too, since .xls must give what .xlsx already gives.
Damaged BIFF is made by rewriting the Workbook stream of a real .xls in place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import struct
from pathlib import Path

import olefile
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbook_tools import biffshown, layout
from workbook_tools.returns import read_return

# (序号, 完成情况, 进展状态, 存在问题及下步打算): a cell is (value, number format) or a string.
ROWS = (
    ("1", (0.85, "0%"), (0.5, "0%"), (12000, "#,##0")),
    (
        "2",
        (dt.datetime(2022, 4, 8), 'yyyy"年"m"月"d"日"'),
        "按序时推进",
        (dt.datetime(2022, 3, 31), "yyyy/m/d"),
    ),
    ("3", (0.425, "0.0%"), "滞后", (1234567.891, "#,##0.00")),
    ("4", (3.5, "General"), "已完成", (123456789, "#,##0")),
    # Halves as Excel rounds them (away from zero), a 12-hour clock, names of months and days.
    ("5", (0.125, "0%"), "已完成", (1234.5, "#,##0")),
    (
        "6",
        (dt.datetime(2022, 3, 31, 15, 30), "h:mm AM/PM"),
        "已完成",
        (dt.datetime(2022, 3, 31), 'yyyy"年"m"月"d"日" aaaa'),
    ),
    (
        "7",
        (dt.datetime(2022, 3, 31), "mmmm d, yyyy"),
        "已完成",
        (dt.datetime(2022, 3, 31), "d-mmm-yy"),
    ),
)
SHOWN = [
    ("85%", "50%", "12,000"),
    ("2022年4月8日", "按序时推进", "2022/3/31"),
    ("42.5%", "滞后", "1,234,567.89"),
    ("3.5", "已完成", "123,456,789"),
    ("13%", "已完成", "1,235"),
    ("3:30 PM", "已完成", "2022年3月31日 星期四"),
    ("March 31, 2022", "已完成", "31-Mar-22"),
]


FIRST = layout.ROW_FIRST_TASK


def build(path: Path, rows=ROWS) -> Path:
    """A task sheet (the template's header row and task rows) whose answers are formatted
    numbers."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(layout.DATA_SHEET)
    for c, header in enumerate(layout.HEADERS):
        ws.write_string(layout.ROW_HEADER - 1, c, header)
    columns = [
        layout.HEADERS.index(h) for h in (layout.COL_ANSWER, layout.COL_STATUS, layout.COL_PLAN)
    ]
    for r, (number, *cells) in enumerate(rows, start=layout.ROW_FIRST_TASK - 1):
        ws.write_string(r, 0, number)
        ws.write_string(r, 1, f"事项{number}")
        for c, cell in zip(columns, cells, strict=True):
            if isinstance(cell, str):
                ws.write_string(r, c, cell)
            elif isinstance(cell[0], dt.datetime):
                ws.write_datetime(r, c, cell[0], wb.add_format({"num_format": cell[1]}))
            else:
                ws.write_number(r, c, cell[0], wb.add_format({"num_format": cell[1]}))
    wb.close()
    return path


def texts(path: Path) -> list[tuple[str, str, str]]:
    ret = read_return(path.read_bytes(), path.name)
    return [(row.answer, row.status, row.plan) for row in ret.rows]


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("biffshown-src") / "shown.xlsx")


@pytest.fixture(scope="module")
def lo_xls(original, soffice, tmp_path_factory) -> Path:
    return soffice.convert(
        original, "xls", tmp_path_factory.mktemp("lo"), filter_name="MS Excel 97"
    )


@pytest.fixture(scope="module")
def gnumeric_xls(original, gnumeric, tmp_path_factory) -> Path:
    return gnumeric.convert(original, "xls", tmp_path_factory.mktemp("gnumeric"))


def test_xlsx_shows_the_formatted_numbers(original):
    assert texts(original) == SHOWN


@pytest.mark.parametrize("suite", ["lo_xls", "gnumeric_xls"])
def test_resaved_xls_shows_what_the_xlsx_showed(suite, request):
    xls = request.getfixturevalue(suite)
    assert xls.read_bytes()[:8] == olefile.MAGIC
    assert texts(xls) == SHOWN


def test_gnumeric_formats_calamine_takes_for_dates(gnumeric, tmp_path):
    # Gnumeric numbers its own formats from 50; calamine reads a number in format 50-58 as a
    # date or time, so 0.425 in "0.0" came back as 10:12:00 before the stored number was used.
    rows = (("1", (0.425, "0.0"), "滞后", (1234.5, "#,##0.0")),)
    xls = gnumeric.convert(build(tmp_path / "src.xlsx", rows), "xls", tmp_path)
    assert texts(xls) == [("0.4", "滞后", "1,234.5")]


def test_only_the_named_sheet_and_cells(lo_xls):
    data = lo_xls.read_bytes()
    first, third = f"D{FIRST}", f"F{FIRST + 2}"  # the first row's answer, the third's plan
    assert biffshown.shown_texts(data, layout.DATA_SHEET, {first: 0.85, third: 1234567.891}) == {
        first: "85%",
        third: "1,234,567.89",
    }
    assert biffshown.shown_texts(data, "没有这个表", {first: 0.85}) == {}
    assert biffshown.shown_texts(data, layout.DATA_SHEET, {"A1": 1.0, "ZZZZ9": 2.0, "": 0}) == {}


# --- Damaged files -------------------------------------------------------------------------
def workbook_stream(data: bytes) -> bytes:
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        return ole.openstream("Workbook").read()


def with_stream(data: bytes, stream: bytes) -> bytes:
    """``data`` with its Workbook stream replaced (same length: olefile rewrites in place)."""
    out = io.BytesIO(data)
    with olefile.OleFileIO(out, write_mode=True) as ole:
        size = ole.get_size("Workbook")
        ole.write_stream("Workbook", stream[:size].ljust(size, b"\0"))
    return out.getvalue()


def records(stream: bytes) -> list[tuple[int, int, int]]:
    """(offset, type, length) of every record."""
    out, pos = [], 0
    while pos + 4 <= len(stream):
        rtype, length = struct.unpack_from("<HH", stream, pos)
        out.append((pos, rtype, length))
        pos += 4 + length
    return out


ALL = {f"{col}{row}": 0.5 for col in "DEF" for row in range(FIRST, FIRST + 4)}


def shown_safely(data: bytes) -> dict[str, str]:
    """shown_texts on damaged ``data``. Its walk must hold up by itself, not only by the
    catch-all around it: the walk is run here without that."""
    stream = b""
    with contextlib.suppress(Exception):  # olefile gives up on some damaged containers
        stream = workbook_stream(data)
    codes, offset = biffshown._globals(stream, layout.DATA_SHEET)
    assert all(isinstance(k, int) and isinstance(v, str) for k, v in codes.items())
    if offset is not None:
        wanted = {
            row: {3: f"D{row + 1}", 4: f"E{row + 1}", 5: f"F{row + 1}"}
            for row in range(FIRST - 1, FIRST + 3)
        }
        list(biffshown._cells(stream, offset, wanted))
    out = biffshown.shown_texts(data, layout.DATA_SHEET, ALL)
    assert isinstance(out, dict) and set(out) <= set(ALL)
    assert all(isinstance(v, str) for v in out.values())
    return out


def test_the_walk_reads_the_undamaged_file(lo_xls):
    data = lo_xls.read_bytes()
    assert with_stream(data, workbook_stream(data)) == data
    assert shown_safely(data)[f"D{FIRST}"] == "50%"  # every cell asked for as 0.5


def test_truncated_streams_and_files_never_raise(lo_xls):
    data = lo_xls.read_bytes()
    stream = workbook_stream(data)
    for pos, _rtype, _length in records(stream):
        for cut in (pos + 1, pos + 5, pos + 9):  # inside a header, a body, a cell's fields
            shown_safely(with_stream(data, stream[:cut]))
    for cut in range(0, len(data), 97):
        shown_safely(data[:cut])


def test_bogus_lengths_never_raise(lo_xls):
    data = lo_xls.read_bytes()
    stream = workbook_stream(data)
    wanted = (0x0809, 0x041E, 0x00E0, 0x0085, 0x0203, 0x027E, 0x00BD, 0x0006)
    for pos, rtype, length in records(stream):
        if rtype not in wanted:
            continue
        for bogus in (0, 1, 3, 5, 7, max(length - 2, 0), 0xFFFF):
            damaged = bytearray(stream)
            struct.pack_into("<H", damaged, pos + 2, bogus)
            shown_safely(with_stream(data, bytes(damaged)))


def test_a_sheet_offset_outside_the_stream_or_off_its_start(lo_xls):
    data = lo_xls.read_bytes()
    stream = workbook_stream(data)
    (pos,) = [p for p, rtype, _ in records(stream) if rtype == 0x0085][:1]
    for offset in (0xFFFFFFFF, len(stream) - 2, 0, pos):
        damaged = bytearray(stream)
        struct.pack_into("<I", damaged, pos + 4, offset)
        assert shown_safely(with_stream(data, bytes(damaged))) == {}


def test_older_biff_keeps_the_values(lo_xls):
    data = lo_xls.read_bytes()
    damaged = bytearray(workbook_stream(data))
    struct.pack_into("<H", damaged, 4, 0x0500)  # BOF of Excel 5/95: other record layouts
    assert shown_safely(with_stream(data, bytes(damaged))) == {}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_random_damage_never_raises(lo_xls, data):
    original = lo_xls.read_bytes()
    stream = bytearray(workbook_stream(original))
    for _ in range(data.draw(st.integers(1, 20))):
        pos = data.draw(st.integers(0, len(stream) - 1))
        stream[pos] = data.draw(st.integers(0, 255))
    shown_safely(with_stream(original, bytes(stream)))


@pytest.mark.parametrize(
    ("value", "code", "shown"),
    [
        (dt.datetime(2022, 3, 31, 15, 30), '上午/下午h"时"mm"分"', "下午3时30分"),
        (dt.datetime(2022, 3, 31, 9, 5), "hh:mm A/P", "09:05 A"),
        (dt.datetime(2022, 3, 31, 0, 5), "h:mm AM/PM", "12:05 AM"),
        (dt.datetime(2022, 3, 31), "ddd aaa", "Thu 四"),
        (dt.datetime(2022, 3, 31, 15, 30, 5), 'h"时"mm"分"ss"秒"', "15时30分05秒"),
        (0.145, "0%", "15%"),  # 14.4999… to 15 digits is 14.5
        (-2.5, "0", "-3"),
        (3.0, "0.00", "3.00"),
    ],
)
def test_rendered_as_excel_shows_it(value, code, shown):
    assert biffshown.render(value, code) == shown
