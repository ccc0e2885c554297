"""The task table of a returned sheet, and everything typed around it.

The header is found by meaning (:func:`workbook_tools.layout.header_columns`), not by place;
below it each row with content is a :class:`~workbook_tools.model.ReturnRow`. Every typed cell
outside the table's columns, above the header (other than the annex mark, the title and the
填报人 lines) or on a sheet without a table is kept as a :class:`~workbook_tools.model.Stray`,
quoted whole: merge decides what it means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import layout
from .cells import value_text
from .model import ReturnRow, Stray
from .pairing import task_number
from .sheets import Sheet, cell_ref, column_letter

#: Rows searched for the header (序号 / 责任事项 / 完成情况): notes above the table push it down.
HEADER_SEARCH_ROWS = 50


def _find_header(sheet: Sheet) -> tuple[int, dict[str, int]] | None:
    """(row, template column -> index) of the first row that reads as the task table's header:
    an answer column and a 序号 or 责任事项 column, recognised by meaning (layout.header_label)."""
    for r, row in enumerate(sheet.grid[:HEADER_SEARCH_ROWS]):
        texts = [value_text(v) for v in row]
        if not any(t.strip() for t in texts) or any(layout.parse_title(t) for t in texts):
            continue
        cols = layout.header_columns(texts)
        if layout.COL_ANSWER in cols and (layout.COL_NUMBER in cols or layout.COL_TEXT in cols):
            return r, cols
    return None


@dataclass
class Table:
    """A task table found on a sheet: its header row (0-based), columns, rows, the texts typed
    around it and the title above it (year, quarter, division)."""

    sheet: Sheet
    header: int
    cols: dict[str, int]
    rows: list[ReturnRow]
    strays: list[Stray]
    title: tuple[int, int, str] | None

    @property
    def answered(self) -> int:
        return sum(1 for row in self.rows if row.answer.strip())


def task_tables(sheets: list[Sheet], ident_rows: bool) -> list[Table]:
    """Every task table of the file, the template's data sheet first."""
    found = []
    for sheet in sorted(sheets, key=lambda s: s.name != layout.DATA_SHEET):
        if sheet.name in (layout.IDENTITY_SHEET, layout.GUIDE_SHEET):
            continue
        header = _find_header(sheet)
        first = None
        if header is None and ident_rows and sheet.name == layout.DATA_SHEET:
            # Headers rewritten beyond recognition in the template itself: its columns are where
            # the template put them. If the header row was deleted instead, the first task row
            # moved up into its place, and it is read like the rows below it.
            r = layout.ROW_HEADER - 1
            header = (r, {h: i for i, h in enumerate(layout.HEADERS)})
            first = r if _numbered(sheet, r) else None
        if header is None:
            continue
        r, cols = header
        rows, strays = _task_rows(sheet, r, cols, first)
        found.append(Table(sheet, r, cols, rows, strays, _title(sheet, r)))
    return found


def _title(sheet: Sheet, header: int) -> tuple[int, int, str] | None:
    return next(
        (
            t
            for row in sheet.grid[: max(header, 0)]
            for v in row
            for t in [layout.parse_title(value_text(v))]
            if t
        ),
        None,
    )


_WHOLE_FLOAT = re.compile(r"\d+\.0+")  # a 序号 typed or read as 3.0
_ANNEX = re.compile(r"附件\s*\d+")


def _numbered(sheet: Sheet, r: int) -> bool:
    """Whether row ``r`` (0-based) starts with a task's 序号 (3, *3, 3.0): a task row."""
    row = sheet.grid[r] if 0 <= r < len(sheet.grid) else []
    return bool(row) and task_number(value_text(row[0])).isdigit()


