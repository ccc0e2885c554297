"""The master workbook (分解方案, Annex 1) -> :class:`model.Master`.

All knowledge of the master's layout lives here. The reader is forgiving about where things are
(the header may sit anywhere in the first rows, with extra columns around it; cells may be merged;
divisions may be separated by blank lines, line breaks, 、 or spaces) and strict about what must
be there (the five header columns and at least one task). It reads values only, with
python-calamine, and never writes to the file.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from xlsxwriter.utility import xl_col_to_name

from .cells import value_text
from .errors import MasterLayoutError
from .layout import nfkc, normalise_division, normalise_space
from .model import (
    BUREAU,
    CATEGORY_LIVELIHOOD,
    CATEGORY_REPORT,
    DEFAULT_SCHEDULE,
    Master,
    Task,
)
from .targets import parse_schedule, parse_targets

__all__ = ["read_master", "split_divisions", "parse_city_units", "parse_category_note"]

HEADER_SCAN_ROWS = 15  # the header must start within the first rows of a sheet
MAX_ROWS = 100_000  # read no further, whatever size a sheet claims; far above a province's plan
MAX_COLS = 60
MAX_FILE_BYTES = 50 * 1024 * 1024

# Header keys, in the order the header is described to users.
NUMBER, TEXT, LEADER, LEADS, PARTNERS, CATEGORY, TARGETS = (
    "序号",
    "工作事项",
    "分管领导",
    "牵头处室",
    "责任处室",
    "类别",
    "量化指标",
)
SCHEDULE_SHEET = "序时进度"  # optional sheet: each quarter's expected share of a yearly target
SCHEDULE_HINT = "每个季度一行，季度右侧写序时进度，如“第一季度 25%”…“第四季度 100%”"
REQUIRED = (NUMBER, TEXT, LEADER, LEADS, PARTNERS)
HEADER_HINT = "表头应在同一行依次写明：序号、工作事项、分管领导、牵头处室、责任处室（单位）"

BOTH = (CATEGORY_REPORT, CATEGORY_LIVELIHOOD)

_TASK_NUMBER = re.compile(r"(\*?)0*(\d+)(?:\.0*|、)?")
_DIVISION_SEPARATORS = re.compile(r"[\r\n]+|[、，,；;/／]|[ \u3000\t\xa0]+")
_PLACEHOLDER = re.compile(r"[-－—–~～/／\\.。、，]*|无|暂无")
_UNIT_LABEL = re.compile(r"(牵头单位|责任单位|配合单位)\s*[:：]")
_UNIT_SEPARATORS = re.compile(r"[、，,；;]")
_NOTE_CLAUSES = re.compile(r"[，,；;。\n](?!\s*\d)")
_NOTE_ITEMS = re.compile(r"第\s*([\d\s、,，和及\-－—–~～至到]+?)\s*项")
_NOTE_RANGE = re.compile(r"(\d+)\s*[-－—–~～至到]\s*(\d+)")
_YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")


# --------------------------------------------------------------------------- public helpers


def split_divisions(text: str) -> tuple[str, ...]:
    """The divisions named in one 牵头处室 / 责任处室 cell, normalised, in order, without repeats.

    Blank lines, line breaks, 、，,；;/／ and runs of spaces separate names; a fragment that opens
    with a bracket belongs to the name before it, so "政策法规处\\n（局信息中心）" is one division.
    """
    return _split_divisions(str(text))


@functools.lru_cache(maxsize=4096)  # the same cells come back on many rows of a large plan
def _split_divisions(text: str) -> tuple[str, ...]:
    names: list[str] = []
    for part in _DIVISION_SEPARATORS.split(text):
        part = part.strip()
        if not part:
            continue
        if names and (part[0] in "（(" or _unclosed(names[-1])):
            names[-1] += part
        else:
            names.append(part)
    out: dict[str, None] = {}
    for name in names:
        name = normalise_division(name)
        if name and not _PLACEHOLDER.fullmatch(name):
            out.setdefault(name, None)
    return tuple(out)


_PARENS = re.compile(r"[()]")
_UNITS_OPEN = re.compile(r"\(\s*(?:牵头单位|责任单位|配合单位)\s*:")
_UNIT_WORDS = ("牵头单位", "责任单位", "配合单位")
_OPENING = ("(", "（", "﹙")  # what NFKC turns into "("


def _normalise_tail(text: str) -> str:
    """NFKC of ``text``, as far as parse_city_units looks: from the last opening parenthesis
    before the first 牵头单位/责任单位/配合单位 on (an earlier "(" cannot be followed by one), the
    whole text when there is no such parenthesis. Long task texts need only their end."""
    first = -1
    for word in _UNIT_WORDS:
        i = text.find(word)
        if i >= 0 and (first < 0 or i < first):
            first = i
    cut = -1
    if first > 0:
        for opening in _OPENING:
            cut = max(cut, text.rfind(opening, 0, first))
    if cut <= 0:
        return nfkc(text)
    return text[:cut] + nfkc(text[cut:])


def parse_city_units(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(牵头单位, 责任单位) from the parenthesis at the end of a 工作事项, or ((), ())."""
    n = _normalise_tail(str(text)).rstrip()
    start = -1
    for m in _UNITS_OPEN.finditer(n):
        start = m.start()
    if start < 0:
        return (), ()
    depth, end = 0, len(n)
    for m in _PARENS.finditer(n, start):
        depth += 1 if m.group() == "(" else -1
        if depth == 0:
            end = m.start()
            break
    inner = n[start + 1 : end]
    found: dict[str, list[str]] = {"牵头单位": [], "责任单位": []}
    pieces = _UNIT_LABEL.split(inner)  # ["", label, value, label, value, ...]
    for label, value in zip(pieces[1::2], pieces[2::2], strict=True):
        key = "牵头单位" if label == "牵头单位" else "责任单位"
        for unit in _UNIT_SEPARATORS.split(value):
            unit = normalise_division(unit)
            if unit and unit not in found[key]:
                found[key].append(unit)
    return tuple(found["牵头单位"]), tuple(found["责任单位"])


