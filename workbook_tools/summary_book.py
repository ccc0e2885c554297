"""The leaders' summary workbook being built: its fonts, its cached cell formats, and the
table writing and page setup that all of its sheets use (总览 in summary_overview.py, the table
sheets in summary.py). Every piece of user text is written with ``write_string``, never as a
formula or link."""

from __future__ import annotations

from collections.abc import Sequence

import xlsxwriter

from .cells import row_height, row_heights
from .model import Summary, quarter_name
from .summary_rows import Column, DataRow

BODY_FONT = "宋体"
HEAD_FONT = "黑体"
FONT_SIZE = 11


class Styles:
    """Cached xlsxwriter formats: one Format per distinct set of properties."""

    CELL = {
        "font_name": BODY_FONT,
        "font_size": FONT_SIZE,
        "border": 1,
        "valign": "vcenter",
        "text_wrap": True,
    }

    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self._workbook = workbook
        self._cache: dict[tuple, object] = {}
        self._by_call: dict[tuple, object] = {}  # keyed as called: no merge or sort per cell
        self._rows: dict[tuple, list] = {}

    def get(self, **props: object):
        call = tuple(props.items())
        fmt = self._by_call.get(call)
        if fmt is None:
            merged = {**self.CELL, **props}
            key = tuple(sorted(merged.items()))
            if key not in self._cache:
                self._cache[key] = self._workbook.add_format(merged)
            fmt = self._by_call[call] = self._cache[key]
        return fmt

    def row(self, cols: Sequence[Column], fill: str | None, overrides: dict[int, dict]) -> list:
        """The formats of a data row's cells, made once per kind of row."""
        key = (
            tuple(cols),
            fill,
            tuple((i, tuple(o.items())) for i, o in overrides.items()) if overrides else (),
        )
        found = self._rows.get(key)
        if found is None:
            formats = []
            for i, col in enumerate(cols):
                props: dict[str, object] = {"align": col.align}
                if fill:
                    props["bg_color"] = fill
                if col.num_format:
                    props["num_format"] = col.num_format
                props.update(overrides.get(i, {}))
                formats.append(self.get(**props))
            found = self._rows[key] = formats
        return found

    def title(self):
        return self.get(font_name=HEAD_FONT, font_size=18, border=0, align="center")

    def section(self):
        return self.get(font_name=HEAD_FONT, font_size=12, border=0, align="left", text_wrap=False)

    def header(self):
        return self.get(font_name=HEAD_FONT, align="center", bg_color="#D9E1F2")


def _write_values(ws, row: int, first_col: int, values: Sequence[object], formats) -> None:
    """One row of cells: text with write_string (an empty string as a blank cell that keeps its
    format), numbers with write_number, None as a blank."""
    for col, (value, fmt) in enumerate(zip(values, formats, strict=True), first_col):
        if isinstance(value, str):
            if value:
                ws.write_string(row, col, value, fmt)
            else:
                ws.write_blank(row, col, None, fmt)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            ws.write_number(row, col, value, fmt)
        elif value is None:
            ws.write_blank(row, col, None, fmt)
        else:
            ws.write_string(row, col, str(value), fmt)


def write_row(
    ws,
    styles: Styles,
    row: int,
    cols: Sequence[Column],
    values: Sequence[object],
    fill: str | None = None,
    overrides: dict[int, dict] | None = None,
    first_col: int = 0,
) -> None:
    """Write one data row and set its height."""
    _write_values(ws, row, first_col, values, styles.row(cols, fill, overrides or {}))
    ws.set_row(row, row_height(values, [c.width for c in cols]))


def write_data_rows(
    ws, styles: Styles, first_row: int, cols: Sequence[Column], rows: Sequence[DataRow]
) -> None:
    """Write the data rows of a table from ``first_row`` down, each as tall as its text."""
    heights = row_heights([r.values for r in rows], [c.width for c in cols])
    for row, (data, height) in enumerate(zip(rows, heights, strict=True), first_row):
        _write_values(ws, row, 0, data.values, styles.row(cols, data.fill, data.overrides))
        ws.set_row(row, height)


def write_header(ws, styles: Styles, row: int, cols: Sequence[Column], first_col: int = 0) -> None:
    for i, col in enumerate(cols):
        ws.write_string(row, first_col + i, col.header, styles.header())
    ws.set_row(row, row_height([c.header for c in cols], [c.width for c in cols], minimum=24.0))


def set_widths(ws, cols: Sequence[Column], first_col: int = 0) -> None:
    for i, col in enumerate(cols):
        ws.set_column(first_col + i, first_col + i, col.width)


def write_title(ws, styles: Styles, text: str, last_col: int) -> None:
    ws.merge_range(0, 0, 0, last_col, "", styles.title())
    ws.write_string(0, 0, text, styles.title())
    ws.set_row(0, 36)


def print_setup(ws, *, repeat_rows: tuple[int, int] | None, portrait: bool = False) -> None:
    """A4 landscape (or portrait), fit to one page wide (height 0: as many pages as needed)."""
    ws.set_paper(9)
    if portrait:
        ws.set_portrait()
    else:
        ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.center_horizontally()
    ws.set_footer("&C第 &P 页，共 &N 页")
    if repeat_rows:
        ws.repeat_rows(*repeat_rows)


def summary_title(summary: Summary) -> str:
    return f"{summary.year}年市《政府工作报告》民政工作第{quarter_name(summary.quarter)}季度完成情况汇总"
