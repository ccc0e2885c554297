"""The corpus of returns that lose or misfile typed answers: one `Case` per way a person fills a
return outside the template's rules, each built from a real filled template of the shipped master.

Every string a case types is unique and traceable: it names the division, the task and the column
it was typed for, the case, and ends in a tail derived from all of these
("【养老服务处·序号3·完成情况】…核对码 1a2b3c4d"), so the oracle in test_corpus.py can search the
summary for it and tell where it went. A case returns the files it made (under their final names,
as they go into the inbox) and one `Expect` per typed string.

Files are made with openpyxl (load the filled template, change it, save a new file) or, for what
openpyxl cannot write (a text box, a Word line break), by adding the part to the saved zip.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from builders import on_track_figures
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.packaging.custom import CustomPropertyList
from openpyxl.utils import get_column_letter

from workbook_tools import layout
from workbook_tools.demo import Fill, fill_template
from workbook_tools.layout import role_text

YEAR, QUARTER = 2022, 1
ANSWER, STATUS, PLAN = layout.COL_ANSWER, layout.COL_STATUS, layout.COL_PLAN
TEXTS = (ANSWER, PLAN)  # the columns whose typed strings are traced (statuses are a dropdown)
FILLER = {"填报人": "张三", "审核人": "李四", "联系电话": "027-12345678", "填报日期": "2022-04-08"}

YL = "养老服务处"  # tasks *3 *4 7 9 10 13 on rows 5..10 of its template
# 养老服务处's tasks and their rows in its template, in order from the first task row.
YL_ROWS = {n: layout.ROW_FIRST_TASK + i for i, n in enumerate(("3", "4", "7", "9", "10", "13"))}
HEAD = layout.ROW_HEADER


def at(col: str, number: str) -> str:
    """The cell of column ``col`` on task ``number``'s row of 养老服务处's template: at("D", "7")."""
    return f"{col}{YL_ROWS[number]}"


ET = "儿童福利处"  # task *6
QH = "区划地名处"  # task 10 (also YL's)
SW = "社会事务处"  # tasks 10 14
# Returns in every inbox, never changed: their answers must survive every case.
UNTOUCHED = ("规划财务处", "社会救助处", "市低保中心")

COL = {name: i + 1 for i, name in enumerate(layout.HEADERS)}  # 序号 -> 1 … 存在问题及下步打算 -> 6
DAY = 86400.0


def std_name(division: str) -> str:
    return layout.file_stem(YEAR, QUARTER, division) + ".xlsx"


def typed(case: str, division: str, task: str, column: str, what: str = "") -> str:
    """A unique string typed for (division, task, column), longer than any 30-character quote."""
    tail = hashlib.sha256(f"{case}|{division}|{task}|{column}|{what}".encode()).hexdigest()[:8]
    return f"【{division}·序号{task}·{column}{what}】本季度推进情况说明，核对码 {tail}"


@dataclass(frozen=True)
class Expect:
    """One string a person typed, and where it belongs.

    ``places``: the (division, task) rows of 明细 it may reach (the first is where it was typed
    for; a text over two merged task cells may go to either). Empty: it belongs to no task (a
    stray note) and must be quoted in 问题清单. ``columns``: the 明细 columns it may reach.
    ``exact``: a short value (a number as displayed) that must be the whole cell, not a part.
    ``in_cell``: typed into a cell (not a comment or a text box).
    """

    text: str
    places: tuple[tuple[str, str], ...]
    columns: tuple[str, ...] = (ANSWER,)
    exact: bool = False
    in_cell: bool = True


@dataclass
class Built:
    """What a case made: the files for the inbox and what they must give."""

    files: list[Path] = field(default_factory=list)
    expects: list[Expect] = field(default_factory=list)
    returned: set[str] = field(default_factory=set)  # divisions that must not be 未报送
    forbid: set[str] = field(default_factory=set)  # 问题类型 that must not appear at all
    # flags that must appear: (严重程度, words all in one row's 说明, 处室 and 来源文件)
    require: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


@dataclass(frozen=True)
class Case:
    name: str  # "<case>-<what>", also the pytest id
    build: Callable[[Kit, Path], Built]
    note: str = ""


class Kit:
    """The shipped master split into templates, and fillers that type traceable strings."""

    def __init__(self, master, templates: dict[str, Path]) -> None:
        self.master = master
        self.templates = templates

    def tasks(self, division: str) -> list[str]:
        return [t.number for t in self.master.tasks_of(division)]

    def fills(self, case: str, division: str, tasks=None) -> dict[str, Fill]:
        return {
            n: Fill(
                typed(case, division, n, ANSWER),
                "按序时推进",
                typed(case, division, n, PLAN),
                figures=on_track_figures(self.master.task(n), division),
            )
            for n in (self.tasks(division) if tasks is None else tasks)
        }

    def expects(self, case: str, division: str, tasks=None, *, skip=()) -> list[Expect]:
        return [
            Expect(typed(case, division, n, col), ((division, n),), (col,))
            for n in (self.tasks(division) if tasks is None else tasks)
            for col in TEXTS
            if (n, col) not in skip
        ]

    def fill(
        self, case: str, division: str, dst: Path, *, template: str | None = None, tasks=None
    ) -> Path:
        """``division``'s template (or ``template``'s) filled with traceable strings at ``dst``."""
        src = self.templates[template or division]
        return fill_template(src, dst, self.fills(case, division, tasks), filler=FILLER)


# --- helpers that change a saved workbook ----------------------------------------------------


def _edit(src: Path, dst: Path, change: Callable) -> Path:
    wb = load_workbook(src)
    change(wb, wb[layout.DATA_SHEET])
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)
    return dst


def _put(ws, ref: str, value) -> None:
    ws[ref] = value
    if isinstance(value, str):
        ws[ref].data_type = "s"


def _rewrite_zip(path: Path, change: Callable[[dict[str, bytes]], None]) -> None:
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    change(parts)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def _sheet_part(parts: dict[str, bytes], sheet: str) -> str:
    """The zip path of the worksheet named ``sheet``."""
    book = parts["xl/workbook.xml"].decode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    rid = re.search(rf'<sheet [^>]*name="{re.escape(sheet)}"[^>]*r:id="([^"]+)"', book)
    rid = rid or re.search(rf'<sheet [^>]*r:id="([^"]+)"[^>]*name="{re.escape(sheet)}"', book)
    target = re.search(rf'<Relationship [^>]*Id="{rid[1]}"[^>]*Target="([^"]+)"', rels)
    target = target or re.search(rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid[1]}"', rels)
    return "xl/" + target[1].lstrip("/").removeprefix("xl/")


TEXTBOX = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" \
xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><xdr:twoCellAnchor>\
<xdr:from><xdr:col>6</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{top}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>\
<xdr:to><xdr:col>9</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{bottom}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>\
<xdr:sp macro="" textlink=""><xdr:nvSpPr><xdr:cNvPr id="2" name="文本框 1"/><xdr:cNvSpPr txBox="1"/>\
</xdr:nvSpPr><xdr:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="3600000" cy="900000"/></a:xfrm>\
<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr><xdr:txBody>\
<a:bodyPr vertOverflow="clip" wrap="square" rtlCol="0" anchor="t"/><a:lstStyle/><a:p><a:r>\
<a:rPr lang="zh-CN" altLang="en-US" sz="1100"/><a:t>{text}</a:t></a:r></a:p></xdr:txBody></xdr:sp>\
<xdr:clientData/></xdr:twoCellAnchor></xdr:wsDr>"""
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
DRAWING_REL = REL_NS + "/drawing"


