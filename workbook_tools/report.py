"""The draft 通报 as a .docx, with python-docx: the words composed by report_text.py laid out
on A4 portrait with the margins and fonts of GB/T 9704-2012 (fonts are named, not embedded; a
machine without them substitutes, which is fine for a draft), page numbers "— 1 —" at the foot,
and the 附件 table; written beside the summary workbook, in a worker process when it is large.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from . import workers
from .files import safe_filename, write_atomically
from .model import Summary, quarter_name
from .overview import Overview
from .report_text import (
    ADDRESSEE,
    ANNEX_LABEL,
    ANNEX_NOTE,
    ANNEX_TITLE,
    BODY,
    HEADING1,
    HEADING2,
    MARK,
    PAGE_NUMBER,
    SIGNATURE,
    TABLE_HEAD,
    TABLE_HEADER,
    TABLE_TEXT,
    TITLE,
    Draft,
    compose,
)


def report_name(year: int, quarter: int) -> str:
    """The draft's file name: 2022年第一季度市《政府工作报告》民政工作推进情况通报（草稿）.docx."""
    stem = f"{year}年第{quarter_name(quarter)}季度市《政府工作报告》民政工作推进情况通报（草稿）"
    return safe_filename(stem, ".docx")


# ---------------------------------------------------------------------------------------------
# Layout: the draft as a .docx (GB/T 9704-2012)

# Fonts named by GB/T 9704 (not embedded).
FONT_TITLE = "方正小标宋简体"
FONT_BODY = "仿宋_GB2312"
FONT_HEADING1 = "黑体"
FONT_HEADING2 = "楷体_GB2312"
FONT_PAGE_NUMBER = "宋体"

# A4 portrait; margins (mm) top, bottom, left, right.
PAGE_MM = (210, 297)
MARGINS_MM = (37, 35, 28, 26)
BODY_PT = 16  # 三号
TITLE_PT = 22  # 二号
TABLE_PT = 10.5  # 五号
PAGE_NUMBER_PT = 14  # 四号
#: 22 lines on the 225 mm of the type area.
LINE_PT = 28.95
TITLE_LINE_PT = 35

# name -> (font, size, alignment, first-line indent in characters, exact line spacing or None)
_STYLES = {
    BODY: (FONT_BODY, BODY_PT, "both", 2, LINE_PT),
    MARK: (FONT_HEADING2, BODY_PT, "left", 0, LINE_PT),
    TITLE: (FONT_TITLE, TITLE_PT, "center", 0, TITLE_LINE_PT),
    ADDRESSEE: (FONT_BODY, BODY_PT, "both", 0, LINE_PT),
    HEADING1: (FONT_HEADING1, BODY_PT, "both", 2, LINE_PT),
    HEADING2: (FONT_HEADING2, BODY_PT, "both", 2, LINE_PT),
    ANNEX_NOTE: (FONT_BODY, BODY_PT, "both", 2, LINE_PT),
    SIGNATURE: (FONT_BODY, BODY_PT, "right", 0, LINE_PT),
    ANNEX_LABEL: (FONT_HEADING1, BODY_PT, "left", 0, LINE_PT),
    ANNEX_TITLE: (FONT_TITLE, TITLE_PT, "center", 0, TITLE_LINE_PT),
    TABLE_TEXT: (FONT_BODY, TABLE_PT, "left", 0, None),
    TABLE_HEAD: (FONT_HEADING1, TABLE_PT, "center", 0, None),
    PAGE_NUMBER: (FONT_PAGE_NUMBER, PAGE_NUMBER_PT, "center", 0, None),
}
_KEEP_WITH_NEXT = (TITLE, HEADING1, HEADING2, ANNEX_LABEL, ANNEX_TITLE)
#: 附件 table column widths (mm): 156 mm, the type area's width.
TABLE_MM = (11, 50, 28, 21, 46)
_TWIPS_PER_MM = 1440 / 25.4
_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _twips(points: float) -> int:
    return round(points * 20)


