"""loose_texts: comments and text boxes typed outside cells, in every form a return comes back
in (written by openpyxl and XlsxWriter, re-saved by LibreOffice and Gnumeric), and on hostile
input."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from openpyxl.comments import Comment
from openpyxl.worksheet.hyperlink import Hyperlink

from workbook_tools import loose
from workbook_tools.loose import LooseText, loose_texts

BOX_TEXT = "文本框内容\n第二段  两个空格"
MULTI = "第一行：已完成摸底\n第二行 说明\t（附表另报）"


def read(path: Path) -> list[LooseText]:
    return loose_texts(path.read_bytes(), path.suffix[1:])


def write_openpyxl(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "附件2"
    ws["B2"] = "答题格"
    ws["D5"].comment = Comment(MULTI, "张三")
    ws["F9"].comment = Comment("李四:\n请核实第3项数据", "李四")  # Excel's "Author:" line
    other = wb.create_sheet("填报说明")
    other["A1"].comment = Comment("另一张表的批注", "王五")
    wb.save(path)
    return path


def write_xlsxwriter(path: Path) -> Path:
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("附件2")
    second = wb.add_worksheet("第二张")
    ws.write_string("A1", "答题格")
    ws.write_comment("C3", "批注一\n第二行", {"author": "王五"})
    ws.insert_textbox("H3", BOX_TEXT)
    second.insert_textbox("B10", "另一个文本框")
    second.write_comment("E7", "第二张的批注")
    wb.close()
    return path


def comments_of_openpyxl(author_kept: bool = True) -> set[tuple[str, str, str, str]]:
    # where the author is lost (LibreOffice drops it), Excel's "Author:" line cannot be told
    # from typed text and stays
    answer = "请核实第3项数据" if author_kept else "李四:\n请核实第3项数据"
    return {
        ("附件2", "单元格 D5 的批注", "批注", MULTI),
        ("附件2", "单元格 F9 的批注", "批注", answer),
        ("填报说明", "单元格 A1 的批注", "批注", "另一张表的批注"),
    }


def expected_xlsxwriter(box: str, second_box: str, box_text: str = BOX_TEXT):
    return {
        ("附件2", "单元格 C3 的批注", "批注", "批注一\n第二行"),
        ("附件2", box, "文本框", box_text),
        ("第二张", "单元格 E7 的批注", "批注", "第二张的批注"),
        ("第二张", second_box, "文本框", "另一个文本框"),
    }


def matches(found: list[LooseText], expected: set[tuple[str, str, str, str]]) -> None:
    """Every expected text found once, nothing else; a place given as re.Pattern is matched."""
    assert len(found) == len(expected), found
    rest = list(expected)
    for item in found:
        hit = next(
            (
                e
                for e in rest
                if (e[0], e[2], e[3]) == (item.sheet, item.kind, item.text)
                and (
                    e[1].fullmatch(item.place)
                    if isinstance(e[1], re.Pattern)
                    else e[1] == item.place
                )
            ),
            None,
        )
        assert hit is not None, f"unexpected {item} (left: {rest})"
        rest.remove(hit)


@pytest.fixture(scope="module")
def gnumeric():
    exe = shutil.which("ssconvert")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("Gnumeric (ssconvert) is required when CI is set; install gnumeric")
        pytest.skip("Gnumeric (ssconvert) is not installed")

    def convert(src: Path, dest: Path) -> Path:
        subprocess.run([exe, str(src), str(dest)], capture_output=True, check=True, timeout=120)
        return dest

    return convert


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("originals")
    return {
        "openpyxl": write_openpyxl(folder / "op.xlsx"),
        "xlsxwriter": write_xlsxwriter(folder / "xw.xlsx"),
    }


def test_written_by_openpyxl_and_xlsxwriter(originals):
    matches(read(originals["openpyxl"]), comments_of_openpyxl())
    box = "文本框“TextBox 1”（位于 H3 附近）"
    expected = expected_xlsxwriter(box, "文本框“TextBox 1”（位于 B10 附近）")
    matches(read(originals["xlsxwriter"]), expected)
    # the same bytes as a macro workbook
    found = loose_texts(originals["xlsxwriter"].read_bytes(), "xlsm")
    matches(found, expected)


def test_resaved_by_libreoffice(originals, soffice, tmp_path):
    sources = list(originals.values())
    ods = dict(zip(originals, soffice.convert_many(sources, "ods", tmp_path / "ods"), strict=True))
    xlsx = dict(zip(originals, soffice.convert_many(sources, "xlsx", tmp_path / "x"), strict=True))
    xls = soffice.convert(originals["xlsxwriter"], "xls", tmp_path / "xls")
    for path in (ods["openpyxl"], xlsx["openpyxl"]):
        matches(read(path), comments_of_openpyxl(author_kept=False))
    matches(
        read(xlsx["xlsxwriter"]),
        expected_xlsxwriter(
            "文本框“TextBox 1”（位于 H3 附近）", "文本框“TextBox 1”（位于 B10 附近）"
        ),
    )
    matches(read(xls), expected_xlsxwriter("文本框（位于 H3 附近）", "文本框（位于 B10 附近）"))
    # LibreOffice 7.4 writes a cell-anchored shape into a cell of its row but too far left (it
    # leaves out the empty cells before it); the end cell it writes is exact
    matches(
        read(ods["xlsxwriter"]),
        expected_xlsxwriter(
            re.compile("文本框“TextBox 1”（位于 [B-H]3 至 J8 附近）"),
            re.compile("文本框“TextBox 1”（位于 B10 至 D15 附近）"),
        ),
    )


def test_resaved_by_gnumeric(originals, gnumeric, tmp_path):
    # Gnumeric keeps a text box's words but joins its paragraphs into one
    flat = BOX_TEXT.replace("\n", "")
    src = originals["xlsxwriter"]
    ods = gnumeric(src, tmp_path / "gn.ods")
    matches(
        read(ods),
        expected_xlsxwriter(
            "文本框“TextBox 1”（位于 H3 至 K9 附近）",
            "文本框“TextBox 1”（位于 B10 至 E16 附近）",
            flat,
        ),
    )
    box, second = "文本框“TextBox 1”（位于 H3 附近）", "文本框“TextBox 1”（位于 B10 附近）"
    matches(read(gnumeric(src, tmp_path / "gn.xlsx")), expected_xlsxwriter(box, second, flat))
    xls = gnumeric(src, tmp_path / "gn.xls")
    matches(
        read(xls), expected_xlsxwriter("文本框（位于 H3 附近）", "文本框（位于 B10 附近）", flat)
    )
    matches(read(gnumeric(originals["openpyxl"], tmp_path / "op.ods")), comments_of_openpyxl())


def rewrite(src: Path, dest: Path, changes: dict[str, bytes]) -> Path:
    """A copy of the zip ``src`` with the members of ``changes`` replaced or added."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename not in changes:
                zout.writestr(info.filename, zin.read(info))
        for name, data in changes.items():
            zout.writestr(name, data)
    return dest


