"""An Annex 2 workbook being built: its fonts and formats, the rows of its data sheet, and the
checked cell writes and page setup that all of its sheets use (the data and identity sheets in
template.py, the guide in template_guide.py, the extra columns in template_extra.py)."""

from __future__ import annotations

import io

from xlsxwriter import Workbook
from xlsxwriter.utility import xl_rowcol_to_cell

from . import layout
from .errors import InputError
from .model import STATUSES

FONT_BODY = "宋体"
FONT_HEAD = "黑体"
SIZE_BODY = 11
SIZE_TITLE = 16
SIZE_ANNEX = 12
CHARSET_GB2312 = 134  # lets Excel pick the Chinese face for 宋体/黑体 on any locale

ANSWER_MIN_LINES = 3  # empty answer cells still get room to write in

# Rows of the data sheet, 0-based as xlsxwriter counts them (layout's are 1-based).
R_ANNEX = layout.ROW_ANNEX - 1
R_TITLE = layout.ROW_TITLE - 1
R_UNIT = layout.ROW_UNIT - 1
R_FILLER = layout.ROW_FILLER - 1
R_HEADER = layout.ROW_HEADER - 1
R_FIRST = layout.ROW_FIRST_TASK - 1

#: The 进展状态 the data sheet's dropdown offers, as its messages and the guide list them.
STATUS_LIST = "、".join(STATUSES)


class Book:
    """One workbook being built, with the formats it needs."""

    def __init__(self, buffer: io.BytesIO) -> None:
        # Defence in depth: we only call write_string, but no string may ever become a formula,
        # a link or a number.
        self.wb = Workbook(
            buffer,
            {
                "in_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        body = {"font_name": FONT_BODY, "font_size": SIZE_BODY, "font_charset": CHARSET_GB2312}
        head = {"font_name": FONT_HEAD, "font_size": SIZE_BODY, "font_charset": CHARSET_GB2312}
        cell = {**body, "border": 1, "text_wrap": True, "valign": "vcenter"}
        entry = {"locked": False, "num_format": "@"}  # "@": a typed 0278… or 3/31 stays text
        f = self.wb.add_format
        self.annex = f({**head, "font_size": SIZE_ANNEX})
        self.title = f(
            {
                **head,
                "font_size": SIZE_TITLE,
                "align": "center",
                "valign": "vcenter",
                "text_wrap": True,
            }
        )
        self.label = f({**body, "align": "right", "valign": "vcenter"})
        self.unit = f({**body, "align": "left", "valign": "vcenter", "text_wrap": True})
        self.filler = f({**body, **entry, "bottom": 1, "valign": "vcenter", "text_wrap": True})
        # Plain, as on a printed government form: 黑体, ruled, no shading.
        self.header = f(
            {
                **head,
                **{k: cell[k] for k in ("border", "text_wrap", "valign")},
                "align": "center",
            }
        )
        self.number = f({**cell, "align": "center"})
        self.text = f({**cell, "align": "left"})
        self.answer = f({**cell, **entry, "align": "left", "valign": "top"})
        self.status = f({**cell, **entry, "align": "center"})
        self.guide_title = f(
            {**head, "font_size": SIZE_TITLE, "align": "center", "valign": "vcenter"}
        )
        self.guide_head = f({**head, "font_size": 12, "bold": True, "valign": "vcenter"})
        self.guide_key = f({**body, "bold": True, "valign": "top", "text_wrap": True})
        self.guide_text = f({**body, "valign": "top", "text_wrap": True})
        self.plain = f(body)
        self.bold = f({**body, "bold": True})

    def close(self) -> None:
        self.wb.close()


def put(ws, row: int, col: int, text: str, fmt) -> None:
    """write_string, refusing the silent truncation xlsxwriter does beyond 32,767 characters;
    an empty string as a blank cell that keeps its format."""
    if not text:
        ws.write_blank(row, col, None, fmt)
        return
    rc = ws.write_string(row, col, text, fmt)
    if rc != 0:
        cell = xl_rowcol_to_cell(row, col)
        if rc == -2:
            raise InputError(
                f"内容有 {len(text)} 个字符，超过单元格上限 32767",
                sheet=ws.name,
                cell=cell,
                hint="请在分解方案中缩短该内容",
            )
        raise InputError(f"无法写入内容（xlsxwriter 返回 {rc}）", sheet=ws.name, cell=cell)


def put_row(ws, row: int, values: list[str], formats: list, height: float | None) -> None:
    """One row of text cells from column A, each with its format; ``height`` None: default."""
    for col, (text, fmt) in enumerate(zip(values, formats, strict=True)):
        put(ws, row, col, text, fmt)
    if height is not None:
        ws.set_row(row, height)


def page_setup(ws, *, landscape: bool) -> None:
    """A4, one page wide, centred: how every printed sheet of the template is set up."""
    ws.set_paper(9)  # A4
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.center_horizontally()
