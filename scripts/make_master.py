"""Generate master/分解方案.xlsx (Annex 1, the breakdown plan) from the seed text.

The seed is Annex 1 as plain text: every cell starts with a tab-led line, a cell may run over
several lines, and a blank line separates divisions inside one cell. Two blank lines followed by
a line that is not tab-led end the table; that line is the footnote.

    python scripts/make_master.py [SEED] [-o OUTPUT]

The output is deterministic: the same seed always gives the same bytes.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import xlsxwriter

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SEED = REPO.parent / "shared" / "seed" / "000_4ce099a43fa14163.txt"
DEFAULT_OUTPUT = REPO / "master" / "分解方案.xlsx"

# A fixed creation time keeps the file byte-for-byte reproducible.
CREATED = datetime(2022, 1, 1, 0, 0, 0)

TASK_NUMBER = re.compile(r"^[*＊]?\d+$")

# Column widths in Excel units (about one half-width character each; a CJK character is ~2).
WIDTHS = (7, 62, 11, 28, 28, 34)

# The 量化指标 column the tool adds after the seed's columns: the countable targets the task
# texts state, one a line, as the coordinator confirmed them. Numbers in the other
# tasks are other departments' city-wide goals, not the bureau's.
TARGETS_HEADER = "量化指标"
TARGETS = {
    "3": ("社区老年人服务中心（站）：80个", "农村老年人互助照料中心（服务点）：140个"),
    "4": ("家庭养老床位：3000张", "居家养老上门服务：1.1万人"),
    "6": ("街道（乡镇）社工站：140个", "区级儿童福利指导中心增配专业社工：11个"),
    "17": ("公共场所自动体外除颤仪（AED）：4000台",),
}
BODY_SIZE = 11
HEADER_SIZE = 12
TITLE_SIZE = 18


@dataclass(frozen=True)
class SeedTable:
    annex: str  # 附件1
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    footnote: str


def parse_seed(text: str) -> SeedTable:
    """Read Annex 1 from the seed text: the first annex, its title, table and footnote."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    annex = lines[i].strip()
    i += 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    title = lines[i].strip()
    i += 1

    cells: list[list[str]] = []
    blanks = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("\t"):
            cells.append([line[1:]])
            blanks = 0
        elif not line.strip():
            blanks += 1
            if cells:
                cells[-1].append("")
        else:
            if blanks >= 2 or not cells:
                break  # the footnote under the table
            cells[-1].append(line)
            blanks = 0
        i += 1
    texts = ["\n".join(c).strip("\n") for c in cells]

    ncols = next((k for k, t in enumerate(texts) if TASK_NUMBER.match(t.strip())), 0)
    if ncols == 0:
        raise ValueError("seed: no header row before the first task number")
    header = tuple(texts[:ncols])
    body = texts[ncols:]
    if len(body) % ncols:
        raise ValueError(f"seed: {len(body)} cells do not make rows of {ncols}")
    rows = tuple(tuple(body[k : k + ncols]) for k in range(0, len(body), ncols))
    for row in rows:
        if not TASK_NUMBER.match(row[0].strip()):
            raise ValueError(f"seed: row starts with {row[0]!r}, not a task number")

    footnote = []
    while i < len(lines) and lines[i].strip():
        footnote.append(lines[i].strip())
        i += 1
    return SeedTable(annex, title, header, rows, "\n".join(footnote))


def with_targets(table: SeedTable) -> SeedTable:
    """``table`` with the 量化指标 column appended (empty for tasks without targets)."""
    rows = tuple(
        (*row, "\n".join(TARGETS.get(row[0].strip().lstrip("*＊"), ()))) for row in table.rows
    )
    return SeedTable(
        table.annex, table.title, (*table.header, TARGETS_HEADER), rows, table.footnote
    )


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in text)


def line_count(text: str, width: float) -> int:
    """Lines a wrapped cell needs at ``width`` Excel units (Excel never auto-fits reliably)."""
    usable = max(width - 1.5, 1)
    return sum(max(1, math.ceil(display_width(line) / usable)) for line in text.split("\n"))


def row_height(texts: list[str], widths: tuple[float, ...], size: int) -> float:
    lines = max(line_count(t, w) for t, w in zip(texts, widths, strict=True))
    return round(lines * size * 1.45 + 8, 1)


def write_master(table: SeedTable, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=output.parent)
    os.close(fd)
    try:
        _write(table, Path(tmp))
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write(table: SeedTable, path: Path) -> None:
    wb = xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    wb.set_properties({"title": table.title, "author": "市民政局", "created": CREATED})
    ws = wb.add_worksheet("分解方案")

    def fmt(**kw):
        base = {"font_name": "宋体", "font_size": BODY_SIZE, "text_wrap": True, "valign": "vcenter"}
        base.update(kw)
        return wb.add_format(base)

    annex_fmt = fmt(font_name="黑体", font_size=HEADER_SIZE, text_wrap=False)
    title_fmt = fmt(font_size=TITLE_SIZE, bold=True, align="center")
    header_fmt = fmt(font_name="黑体", font_size=HEADER_SIZE, align="center", border=1)
    center_fmt = fmt(align="center", border=1)
    left_fmt = fmt(align="left", border=1)
    note_fmt = fmt(align="left", valign="top")

    ncols = len(table.header)
    widths = WIDTHS[:ncols] + (14,) * (ncols - len(WIDTHS))
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)

    ws.write_string(0, 0, table.annex, annex_fmt)
    ws.set_row(0, 20)
    ws.merge_range(1, 0, 1, ncols - 1, "", title_fmt)
    ws.write_string(1, 0, table.title, title_fmt)
    ws.set_row(1, 40)

    header_row = 2
    for col, name in enumerate(table.header):
        ws.write_string(header_row, col, name, header_fmt)
    ws.set_row(header_row, row_height(list(table.header), widths, HEADER_SIZE))

    row = header_row
    for cells in table.rows:
        row += 1
        number = cells[0].strip()
        if number.isdigit():
            ws.write_number(row, 0, int(number), center_fmt)
        else:
            ws.write_string(row, 0, number, center_fmt)
        for col in range(1, ncols):
            ws.write_string(row, col, cells[col], left_fmt if col == 1 else center_fmt)
        ws.set_row(row, row_height(list(cells), widths, BODY_SIZE))

    if table.footnote:
        row += 1
        ws.merge_range(row, 0, row, ncols - 1, "", note_fmt)
        ws.write_string(row, 0, table.footnote, note_fmt)
        ws.set_row(row, row_height([table.footnote], (sum(widths),), BODY_SIZE))

    ws.freeze_panes(header_row + 1, 0)
    ws.repeat_rows(header_row)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
    ws.center_horizontally()
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.set_footer("&C第 &P 页，共 &N 页")
    ws.activate()
    wb.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate master/分解方案.xlsx from the seed text."
    )
    parser.add_argument("seed", nargs="?", type=Path, default=DEFAULT_SEED, help="seed text file")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="output .xlsx")
    args = parser.parse_args(argv)
    table = with_targets(parse_seed(args.seed.read_text(encoding="utf-8")))
    write_master(table, args.output)
    print(f"{args.output}: {len(table.rows)} tasks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
