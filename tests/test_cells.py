"""Text measures shared by the writers: the fast paths give what the character-by-character
loop gives."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbook_tools import cells
from workbook_tools.cells import _display_width_slow, ascii_and_wide, display_width, text_lines

SAMPLES = [
    "",
    "abc 123",
    "\t\n",
    "推进养老服务体系建设",
    "【养老服务处】本季度已完成阶段目标（完成率 80%）。",
    "“引号”、顿号；分号：冒号——破折号……省略号",
    "全角ＡＢＣ１２３",
    "Café naïve",  # Latin-1: one unit each, not ASCII
    "e\u0301",  # combining accent: no width
    "ｶﾀｶﾅ",  # half-width katakana: narrow
    "emoji 😀 and 𠀀",  # outside the BMP
    "\ue000 private use",
    "mixed 中文 and русский",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_display_width_fast_paths_agree_with_the_loop(text):
    assert display_width(text) == _display_width_slow(text)


def test_display_width_agrees_on_every_bmp_character():
    for cp in range(0x10000):
        for text in (chr(cp), "中" + chr(cp) + "a"):
            assert display_width(text) == _display_width_slow(text), hex(cp)


def test_display_width_examples():
    assert display_width("abc") == 3
    assert display_width("养老") == 4
    assert display_width("“a”") == 5
    assert display_width("e\u0301") == 1


def test_text_lines_counts_wrapped_lines_of_each_paragraph():
    text = "推进养老服务体系建设" * 20 + "\n第二段"
    first = text_lines(text, 30)
    assert text_lines(text, 30) == first == text_lines(text, 30.0) == cells._text_lines(text, 30)
    # 400 units of the first paragraph over (30 - 1.5) * 0.9 usable units, then one line
    assert first == math.ceil(400 / ((30 - 1.5) * 0.9)) + 1
    # a larger font takes more lines in the same width
    assert text_lines(text, 30, 16) > first


@given(st.text(alphabet=st.characters(max_codepoint=0x2FFFF)))
def test_ascii_and_wide_agrees_with_display_width(text):
    counts = ascii_and_wide(text)
    if counts is not None:
        ascii_count, wide = counts
        assert ascii_count + 2 * wide == display_width(text) == _display_width_slow(text)


@given(
    st.text(alphabet=st.characters(max_codepoint=0x2FFFF))
    | st.text(alphabet="一二三（）：；，。、“”…—①Ⅱ℃№abc 123")
)
def test_text_units_fast_path_is_the_per_character_sum(text):
    import unicodedata

    wide = sum(1 for c in text if unicodedata.east_asian_width(c) in "WFA")
    assert cells.text_units(text) == 2.0 * wide + 1.1 * (len(text) - wide)


def test_common_wide_characters_are_wide():
    import re

    common = re.compile(f"[{cells.COMMON_WIDE}]")
    members = [chr(cp) for cp in range(0x10000) if common.fullmatch(chr(cp))]
    assert len(members) > 20_000  # the ideographs are in
    assert [c for c in members if _display_width_slow(c) != 2] == []
    sample = "一、做好“十四五”养老服务（牵头单位：市民政局；责任单位：各区）……①完成90%"
    assert cells._COMMON.fullmatch(sample)
    assert display_width(sample) == _display_width_slow(sample)


# Cell values as the summary writes them: text that repeats down a column, long text, text with
# line breaks, numbers, blanks; now and then something that is not text at all.
ROW_VALUE = st.one_of(
    st.sampled_from(["", "养老服务处", "推进养老服务体系建设" * 6, "甲\n乙", "a" * 40]),
    st.text(alphabet="一二三abc \n（）“”😀", max_size=120),
    st.integers(-5, 5),
    st.floats(allow_nan=False),
    st.none(),
    st.just(["not", "hashable"]),
)


@given(
    st.integers(1, 5).flatmap(
        lambda n: st.tuples(
            st.lists(st.lists(ROW_VALUE, min_size=n, max_size=n), max_size=12),
            st.lists(st.sampled_from([1.0, 6, 8.5, 20, 34, 50.0]), min_size=n, max_size=n),
        )
    ),
    st.sampled_from([20.0, 24.0, 50.0]),
)
def test_row_heights_are_row_height_row_by_row(rows_widths, minimum):
    rows, widths = rows_widths
    expected = [cells.row_height(row, widths, minimum=minimum) for row in rows]
    assert cells.row_heights(rows, widths, minimum=minimum) == expected


def test_row_heights_of_ragged_rows_and_long_text():
    widths = [10, 30]
    rows = [["短", "长" * 2000], ["一\n二\n三"], ["a", "b", "c"]]
    heights = cells.row_heights(rows, widths)
    assert heights == [cells.row_height(row, widths) for row in rows]
    assert heights[0] == cells.MAX_ROW_HEIGHT
    assert heights[1] == cells.lines_height(3) > heights[2] == cells.lines_height(1)


def test_templates_and_summary_share_one_row_height_model():
    from workbook_tools import template

    assert not hasattr(template, "_height") and not hasattr(template, "_lines")
    assert cells.lines_height(2) == round(2 * 11 * 1.45 + 6, 1)
    assert cells.row_height(["一\n二"], [30]) == cells.lines_height(2)
    assert cells.row_height([""], [30], minimum=24.0) == 24.0


@given(
    st.text(alphabet=st.characters(exclude_categories=("Cs",)))
    | st.text(alphabet="가각ᄀ깍\u0300\u0301\u0327ÅeＡ１，（）①Ⅻ㈠ﬁ…\u3000 中文", max_size=12)
)
def test_nfkc_is_unicodedatas_nfkc(text):
    import unicodedata

    from workbook_tools.layout import nfkc

    assert nfkc(text) == unicodedata.normalize("NFKC", text)


def test_nfkc_of_every_character():
    import sys
    import unicodedata

    from workbook_tools.layout import nfkc

    for cp in range(sys.maxunicode + 1):
        if not 0xD800 <= cp <= 0xDFFF:
            assert nfkc(chr(cp)) == unicodedata.normalize("NFKC", chr(cp)), hex(cp)


def test_value_text_is_what_a_person_sees_in_the_cell():
    import datetime as dt

    from workbook_tools.cells import value_text

    assert value_text(None) == ""
    assert value_text(3.0) == "3"  # LibreOffice and WPS save whole numbers as floats
    assert value_text(2.5) == "2.5"
    assert value_text(1e20) == "1e+20"
    assert value_text(True) == "TRUE" and value_text(False) == "FALSE"
    assert value_text(dt.datetime(2022, 4, 8)) == "2022-04-08"
    assert value_text(dt.datetime(2022, 4, 8, 9, 30, 5)) == "2022-04-08 09:30:05"
    assert value_text(dt.date(2022, 4, 8)) == "2022-04-08"
    assert value_text(dt.time(9, 30)) == "09:30:00"
    assert value_text("  原文\n不变 ") == "  原文\n不变 "