def add_textbox(path: Path, sheet: str, text: str, rows: tuple[int, int]) -> None:
    """Add a text box holding ``text`` to ``sheet`` of the .xlsx at ``path``, as Excel stores it
    (a DrawingML shape in a drawing part related to the sheet), over columns G:I of ``rows``
    (first and last, 1-based)."""
    top, bottom = rows[0] - 1, rows[1]  # 0-based anchors: from the top of the first row to
    # the top of the row after the last

    def change(parts: dict[str, bytes]) -> None:
        part = _sheet_part(parts, sheet)
        folder, name = part.rsplit("/", 1)
        parts["xl/drawings/drawing91.xml"] = TEXTBOX.format(
            text=escape(text), top=top, bottom=bottom
        ).encode()
        rels_name = f"{folder}/_rels/{name}.rels"
        rel = f'<Relationship Id="rIdTextBox" Type="{DRAWING_REL}" Target="../drawings/drawing91.xml"/>'
        if rels_name in parts:
            rels = parts[rels_name].decode().replace("</Relationships>", rel + "</Relationships>")
        else:
            rels = (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                f"{rel}</Relationships>"
            )
        parts[rels_name] = rels.encode()
        xml = parts[part].decode()
        tag = f'<drawing xmlns:r="{REL_NS}" r:id="rIdTextBox"/>'
        m = re.search(r"<(?:\w+:)?(?:legacyDrawing|tableParts|extLst)\b|</(?:\w+:)?worksheet>", xml)
        parts[part] = (xml[: m.start()] + tag + xml[m.start() :]).encode()
        types = parts["[Content_Types].xml"].decode()
        override = (
            '<Override PartName="/xl/drawings/drawing91.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"/>'
        )
        parts["[Content_Types].xml"] = types.replace("</Types>", override + "</Types>").encode()

    _rewrite_zip(path, change)