def _style_xml(number: int, name: str) -> str:
    """One paragraph style of the draft as WordprocessingML.

    Written as XML, not with python-docx's add_style and style properties: each of those looks
    a style up by name among the template's 160-odd styles, again for every property set.
    """
    font, size, align, indent, line = _STYLES[name]
    ppr = []
    if name in _KEEP_WITH_NEXT:
        ppr.append("<w:keepNext/>")
    if name == ANNEX_LABEL:
        ppr.append("<w:pageBreakBefore/>")  # the 附件 on a page of its own
    ppr.append("<w:widowControl/>")
    # A blank line after the title and before the 附件 note (GB/T 9704 7.3).
    before = _twips(LINE_PT) if name == ANNEX_NOTE else 0
    after = _twips(LINE_PT) if name in (TITLE, ANNEX_TITLE) else 0
    spacing = (
        f'w:line="{_twips(line)}" w:lineRule="exact"' if line else 'w:line="240" w:lineRule="auto"'
    )
    ppr.append(f'<w:spacing w:before="{before}" w:after="{after}" {spacing}/>')
    if name == ANNEX_NOTE:  # its second line under its title, after 附件：
        ppr.append(f'<w:ind w:left="{_twips(size * 5)}" w:hanging="{_twips(size * 3)}"/>')
    elif name == SIGNATURE:
        ppr.append(f'<w:ind w:right="{_twips(size * 4)}" w:firstLine="0"/>')
    else:
        ppr.append(f'<w:ind w:firstLine="{_twips(size * indent)}"/>')
    ppr.append(f'<w:jc w:val="{align}"/>')
    fonts = " ".join(f'w:{a}="{font}"' for a in ("ascii", "hAnsi", "eastAsia", "cs"))
    half = round(size * 2)
    return (
        f'<w:style {_NS} w:type="paragraph" w:customStyle="1" w:styleId="WT{number}">'
        f'<w:name w:val="{name}"/><w:basedOn w:val="Normal"/><w:qFormat/>'
        f"<w:pPr>{''.join(ppr)}</w:pPr>"
        f'<w:rPr><w:rFonts {fonts}/><w:b w:val="0"/><w:sz w:val="{half}"/>'
        f'<w:szCs w:val="{half}"/></w:rPr></w:style>'
    )


def _add_styles(document) -> dict[str, str]:
    """The draft's paragraph styles; name -> style id."""
    from docx.oxml import parse_xml

    ids = {}
    for number, name in enumerate(_STYLES, 1):
        document.styles.element.append(parse_xml(_style_xml(number, name)))
        ids[name] = f"WT{number}"
    return ids


def _paragraph_xml(text: str, style_id: str, align: str = "") -> str:
    jc = f'<w:jc w:val="{align}"/>' if align else ""
    run = f'<w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r>' if text else ""
    return f'<w:p><w:pPr><w:pStyle w:val="{style_id}"/>{jc}</w:pPr>{run}</w:p>'


def _page_setup(document) -> None:
    from docx.enum.section import WD_ORIENT
    from docx.shared import Mm

    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(PAGE_MM[0]), Mm(PAGE_MM[1])
    top, bottom, left, right = MARGINS_MM
    section.top_margin, section.bottom_margin = Mm(top), Mm(bottom)
    section.left_margin, section.right_margin = Mm(left), Mm(right)
    section.header_distance = Mm(15)
    # The page number sits about 7 mm below the type area (GB/T 9704 7.5).
    section.footer_distance = Mm(bottom - 7 - 6)
    paragraph = section.footer.paragraphs[0]
    paragraph.style = document.styles[PAGE_NUMBER]
    _page_field(paragraph)