def _task_rows(
    sheet: Sheet, header: int, cols: dict[str, int], first: int | None = None
) -> tuple[list[ReturnRow], list[Stray]]:
    """The rows below the header (from row ``first`` when the header row itself is a task row),
    and every typed cell outside the table's columns (and above the header, other than the
    annex mark, the title and the 填报人 line), quoted whole."""
    rows: list[ReturnRow] = []
    strays = _above_header(sheet, header)
    mapped = set(cols.values())
    letters = {label: column_letter(c) for label, c in cols.items()}
    if first is None:
        first = header + 1
    # Target pairs and 上季度完成情况 (layout.COL_TARGET…): read, or known to be the template's.
    header_texts = (
        [value_text(v) for v in sheet.grid[header]]
        if 0 <= header < len(sheet.grid) and first > header
        else []
    )
    pairs, previous = layout.extra_columns(header_texts)
    pairs = [(t, f) for t, f in pairs if f not in mapped and t not in mapped]
    mapped |= {c for pair in pairs for c in pair if c is not None}
    if previous is not None:
        mapped.add(previous)
    read = (
        layout.COL_NUMBER,
        layout.COL_TEXT,
        layout.COL_ANSWER,
        layout.COL_STATUS,
        layout.COL_PLAN,
    )
    for r in range(first, len(sheet.grid)):
        texts = [v if v.__class__ is str else value_text(v) for v in sheet.grid[r]]
        values = {label: texts[c] if c < len(texts) else "" for label, c in cols.items()}
        number = values.get(layout.COL_NUMBER, "").strip()
        figures = tuple(
            (
                texts[t] if t is not None and t < len(texts) else "",
                texts[f] if f < len(texts) else "",
                cell_ref(r, f),
                cell_ref(r, t) if t is not None else "",
            )
            for t, f in pairs
        )
        if not any(t.strip() or v.strip() for t, v, *_ in figures):
            figures = ()
        if any(values.get(label, "").strip() for label in read) or figures:
            if "." in number and _WHOLE_FLOAT.fullmatch(number):
                number = number.split(".")[0]
            rows.append(
                ReturnRow(
                    row=r + 1,
                    number=number,
                    text=values.get(layout.COL_TEXT, ""),
                    answer=values.get(layout.COL_ANSWER, ""),
                    status=values.get(layout.COL_STATUS, "").strip(),
                    plan=values.get(layout.COL_PLAN, ""),
                    columns=letters,
                    role=values.get(layout.COL_ROLE, ""),
                    figures=figures,
                    previous=texts[previous]
                    if previous is not None and previous < len(texts)
                    else "",
                    previous_cell=cell_ref(r, previous) if previous is not None else "",
                )
            )
        strays += [
            Stray(sheet.name, f"单元格 {cell_ref(r, c)}", t, r + 1)
            for c, t in enumerate(texts)
            if c not in mapped and t and not t.isspace()
        ]
    strays += [
        Stray(sheet.name, f"单元格 {cell_ref(r, c)}", value_text(v), r + 1)
        for r, c, v in sheet.beyond
    ]
    return rows, strays


def _above_header(sheet: Sheet, header: int) -> list[Stray]:
    """Cells above the header that are not the annex mark, a title, or the 填报人 line."""
    out = []
    for r, row in enumerate(sheet.grid[:header]):
        texts = [value_text(v).strip() for v in row]
        if r < layout.ROW_TITLE and sum(1 for t in texts if t) == 1:
            continue  # the template's 附件2 and title rows, whatever they were changed to
        after_label = False  # the cell after a bare 填报人 label holds its value
        for c, text in enumerate(texts):
            if not text:
                continue
            norm = layout.normalise_space(text)
            known = (
                after_label
                or _filler_label(norm) is not None
                or _ANNEX.fullmatch(norm)
                or layout.parse_title(text)
                or "工作目标完成情况" in norm
            )
            after_label = norm.rstrip("：:") in _BARE_LABELS
            if not known:
                out.append(Stray(sheet.name, f"单元格 {cell_ref(r, c)}", value_text(row[c]), r + 1))
    return out


def sheet_content(sheet: Sheet) -> list[Stray]:
    """Every typed cell of a sheet that holds no task table."""
    cells = [
        (r, c, v)
        for r, row in enumerate(sheet.grid)
        for c, v in enumerate(row)
        if value_text(v).strip()
    ]
    cells += sheet.beyond
    return [Stray(sheet.name, f"单元格 {cell_ref(r, c)}", value_text(v)) for r, c, v in cells]


def filler_values(sheet: Sheet, header: int) -> dict[str, str]:
    """Values right of the 填报单位 / 填报人 / 审核人 (负责人) / 联系电话 / 填报日期 labels above
    the header, or after "：" in the label's own cell; keyed by layout.LABEL_UNIT and
    layout.FILLER_LABELS."""
    out: dict[str, str] = {}
    for row in sheet.grid[:header]:
        texts = [value_text(v).strip() for v in row]
        for c, text in enumerate(texts):
            norm = layout.normalise_space(text)
            written = _filler_label(norm)
            if written is None:
                continue
            label = layout.LABEL_ALIASES.get(written, written)
            if label in out:
                continue
            rest = norm[len(written) :]
            if rest.strip("：:"):  # "填报人：张三" in one cell
                out[label] = re.split(r"[：:]", text, maxsplit=1)[-1].strip()
                continue
            for value in texts[c + 1 :]:
                if layout.normalise_space(value).rstrip("：:") in _BARE_LABELS:
                    break
                if value:
                    out[label] = value
                    break
    return out


#: The labels above the table as they may be written: 填报单位, the filler labels, 负责人.
_LABELS = (layout.LABEL_UNIT, *layout.FILLER_LABELS, *layout.LABEL_ALIASES)
_BARE_LABELS = frozenset(_LABELS)


def _filler_label(norm: str) -> str | None:
    """The label of _LABELS that ``norm`` starts with, if any."""
    for label in _LABELS:
        if norm.startswith(label):
            return label
    return None