VT_MARK = "〔竖向制表符〕"


def put_vertical_tabs(path: Path) -> None:
    """Turn every VT_MARK typed into the .xlsx at ``path`` into a vertical tab (U+000B), stored as
    Excel stores it (``_x000B_``): what a Word line break (Shift+Enter) becomes when a paragraph
    is pasted into a cell. openpyxl refuses to write the character itself."""

    # openpyxl may write non-ASCII text as character references (&#12308;…), or as UTF-8.
    spellings = (VT_MARK.encode(), "".join(f"&#{ord(c)};" for c in VT_MARK).encode())

    def change(parts: dict[str, bytes]) -> None:
        for name in parts:
            if name.startswith("xl/") and name.endswith(".xml"):
                for spelling in spellings:
                    parts[name] = parts[name].replace(spelling, b"_x000B_")

    _rewrite_zip(path, change)


def _set_mtime(path: Path, when: float) -> None:
    os.utime(path, (when, when))


# --- the cases --------------------------------------------------------------------------------


def baseline(kit: Kit, out: Path) -> Built:
    """养老服务处's return as filled, untouched: what every client must carry as it is."""
    case = "0-baseline"
    path = kit.fill(case, YL, out / std_name(YL))
    return Built([path], kit.expects(case, YL), {YL})


def renumbered(kit: Kit, out: Path) -> Built:
    """序号 renumbered 1..6 and every 责任事项 shortened to its first clause."""
    case = "1-renumbered"
    src = kit.fill(case, YL, out / "filled.xlsx")

    def change(wb, ws):
        for i, (number, row) in enumerate(YL_ROWS.items(), start=1):
            text = kit.master.task(number).text
            _put(ws, f"A{row}", str(i))
            _put(ws, f"B{row}", re.split("[，。、；]", text)[0][:12])

    path = _edit(src, out / std_name(YL), change)
    src.unlink()
    b = Built([path], kit.expects(case, YL), {YL})
    b.forbid.add("缺少事项")
    return b


def forwarded_own_rows(kit: Kit, out: Path) -> Built:
    """社会事务处 fills a copy of 养老服务处's template: its own title, file name and task rows.
    养老服务处's real return, older, is in the inbox too."""
    case = "2-forwarded-own-rows"
    real = kit.fill(case, YL, out / std_name(YL))
    _set_mtime(real, datetime(2022, 4, 6).timestamp())
    src = kit.fill(case, SW, out / "b.xlsx", template=YL, tasks=[])

    def change(wb, ws):
        _put(ws, "A2", layout.title(YEAR, QUARTER, SW))
        rows = list(YL_ROWS.values())  # 社会事务处's two tasks on the first two, the rest cleared
        for row, number in zip(rows[:2], kit.tasks(SW), strict=True):
            task = kit.master.task(number)
            _put(ws, f"A{row}", task.label)
            _put(ws, f"B{row}", task.text)
            _put(ws, f"C{row}", role_text(task, SW))
            _put(ws, f"D{row}", typed(case, SW, number, ANSWER))
            _put(ws, f"E{row}", "按序时推进")
            _put(ws, f"F{row}", typed(case, SW, number, PLAN))
        for row in rows[2:]:
            for col in "ABCDEF":
                ws[f"{col}{row}"] = None
        wb.properties.modified = datetime(2022, 4, 8, 10, 0, 0)

    path = _edit(src, out / std_name(SW), change)
    src.unlink()
    _set_mtime(path, datetime(2022, 4, 8).timestamp())
    b = Built([real, path], kit.expects(case, YL) + kit.expects(case, SW), {YL, SW})
    b.require.append(("错误", (YL, SW)))
    return b


