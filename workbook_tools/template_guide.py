"""The guide sheet (填报说明) of an Annex 2 workbook: what to fill in and how, what each
进展状态 means, what not to change, how to send the file back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import layout
from .cells import lines_height, text_lines
from .model import BUREAU, STATUSES, quarter_name
from .template_book import SIZE_TITLE, STATUS_LIST, Book, page_setup, put

if TYPE_CHECKING:
    from .template_extra import ExtraColumns

#: About how many characters of an answer a row of Excel's or WPS's largest height (409 pt)
#: shows in the answer column of an ordinary template (about 50 units wide); rounded down.
EXCEL_ROW_CHARS = 500

STATUS_MEANINGS = {
    "已完成": "全年目标已完成。",
    "按序时推进": "进度与时间进度相符。",
    "滞后": f"进度落后于序时进度，请在“{layout.COL_PLAN}”中说明原因和措施。",
    "未启动": "尚未开展。",
}
assert tuple(STATUS_MEANINGS) == STATUSES


def _guide_rows(division: str, year: int, quarter: int, title: str) -> list[tuple[str, str, str]]:
    """(kind, key, text) rows of the guide sheet; kind is title / para / head / item / blank."""
    period = f"{year}年第{quarter_name(quarter)}季度"
    a, s, p = layout.COL_ANSWER, layout.COL_STATUS, layout.COL_PLAN
    rows = [
        ("title", "", "填报说明"),
        ("para", "", f"本表供【{division}】填报{period}工作目标完成情况。表名：{title}。"),
        ("blank", "", ""),
        ("head", "", f"一、填写内容（在“{layout.DATA_SHEET}”工作表中）"),
        ("item", a, "必填。写明本季度该事项的工作进展、主要举措和取得的成效，尽量用数据说明。"),
        (
            "item",
            "行高",
            "填写后行高随内容自动增加，屏幕上和打印时都显示全文。Excel、WPS 中一行最高 409 磅"
            f"（本表约 {EXCEL_ROW_CHARS} 字），更长的内容请精简，或另附材料说明。",
        ),
        ("item", s, f"请点击单元格，从下拉列表中选择：{STATUS_LIST}。"),
        ("item", p, "写明存在的问题、困难和下一步工作打算；进度滞后的事项必须填写。"),
        (
            "item",
            "、".join(layout.FILLER_LABELS),
            f"填写在表格上方第 {layout.ROW_UNIT}、{layout.ROW_FILLER} 行对应的空白单元格中"
            f"（{layout.LABEL_REVIEWER}为审核本表的处室负责人）。{layout.LABEL_UNIT}已预先填好。",
        ),
        (
            "item",
            "*",
            f"{layout.COL_NUMBER}前标有“*”的事项，由我局（{BUREAU}）作为全市的牵头单位。",
        ),
        ("blank", "", ""),
        ("head", "", f"二、{s}的含义"),
        *[("item", k, v) for k, v in STATUS_MEANINGS.items()],
        ("blank", "", ""),
        ("head", "", "三、注意事项"),
        (
            "item",
            "1",
            f"不要修改“{layout.COL_NUMBER}”“{layout.COL_TEXT}”“{layout.COL_ROLE}”等已有内容。",
        ),
        (
            "item",
            "2",
            "不要增加、删除行，不要调整行的顺序；如需补充说明，请写在对应事项的单元格中。",
        ),
        (
            "item",
            "3",
            "不要重命名、删除或增加工作表。单元格中可以按 Alt+Enter 换行（LibreOffice 中为 Ctrl+Enter）。",
        ),
        ("item", "4", "单元格内容不要以“=”开头，不要粘贴公式或图片。"),
        ("blank", "", ""),
        ("head", "", "四、报送方式"),
        (
            "item",
            "1",
            "填写完成后，用 Excel 或 WPS 保存为 .xlsx 格式（不要另存为 .et、.xls 或 PDF），文件名可保持不变。",
        ),
        (
            "item",
            "2",
            f"通过电子邮件发回。本文件只用于【{division}】{period}的报送，请勿转给其他处室填写。",
        ),
    ]
    return rows


def write_guide(
    book: Book,
    ws,
    division: str,
    year: int,
    quarter: int,
    title: str,
    extra: ExtraColumns | None = None,
) -> None:
    """Fill the guide sheet; the extra columns, if the template has any, add their lines to
    一、填写内容."""
    key_width, text_width = 16.0, 84.0
    ws.set_column(0, 0, key_width)
    ws.set_column(1, 1, text_width)
    rows = _guide_rows(division, year, quarter, title)
    if extra is not None and extra.count:
        at = rows.index(("blank", "", ""), 3)  # after the items of 一、填写内容
        rows[at:at] = extra.guide_rows()
    for r, (kind, key, text) in enumerate(rows):
        if kind == "title":
            ws.merge_range(r, 0, r, 1, "", book.guide_title)
            put(ws, r, 0, text, book.guide_title)
            ws.set_row(r, lines_height(1, SIZE_TITLE) + 8)
        elif kind in ("para", "head"):
            fmt = book.guide_text if kind == "para" else book.guide_head
            ws.merge_range(r, 0, r, 1, "", fmt)
            put(ws, r, 0, text, fmt)
            ws.set_row(r, lines_height(text_lines(text, key_width + text_width, 12)) + 4)
        elif kind == "item":
            put(ws, r, 0, key, book.guide_key)
            put(ws, r, 1, text, book.guide_text)
            ws.set_row(
                r, lines_height(max(text_lines(key, key_width), text_lines(text, text_width))) + 2
            )
    ws.hide_gridlines(2)  # reads as a page, not a table
    ws.protect("", {"format_rows": True, "format_columns": True})
    page_setup(ws, landscape=False)
    ws.print_area(0, 0, len(rows) - 1, 1)