def parse_category_note(note: str) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...] | None]:
    """Categories named in a footnote: ({序号: categories}, categories of 其余 or None).

    Understands the seed's wording, e.g. 「第3项为…双重任务，第4、5、6、17项为市政府民生实事的
    民政任务，其余是市《政府工作报告》的民政工作任务」, and item lists such as 第1-3项 / 第1至3项.
    """
    explicit: dict[str, tuple[str, ...]] = {}
    rest = None
    for clause in _NOTE_CLAUSES.split(str(note)):
        items = list(_NOTE_ITEMS.finditer(clause))
        if items:
            category = _category_of(clause[items[-1].end() :]) or _category_of(clause)
            if category:
                for m in items:
                    for number in _expand_items(m.group(1)):
                        explicit.setdefault(number, category)
        elif re.search(r"其余|其他|其它|剩余", clause):
            rest = _category_of(clause) or rest
    return explicit, rest


# --------------------------------------------------------------------------- reading


def read_master(path: str | Path) -> Master:
    """Read the breakdown plan from an .xlsx/.xlsm/.xls/.ods workbook (by content, not suffix).

    Raises :class:`MasterLayoutError` when the file is missing, is not a workbook, or has no
    usable header or tasks. Problems that still leave a usable plan go to ``Master.warnings``.
    """
    source = str(path)
    return _parse(_read_bytes(Path(path), source), source)


def _parse(data: bytes, source: str) -> Master:
    sheets = _open_workbook(data, source)

    best: tuple[int, _Sheet, list[str], int] | None = None
    for sheet in sheets:
        found = _find_header(sheet)
        if isinstance(found, _Header):
            master = _read_plan(sheet, found, source, _read_schedule(sheets, source))
            extra = _read_placeholders(sheets)
            return dataclasses.replace(master, placeholders=extra) if extra else master
        count, missing, scanned = found
        if best is None or count > best[0]:
            best = (count, sheet, missing, scanned)
    if best is None:
        raise MasterLayoutError("工作簿中没有工作表", file=source, hint=HEADER_HINT)
    _, sheet, missing, scanned = best
    names = "、".join(f"“{name}”" for name in missing)
    raise MasterLayoutError(
        f"找不到表头列{names}（已查找第1-{scanned}行）",
        file=source,
        sheet=sheet.name,
        hint=HEADER_HINT,
    )


@dataclass
class _Sheet:
    name: str
    rows: list[list[object]]
    merged: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)  # cell -> origin

    def raw(self, r: int, c: int) -> object:
        if 0 <= r < len(self.rows) and 0 <= c < len(self.rows[r]):
            return self.rows[r][c]
        return ""

    def value(self, r: int, c: int) -> object:
        """The cell's value; a cell hidden under a merged range shows the range's value."""
        return self.raw(*self.merged.get((r, c), (r, c)))

    def text(self, r: int, c: int) -> str:
        return value_text(self.value(r, c))

    def row_is_empty(self, r: int) -> bool:
        return all(not value_text(v).strip() for v in self.rows[r]) if r < len(self.rows) else True