def forwarded_rows_kept(kit: Kit, out: Path) -> Built:
    """区划地名处 fills 养老服务处's template on the row of the task they share (10), with its own
    title and file name. 养老服务处's real return, older, is in the inbox too."""
    case = "2-forwarded-rows-kept"
    real = kit.fill(case, YL, out / std_name(YL))
    _set_mtime(real, datetime(2022, 4, 6).timestamp())
    src = kit.fill(case, QH, out / "b.xlsx", template=YL, tasks=["10"])

    def change(wb, ws):
        _put(ws, "A2", layout.title(YEAR, QUARTER, QH))
        wb.properties.modified = datetime(2022, 4, 8, 10, 0, 0)

    path = _edit(src, out / std_name(QH), change)
    src.unlink()
    _set_mtime(path, datetime(2022, 4, 8).timestamp())
    b = Built([real, path], kit.expects(case, YL) + kit.expects(case, QH), {YL, QH})
    b.require.append(("错误", (YL, QH)))
    return b


def _header_case(case: str, cells: dict[str, str], insert_notes: bool = False):
    def build(kit: Kit, out: Path) -> Built:
        src = kit.fill(case, YL, out / "filled.xlsx")

        def change(wb, ws):
            for ref, value in cells.items():
                _put(ws, ref, value)
            if insert_notes:
                ws.insert_rows(layout.ROW_HEADER, 2)
                _put(ws, f"A{layout.ROW_HEADER}", "注：本表数据截至2022年3月31日。")
                _put(ws, f"A{layout.ROW_HEADER + 1}", "单位：个、张、人。")

        path = _edit(src, out / std_name(YL), change)
        src.unlink()
        b = Built([path], kit.expects(case, YL), {YL})
        b.forbid.update({"文件无法读取", "缺少事项"})
        return b

    return build


def _unidentified(kit: Kit, out: Path, case: str, name: str) -> Path:
    src = kit.fill(case, YL, out / "filled.xlsx")

    def change(wb, ws):
        del wb[layout.IDENTITY_SHEET]
        wb.custom_doc_props = CustomPropertyList()
        _put(ws, "A2", f"{YEAR}年市民政局第一季度工作目标完成情况")

    path = _edit(src, out / name, change)
    src.unlink()
    return path


def no_identity(kit: Kit, out: Path) -> Built:
    """No identity sheet, no properties, no division in the title, a generic file name."""
    case = "4-no-identity"
    path = _unidentified(kit, out, case, "新建 Microsoft Excel 工作表.xlsx")
    return Built([path], kit.expects(case, YL), {YL}, require=[("警告", (YL, path.stem))])


def pasted_values(kit: Kit, out: Path) -> Built:
    """The table (header and task rows) pasted as values into a new workbook, 工作簿1.xlsx."""
    case = "4-pasted-values"
    src = _unidentified(kit, out, case, "stripped.xlsx")
    rows = list(load_workbook(src)[layout.DATA_SHEET].iter_rows(min_row=layout.ROW_HEADER))
    src.unlink()
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for r, cells in enumerate(rows, start=1):
        for c, cell in enumerate(cells, start=1):
            if cell.value is not None:
                _put(ws, f"{get_column_letter(c)}{r}", cell.value)
    path = out / "工作簿1.xlsx"
    wb.save(path)
    return Built([path], kit.expects(case, YL), {YL}, require=[("警告", (YL, path.stem))])


