"""Returned files -> :class:`~workbook_tools.model.ReturnFile`, trusting nothing.

The reader never modifies, moves or deletes what it reads, and it decides what a file is from
its bytes, never from its name. Containers are checked before python-calamine parses them,
under the limits of :mod:`workbook_tools.limits`: zips by :mod:`workbook_tools.containers` (zip
bombs, entity declarations), xls by :mod:`workbook_tools.xlsfile`, and how far the cells reach
by :mod:`workbook_tools.reach`; cells too far from the table for calamine are left out of what
it parses (:mod:`workbook_tools.farcells`) and reported as content outside the table. Values
come back as text exactly as typed; only 序号 and 进展状态 are stripped.

Identity (division, year, quarter) is taken, in order of trust, from the hidden identity sheet
and the custom document properties (``模板标识``), the title above the table (``标题``), and
the file name (``文件名``); disagreements are recorded as sentences in ``conflicts``.

The parts, each in its module: :mod:`workbook_tools.sheets` (the worksheets as grids, through
calamine), :mod:`workbook_tools.task_table` (the header, the task rows, the 填报人 lines and what is
typed around them) and :mod:`workbook_tools.identity_sheet` (the identity sheet and document
properties). This module checks the file, puts the parts together and weighs the identities.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

from xlsxwriter.utility import xl_cell_to_rowcol

from . import layout
from .biffshown import shown_texts as xls_shown_texts
from .cells import value_text
from .containers import (
    Sniffed,
    custom_properties,
    inspect_workbook_zip,
    last_saved,
    sniff_bytes,
)
from .errors import ReturnReadError
from .farcells import FarCell, without_far_cells, without_rows_past
from .identity_sheet import FIELD_NAMES, Identity, division_or_none, read_identity, shown_value
from .limits import MAX_COLS, MAX_FILE_SIZE, MAX_ROWS, UnsafeFile
from .loose import LINK, LooseText, loose_texts
from .model import ReturnFile, ReturnTable, Stray
from .sheets import (
    Sheet,
    load_sheets,
    mend_split_characters,
    ods_for_calamine,
    show_numbers_as_typed,
)
from .task_table import filler_values, sheet_content, task_tables
from .xlsfile import inspect_xls, ole_has_macros, ole_last_saved

__all__ = [
    "MAX_COLS",
    "MAX_FILE_SIZE",
    "MAX_ROWS",
    "read_return",
    "sniff",
]

#: Texts outside the task rows kept whole per file; further ones are counted in one line.
MAX_STRAYS = 200

BY_IDENTITY = "模板标识"
BY_TITLE = "标题"
BY_FILE_NAME = "文件名"

READABLE = ("xlsx", "xlsm", "xls", "ods")
MACRO_NOTE = "含宏（VBA），仅读取数值，未运行任何宏"
_SAVE_AS = "请用 Excel 或 WPS 打开后另存为 .xlsx 再报送"
_USE_TEMPLATE = "请使用下发的 Excel 模板（.xlsx）填报后报送"


def sniff(data: bytes) -> str:
    """What ``data`` is, by content: one of

    ``xlsx``, ``xlsm`` (macro-enabled), ``xlsb``, ``ods``, ``xls``, ``encrypted`` (an OOXML
    file with an open password, or an xls with a FILEPASS record), ``et`` (an OLE file that is
    not Excel, Word or PowerPoint: WPS), ``html`` (web page or .mht passed off as .xls),
    ``pdf``, ``zip`` (an archive that is not an office document), ``corrupt`` (zip signature
    but no readable directory: truncated), ``empty`` and ``unknown``.
    """
    return sniff_bytes(data).kind


# --- Reading one file ----------------------------------------------------------------------
def read_return(
    data: bytes, source: str, mtime: float = 0.0, *, sniffed: Sniffed | None = None
) -> ReturnFile:
    """Read one returned file from its bytes. Raises :class:`ReturnReadError` when unreadable.

    ``sniffed`` is what :func:`containers.sniff_bytes` said, when the caller already asked.
    """
    if len(data) > MAX_FILE_SIZE:
        raise ReturnReadError(
            f"文件过大（{len(data) / 1024 / 1024:.1f} MB，上限 {MAX_FILE_SIZE // 1024 // 1024} MB）",
            file=source,
            hint="请删除图片、附件等内容后另存再报送",
        )
    if sniffed is None:
        sniffed = sniff_bytes(data)
    _refuse(sniffed, source)
    kind = sniffed.kind
    notes: list[str] = []
    props: dict[str, str] = {}
    modified = ""
    book = data  # what calamine parses: data, or a copy without the far cells
    far: tuple[FarCell, ...] = ()
    if kind in ("xlsx", "xlsm", "ods"):
        try:
            facts = inspect_workbook_zip(data, kind, sniffed.zip, list_far=True)
            measured = facts
            if facts.cuts:  # rows past those read: calamine would parse them all the same
                book = without_rows_past(data, facts)
                measured = inspect_workbook_zip(book, kind, list_far=True)  # the copy too
            if measured.far:
                trimmed = without_far_cells(book, measured)
                inspect_workbook_zip(trimmed.data, kind)  # the copy is measured too
                book, far = trimmed.data, trimmed.cells
                notes += _far_notes(trimmed.counts, far)
        except UnsafeFile as exc:
            raise ReturnReadError(exc.message, file=source, hint=exc.hint) from None
        props = custom_properties(facts, kind)
        modified = last_saved(facts, kind)
        notes += _zip_notes(facts.names, kind)
    else:
        try:
            inspect_xls(data)
        except UnsafeFile as exc:
            raise ReturnReadError(exc.message, file=source, hint=exc.hint) from None
        modified = ole_last_saved(data)
        if ole_has_macros(data):
            notes.append(MACRO_NOTE)
    sheets = load_sheets(ods_for_calamine(book) if kind == "ods" else book, source, far)
    ret = _interpret(sheets, props, notes, source, kind, data, modified, mtime)
    # Comments, text boxes and links: typed where no answer belongs, quoted whole by merge.
    loose = [
        Stray(t.sheet, t.place, t.text, 0, t.kind)
        for t in loose_texts(data, kind)
        if not _shown_in_cell(t, sheets)
    ]
    if loose:
        ret = dataclasses.replace(ret, strays=ret.strays + tuple(loose))
    return ret


_LINKED_CELL = re.compile(r"单元格 ([A-Z]{1,3}[1-9][0-9]{0,6})")


def _shown_in_cell(text: LooseText, sheets: Sequence[Sheet]) -> bool:
    """Whether ``text`` is a link whose address its cell shows already (a web address typed
    into a cell, which Excel and WPS turn into a link): quoting it again says nothing new."""
    if text.kind != LINK or not (m := _LINKED_CELL.match(text.place)):
        return False
    sheet = next((s for s in sheets if s.name == text.sheet), None)
    r, c = xl_cell_to_rowcol(m[1])
    if sheet is None or r >= len(sheet.grid) or c >= len(sheet.grid[r]):
        return False
    address = re.sub(r"^(?:https?://|mailto:)", "", text.text.strip(), flags=re.I).rstrip("/")
    return address.lower() in value_text(sheet.grid[r][c]).lower()


def _far_notes(counts: dict[str, int], listed: Sequence[FarCell]) -> list[str]:
    """A note for each sheet that lost more far cells than are listed one by one."""
    shown: dict[str, int] = {}
    for cell in listed:
        shown[cell.sheet] = shown.get(cell.sheet, 0) + 1
    return [
        f"工作表 {sheet} 在第 {MAX_ROWS + 1} 行以下或第 {MAX_COLS} 列以右共有 {count} 个单元格有内容，"
        f"未读取，列出了其中 {shown.get(sheet, 0)} 个"
        for sheet, count in counts.items()
        if count > shown.get(sheet, 0)
    ]


def _refuse(sniffed: Sniffed, source: str) -> None:
    kind, detail = sniffed.kind, sniffed.detail
    if kind in READABLE:
        return
    messages = {
        "empty": (
            "文件是空的（没有任何内容）" if not detail else f"文件没有内容（{detail}）",
            "请重新保存后再报送",
        ),
        "corrupt": (
            "文件已损坏或不完整（压缩结构无法读取，可能未下载完或传输中断）",
            "请重新保存后再报送",
        ),
        "encrypted": ("文件已加密（设置了打开密码）", "请取消密码后另存为 .xlsx 再报送"),
        "pdf": ("这是 PDF 文件，不是 Excel 工作簿", _USE_TEMPLATE),
        "html": (f"这是网页导出的表格（{detail or 'HTML'}），不是真正的 Excel 工作簿", _SAVE_AS),
        "et": ("无法识别的表格格式（可能是 WPS 表格 .et 文件）", "请在 WPS 中另存为 .xlsx 再报送"),
        "xlsb": ("这是 Excel 二进制工作簿（.xlsb），不能读取", "请另存为 .xlsx 再报送"),
        "zip": ("这是压缩包，不是工作簿", "请解压后报送其中的 .xlsx 文件"),
    }
    message, hint = messages.get(
        kind,
        (
            f"不是 Excel 工作簿（{detail}）" if detail else "无法识别的文件格式，不是 Excel 工作簿",
            _USE_TEMPLATE,
        ),
    )
    raise ReturnReadError(message, file=source, hint=hint)


def _zip_notes(names: Sequence[str], kind: str) -> list[str]:
    lower = [n.lower() for n in names]
    notes = []
    if (
        kind == "xlsm"
        or any(n.endswith("vbaproject.bin") for n in lower)
        or any(n.startswith("basic/") and not n.endswith("/") for n in lower)
    ):
        notes.append(MACRO_NOTE)
    if any(n.startswith("xl/externallinks/") for n in lower):
        notes.append("含外部链接（引用其他工作簿），读取的是文件中保存的值，可能不是最新")
    if any(n.startswith("xl/comments") or n.startswith("xl/threadedcomments/") for n in lower):
        notes.append("含批注，批注内容未读取")
    if any(n.startswith("xl/embeddings/") for n in lower):
        notes.append("含嵌入的对象或附件，未读取")
    return notes


def _interpret(
    sheets: list[Sheet],
    props: dict[str, str],
    notes: list[str],
    source: str,
    kind: str,
    data: bytes,
    modified: str,
    mtime: float,
) -> ReturnFile:
    if kind in ("xlsx", "xlsm"):
        show_numbers_as_typed(data, sheets)
    elif kind == "xls":
        show_numbers_as_typed(data, sheets, xls_shown_texts)
        mend_split_characters(data, sheets)
    ident = read_identity(sheets, props, notes)
    tables = task_tables(sheets, bool(ident.rows))
    if not tables:
        seen = "、".join(s.name for s in sheets) or "（没有工作表）"
        raise ReturnReadError(
            f"找不到任务表：没有一个工作表含有“完成情况”列和“序号”或“责任事项”列的表头"
            f"（文件中的工作表：{seen}）",
            file=source,
            hint="请使用下发的模板填报；表头可以加注时间（如“完成情况（截至3月底）”），但不要删除",
        )
    # The data sheet, unless it was left empty and the answers were typed into a copy of it.
    main = tables[0]
    if main.answered == 0:
        fuller = max(tables, key=lambda t: t.answered)
        if fuller.answered:
            main = fuller
            notes.append(f"完成情况填写在工作表 {main.sheet.name} 中，已按该表读取")
    sheet, header = main.sheet, main.header
    if sheet.name != layout.DATA_SHEET:
        notes.append(f"表格在工作表 {sheet.name} 中（模板中为 {layout.DATA_SHEET}）")
    if sheet.hidden:
        notes.append(f"工作表 {sheet.name} 被隐藏")
    for label in (layout.COL_STATUS, layout.COL_PLAN):
        if label not in main.cols:
            notes.append(f"工作表 {sheet.name} 缺少“{label}”列")
    extra: list[str] = [
        f"工作表 {sheet.name} 第 {MAX_COLS} 列以右另有 {sheet.beyond_more} 个单元格有内容（超出读取范围，未逐一列出）"
        for sheet in sheets
        if sheet.beyond_more
    ]
    for table in tables:
        if table.sheet.rows_cut:
            notes.append(f"工作表 {table.sheet.name} 超过 {MAX_ROWS} 行，只读取了前 {MAX_ROWS} 行")
            extra.append(
                f"工作表 {table.sheet.name} 第 {MAX_ROWS + 1} 行及以后仍有内容（超过 {MAX_ROWS} 行的部分未读取）"
            )
    strays = list(main.strays)
    others = []
    for table in tables:
        if table is main:
            continue
        strays += table.strays
        t = table.title or (None, None, "")
        others.append(
            ReturnTable(table.sheet.name, tuple(table.rows), division_or_none(t[2]), t[0], t[1])
        )
    table_sheets = {t.sheet.name for t in tables}
    for other in sheets:
        if other.name not in table_sheets and other.name not in (
            layout.GUIDE_SHEET,
            layout.IDENTITY_SHEET,
        ):
            strays += sheet_content(other)
            if other.rows_cut:
                extra.append(f"工作表 {other.name} 第 {MAX_ROWS + 1} 行及以后仍有内容（未读取）")
    if len(strays) > MAX_STRAYS:
        extra.append(f"另有 {len(strays) - MAX_STRAYS} 处表格以外的内容未逐一列出")
        strays = strays[:MAX_STRAYS]

    filler = filler_values(sheet, header)
    title = main.title
    from_title = {}
    if title:
        from_title = {"year": title[0], "quarter": title[1]}
        if division := division_or_none(title[2]):
            from_title["division"] = division
    from_file = _from_file_name(source)
    chosen, by, conflicts = _resolve(ident, from_title, from_file)
    return ReturnFile(
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
        format=kind,
        sheet=sheet.name,
        division=chosen.get("division"),
        year=chosen.get("year"),
        quarter=chosen.get("quarter"),
        identified_by=by,
        rows=tuple(main.rows),
        fingerprints=ident.fingerprints,
        identity_rows=ident.rows,
        template_version=ident.version,
        conflicts=tuple(ident.conflicts + conflicts),
        extra=tuple(extra),
        notes=tuple(dict.fromkeys(notes)),
        unit=filler.get(layout.LABEL_UNIT, ""),
        filled_by=filler.get(layout.LABEL_FILLED_BY, ""),
        reviewer=filler.get(layout.LABEL_REVIEWER, ""),
        phone=filler.get(layout.LABEL_PHONE, ""),
        fill_date=filler.get(layout.LABEL_DATE, ""),
        modified=modified,
        mtime=mtime,
        strays=tuple(strays),
        tables=tuple(others),
        title_division=from_title.get("division"),
        file_division=from_file.get("division"),
        identity_division=ident.values.get("division"),
    )


# --- Identity: the file name, and the three sources weighed --------------------------------
_DIVISION_LIKE = re.compile(
    r"[\u4e00-\u9fff]{1,30}(?:处|室|中心|站|院|所|馆|会|队|办|科|局|部|组|园|校|庭)(?:（[^（）]*）)?"
)
_COPY_SUFFIX = re.compile(
    r"(?:\s*[-－_]?\s*副本|\s*[（(]\d{1,3}[)）]|\s*-\s*copy)+$", re.IGNORECASE
)


def _from_file_name(source: str) -> dict[str, Any]:
    """Year, quarter and division read from a file name such as
    2022年第一季度工作目标完成情况-养老服务处.xlsx (layout.file_stem) or the full title. The
    division is what is left of the name, suffixes and all (养老服务处（定稿）, 养老服务处-张三):
    merge finds the expected division inside it."""
    name = PurePosixPath(source).name
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", name)
    stem = _COPY_SUFFIX.sub("", layout.normalise_space(stem))
    out: dict[str, Any] = {}
    if m := re.search(r"(\d{4})年", stem):
        out["year"] = int(m.group(1))
    if m := re.search(r"第([一二三四1-4])季度", stem):
        out["quarter"] = layout.parse_quarter(m.group(1))
    rest = _FILE_NAME_WORDS.sub("-", stem).strip("-－—_ ")
    if rest and _DIVISION_LIKE.search(rest):
        out["division"] = layout.normalise_division(rest)
    return out


_FILE_NAME_WORDS = re.compile(
    r"附件\s*\d+|\d{4}年(?:度)?|市民政局|第[一二三四1-4]季度|工作目标完成情况(?:表)?|完成情况(?:表)?"
)


def _resolve(
    ident: Identity, title: dict[str, Any], file_name: dict[str, Any]
) -> tuple[dict[str, Any], str, list[str]]:
    sources = [(BY_IDENTITY, ident.values), (BY_TITLE, title), (BY_FILE_NAME, file_name)]
    chosen: dict[str, Any] = {}
    chosen_by: dict[str, str] = {}
    conflicts = []
    for name in ("division", "year", "quarter"):
        for by, values in sources:
            value = values.get(name)
            if value is None:
                continue
            if name not in chosen:
                chosen[name], chosen_by[name] = value, by
            elif value != chosen[name] and name != "division":  # merge judges the division
                where = f"{by}中的" if by != BY_IDENTITY else by
                conflicts.append(
                    f"{where}{FIELD_NAMES[name]}为“{shown_value(name, value)}”，{chosen_by[name]}为"
                    f"“{shown_value(name, chosen[name])}”，以{chosen_by[name]}为准"
                )
    return chosen, chosen_by.get("division", ""), conflicts