def test_threaded_comment_replaces_its_legacy_copy(originals, tmp_path):
    src = originals["xlsxwriter"]
    with zipfile.ZipFile(src) as zf:
        rels = zf.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
    rels = rels.replace(
        "</Relationships>",
        '<Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2017/10/relationships/'
        'threadedComment" Target="../threadedComments/threadedComment1.xml"/></Relationships>',
    )
    legacy = (
        '<comments xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<authors><author>tc={1}</author></authors><commentList>"
        '<comment ref="C3" authorId="0"><text><t>[Threaded comment]\n\nYour version of Excel '
        "allows you to read this threaded comment.\n\nComment:\n    第一条</t></text></comment>"
        "</commentList></comments>"
    )
    threaded = (
        '<ThreadedComments xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/'
        'threadedcomments"><threadedComment ref="C3" id="{1}" personId="{9}">'
        "<text>第一条</text></threadedComment>"
        '<threadedComment ref="C3" id="{2}" parentId="{1}" personId="{9}">'
        "<text>回复：已改</text></threadedComment></ThreadedComments>"
    )
    path = rewrite(
        src,
        tmp_path / "threaded.xlsx",
        {
            "xl/worksheets/_rels/sheet1.xml.rels": rels.encode(),
            "xl/comments1.xml": legacy.encode(),
            "xl/threadedComments/threadedComment1.xml": threaded.encode(),
        },
    )
    comments = [t for t in read(path) if t.sheet == "附件2" and t.kind == "批注"]
    assert comments == [LooseText("附件2", "单元格 C3 的批注", "批注", "第一条\n回复：已改")]


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE comments [<!ENTITY a "哈哈哈哈哈哈哈哈">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    '<comments xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><authors/>'
    '<commentList><comment ref="C3"><text><t>&c;</t></text></comment></commentList></comments>'
)