def continuation_row(kit: Kit, out: Path) -> Built:
    """A row inserted under task *3 holding more of its answer and plan, 序号 empty."""
    case = "5-continuation-row"
    src = kit.fill(case, YL, out / "filled.xlsx")
    more = typed(case, YL, "3", ANSWER, "续")
    more_plan = typed(case, YL, "3", PLAN, "续")

    def change(wb, ws):
        ws.insert_rows(YL_ROWS["4"])  # under task *3: the new row takes task *4's row number
        _put(ws, at("D", "4"), more)
        _put(ws, at("F", "4"), more_plan)

    path = _edit(src, out / std_name(YL), change)
    src.unlink()
    extra = [Expect(more, ((YL, "3"),)), Expect(more_plan, ((YL, "3"),), (PLAN,))]
    return Built([path], kit.expects(case, YL) + extra, {YL})


def duplicated_row(kit: Kit, out: Path) -> Built:
    """Task *4's row copied under itself, the copy with a second answer and plan."""
    case = "5-duplicated-row"
    src = kit.fill(case, YL, out / "filled.xlsx")
    again = typed(case, YL, "4", ANSWER, "复")
    again_plan = typed(case, YL, "4", PLAN, "复")

    def change(wb, ws):
        ws.insert_rows(YL_ROWS["7"])  # under task *4: the copy takes task 7's row number
        for col in "ABC":
            _put(ws, at(col, "7"), ws[at(col, "4")].value)
        _put(ws, at("D", "7"), again)
        _put(ws, at("E", "7"), "按序时推进")
        _put(ws, at("F", "7"), again_plan)

    path = _edit(src, out / std_name(YL), change)
    src.unlink()
    extra = [Expect(again, ((YL, "4"),)), Expect(again_plan, ((YL, "4"),), (PLAN,))]
    return Built([path], kit.expects(case, YL) + extra, {YL})


def column_right(kit: Kit, out: Path) -> Built:
    """Task 7's answer typed one column right of the table (G); its answer cell left empty."""
    case = "5-column-right"
    src = kit.fill(case, YL, out / "filled.xlsx")
    text = typed(case, YL, "7", ANSWER)

    def change(wb, ws):
        ws[at("D", "7")] = None
        _put(ws, at("G", "7"), text)

    path = _edit(src, out / std_name(YL), change)
    src.unlink()
    expects = kit.expects(case, YL, skip={("7", ANSWER)})
    expects.append(Expect(text, ((YL, "7"),), (ANSWER, PLAN)))
    return Built([path], expects, {YL})


def role_column(kit: Kit, out: Path) -> Built:
    """Task 9's answer typed over its 本处室职责 cell (C); its answer cell left empty."""
    case = "5-role-column"
    src = kit.fill(case, YL, out / "filled.xlsx")
    text = typed(case, YL, "9", ANSWER)

    def change(wb, ws):
        ws[at("D", "9")] = None
        _put(ws, at("C", "9"), text)

    path = _edit(src, out / std_name(YL), change)
    src.unlink()
    return Built([path], kit.expects(case, YL), {YL})


def cell_comment(kit: Kit, out: Path) -> Built:
    """A comment on task 10's answer cell (D) adds to the answer; one on task 13's empty G too."""
    case = "5-comment"
    src = kit.fill(case, YL, out / "filled.xlsx")
    on_answer = typed(case, YL, "10", ANSWER, "批注")
    on_empty = typed(case, YL, "13", ANSWER, "批注")

    def change(wb, ws):
        ws[at("D", "10")].comment = Comment(on_answer, "张三")
        ws[at("G", "13")].comment = Comment(on_empty, "张三")

    path = _edit(src, out / std_name(YL), change)
    src.unlink()
    extra = [
        Expect(on_answer, ((YL, "10"),), in_cell=False),
        Expect(on_empty, ((YL, "13"),), in_cell=False),
    ]
    return Built([path], kit.expects(case, YL) + extra, {YL})


def text_box(kit: Kit, out: Path) -> Built:
    """A text box beside tasks 10 and 13 (over G:I of their rows) holding an answer."""
    case = "5-text-box"
    path = kit.fill(case, YL, out / std_name(YL))
    text = typed(case, YL, "13", ANSWER, "文本框")
    add_textbox(path, layout.DATA_SHEET, text, (YL_ROWS["10"], YL_ROWS["13"]))
    extra = [Expect(text, ((YL, "13"), (YL, "10")), in_cell=False)]
    return Built([path], kit.expects(case, YL) + extra, {YL})