def _page_field(paragraph) -> None:
    """'— {PAGE} —': the page number as a field Word and LibreOffice fill in."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraph.add_run("— ")
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1")):
        run = paragraph.add_run()
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run.element.append(char)
        elif text == " PAGE ":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run.element.append(instr)
        else:
            run.text = text
    end = paragraph.add_run()
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), "end")
    end.element.append(char)
    paragraph.add_run(" —")


def _table_xml(header: Sequence[str], rows: Sequence[Sequence[str]], ids: dict[str, str]) -> str:
    """The 附件 table as WordprocessingML: built as text and parsed once (python-docx adds rows
    and cells one object at a time, which does not scale to a province's 20,000 tasks)."""
    widths = [round(mm * _TWIPS_PER_MM) for mm in TABLE_MM]
    border = "".join(
        f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
        for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    )

    def cell(text: str, width: int, style: str, align: str = "") -> str:
        paragraphs = "".join(
            _paragraph_xml(line, ids[style], align) for line in (text.split("\n") if text else [""])
        )
        return (
            f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/><w:vAlign w:val="center"/>'
            f"</w:tcPr>{paragraphs}</w:tc>"
        )

    centred = {0, 2, 3}  # 序号, 牵头处室, 进展状态
    head = "".join(cell(h, w, TABLE_HEAD) for h, w in zip(header, widths, strict=True))
    body = "".join(
        "<w:tr><w:trPr><w:cantSplit/></w:trPr>"
        + "".join(
            cell(text, w, TABLE_TEXT, "center" if i in centred else "")
            for i, (text, w) in enumerate(zip(row, widths, strict=True))
        )
        + "</w:tr>"
        for row in rows
    )
    grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
    from docx.oxml.ns import nsdecls

    return (
        f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblW w:w="{sum(widths)}" w:type="dxa"/>'
        f'<w:jc w:val="center"/><w:tblBorders>{border}</w:tblBorders>'
        '<w:tblLayout w:type="fixed"/>'
        '<w:tblCellMar><w:left w:w="57" w:type="dxa"/><w:right w:w="57" w:type="dxa"/>'
        "</w:tblCellMar></w:tblPr>"
        f"<w:tblGrid>{grid}</w:tblGrid>"
        f"<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>{head}</w:tr>{body}</w:tbl>"
    )


def _build(draft: Draft, year: int, quarter: int):
    from docx import Document
    from docx.oxml import parse_xml
    from docx.oxml.ns import qn

    document = Document()
    ids = _add_styles(document)
    _page_setup(document)
    month = 3 * (quarter - 1) + 1
    props = document.core_properties
    props.title = draft.title
    props.subject = "季度工作推进情况通报（草稿）"
    props.author = props.last_modified_by = "workbook-tools"
    props.created = props.modified = datetime(year, month, 1)  # fixed: same input, same file
    props.revision = 1
    paragraphs = []
    for block in draft.blocks:
        paragraphs.append(_paragraph_xml(block.text, ids[block.style]))
        if block.style == ANNEX_NOTE:
            paragraphs.append(_paragraph_xml("", ids[BODY]))  # two lines to the signature
    paragraphs.append(_paragraph_xml("附件", ids[ANNEX_LABEL]))
    paragraphs.append(_paragraph_xml(draft.annex_title, ids[ANNEX_TITLE]))
    # Paragraphs written as XML as the table is: python-docx's add_paragraph(style=…) looks the
    # style up among the template's 160-odd styles for every paragraph.
    content = parse_xml(
        f"<w:body {_NS}>{''.join(paragraphs)}{_table_xml(TABLE_HEADER, draft.table, ids)}</w:body>"
    )
    end = document.element.body[-1]
    if end.tag != qn("w:sectPr"):  # python-docx keeps the section properties last
        raise AssertionError("unexpected document body")
    for element in list(content):
        end.addprevious(element)
    return document


#: Zip entry time of every part: same input, same file (python-docx stamps the current time).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _save(document, path: Path) -> None:
    buffer = io.BytesIO()
    document.save(buffer)
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, _ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(info))


def write_report(summary: Summary, path: Path, ov: Overview | None = None) -> Path:
    """Write the draft 通报 of ``summary`` to ``path`` (a .docx) and return it.

    Written beside ``path`` and moved over it, as the summary is: a failed write never damages
    an older draft (an edited one included). Raises :class:`OutputError`.
    """
    return write_draft(compose(summary, ov), summary.year, summary.quarter, path)


def write_draft(draft: Draft, year: int, quarter: int, path: Path) -> Path:
    """Write a composed draft to ``path`` as :func:`write_report` does."""
    document = _build(draft, year, quarter)
    return write_atomically(path, lambda tmp: _save(document, tmp), what="通报草稿")


#: From this many rows in the 附件 table (one per task), start_report writes the .docx in a
#: worker process: below, the summary is written before a spawned worker (Windows, macOS) has
#: even started, and the draft takes little time anyway (benchmarks/README.md).
BESIDE_MIN_ROWS = 1000


def start_report(summary: Summary, path: Path, ov: Overview | None = None) -> Callable[[], Path]:
    """:func:`write_report`, started so that this process can write the summary meanwhile:
    returns a function that finishes it and gives the path (or raises :class:`OutputError`).

    The draft is composed here; a large one is written to .docx in a worker process (python-docx
    and the XML are most of the work; the composed text is small to send). The file is the same.
    """
    draft = compose(summary, ov)
    args = (draft, summary.year, summary.quarter, Path(path))
    if len(draft.table) >= BESIDE_MIN_ROWS and workers.cpus() > 1:
        return workers.beside(write_draft, *args)
    return lambda: write_draft(*args)


__all__ = [
    "report_name",
    "start_report",
    "write_draft",
    "write_report",
]