@dataclass
class _Header:
    row: int  # 0-based
    columns: dict[str, int]


def _read_bytes(path: Path, source: str) -> bytes:
    if not path.exists():
        raise MasterLayoutError(
            "找不到分解方案文件", file=source, hint="请检查文件路径和文件名是否正确"
        )
    if not path.is_file():
        raise MasterLayoutError(
            "这不是文件而是文件夹", file=source, hint="请指定分解方案工作簿文件"
        )
    if path.stat().st_size > MAX_FILE_BYTES:
        raise MasterLayoutError(
            f"文件超过{MAX_FILE_BYTES // 1024 // 1024}MB，不像是分解方案", file=source
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise MasterLayoutError(f"无法读取文件（{exc.strerror or exc}）", file=source) from exc


def _sniff(data: bytes, source: str) -> str:
    """Format by content, not by file name (renamed files are common), as the return reader
    sniffs: xlsx, ods or xls; else raise."""
    from .containers import sniff_bytes

    kind = sniff_bytes(data).kind
    if kind in ("xlsx", "xlsm"):
        return "xlsx"
    if kind in ("ods", "xls"):
        return kind
    not_workbook = "不是Excel工作簿"
    save_as = "请用Excel或WPS打开后另存为.xlsx"
    message = {
        "corrupt": f"文件已损坏，{not_workbook}",
        "encrypted": "文件设置了打开密码，无法读取",
        "html": f"{not_workbook}，而是网页（HTML/XML）格式的表格",
        "zip": f"{not_workbook}（是其他类型的压缩文件或文档）",
    }.get(kind, f"{not_workbook}（应为.xlsx、.xls或.ods）")
    hint = "请取消密码后另存" if kind == "encrypted" else save_as
    raise MasterLayoutError(message, file=source, hint=hint)


def _refuse_unsafe(data: bytes, fmt: str, source: str) -> None:
    """The reader's checks before any parser runs: bombs, and cells so far apart
    that python-calamine would allocate the whole span and abort the process."""
    from .containers import inspect_workbook_zip
    from .limits import UnsafeFile
    from .xlsfile import inspect_xls

    try:
        if fmt == "xls":
            inspect_xls(data)
        else:
            inspect_workbook_zip(data, fmt)
    except UnsafeFile as exc:
        raise MasterLayoutError(exc.message, file=source, hint=exc.hint or None) from None


def _open_workbook(data: bytes, source: str) -> list[_Sheet]:
    """All worksheets, visible ones first, with their values and merged ranges."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    fmt = _sniff(data, source)
    _refuse_unsafe(data, fmt, source)
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        metas = [m for m in wb.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
        metas.sort(key=lambda m: m.visible != SheetVisibleEnum.Visible)  # stable: visible first
        ods_merges = _ods_merges(data) if fmt == "ods" else {}
        sheets = []
        for meta in metas:
            cs = wb.get_sheet_by_name(meta.name)
            last_row = cs.end[0] + 1 if cs.end else 0
            if meta.visible == SheetVisibleEnum.Visible and last_row > MAX_ROWS:
                # Cutting a plan silently would drop tasks and the footnote: refuse instead.
                raise MasterLayoutError(
                    f"工作表第 {last_row} 行仍有内容，超过可读取的 {MAX_ROWS} 行",
                    file=source,
                    sheet=meta.name,
                    hint="请删除表格下方多余的内容，或把分解方案拆成几个文件分别处理",
                )
            rows = [row[:MAX_COLS] for row in cs.to_python(skip_empty_area=False, nrows=MAX_ROWS)]
            ranges = cs.merged_cell_ranges or ods_merges.get(meta.name, [])
            sheets.append(_Sheet(meta.name, rows, _merge_map(ranges)))
        return sheets
    except (MasterLayoutError, KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:  # calamine's own errors, plain ones, and Rust panics, which
        # pyo3 raises as PanicException(BaseException), on corrupt input
        raise MasterLayoutError(
            f"无法读取工作簿（{type(exc).__name__}: {exc}）",
            file=source,
            hint="文件可能已损坏或加密，请用Excel或WPS打开后另存为.xlsx",
        ) from exc


def _merge_map(ranges) -> dict[tuple[int, int], tuple[int, int]]:
    merged = {}
    for (r0, c0), (r1, c1) in ranges:
        for r in range(r0, min(r1, MAX_ROWS - 1) + 1):
            for c in range(c0, min(c1, MAX_COLS - 1) + 1):
                if (r, c) != (r0, c0):
                    merged[(r, c)] = (r0, c0)
    return merged


def _ods_merges(data: bytes) -> dict[str, list[tuple[tuple[int, int], tuple[int, int]]]]:
    """Merged ranges of an .ods (calamine reports none): the spans in content.xml."""
    from defusedxml.ElementTree import iterparse

    table_ns = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"

    def attr(el, name: str, default: int = 1) -> int:
        try:
            return int(el.get(f"{{{table_ns}}}{name}", default))
        except ValueError:
            return default

    out: dict[str, list] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf, zf.open("content.xml") as fh:
            name, row, col, rows_repeated, depth = None, 0, 0, 1, 0
            for event, el in iterparse(fh, events=("start", "end")):
                tag = el.tag.rsplit("}", 1)[-1]
                if tag == "table" and el.tag.startswith(f"{{{table_ns}"):
                    depth += 1 if event == "start" else -1
                    if event == "start" and depth == 1:
                        name, row = el.get(f"{{{table_ns}}}name", ""), 0
                        out.setdefault(name, [])
                elif depth != 1 or row >= MAX_ROWS:
                    pass
                elif tag == "table-row":
                    if event == "start":
                        col, rows_repeated = 0, attr(el, "number-rows-repeated")
                    else:
                        row += rows_repeated
                elif tag in ("table-cell", "covered-table-cell") and event == "start":
                    rs, cs = attr(el, "number-rows-spanned"), attr(el, "number-columns-spanned")
                    if tag == "table-cell" and (rs > 1 or cs > 1) and col < MAX_COLS:
                        out[name].append(((row, col), (row + rs - 1, col + cs - 1)))
                    col += attr(el, "number-columns-repeated")
                if event == "end":
                    el.clear()
    except Exception:  # merges are a refinement; the values were already read by calamine
        return {}
    return out


def _find_header(sheet: _Sheet) -> _Header | tuple[int, list[str], int]:
    """The header row, or (columns found in the best row, missing names, rows scanned)."""
    scanned = max(1, min(HEADER_SCAN_ROWS, len(sheet.rows)))
    best: dict[str, int] = {}
    for r in range(min(HEADER_SCAN_ROWS, len(sheet.rows))):
        columns: dict[str, int] = {}
        for c in range(len(sheet.rows[r])):
            key = _header_key(value_text(sheet.raw(r, c)))
            if key and key not in columns:
                columns[key] = c
        if all(k in columns for k in REQUIRED):
            return _Header(r, columns)
        if sum(k in columns for k in REQUIRED) > sum(k in best for k in REQUIRED):
            best = columns
    missing = [k for k in REQUIRED if k not in best]
    return len(REQUIRED) - len(missing), missing, scanned


def _header_key(text: str) -> str | None:
    n = normalise_space(text)
    if not n:
        return None
    if n in ("序号", "编号", "序"):
        return NUMBER
    if "事项" in n or n in ("任务", "工作任务", "重点任务", "任务内容"):
        return TEXT
    if "领导" in n:
        return LEADER
    if n.startswith("牵头"):
        return LEADS
    if n.startswith(("责任处室", "责任单位", "配合")):
        return PARTNERS
    if "类别" in n or n in ("类型", "任务类型"):
        return CATEGORY
    if "量化" in n or n in ("指标", "目标", "目标任务", "年度目标", "目标数", "任务指标"):
        return TARGETS
    return None


PLACEHOLDER_SHEET = "占位答复"  # optional sheet: answers that say nothing (答复过简), one a cell


def _read_placeholders(sheets: list[_Sheet]) -> tuple[str, ...]:
    """The texts on a 占位答复 sheet, each non-empty cell one (a header cell 占位答复 or
    说明 lines starting with 说明 are skipped); () without the sheet."""
    sheet = next((s for s in sheets if normalise_space(s.name) == PLACEHOLDER_SHEET), None)
    if sheet is None:
        return ()
    out: dict[str, None] = {}
    for row in sheet.rows:
        for value in row:
            text = value_text(value).strip()
            key = normalise_space(text)
            if (
                text
                and key not in (PLACEHOLDER_SHEET, "占位答复（每格一个）")
                and not key.startswith("说明")
            ):
                out.setdefault(text, None)
    return tuple(out)


def _read_schedule(sheets: list[_Sheet], source: str):
    """The 序时进度 sheet's schedule, the default without one; MasterLayoutError if unreadable
    (a wrong schedule would misjudge every task)."""
    sheet = next((s for s in sheets if normalise_space(s.name) == SCHEDULE_SHEET), None)
    if sheet is None:
        return DEFAULT_SCHEDULE
    schedule, problems = parse_schedule(sheet.rows)
    if schedule is None:
        raise MasterLayoutError(
            "序时进度无法读取：" + "；".join(problems),
            file=source,
            sheet=sheet.name,
            hint=SCHEDULE_HINT,
        )
    return dataclasses.replace(schedule, source=f"工作表 {sheet.name}")


def _read_plan(sheet: _Sheet, header: _Header, source: str, schedule=DEFAULT_SCHEDULE) -> Master:
    cols = header.columns
    warnings: list[str] = []
    title = _find_title(sheet, header.row)
    year_match = _YEAR.search(title)
    if not title:
        warnings.append(
            f"表头（第{header.row + 1}行）上方没有找到标题（应含“方案”或“年”），年度未知"
        )

    tasks: list[dict] = []
    by_number: dict[str, dict] = {}
    footnote: list[str] = []
    for r in range(header.row + 1, len(sheet.rows)):
        if sheet.row_is_empty(r):
            if footnote:
                break
            continue
        if footnote:  # a footnote may run over several rows
            footnote.append(_row_text(sheet, r))
            continue
        star, number = _parse_number(sheet.value(r, cols[NUMBER]))
        if number is None:
            label = sheet.text(r, cols[NUMBER]).strip()
            first = _row_text(sheet, r)
            if normalise_space(label) == "序号":
                continue  # a repeated header
            if _is_footnote(sheet, r, first):
                footnote.append(first)
                continue
            what = f"序号“{label}”不是事项编号" if label else "序号为空"
            warnings.append(f"第{r + 1}行：{what}，该行已跳过")
            continue
        origin = sheet.merged.get((r, cols[NUMBER]))
        if (
            origin
            and origin[0] < r
            and number in by_number
            and by_number[number]["row"] == origin[0] + 1
        ):
            # 序号 merged down: one task whose divisions are written on several rows
            task = by_number[number]
            for key in (LEADS, PARTNERS):
                extra = sheet.text(r, cols[key])
                if extra.strip() and extra not in task[key]:
                    task[key] = f"{task[key]}\n\n{extra}" if task[key].strip() else extra
            continue
        if number in by_number:
            first_row = by_number[number]["row"]
            warnings.append(f"第{r + 1}行（序号 {number}）：序号与第{first_row}行重复，该行已忽略")
            continue
        task = {
            "row": r + 1,
            "number": number,
            "star": star,
            TEXT: sheet.text(r, cols[TEXT]).strip(),
            LEADER: sheet.text(r, cols[LEADER]).strip(),
            LEADS: sheet.text(r, cols[LEADS]),
            PARTNERS: sheet.text(r, cols[PARTNERS]),
            CATEGORY: sheet.text(r, cols[CATEGORY]) if CATEGORY in cols else "",
            TARGETS: sheet.text(r, cols[TARGETS]) if TARGETS in cols else "",
            "targets_cell": f"{xl_col_to_name(cols[TARGETS])}{r + 1}" if TARGETS in cols else "",
        }
        tasks.append(task)
        by_number[number] = task

    if not tasks:
        raise MasterLayoutError(
            f"表头（第{header.row + 1}行）下面没有找到任何事项",
            file=source,
            sheet=sheet.name,
            hint="每个事项一行，序号写作 1、2、3…，我局牵头的写作 *1",
        )
    note = "\n".join(footnote)
    categories = _categories(tasks, CATEGORY in cols, note, warnings)
    return Master(
        source=source,
        sheet=sheet.name,
        title=title,
        year=int(year_match.group(1)) if year_match else None,
        tasks=tuple(_make_task(t, categories[t["number"]], warnings) for t in tasks),
        footnote=note,
        warnings=tuple(warnings),
        schedule=schedule,
    )


def _make_task(t: dict, categories: tuple[str, ...], warnings: list[str]) -> Task:
    where = f"第{t['row']}行（序号 {t['number']}）"
    leads = split_divisions(t[LEADS])
    partners = tuple(p for p in split_divisions(t[PARTNERS]) if p not in leads)
    if not leads and not partners:
        warnings.append(f"{where}：没有牵头处室或责任处室，该事项不会分发给任何处室")
    elif not leads:
        warnings.append(f"{where}：没有牵头处室")
    if not t[TEXT]:
        warnings.append(f"{where}：工作事项为空")
    city_leads, city_partners = parse_city_units(t[TEXT])
    targets, problems = parse_targets(t[TARGETS])
    for problem in problems:
        warnings.append(f"单元格 {t['targets_cell']}（序号 {t['number']}，量化指标）：{problem}")
    return Task(
        number=t["number"],
        label=f"*{t['number']}" if t["star"] else t["number"],
        text=t[TEXT],
        leader=t[LEADER],
        leads=leads,
        partners=partners,
        bureau_leads=t["star"] or BUREAU in city_leads,
        categories=categories,
        city_leads=city_leads,
        city_partners=city_partners,
        row=t["row"],
        leads_raw=t[LEADS],
        partners_raw=t[PARTNERS],
        targets=targets,
    )


def _categories(
    tasks: list[dict], has_column: bool, note: str, warnings: list[str]
) -> dict[str, tuple[str, ...]]:
    default = (CATEGORY_REPORT,)
    if has_column:
        out = {}
        for t in tasks:
            found = _category_of(t[CATEGORY])
            if not found:
                warnings.append(
                    f"第{t['row']}行（序号 {t['number']}）：类别“{t[CATEGORY].strip()}”无法识别，"
                    f"按“{CATEGORY_REPORT}”处理"
                )
            out[t["number"]] = found or default
        return out
    explicit, rest = parse_category_note(note)
    if not explicit and not rest:
        warnings.append(f"没有“类别”列，脚注中也没有说明各项类别，全部按“{CATEGORY_REPORT}”处理")
    numbers = {t["number"] for t in tasks}
    for number in sorted(set(explicit) - numbers, key=int):
        warnings.append(f"脚注提到第{number}项，但分解方案中没有序号为 {number} 的事项")
    return {t["number"]: explicit.get(t["number"], rest or default) for t in tasks}


def _find_title(sheet: _Sheet, header_row: int) -> str:
    for r in range(header_row):
        for c in range(len(sheet.rows[r])):
            text = value_text(sheet.raw(r, c)).strip()
            if text and re.search(r"方案|年", text):
                return text
    return ""


def _is_footnote(sheet: _Sheet, r: int, first: str) -> bool:
    """A note under the table: one text in the row (often merged across), starting with * or
    saying 注/说明/牵头任务. A task row that merely lacks its 序号 has several cells filled."""
    texts = [t for t in (value_text(v).strip() for v in sheet.rows[r]) if t]
    if len(texts) != 1:
        return False
    return first.startswith(("*", "＊")) or bool(re.search(r"说明|注|牵头任务", first))


def _row_text(sheet: _Sheet, r: int) -> str:
    for value in sheet.rows[r]:
        text = value_text(value).strip()
        if text:
            return text
    return ""


def _parse_number(value: object) -> tuple[bool, str | None]:
    """(starred, number) of a 序号 cell: 1, 1.0, "1", " 1 ", "*1", "＊1"; (False, None) otherwise."""
    if isinstance(value, bool):
        return False, None
    if isinstance(value, int | float):
        if value == int(value) and value > 0:
            return False, str(int(value))
        return False, None
    m = _TASK_NUMBER.fullmatch(normalise_space(value_text(value)))
    if not m or int(m.group(2)) == 0:
        return False, None
    return bool(m.group(1)), str(int(m.group(2)))


def _category_of(text: str) -> tuple[str, ...] | None:
    n = normalise_space(text)
    report = "政府工作报告" in n or n in ("报告", "工作报告")
    livelihood = "民生" in n
    if "双重" in n or (report and livelihood):
        return BOTH
    if livelihood:
        return (CATEGORY_LIVELIHOOD,)
    if report:
        return (CATEGORY_REPORT,)
    return None


def _expand_items(items: str) -> list[str]:
    numbers: list[str] = []
    for m in _NOTE_RANGE.finditer(items):
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo <= hi <= lo + 500:
            numbers += [str(n) for n in range(lo, hi + 1)]
    numbers += [str(int(n)) for n in re.findall(r"\d+", _NOTE_RANGE.sub("", items))]
    return numbers


def _unclosed(name: str) -> bool:
    return name.count("（") + name.count("(") > name.count("）") + name.count(")")