def merged_answers(kit: Kit, out: Path) -> Built:
    """The answer cells of tasks *3 and *4 merged, one text for both."""
    case = "5-merged-answers"
    src = kit.fill(case, YL, out / "filled.xlsx")
    text = typed(case, YL, "3", ANSWER, "合并")

    def change(wb, ws):
        _put(ws, at("D", "3"), text)
        ws[at("D", "4")] = None
        ws.merge_cells(f"{at('D', '3')}:{at('D', '4')}")

    path = _edit(src, out / std_name(YL), change)
    src.unlink()
    expects = kit.expects(case, YL, skip={("3", ANSWER), ("4", ANSWER)})
    expects.append(Expect(text, ((YL, "3"), (YL, "4"))))
    return Built([path], expects, {YL})


def copied_sheet(kit: Kit, out: Path) -> Built:
    """The answers typed into a copy of the sheet, 完成情况（定稿）; the original left empty."""
    case = "5-copied-sheet"
    src = kit.fill(case, YL, out / "filled.xlsx")

    def change(wb, ws):
        copy = wb.copy_worksheet(ws)
        copy.title = "完成情况（定稿）"
        for row in YL_ROWS.values():
            for col in "DEF":
                ws[f"{col}{row}"] = None

    path = _edit(src, out / std_name(YL), change)
    src.unlink()
    return Built([path], kit.expects(case, YL), {YL})


def two_divisions_rows(kit: Kit, out: Path) -> Built:
    """儿童福利处's task *6 answered on a row added to 养老服务处's table (one file for both)."""
    case = "6-two-divisions-rows"
    src = kit.fill(case, YL, out / "filled.xlsx")
    task = kit.master.task("6")

    row = YL_ROWS["13"] + 1  # under the last task

    def change(wb, ws):
        _put(ws, f"A{row}", task.label)
        _put(ws, f"B{row}", task.text)
        _put(ws, f"C{row}", f"{ET}{role_text(task, ET)}")
        _put(ws, f"D{row}", typed(case, ET, "6", ANSWER))
        _put(ws, f"E{row}", "按序时推进")
        _put(ws, f"F{row}", typed(case, ET, "6", PLAN))

    path = _edit(src, out / std_name(YL), change)
    src.unlink()
    b = Built([path], kit.expects(case, YL) + kit.expects(case, ET), {YL, ET})
    b.require.append(("警告", (YL, ET)))
    return b