def test_hostile_parts_are_skipped_and_the_rest_kept(originals, tmp_path):
    src = originals["xlsxwriter"]
    box = ("附件2", "文本框“TextBox 1”（位于 H3 附近）", "文本框", BOX_TEXT)
    comment = ("附件2", "单元格 C3 的批注", "批注", "批注一\n第二行")
    second = expected_xlsxwriter(box[1], "文本框“TextBox 1”（位于 B10 附近）") - {box, comment}

    entity = rewrite(src, tmp_path / "entity.xlsx", {"xl/comments1.xml": BOMB.encode()})
    matches(read(entity), second | {box})
    with zipfile.ZipFile(src) as zf:
        drawing = zf.read("xl/drawings/drawing1.xml")
    broken = rewrite(src, tmp_path / "broken.xlsx", {"xl/drawings/drawing1.xml": drawing[:-40]})
    matches(read(broken), second | {comment})
    # a member announcing or inflating to more than the cap is not read
    padded = drawing.replace(b"<xdr:wsDr ", b"<xdr:wsDr " + b" " * (loose.MAX_MEMBER + 10))
    big = rewrite(src, tmp_path / "big.xlsx", {"xl/drawings/drawing1.xml": padded})
    assert big.stat().st_size < 1 << 20
    matches(read(big), second | {comment})


def test_at_most_max_texts_then_a_note(tmp_path):
    path = tmp_path / "many.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("附件2")
    for row in range(loose.MAX_TEXTS + 200):
        ws.write_comment(row, 0, f"批注{row}")
    wb.close()
    found = read(path)
    assert len(found) == loose.MAX_TEXTS + 1
    assert found[0] == LooseText("附件2", "单元格 A1 的批注", "批注", "批注0")
    assert found[loose.MAX_TEXTS - 1].text == f"批注{loose.MAX_TEXTS - 1}"
    assert "另有 200 处" in found[-1].text and found[-1].place == "其余"


ODS_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.3">
<office:body><office:spreadsheet><table:table table:name="附件2">
 <table:shapes><draw:frame draw:name="说明框"><draw:text-box>
  <text:p>页面上的<text:span>文本框</text:span></text:p></draw:text-box></draw:frame></table:shapes>
 <table:table-header-rows><table:table-row><table:table-cell/></table:table-row>
 </table:table-header-rows>
 <table:table-row table:number-rows-repeated="3"><table:table-cell/></table:table-row>
 <table:table-row>
  <table:table-cell table:number-columns-repeated="3"/>
  <table:covered-table-cell><office:annotation><dc:creator>张三</dc:creator>
   <dc:date>2022-03-01T00:00:00</dc:date>
   <text:p>第一段 <text:s text:c="2"/>三个空格<text:tab/>制表</text:p>
   <text:p>第二段<text:line-break/>换行</text:p></office:annotation></table:covered-table-cell>
  <table:table-cell><draw:custom-shape draw:name="矩形 2" table:end-cell-address="附件2.G9">
   <text:p>图形里的字</text:p></draw:custom-shape></table:table-cell>
 </table:table-row>
</table:table></office:spreadsheet></office:body></office:document-content>"""


def test_ods_repeats_spaces_and_shapes_outside_cells(tmp_path):
    path = tmp_path / "hand.ods"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", ODS_CONTENT)
    assert read(path) == [
        LooseText("附件2", "文本框“说明框”", "文本框", "页面上的文本框"),
        LooseText("附件2", "单元格 D5 的批注", "批注", "第一段   三个空格\t制表\n第二段\n换行"),
        LooseText("附件2", "图形“矩形 2”（位于 E5 至 G9 附近）", "文本框", "图形里的字"),
    ]


@pytest.mark.parametrize("kind", ["xlsx", "xlsm", "ods", "xls", "csv"])
def test_garbage_gives_nothing(kind):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook><sheets><sheet")
        zf.writestr("content.xml", "<office:document-content")
    for data in (b"", b"PK\x03\x04garbage", buf.getvalue(), b"\xd0\xcf\x11\xe0" + b"\0" * 600):
        assert loose_texts(data, kind) == []


def test_xls_bytes_are_never_taken_for_a_path(originals, soffice, tmp_path):
    xls = soffice.convert(originals["xlsxwriter"], "xls", tmp_path)
    assert len(read(xls)) == 4
    # olefile takes short bytes for a file name; the bytes of a return must never open a file
    assert loose_texts(str(xls).encode(), "xls") == []


def test_links_on_cells_give_their_addresses(soffice, tmp_path):
    path = tmp_path / "links.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "完成情况"
    ws["D6"] = "本季度进展详见附件报告"
    ws["D6"].hyperlink = "https://mz.example.gov.cn/报告.pdf"
    ws["D7"] = "见第二张表"
    # Within the workbook: nothing to quote.
    ws["D7"].hyperlink = Hyperlink(ref="D7", location="Sheet2!A1")
    wb.create_sheet("Sheet2")
    wb.save(path)
    want = [LooseText("完成情况", "单元格 D6 的链接", "链接", "https://mz.example.gov.cn/报告.pdf")]
    assert read(path) == want
    assert read(soffice.convert(path, "ods", tmp_path / "ods")) == want
    assert read(soffice.convert(path, "xlsx", tmp_path / "lo")) == want