def two_divisions_sheets(kit: Kit, out: Path) -> Built:
    """儿童福利处's filled sheet copied (values) into 养老服务处's return as a second sheet."""
    case = "6-two-divisions-sheets"
    src = kit.fill(case, YL, out / "filled.xlsx")
    other = kit.fill(case, ET, out / "other.xlsx")
    values = list(load_workbook(other)[layout.DATA_SHEET].iter_rows(values_only=True))
    other.unlink()

    def change(wb, ws):
        sheet = wb.create_sheet(ET, 1)
        for r, row in enumerate(values, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    _put(sheet, f"{get_column_letter(c)}{r}", value)

    path = _edit(src, out / std_name(YL), change)
    src.unlink()
    b = Built([path], kit.expects(case, YL) + kit.expects(case, ET), {YL, ET})
    b.require.append(("警告", (YL, ET)))
    return b


def far_cell(kit: Kit, out: Path) -> Built:
    """A note typed far from the table, at ZX60000."""
    case = "7-far-cell"
    src = kit.fill(case, YL, out / "filled.xlsx")
    note = typed(case, YL, "-", "备注")

    def change(wb, ws):
        _put(ws, "ZX60000", note)

    path = _edit(src, out / std_name(YL), change)
    src.unlink()
    return Built([path], kit.expects(case, YL) + [Expect(note, ())], {YL})


def displayed_numbers(kit: Kit, out: Path) -> Built:
    """Numbers stored as numbers with a format: 50% as a status, 85% as a whole answer,
    12,000 and a date as plans. What the person saw is what must reach the leaders."""
    case = "9-displayed-numbers"
    src = kit.fill(case, YL, out / "filled.xlsx")

    def change(wb, ws):
        for ref, value, fmt in (
            (at("E", "3"), 0.5, "0%"),
            (at("D", "4"), 0.85, "0%"),
            (at("F", "4"), 12000, "#,##0"),
            (at("F", "7"), datetime(2022, 3, 31), "yyyy-mm-dd"),
        ):
            ws[ref] = value
            ws[ref].number_format = fmt

    path = _edit(src, out / std_name(YL), change)
    src.unlink()
    expects = kit.expects(case, YL, skip={("4", ANSWER), ("4", PLAN), ("7", PLAN)})
    expects += [
        Expect("50%", ((YL, "3"),), (STATUS, "进展状态（原文）"), exact=True),
        Expect("85%", ((YL, "4"),), (ANSWER,), exact=True),
        Expect("12,000", ((YL, "4"),), (PLAN,), exact=True),
        Expect("2022-03-31", ((YL, "7"),), (PLAN,), exact=True),
    ]
    return Built([path], expects, {YL})


def word_line_break(kit: Kit, out: Path) -> Built:
    """Task 9's answer pasted from Word with a line break (a vertical tab) between paragraphs."""
    case = "9-word-line-break"
    src = kit.fill(case, YL, out / "filled.xlsx")
    first = typed(case, YL, "9", ANSWER, "第一段")
    second = typed(case, YL, "9", ANSWER, "第二段")

    def change(wb, ws):
        _put(ws, at("D", "9"), first + VT_MARK + second)

    path = _edit(src, out / std_name(YL), change)
    src.unlink()
    put_vertical_tabs(path)
    expects = kit.expects(case, YL, skip={("9", ANSWER)})
    expects.append(Expect(first + "\n" + second, ((YL, "9"),)))
    return Built([path], expects, {YL})


def _suffix_case(case: str, suffix: str):
    def build(kit: Kit, out: Path) -> Built:
        stem = layout.file_stem(YEAR, QUARTER, YL)
        path = kit.fill(case, YL, out / f"{stem}{suffix}.xlsx")
        b = Built([path], kit.expects(case, YL), {YL})
        b.forbid.add("无法识别处室")
        return b

    return build


CASES = [
    Case("0-baseline", baseline),
    Case("1-renumbered", renumbered),
    Case("2-forwarded-own-rows", forwarded_own_rows),
    Case("2-forwarded-rows-kept", forwarded_rows_kept),
    Case("3-header-as-of", _header_case("3-header-as-of", {f"D{HEAD}": "完成情况（截至3月底）"})),
    Case("3-header-quarter", _header_case("3-header-quarter", {f"D{HEAD}": "一季度完成情况"})),
    Case(
        "3-header-synonyms",
        _header_case("3-header-synonyms", {f"A{HEAD}": "编号", f"E{HEAD}": "进展情况"}),
    ),
    Case("3-header-pushed-down", _header_case("3-header-pushed-down", {}, insert_notes=True)),
    Case("4-no-identity", no_identity),
    Case("4-pasted-values", pasted_values),
    Case("5-continuation-row", continuation_row),
    Case("5-duplicated-row", duplicated_row),
    Case("5-column-right", column_right),
    Case("5-role-column", role_column),
    Case("5-comment", cell_comment),
    Case("5-text-box", text_box),
    Case("5-merged-answers", merged_answers),
    Case("5-copied-sheet", copied_sheet),
    Case("6-two-divisions-rows", two_divisions_rows),
    Case("6-two-divisions-sheets", two_divisions_sheets),
    Case("7-far-cell", far_cell),
    Case("9-displayed-numbers", displayed_numbers),
    Case("9-word-line-break", word_line_break),
    Case("10-suffix-final", _suffix_case("10-suffix-final", "（定稿）")),
    Case("10-suffix-corrected", _suffix_case("10-suffix-corrected", "（更正）")),
    Case("10-suffix-last", _suffix_case("10-suffix-last", "（终稿）")),
    Case("10-suffix-revised", _suffix_case("10-suffix-revised", "(修改版)")),
    Case("10-suffix-name", _suffix_case("10-suffix-name", "-李四")),
]
assert len({c.name for c in CASES}) == len(CASES)


def untouched(kit: Kit, out: Path) -> Built:
    """The returns beside every case, filled and left alone."""
    b = Built()
    for division in UNTOUCHED:
        b.files.append(kit.fill("untouched", division, out / std_name(division)))
        b.expects += kit.expects("untouched", division)
        b.returned.add(division)
    return b
