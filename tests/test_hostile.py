"""Hostile and broken returns, end to end.

Every case drops one bad file (made here, in tmp_path) into an inbox beside good returns (the
shipped master split into templates, filled with demo.fill_template), runs ``merge`` through the
CLI with --json, and checks: the exact verdict on the bad file and its flag, that the good
returns are still merged (their answers in the JSON and in 明细, as strings), that no cell of
the summary is a formula, and that the inbox is byte-for-byte unchanged.

Reader-level refusals are covered in test_returns.py; this file is about what a coordinator
sees after a whole merge. Property tests and faults (SIGKILL, two merges at once) are at the end.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import signal
import string
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import msoffcrypto
import pytest

# Helpers from the reader's tests, not duplicated here.
from builders import on_track_figures
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.packaging.custom import CustomPropertyList
from test_returns import gbk_zip, make_ole  # tests/ is on sys.path under pytest
from test_template import make_master, task
from xlsxwriter.utility import xl_col_to_name

from workbook_tools import layout
from workbook_tools.cli import cli
from workbook_tools.demo import Fill, fill_template
from workbook_tools.inbox import Collected, collect
from workbook_tools.limits import MAX_COLS, MAX_ROWS
from workbook_tools.master import read_master
from workbook_tools.merge import merge
from workbook_tools.model import FLAG_TYPES, SUMMARY_SHEETS
from workbook_tools.report import report_name
from workbook_tools.returns import MACRO_NOTE
from workbook_tools.summarise import to_json
from workbook_tools.summary_rows import DETAIL_TRUNCATION_MARKER
from workbook_tools.template_files import write_templates

REPO = Path(__file__).resolve().parent.parent
MASTER = REPO / "master" / "分解方案.xlsx"
YEAR, QUARTER = 2022, 1

# Good returns, always in the inbox: divisions no hostile case touches.
GOOD = ("儿童福利处", "规划财务处", "社会救助处")
YL = "养老服务处"  # tasks 3 4 7 9 10 13
JC = "基层政权建设和社区治理处"  # tasks 1 2 11 12 13 14
DB = "市低保中心"  # tasks 5 15 16
QH = "区划地名处"  # task 10

ERROR, WARNING, INFO = "错误", "警告", "提示"
UNREADABLE = "文件无法读取"
EXTERNAL_LINK_NOTE = "含外部链接（引用其他工作簿），读取的是文件中保存的值，可能不是最新"


def std_name(division: str, year: int = YEAR, quarter: int = QUARTER) -> str:
    return layout.file_stem(year, quarter, division) + ".xlsx"


def answer(division: str, number: str) -> str:
    return f"{division}第{number}项：本季度已完成阶段目标。"


YL_TASKS = ("3", "4", "7", "9", "10", "13")
YL_ANSWERS = {n: answer(YL, n) for n in YL_TASKS}


# --- The kit: templates and good returns, made once -------------------------------------------
@dataclass(frozen=True)
class Kit:
    master: object
    templates: dict  # (year, quarter) -> {division: Path}
    good: dict  # file name -> bytes
    work: Path

    def template(self, division: str, year: int = YEAR, quarter: int = QUARTER) -> Path:
        return self.templates[(year, quarter)][division]

    def fill(
        self,
        division: str,
        fills: dict[str, Fill] | None = None,
        *,
        year: int = YEAR,
        quarter: int = QUARTER,
    ) -> Path:
        """A return of ``division`` filled as staff would (every task answered unless told)."""
        if fills is None:
            fills = {
                t.number: Fill(
                    answer(division, t.number),
                    "按序时推进",
                    "继续推进",
                    figures=on_track_figures(t, division, quarter),
                )
                for t in self.master.tasks_of(division)
            }
        fd, name = tempfile.mkstemp(suffix=".xlsx", dir=self.work)
        os.close(fd)
        return fill_template(
            self.template(division, year, quarter),
            Path(name),
            fills,
            filler={"填报人": "张三", "联系电话": "027-12345678", "填报日期": "2022-04-08"},
        )


def run_cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def split(outbox: Path, year: int, quarter: int) -> dict[str, Path]:
    result = run_cli("split", "-q", quarter, "-y", year, "--master", MASTER, "--outbox", outbox)
    assert result.exit_code == 0, result.output
    folder = outbox / layout.quarter_folder(year, quarter)
    templates = {d: folder / std_name(d, year, quarter) for d in read_master(MASTER).divisions}
    assert all(p.is_file() for p in templates.values())
    return templates


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Kit:
    root = tmp_path_factory.mktemp("hostile-kit")
    master = read_master(MASTER)
    templates = {
        (y, q): split(root / f"outbox-{y}-{q}", y, q) for y, q in ((YEAR, 1), (YEAR, 2), (2021, 1))
    }
    work = root / "work"
    work.mkdir()
    k = Kit(master, templates, {}, work)
    for division in GOOD:
        k.good[std_name(division)] = k.fill(division).read_bytes()
    return k


# --- Running a merge and reading what it wrote ------------------------------------------------
def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` (not following links): content hash and mtime, or link target."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st_ = p.lstat()
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p), st_.st_mtime_ns)
            elif p.is_dir():
                out[rel] = ("dir", st_.st_mode, st_.st_mtime_ns)
            else:
                try:
                    digest = hashlib.sha256(p.read_bytes()).hexdigest()
                except PermissionError:
                    digest = "unreadable"
                out[rel] = ("file", digest, st_.st_mode, st_.st_mtime_ns)
    return out


def rows_of(ws, header_row: int) -> list[dict]:
    headers = [c.value for c in ws[header_row]]
    out = []
    for cells in ws.iter_rows(min_row=header_row + 1):
        if all(c.value in (None, "") for c in cells):
            continue
        out.append({h: c for h, c in zip(headers, cells, strict=False) if h})
    return out


@dataclass
class Outcome:
    output: str
    data: dict
    details: list[dict]  # 明细 rows: header -> openpyxl cell
    problems: list[dict]  # 问题清单 rows
    seconds: float
    tasks: list[dict]  # 汇总 rows

    def verdict(self, source: str) -> tuple[bool, str, str]:
        [v] = [f for f in self.data["files"] if f["source"] == source]
        return v["accepted"], v["division"], v["reason"]

    def flags(self, source: str | None = None, kind: str | None = None) -> list[dict]:
        return [
            f
            for f in self.data["flags"]
            if (source is None or f["source"] == source) and (kind is None or f["type"] == kind)
        ]

    def answers(self, division: str) -> dict[str, str]:
        return {
            t["number"]: a["answer"]
            for t in self.data["tasks"]
            for a in t["answers"]
            if a["division"] == division
        }

    def detail(self, division: str, number: str):
        """The 完成情况 cell of ``division`` on task ``number`` in 明细."""
        [row] = [
            r
            for r in self.details
            if r["处室"].value == division and r["序号"].value.lstrip("*") == number
        ]
        return row["完成情况"]

    def submitted(self, division: str) -> bool:
        [d] = [d for d in self.data["divisions"] if d["division"] == division]
        return d["submitted"]


def run_merge(kit: Kit, tmp_path: Path, inbox: Path) -> Outcome:
    """Merge ``inbox`` through the CLI and check what every case must satisfy."""
    out = tmp_path / "out"
    before = snapshot(inbox)
    start = time.perf_counter()
    result = run_cli(
        "merge", "-q", QUARTER, "--master", MASTER, "--inbox", inbox,
        "--out", out / "汇总.xlsx", "--json", out / "result.json",
    )  # fmt: skip
    seconds = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    assert snapshot(inbox) == before, "the inbox was changed"
    data = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert_no_formula(out / "汇总.xlsx")
    wb = load_workbook(out / "汇总.xlsx")
    assert wb.sheetnames == list(SUMMARY_SHEETS)
    outcome = Outcome(
        result.output,
        data,
        rows_of(wb["明细"], 1),
        rows_of(wb["问题清单"], 2),
        seconds,
        rows_of(wb["汇总"], 2),
    )
    for f in data["flags"]:
        assert f["type"] in FLAG_TYPES and f["severity"] in (ERROR, WARNING, INFO)
    for division in GOOD:  # the good returns are merged whatever else is in the inbox
        assert outcome.verdict(std_name(division))[:2] == (True, division)
        expected = {t.number: answer(division, t.number) for t in kit.master.tasks_of(division)}
        assert outcome.answers(division) == expected
        for number, text in expected.items():
            cell = outcome.detail(division, number)
            assert (cell.value, cell.data_type) == (text, "s")
    return outcome


def assert_no_formula(path: Path) -> None:
    """No cell of any sheet is a formula: neither in the XML nor as openpyxl sees it."""
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                assert not re.search(rb"<(?:\w+:)?f[\s>/]", z.read(name)), name
    wb = load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate}: {cell.value!r}"


def make_inbox(kit: Kit, tmp_path: Path, files: dict[str, bytes | Path] | None = None) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, data in kit.good.items():
        (inbox / name).write_bytes(data)
    for name, data in (files or {}).items():
        target = inbox / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.read_bytes() if isinstance(data, Path) else data)
    return inbox


def assert_refused(o: Outcome, source: str, reason: str, kind: str = UNREADABLE) -> None:
    """The file is not used, for exactly ``reason``; one flag names it; the CLI names it."""
    assert o.verdict(source) == (False, "", f"无法读取：{reason}")
    assert [(f["type"], f["severity"], f["detail"]) for f in o.flags(source)] == [
        (kind, FLAG_TYPES[kind], reason)
    ]
    assert f"未采用 {source}  无法读取：{reason}" in o.output
    assert [(r["问题类型"].value, r["来源文件"].value) for r in o.problems].count(
        (kind, source)
    ) == 1


def accepted(o: Outcome, source: str, division: str) -> None:
    n = len(read_master(MASTER).tasks_of(division))
    filled = sum(1 for a in o.answers(division).values() if a.strip())
    assert o.verdict(source) == (True, division, f"已采用，已填 {filled}/{n} 项")


# --- Zip surgery --------------------------------------------------------------------------
def rezip(data: bytes, replace: dict | None = None, add: dict | None = None) -> bytes:
    """A copy of zip ``data`` with members replaced (bytes or a function of the old bytes)."""
    replace = replace or {}
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for info in zin.infolist():
            body = zin.read(info.filename)
            new = replace.get(info.filename, body)
            zout.writestr(info.filename, new(body) if callable(new) else new)
        for name, body in (add or {}).items():
            zout.writestr(name, body)
    return out.getvalue()


def raw_zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip from already-deflated members: (name, raw deflate, crc32, announced size)."""
    local, central = io.BytesIO(), io.BytesIO()
    for name, raw, crc, size in members:
        offset = local.tell()
        fname = name.encode()
        head = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0x21, crc, len(raw), size)
        local.write(b"PK\x03\x04" + head + struct.pack("<HH", len(fname), 0) + fname + raw)
        central.write(
            b"PK\x01\x02"
            + struct.pack("<H", 20)
            + head
            + struct.pack("<HHHHHII", len(fname), 0, 0, 0, 0, 0, offset)
            + fname
        )
    cd = central.getvalue()
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(cd),
                      local.tell(), 0)  # fmt: skip
    return local.getvalue() + cd + end


def deflated(body: bytes) -> tuple[bytes, int, int]:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(body) + c.flush(), zlib.crc32(body), len(body)


def inflating_sheet(head: bytes, unit: bytes, count: int) -> bytes:
    """Raw deflate of head + unit * count, built without ever holding the inflated bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    assert block == again  # a full flush resets the compressor: the block can be repeated
    return first + block * (count - 1) + again + c.flush()


def patch_sheet(data: bytes, edit) -> bytes:
    return rezip(data, {"xl/worksheets/sheet1.xml": edit})


# ==============================================================================================
# Files that are not readable workbooks
# ==============================================================================================
ENCRYPTED = "文件已加密（设置了打开密码）；请取消密码后另存为 .xlsx 再报送"


def test_encrypted_xlsx(kit, tmp_path):
    out = io.BytesIO()
    with kit.fill(YL).open("rb") as f:
        msoffcrypto.OfficeFile(f).encrypt("密码123", out)
    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: out.getvalue()}))
    assert_refused(o, name, ENCRYPTED)
    assert not o.submitted(YL)
    assert o.flags(kind="未报送") and YL in {f["division"] for f in o.flags(kind="未报送")}


UNO_ENCRYPT = r"""
import os, shutil, signal, subprocess, sys, tempfile, time, uuid
from pathlib import Path
import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException

def prop(n, v):
    p = PropertyValue(); p.Name, p.Value = n, v; return p

src, dst, password = sys.argv[1:4]
pipe = f"wbt_enc_{os.getpid()}_{uuid.uuid4().hex[:8]}"
profile = Path(tempfile.mkdtemp(prefix="wbt-enc-"))
proc = subprocess.Popen(
    [shutil.which("soffice") or shutil.which("libreoffice"), "--headless", "--invisible",
     "--nologo", "--norestore", "--nodefault", "--nolockcheck",
     f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
     f"-env:UserInstallation={profile.as_uri()}"],
    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    start_new_session=True)
try:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + 60
    while True:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            break
        except NoConnectException:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.2)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    doc = desktop.loadComponentFromURL(Path(src).resolve().as_uri(), "_blank", 0,
                                       (prop("Hidden", True),))
    doc.storeToURL(Path(dst).resolve().as_uri(), (prop("FilterName", "MS Excel 97"),
                   prop("Password", password), prop("Overwrite", True)))
    doc.close(True)
    try:
        desktop.terminate()
    except Exception:
        pass
finally:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(10)
    shutil.rmtree(profile, ignore_errors=True)
"""


def encrypted_xls(src: Path, dst: Path, password: str) -> bytes:
    """An .xls with an open password, saved by LibreOffice (BIFF8 FILEPASS, RC4 CryptoAPI).

    Without LibreOffice's Python bridge, a minimal compound file whose Workbook stream starts
    with BOF and FILEPASS records (what sniffing looks at) stands in for it.
    """
    system_python = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    have_uno = (
        system_python
        and (shutil.which("soffice") or shutil.which("libreoffice"))
        and subprocess.run([system_python, "-c", "import uno"], capture_output=True).returncode == 0
    )
    if not have_uno:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice with python3-uno is required when CI is set")
        bof = struct.pack("<HH", 0x0809, 16) + struct.pack("<HHHHII", 0x600, 5, 0, 0, 0, 0)
        filepass = struct.pack("<HH", 0x002F, 6) + struct.pack("<HHH", 1, 1, 1)
        return make_ole({"Workbook": bof + filepass})
    proc = subprocess.run(
        [system_python, "-c", UNO_ENCRYPT, str(src), str(dst), password],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and dst.exists(), proc.stderr
    data = dst.read_bytes()
    office = msoffcrypto.OfficeFile(io.BytesIO(data))
    assert office.is_encrypted()  # really encrypted: it opens with the password only
    office.load_key(password=password)
    office.decrypt(io.BytesIO())
    return data


def test_encrypted_xls(kit, tmp_path):
    data = encrypted_xls(kit.fill(DB), tmp_path / "enc.xls", "密码")
    name = layout.file_stem(YEAR, QUARTER, DB) + ".xls"
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: data}))
    assert_refused(o, name, ENCRYPTED)
    assert not o.submitted(DB)


def test_truncated_zip(kit, tmp_path):
    data = kit.fill(YL).read_bytes()
    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: data[: len(data) // 2]}))
    assert_refused(
        o,
        name,
        "文件已损坏或不完整（压缩结构无法读取，可能未下载完或传输中断）；请重新保存后再报送",
    )


def test_empty_file(kit, tmp_path):
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {std_name(YL): b""}))
    assert_refused(o, std_name(YL), "文件是空的（没有任何内容）；请重新保存后再报送")


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
HTML = (
    '<html><head><meta charset="utf-8"></head><body><table><tr><td>序号</td><td>责任事项</td>'
    "<td>完成情况</td></tr><tr><td>3</td><td>养老</td><td>已完成</td></tr></table></body></html>"
).encode()
TEXT = "序号\t责任事项\t完成情况\n3\t养老\t已完成\n".encode("gb18030")
NOT_A_WORKBOOK = {
    "pdf": (PDF, "这是 PDF 文件，不是 Excel 工作簿；请使用下发的 Excel 模板（.xlsx）填报后报送"),
    "html": (
        HTML,
        "这是网页导出的表格（HTML），不是真正的 Excel 工作簿；请用 Excel 或 WPS 打开后另存为 .xlsx 再报送",
    ),
    "text": (TEXT, "不是 Excel 工作簿（文本文件）；请使用下发的 Excel 模板（.xlsx）填报后报送"),
}


@pytest.mark.parametrize("suffix", [".xlsx", ".xls"])
@pytest.mark.parametrize("what", sorted(NOT_A_WORKBOOK))
def test_not_a_workbook_under_an_excel_name(kit, tmp_path, what, suffix):
    data, reason = NOT_A_WORKBOOK[what]
    name = layout.file_stem(YEAR, QUARTER, YL) + suffix
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: data}))
    assert_refused(o, name, reason)


def test_wps_et_file(kit, tmp_path):
    # An OLE compound file with no Workbook/Book stream: not Excel, Word or PowerPoint.
    data = make_ole({"WpsContent": "WPS 表格".encode("utf-16-le"), "ETExtData": b"\x01\x02"})
    name = layout.file_stem(YEAR, QUARTER, YL) + ".et"
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: data}))
    assert_refused(
        o, name, "无法识别的表格格式（可能是 WPS 表格 .et 文件）；请在 WPS 中另存为 .xlsx 再报送"
    )


# ==============================================================================================
# Workbooks with things inside that must never be acted on
# ==============================================================================================
def test_xlsm_with_macros_is_read_for_values_only(kit, tmp_path):
    data = kit.fill(YL).read_bytes()
    vba = make_ole({"VBA": b'Attribute VB_Name = "Module1"\r\nSub Auto_Open()\r\nShell "calc"\r\n'})
    xlsm = rezip(
        data,
        {
            "[Content_Types].xml": lambda b: b.replace(
                b"sheet.main+xml", b"sheet.macroEnabled.main+xml"
            ).replace(
                b'<Default Extension="xml"',
                b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject" />'
                b'<Default Extension="xml"',
            ),
            "xl/_rels/workbook.xml.rels": lambda b: b.replace(
                b"</Relationships>",
                b'<Relationship Id="rIdVBA" Type="http://schemas.microsoft.com/office/2006/'
                b'relationships/vbaProject" Target="vbaProject.bin" /></Relationships>',
            ),
        },
        add={"xl/vbaProject.bin": vba},
    )
    name = layout.file_stem(YEAR, QUARTER, YL) + ".xlsm"
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: xlsm}))
    assert o.verdict(name) == (True, YL, f"已采用，已填 6/6 项；{MACRO_NOTE}")
    assert o.answers(YL) == YL_ANSWERS
    assert o.flags(name) == []
    assert MACRO_NOTE in o.output


def test_external_links_are_noted(kit, tmp_path):
    data = kit.fill(YL).read_bytes()
    link = (
        b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<externalBook xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
        b' r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook></externalLink>'
    )
    rels = (
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/externalLinkPath" Target="file:///C:/%E5%85%B6%E4%BB%96.xlsx" '
        b'TargetMode="External"/></Relationships>'
    )
    # Task 3's answer is a formula into the other workbook, with the value Excel cached.
    ref = f"D{layout.ROW_FIRST_TASK}".encode()
    cell = (
        b'<c r="'
        + ref
        + rb'" s="\1" t="str"><f>[1]Sheet1!A1</f><v>'
        + "外部表中的值".encode()
        + b"</v></c>"
    )
    linked = rezip(
        data,
        {
            "xl/worksheets/sheet1.xml": lambda b: re.sub(
                rb'<c r="' + ref + rb'" s="(\d+)".*?</c>', cell, b
            )
        },
        add={
            "xl/externalLinks/externalLink1.xml": link,
            "xl/externalLinks/_rels/externalLink1.xml.rels": rels,
        },
    )
    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: linked}))
    assert o.verdict(name) == (True, YL, f"已采用，已填 6/6 项；{EXTERNAL_LINK_NOTE}")
    assert o.answers(YL) == {**YL_ANSWERS, "3": "外部表中的值"}  # the saved value, not computed
    assert o.flags(name) == []


SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)


@pytest.mark.parametrize("lie", [False, True], ids=["honest-sizes", "lying-sizes"])
def test_zip_bomb_refused_fast(kit, tmp_path, lie):
    # sheet1.xml inflates to 2 GB of markup; the file is about 5 MB.
    unit = b"<row><c><v>1</v></c></row>" * 40_000  # 1 MB
    count = 2000
    raw = inflating_sheet(SHEET_HEAD, unit, count)
    size = len(SHEET_HEAD) + len(unit) * count
    members = []
    with zipfile.ZipFile(kit.fill(YL)) as z:
        for info in z.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                # Lying: the directory claims 5 MB, a ratio that passes; reading must stop there.
                members.append((info.filename, raw, 0, 5_000_000 if lie else size))
            else:
                members.append((info.filename, *deflated(z.read(info.filename))))
    bomb = raw_zip(members)
    assert len(bomb) < 8_000_000 and 2 * 10**9 < size < 2**32
    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: bomb}))
    assert o.seconds < 5
    if lie:
        reason = "文件已损坏（压缩条目 xl/worksheets/sheet1.xml 无法解压）；请重新保存后再报送"
    else:
        reason = (
            f"压缩条目 xl/worksheets/sheet1.xml 的压缩比异常（{size} 字节压缩为 {len(raw)} 字节），"
            "疑似压缩炸弹；请确认文件来源，重新另存后再报送"
        )
    assert_refused(o, name, reason)


def test_zip_member_that_inflates_past_its_size_or_fails_its_crc_is_refused():
    # Members are read through zipfile, which stops at the announced size and checks the CRC.
    from workbook_tools.containers import inspect_workbook_zip
    from workbook_tools.limits import UnsafeFile

    unit = b"<row><c><v>1</v></c></row>" * 4_000
    raw = inflating_sheet(SHEET_HEAD, unit, 100)  # ~10 MB of markup
    size = len(SHEET_HEAD) + len(unit) * 100
    content = b'<?xml version="1.0"?><Types/>'
    body = SHEET_HEAD + b'<row r="1"><c r="B2"><v>1</v></c></row></sheetData></worksheet>'
    good = [
        ("[Content_Types].xml", *deflated(content)),
        ("xl/worksheets/sheet1.xml", *deflated(body)),
    ]
    facts = inspect_workbook_zip(raw_zip(good), "xlsx")
    assert "xl/worksheets/sheet1.xml" in facts.names
    lying = [good[0], ("xl/worksheets/sheet1.xml", raw, 0, 100_000)]  # claims 100 KB
    wrong_crc = [good[0], ("xl/worksheets/sheet1.xml", good[1][1], 12345, good[1][3])]
    for members in (lying, wrong_crc):
        with pytest.raises(UnsafeFile, match="无法解压"):
            inspect_workbook_zip(raw_zip(members), "xlsx")
    assert size > 10 * 100_000


def test_entity_bomb_refused(kit, tmp_path):
    lol = (
        b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>'
    )
    data = patch_sheet(
        kit.fill(YL).read_bytes(),
        lambda b: lol + b.replace(answer(YL, "3").encode(), b"&e;&e;&e;&e;&e;&e;&e;&e;"),
    )
    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: data}))
    assert o.seconds < 5
    assert_refused(
        o,
        name,
        "文件内部的 xl/worksheets/sheet1.xml 含有 DOCTYPE/ENTITY 声明（可能是实体炸弹），已拒绝读取；"
        "请确认文件来源，用 Excel 或 WPS 重新另存为 .xlsx 再报送",
    )


# ==============================================================================================
# Sizes: what a user hits, and what they see
# ==============================================================================================
def add_rows(data: bytes, rows: bytes) -> bytes:
    return patch_sheet(data, lambda b: b.replace(b"</sheetData>", rows + b"</sheetData>"))


def text_cell(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def test_100000_rows_are_read_up_to_the_cap_with_a_flag(kit, tmp_path):
    # Someone pasted a long list under the table: 100,000 rows, columns A-F (600,000 cells,
    # under the 2,000,000-cell reach limit, so the file is read, up to MAX_ROWS rows).
    rows = b"".join(
        f'<row r="{r}">'.encode()
        + b"".join(text_cell(f"{c}{r}", f"粘贴{r}") for c in "ABCDEF")
        + b"</row>"
        for r in range(12, 100_001)
    )
    data = add_rows(kit.fill(YL).read_bytes(), rows)
    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: data}))
    assert o.seconds < 20
    # The tasks are merged and the verdict says what was not read; 问题清单 lists the first 50
    # stray rows one by one, counts the rest, and names the rows past the cap.
    assert o.verdict(name) == (
        True,
        YL,
        f"已采用，已填 6/6 项；工作表 完成情况 超过 {MAX_ROWS} 行，只读取了前 {MAX_ROWS} 行",
    )
    assert o.answers(YL) == YL_ANSWERS
    flags = o.flags(name)
    assert {(f["type"], f["severity"]) for f in flags} == {
        ("内容未读入", WARNING),
        ("多余内容", WARNING),
    }
    where = f"（{name}，工作表 完成情况）"
    pasted = "；".join(
        f"{label}：粘贴{{r}}"
        for label in (
            "序号",
            "责任事项",
            "本处室职责",
            "完成情况",
            "进展状态",
            "存在问题及下步打算",
        )
    )
    assert [f["detail"] for f in flags] == [
        *(f"第{r}行不是{YL}的事项，未读入：“{pasted.format(r=r)}”{where}" for r in range(12, 62)),
        f"另有 {MAX_ROWS - 61} 行（第62行至第{MAX_ROWS}行）不是{YL}的事项，未逐行列出{where}",
        f"事项表以外的内容：工作表 完成情况 第 {MAX_ROWS + 1} 行及以后仍有内容"
        f"（超过 {MAX_ROWS} 行的部分未读取）（{name}）",
    ]


def with_far_note(kit: Kit, ref: str, note: str) -> bytes:
    """A filled return with ``note`` typed in cell ``ref`` of 完成情况 (openpyxl writes it as
    an inline string; test_returns has the shared strings Excel writes)."""
    wb = load_workbook(kit.fill(YL))
    wb[layout.DATA_SHEET][ref] = note
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize("ref", ["ZX60000", "XFD1048576"])
def test_a_note_far_from_the_table_is_reported_and_the_answers_are_read(kit, tmp_path, ref):
    # calamine allocates rows x columns of a sheet's used range: it reads the sheet without the
    # far cell, whose text is reported.
    note = "备注：以上数据截至3月31日，由统计科提供"
    data = with_far_note(kit, ref, note)
    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: data}))
    accepted(o, name, YL)
    assert o.answers(YL) == YL_ANSWERS
    assert [(f["type"], f["detail"]) for f in o.flags(name)] == [
        (
            "多余内容",
            f"事项表以外的内容：“备注：以上数据截至3月31日，由统计科提供”"
            f"（{name}，工作表 完成情况，单元格 {ref}）",
        )
    ]


def test_100000_rows_by_30_columns_are_read_up_to_the_cap_with_the_rest_counted(kit, tmp_path):
    # 3,000,000 cells of reach: calamine reads the first MAX_ROWS + 1 rows only.
    rows = b"".join(
        f'<row r="{r}">'.encode() + text_cell(f"A{r}", "x") + text_cell(f"AD{r}", "y") + b"</row>"
        for r in range(12, 100_001)
    )
    data = add_rows(kit.fill(YL).read_bytes(), rows)
    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: data}))
    # The rows past those read are cut by row before calamine sees the sheet, as for any long
    # sheet: what is left is not too wide to read, and the verdict says where reading stopped.
    assert o.verdict(name) == (
        True,
        YL,
        f"已采用，已填 6/6 项；工作表 完成情况 超过 {MAX_ROWS} 行，只读取了前 {MAX_ROWS} 行",
    )
    assert o.answers(YL) == YL_ANSWERS
    details = [f["detail"] for f in o.flags(name)]
    # The stray rows read, as for 100,000 rows by 6 columns; then the cells right of the table.
    where = f"（{name}，工作表 完成情况）"
    assert details[:51] == [
        *(f"第{r}行不是{YL}的事项，未读入：“序号：x”{where}" for r in range(12, 62)),
        f"另有 {MAX_ROWS - 61} 行（第62行至第{MAX_ROWS}行）不是{YL}的事项，未逐行列出{where}",
    ]
    assert details[51] == f"事项表以外的内容：“y”（{name}，工作表 完成情况，单元格 AD12）"
    assert (
        f"事项表以外的内容：工作表 完成情况 第 {MAX_ROWS + 1} 行及以后仍有内容"
        f"（超过 {MAX_ROWS} 行的部分未读取）（{name}）"
    ) in details


def test_1000_columns_are_read_up_to_the_cap_with_a_flag(kit, tmp_path):
    row = (
        b'<row r="12">'
        + b"".join(text_cell(f"{xl_col_to_name(c)}12", f"列{c + 1}") for c in range(1000))
        + b"</row>"
    )
    data = add_rows(kit.fill(YL).read_bytes(), row)
    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: data}))
    accepted(o, name, YL)
    assert o.answers(YL) == YL_ANSWERS
    # The row itself; each cell right of the table up to the 50 listed, the read ones first,
    # then those beyond MAX_COLS marked as not read; the rest counted.
    flags = o.flags(name)
    assert {(f["type"], f["severity"]) for f in flags} == {
        ("内容未读入", WARNING),
        ("多余内容", WARNING),
    }
    # 养老服务处's template has two target column pairs (G:J): the row's cells there are quoted
    # with the row.
    cells = [xl_col_to_name(c) for c in range(10, MAX_COLS + 50)]
    assert [f["detail"] for f in flags] == [
        f"第12行不是{YL}的事项，未读入：“序号：列1；责任事项：列2；本处室职责：列3；完成情况：列4；"
        f"进展状态：列5；存在问题及下步打算：列6；量化指标：列7；截至本季度末累计完成：列8；"
        f"量化指标：列9；截至本季度末累计完成：列10”（{name}，工作表 完成情况）",
        *(
            f"事项表以外的内容：“列{c + 11}”（{name}，工作表 完成情况，单元格 {ref}12）"
            for c, ref in enumerate(cells)
        ),
        f"事项表以外的内容：工作表 完成情况 第 {MAX_COLS} 列以右另有 {1000 - MAX_COLS - 50} 个单元格"
        f"有内容（超出读取范围，未逐一列出）（{name}）",
    ]


@pytest.mark.parametrize("ref", ["A1:A1", "A1:AMJ1048576"])
def test_sheet_whose_dimension_lies(kit, tmp_path, ref):
    # Data reaches row 20 (a remark under the table); the stored dimension says otherwise.
    data = patch_sheet(
        kit.fill(YL).read_bytes(),
        lambda b: re.sub(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode(), b)
        .replace(b"</sheetData>", b'<row r="20">' + text_cell("B20", "以上情况属实") + b"</row></sheetData>"),
    )  # fmt: skip
    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: data}))
    assert o.seconds < 5
    accepted(o, name, YL)
    assert o.answers(YL) == YL_ANSWERS
    assert [f["detail"] for f in o.flags(name)] == [
        f"第20行不是{YL}的事项，未读入：“责任事项：以上情况属实”（{name}，工作表 完成情况）"
    ]


# ==============================================================================================
# Answers people type (or paste): all reach 明细 as strings, none as a formula
# ==============================================================================================
# Placeholders patched in the XML: openpyxl (the filler) refuses control characters and cuts
# text at 32,767 characters, but Excel stores the first as _xHHHH_ and other tools write longer.
CTRL = "CTRL_PLACEHOLDER"
LONG = "LONG_PLACEHOLDER"
RAW = {CTRL: "前_x000B_中_x0001_后段", LONG: "超" * 40_000}
HOSTILE_ANSWERS = {
    # id: (division, task, typed, expected in 明细)
    "control": (YL, "3", CTRL, "前\x0b中\x01后段"),
    "rtl": (YL, "4", "\u202e告报\u202c与 مرحبا \u200f结束\u200e", None),
    "emoji": (YL, "7", "完成😀👍🏽👨‍👩‍👧‍👦🇨🇳", None),
    "cjk-ext-b": (YL, "9", "𠀀𠀁𪚥𠮷𰀀", None),
    "32767": (YL, "10", "进" * 32_767, None),
    "over-limit": (YL, "13", LONG, "超" * 40_000),
    "equals": (JC, "1", "=1+1", None),
    "plus": (JC, "2", "+86 138 0013 8000", None),
    "minus": (JC, "11", "-5% 同比下降", None),
    "at": (JC, "12", "@SUM(A1:A2)", None),
    "hyperlink": (JC, "13", '=HYPERLINK("http://x","y")', None),
    "dde": (JC, "14", "=cmd|' /C calc'!A0", None),
    "url-and-lines": (
        "社会事务处",
        "10",
        "  见 http://example.com/a?b=1\r\n第二行\t制表\n\n",
        None,
    ),
}
FORMULA_LIKE = ("equals", "plus", "minus", "at", "hyperlink", "dde")


def documented(text: str) -> str:
    """What 明细 holds for ``text``: cells.clean_text, \\r\\n -> \\n, Excel's cell limit."""
    from workbook_tools.cells import clean_text, fit_cell

    cleaned = clean_text(text)[0].replace("\r\n", "\n").replace("\r", "\n")
    return fit_cell(cleaned, DETAIL_TRUNCATION_MARKER)[0]


@pytest.fixture(scope="module")
def hostile_answers(kit, tmp_path_factory) -> Outcome:
    tmp_path = tmp_path_factory.mktemp("answers")
    files = {}
    for division in (YL, JC, "社会事务处"):
        fills = {
            number: Fill(typed, "按序时推进", "")
            for d, number, typed, _ in HOSTILE_ANSWERS.values()
            if d == division
        }
        data = kit.fill(division, fills).read_bytes()
        if division == YL:
            data = patch_sheet(
                data,
                lambda b: b.replace(CTRL.encode(), RAW[CTRL].encode()).replace(
                    LONG.encode(), RAW[LONG].encode()
                ),
            )
        files[std_name(division)] = data
    return run_merge(kit, tmp_path, make_inbox(kit, tmp_path, files))


@pytest.mark.parametrize("case", sorted(HOSTILE_ANSWERS))
def test_hostile_answer_reaches_details_as_a_string(hostile_answers, case):
    division, number, typed, expected = HOSTILE_ANSWERS[case]
    expected = documented(typed if expected is None else expected)
    cell = hostile_answers.detail(division, number)
    assert cell.data_type == "s"
    assert cell.value == expected
    source = std_name(division)
    formula_flags = [f for f in hostile_answers.flags(source, "疑似公式") if f["task"] == number]
    if case in FORMULA_LIKE:
        assert [(f["severity"], f["detail"]) for f in formula_flags] == [
            (
                INFO,
                f"完成情况以“{typed.strip()[0]}”开头，已按文本保存，未作为公式计算"
                f"（{source}，工作表 完成情况，单元格 D{layout.ROW_FIRST_TASK + task_row(division, number)}）",
            )
        ]
    else:
        assert formula_flags == []
    [row] = [
        r for r in hostile_answers.details
        if r["处室"].value == division and r["序号"].value.lstrip("*") == number
    ]  # fmt: skip
    note = row["备注"].value or ""
    if case == "control":
        assert note == "删除了 Excel 无法保存的控制字符"
    elif case == "over-limit":
        assert note == "完成情况超过 Excel 单元格 32767 字上限，已截断"
        assert len(cell.value) == 32_767 and cell.value.endswith(DETAIL_TRUNCATION_MARKER)
    else:
        assert note == ""


@pytest.mark.parametrize("case", sorted(HOSTILE_ANSWERS))
def test_hostile_answer_quoted_in_tasks_sheet(hostile_answers, case):
    """汇总 quotes what 明细 holds, under its division: whole, or when long its first
    characters (SUMMARY_EXCERPT at most) and the marker that sends the reader to 明细."""
    from workbook_tools.summary_rows import SUMMARY_EXCERPT, SUMMARY_EXCERPT_MIN, TRUNCATION_MARKER

    division, number, _, _ = HOSTILE_ANSWERS[case]
    whole = hostile_answers.detail(division, number).value.strip()
    [row] = [r for r in hostile_answers.tasks if r["序号"].value.lstrip("*") == number]
    cells = [row[col].value or "" for col in ("牵头处室完成情况", "配合处室完成情况")]
    [cell] = [c for c in cells if f"【{division}】" in c]
    rest = cell.split(f"【{division}】", 1)[1]
    quoted_whole = rest == whole or rest.startswith(whole + "\n\n【")
    if not quoted_whole:  # cut: the long ones, or any answer sharing a cell with them
        start, marker, _ = rest.partition(TRUNCATION_MARKER)
        assert marker and whole.startswith(start), (case, rest[:200])
        assert SUMMARY_EXCERPT_MIN <= len(start) <= SUMMARY_EXCERPT, case
    if case in ("32767", "over-limit"):
        assert not quoted_whole, case


def task_row(division: str, number: str) -> int:
    numbers = [t.number for t in read_master(MASTER).tasks_of(division)]
    return numbers.index(number)


def test_hostile_answers_files_accepted(hostile_answers):
    for division in (YL, JC, "社会事务处"):
        assert hostile_answers.verdict(std_name(division))[:2] == (True, division)


# ==============================================================================================
# Identity: what the file says it is, and what it looks like
# ==============================================================================================
def edited(kit: Kit, division: str, edit, **kw) -> bytes:
    """A filled return of ``division`` changed by ``edit(workbook)`` in openpyxl."""
    path = kit.fill(division, **kw)
    wb = load_workbook(path)
    edit(wb)
    wb.save(path)
    return path.read_bytes()


def strip_identity(wb) -> None:
    del wb[layout.IDENTITY_SHEET]
    wb.custom_doc_props = CustomPropertyList()


def test_identity_sheet_deleted_identified_by_title(kit, tmp_path):
    name = "填报表.xlsx"  # nothing in the name either
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: edited(kit, YL, strip_identity)}))
    accepted(o, name, YL)
    assert o.answers(YL) == YL_ANSWERS
    assert o.flags(name) == []


def test_identity_and_title_gone_identified_by_file_name(kit, tmp_path):
    def edit(wb):
        strip_identity(wb)
        wb[layout.DATA_SHEET]["A2"] = "养老服务处工作情况"

    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: edited(kit, YL, edit)}))
    accepted(o, name, YL)
    assert o.answers(YL) == YL_ANSWERS
    assert o.flags(name) == []


def test_renamed_to_new_excel_sheet_identity_intact(kit, tmp_path):
    name = "新建 Microsoft Excel 工作表.xlsx"
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: kit.fill(YL)}))
    accepted(o, name, YL)
    assert o.answers(YL) == YL_ANSWERS
    assert o.flags(name) == []


def test_other_divisions_template_under_a_renamed_file(kit, tmp_path):
    name = std_name(QH)  # 养老服务处's template, saved under 区划地名处's file name
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: kit.fill(YL)}))
    accepted(o, name, YL)
    assert o.answers(YL) == YL_ANSWERS
    assert [(f["type"], f["severity"], f["division"], f["detail"]) for f in o.flags(name)] == [
        (
            "无法识别处室",
            WARNING,
            YL,
            f"文件名中的处室为{QH}，文件内容（模板标识为{YL}，标题为{YL}，文件名为{QH}）"
            f"是{YL}的，按{YL}汇总",
        )
    ]
    assert not o.submitted(QH)


@pytest.mark.parametrize(
    ("year", "quarter", "period"), [(2021, 1, "2021年第一季度"), (2022, 2, "2022年第二季度")]
)
def test_return_of_another_period(kit, tmp_path, year, quarter, period):
    name = std_name(YL, year, quarter)
    data = kit.fill(YL, year=year, quarter=quarter)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: data}))
    assert o.verdict(name) == (False, YL, f"非本期文件（{period}）")
    assert [(f["type"], f["severity"], f["detail"]) for f in o.flags(name)] == [
        ("非本期文件", INFO, f"该文件属于{period}，本期为2022年第一季度，未采用")
    ]
    assert f"未采用 {name}  [{YL}] 非本期文件（{period}）" in o.output
    assert not o.submitted(YL) and o.answers(YL) == {}


def test_two_returns_for_one_division_newest_used(kit, tmp_path):
    def saved_at(stamp: str, tag: str) -> bytes:
        fills = {n: Fill(f"{tag}{n}", "按序时推进", "") for n in YL_TASKS}
        return rezip(
            kit.fill(YL, fills).read_bytes(),
            {
                "docProps/core.xml": lambda b: re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), b
                )
            },
        )

    newest, older = "1-养老服务处.xlsx", "2-养老服务处.xlsx"
    inbox = make_inbox(
        kit,
        tmp_path,
        {
            newest: saved_at("2022-04-08T09:00:00Z", "新"),
            older: saved_at("2022-04-01T09:00:00Z", "旧"),
        },
    )
    # The file times say the opposite: the time saved inside the document wins.
    os.utime(inbox / newest, (1_600_000_000, 1_600_000_000))
    o = run_merge(kit, tmp_path, inbox)
    assert o.verdict(newest) == (True, YL, "已采用，已填 6/6 项")
    assert o.verdict(older) == (False, YL, f"重复报送，采用 {newest}")
    assert [(f["type"], f["severity"], f["detail"]) for f in o.flags(older)] == [
        ("重复报送", INFO, f"{YL}报送了多份文件，采用最新的 {newest}，未采用本文件")
    ]
    assert o.answers(YL) == {n: f"新{n}" for n in YL_TASKS}
    assert all(r["完成情况"].value != f"旧{n}" for r in o.details for n in YL_TASKS)


# ==============================================================================================
# Rows moved, added, removed, merged
# ==============================================================================================
def data_rows(ws, n: int) -> list[list]:
    """Whole rows, as Excel moves them (the target columns right of F too)."""
    width = ws.max_column
    first = layout.ROW_FIRST_TASK
    return [[ws.cell(r, c).value for c in range(1, width + 1)] for r in range(first, first + n)]


def test_rows_reordered(kit, tmp_path):
    def edit(wb):
        ws = wb[layout.DATA_SHEET]
        rows = data_rows(ws, 6)
        for r, values in enumerate(reversed(rows), start=layout.ROW_FIRST_TASK):
            for c, v in enumerate(values, start=1):
                ws.cell(r, c).value = v

    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: edited(kit, YL, edit)}))
    accepted(o, name, YL)
    assert o.answers(YL) == YL_ANSWERS
    assert o.flags(name) == []
    assert o.detail(YL, "3").value == answer(YL, "3")


NEW_ROW = layout.ROW_FIRST_TASK + 2  # under tasks *3 and *4; task 7's row


def test_row_inserted(kit, tmp_path):
    def edit(wb):
        ws = wb[layout.DATA_SHEET]
        ws.insert_rows(NEW_ROW)
        ws[f"B{NEW_ROW}"] = "新增：完成领导交办的其他工作"
        ws[f"D{NEW_ROW}"], ws[f"E{NEW_ROW}"] = "已完成", "已完成"

    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: edited(kit, YL, edit)}))
    accepted(o, name, YL)
    assert o.answers(YL) == YL_ANSWERS
    assert [(f["type"], f["severity"], f["detail"]) for f in o.flags(name)] == [
        (
            "内容未读入",
            WARNING,
            f"第{NEW_ROW}行不是{YL}的事项，未读入：“责任事项：新增：完成领导交办的其他工作；"
            f"完成情况：已完成；进展状态：已完成”（{name}，工作表 完成情况）",
        )
    ]


@pytest.mark.parametrize(
    "typed, quoted",
    [
        ("填报单位：社会救助处（代填）", "社会救助处（代填）"),  # typed over the locked cell
        ("填报单位（盖章）：养老服务处", None),  # the same division, as many forms print it
        ("填报单位：养老服务处（盖章）", None),
    ],
)
def test_unit_typed_over_is_quoted(kit, tmp_path, typed, quoted):
    """填报单位 is written by split and locked; another unit typed there is quoted, never lost."""

    def edit(wb):
        wb[layout.DATA_SHEET].cell(layout.ROW_UNIT, 1).value = typed

    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: edited(kit, YL, edit)}))
    accepted(o, name, YL)
    assert o.answers(YL) == YL_ANSWERS
    expected = []
    if quoted:
        expected.append(
            (
                "内容未读入",
                WARNING,
                f"表格上方的填报单位为“{quoted}”，与{YL}不一致，未读入；请核实（{name}，工作表 完成情况）",
            )
        )
    assert [(f["type"], f["severity"], f["detail"]) for f in o.flags(name)] == expected


def test_row_deleted(kit, tmp_path):
    def edit(wb):
        wb[layout.DATA_SHEET].delete_rows(layout.ROW_FIRST_TASK + 2)  # task 7

    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: edited(kit, YL, edit)}))
    assert o.verdict(name) == (True, YL, "已采用，已填 5/6 项")
    assert o.answers(YL) == {n: a for n, a in YL_ANSWERS.items() if n != "7"}
    assert [(f["type"], f["severity"], f["task"], f["detail"]) for f in o.flags(name)] == [
        ("缺少事项", ERROR, "7", f"报送文件中没有序号 7 的事项行（{name}，工作表 完成情况）")
    ]


def test_two_rows_merged(kit, tmp_path):
    # One answer written across the 完成情况 cells of tasks 3 and 4 (merged). Only the first
    # cell holds it, as in Excel; task 4 is reported empty with its cell named.
    first = layout.ROW_FIRST_TASK

    def edit(wb):
        ws = wb[layout.DATA_SHEET]
        ws.merge_cells(f"D{first}:D{first + 1}")
        ws[f"D{first}"] = "第3、4项合并填报：均已完成"

    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: edited(kit, YL, edit)}))
    assert o.verdict(name) == (True, YL, "已采用，已填 5/6 项")
    assert o.answers(YL) == {**YL_ANSWERS, "3": "第3、4项合并填报：均已完成", "4": ""}
    assert [(f["type"], f["severity"], f["task"], f["detail"]) for f in o.flags(name)] == [
        (
            "未填写",
            ERROR,
            "4",
            f"序号 *4 的完成情况为空（{name}，工作表 完成情况，单元格 D{first + 1}）",
        )
    ]


# ==============================================================================================
# The inbox itself: archives, permissions, links
# ==============================================================================================
def test_zip_of_returns_with_gbk_names(kit, tmp_path):
    members = {
        f"养老服务处/{std_name(YL)}": kit.fill(YL).read_bytes(),
        f"{DB}报送.xlsx": kit.fill(DB).read_bytes(),
    }
    archive = gbk_zip(members)
    assert "养老服务处".encode("gbk") in archive
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {"报送材料.zip": archive}))
    accepted(o, f"报送材料.zip/养老服务处/{std_name(YL)}", YL)
    accepted(o, f"报送材料.zip/{DB}报送.xlsx", DB)
    assert o.answers(YL) == YL_ANSWERS
    assert o.answers(DB) == {t.number: answer(DB, t.number) for t in kit.master.tasks_of(DB)}


def test_a_member_whose_deflate_stream_is_broken_is_a_damaged_member_not_a_crash(kit, tmp_path):
    # Garbage where a member's deflate data should be makes the inflater raise its own error
    # (zlib.error), which is no zipfile error: it was reported as 读取时出现意外错误,
    # and in an archive of returns it threw away every return of the archive.
    broken = b"\xff" * 64  # block type 3: invalid
    members = []
    with zipfile.ZipFile(kit.fill(YL)) as z:
        for info in z.infolist():
            body = z.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                members.append((info.filename, broken, zlib.crc32(body), len(body)))
            else:
                members.append((info.filename, *deflated(body)))
    workbook = raw_zip(members)
    good = kit.fill(DB).read_bytes()
    archive = raw_zip([("好的.xlsx", *deflated(good)), ("坏的.xlsx", broken, 0, 5000)])
    name = std_name(YL)
    o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {name: workbook, "材料.zip": archive}))
    assert_refused(
        o, name, "文件已损坏（压缩条目 xl/worksheets/sheet1.xml 无法解压）；请重新保存后再报送"
    )
    accepted(o, "材料.zip/好的.xlsx", DB)
    assert o.verdict("材料.zip/坏的.xlsx") == (
        False,
        "",
        "无法读取：压缩包内的文件无法解压（已损坏）；请解压后报送",
    )


def test_unreadable_file(kit, tmp_path, monkeypatch):
    inbox = make_inbox(kit, tmp_path, {std_name(YL): kit.fill(YL)})
    locked = inbox / std_name(YL)
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            # Root reads through chmod 000 (as CI does): refuse the open as the OS would.
            real_open = os.open

            def refusing_open(path, *args, **kwargs):
                if Path(path) == locked:
                    raise PermissionError(13, "Permission denied", str(path))
                return real_open(path, *args, **kwargs)

            monkeypatch.setattr(os, "open", refusing_open)
        o = run_merge(kit, tmp_path, inbox)
        assert_refused(o, std_name(YL), "无法读取文件（没有读取权限）")
    finally:
        locked.chmod(0o644)


def test_symlink_loop(kit, tmp_path):
    inbox = make_inbox(kit, tmp_path, {f"养老/{std_name(YL)}": kit.fill(YL)})
    (inbox / "养老" / "上一级").symlink_to("..", target_is_directory=True)
    (inbox / "自己").symlink_to(".", target_is_directory=True)
    o = run_merge(kit, tmp_path, inbox)
    accepted(o, f"养老/{std_name(YL)}", YL)
    # Each file once; the linked folders are not followed, and each is named as not read.
    read = [f for f in o.data["files"] if not f["reason"].startswith("未读取")]
    assert len(read) == len(GOOD) + 1
    assert sorted(f["source"] for f in o.data["files"] if f not in read) == [
        "养老/上一级/",
        "自己/",
    ]


def test_read_only_inbox(kit, tmp_path):
    inbox = make_inbox(kit, tmp_path, {std_name(YL): kit.fill(YL)})
    subprocess.run(["chmod", "-R", "a-w", str(inbox)], check=True)
    try:
        o = run_merge(kit, tmp_path, inbox)
        accepted(o, std_name(YL), YL)
        assert o.answers(YL) == YL_ANSWERS
        assert sorted(p.name for p in inbox.iterdir()) == sorted([*kit.good, std_name(YL)])
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(inbox)], check=True)


# ==============================================================================================
# Properties
# ==============================================================================================
# What a person can type into 完成情况: printable ASCII, CJK, emoji, line breaks and tabs. Not
# \r (XML turns it into \n; tested above with the documented cleaning), not the control
# characters xlsx cannot hold (tested above), and not whitespace alone: openpyxl, the filler,
# writes such a string without xml:space="preserve", so the file itself holds nothing.
TYPED = st.one_of(
    st.sampled_from([c for c in string.printable if c not in "\r\x0b\x0c"]),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    st.sampled_from(["😀", "👍🏽", "👨‍👩‍👧", "🇨🇳", "𠀀", "\u200f", "“", "”", "，", "。", "\n"]),
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=st.lists(TYPED, min_size=1, max_size=200).map("".join).filter(str.strip))
def test_what_is_typed_comes_back_unchanged(kit, text):
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        fills = {n: Fill(answer(YL, n), "按序时推进", "") for n in YL_TASKS}
        fills["7"] = Fill(text, "按序时推进", "")
        o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path, {std_name(YL): kit.fill(YL, fills)}))
        cell = o.detail(YL, "7")
        assert (cell.value, cell.data_type) == (text, "s")
        assert o.answers(YL)["7"] == text


class Busy(tuple):
    def __repr__(self) -> str:  # keeps hypothesis's report readable
        return "busy_inbox"


@pytest.fixture(scope="module")
def busy_inbox(kit, tmp_path_factory) -> tuple[object, Collected]:
    """An inbox where order could matter: duplicates, conflicts, other periods, bad files."""
    inbox = tmp_path_factory.mktemp("busy")
    yl_a = kit.fill(YL).read_bytes()
    yl_b = kit.fill(YL, {n: Fill(f"另一版{n}", "滞后", "") for n in YL_TASKS}).read_bytes()
    files = {
        **kit.good,
        "a/养老服务处.xlsx": yl_a,
        "b/养老服务处.xlsx": yl_a,  # the same bytes again
        "c/养老服务处.xlsx": yl_b,
        std_name(QH): kit.fill(JC).read_bytes(),  # 基层政权's template under another name
        std_name(DB): kit.fill(DB).read_bytes(),
        "d/" + std_name(DB): kit.fill(DB, year=2021).read_bytes(),
        "e/" + std_name(DB): kit.fill(DB, quarter=2).read_bytes(),
        "f/" + std_name("社会事务处"): kit.fill(YL).read_bytes(),  # conflict, and a duplicate
        "坏.xlsx": b"",
        "说明.pdf": PDF,
    }
    for i, (name, data) in enumerate(files.items()):
        (inbox / name).parent.mkdir(parents=True, exist_ok=True)
        (inbox / name).write_bytes(data)
        os.utime(inbox / name, (1_650_000_000 + i, 1_650_000_000 + i))
    collected = collect(inbox)
    assert len(collected.returns) == 11 and len(collected.rejected) == 2
    return Busy((read_master(MASTER), collected))


@settings(max_examples=40, deadline=None)
@given(seed=st.randoms(use_true_random=False))
def test_merge_does_not_depend_on_the_order_of_the_inbox(busy_inbox, seed):
    master, collected = busy_inbox
    expected = to_json(merge(master, collected, YEAR, QUARTER))
    returns, rejected = list(collected.returns), list(collected.rejected)
    seed.shuffle(returns)
    seed.shuffle(rejected)
    shuffled = Collected(tuple(returns), tuple(rejected), collected.skipped)
    assert to_json(merge(master, shuffled, YEAR, QUARTER)) == expected


BAD_NAME = set('<>:"/\\|?*')
RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{d}" for p in ("COM", "LPT") for d in "123456789"}
NAME_CHARS = st.characters(blacklist_categories=("Cs", "Cc"))
division_names = st.lists(
    st.one_of(
        st.text(NAME_CHARS, min_size=1, max_size=60),
        st.sampled_from(["..", "../养老", "a/b", "A/B", "con", "Con.txt", "处 ", " 处", "处."]),
        st.builds(lambda s: "\u00e9" + s, st.text(NAME_CHARS, max_size=5)),  # é; NFD twin below
        st.builds(lambda s: "e\u0301" + s, st.text(NAME_CHARS, max_size=5)),
    ),
    min_size=1,
    max_size=4,
    unique=True,
).filter(lambda names: all(n.strip() for n in names))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=division_names)
def test_split_file_names_are_valid_and_inside_the_outbox(names):
    # test_template.py checks safe_filename on one name; here whole splits, names that clash.
    from workbook_tools.errors import WorkbookToolsError

    master = make_master([task(str(i), f"事项{i}", [n]) for i, n in enumerate(names, start=1)])
    with tempfile.TemporaryDirectory() as tmp:
        outbox = Path(tmp) / "out"
        try:
            infos = write_templates(master, YEAR, QUARTER, outbox)
        except WorkbookToolsError as err:  # refused with a message, never a crash
            assert str(err)
            return
        root = outbox.resolve()
        assert [i.division for i in infos] == list(names)
        files = sorted(p.name for p in root.iterdir())
        assert files == sorted(i.path.name for i in infos)  # nothing else, no temp files
        keys = [unicodedata_key(i.path.name) for i in infos]
        assert len(set(keys)) == len(keys)  # distinct on Windows and macOS too
        for info in infos:
            name = info.path.name
            assert info.path.resolve().parent == root
            assert name.endswith(".xlsx") and len(name.encode()) <= 255
            assert not any(c in BAD_NAME or ord(c) < 32 for c in name)
            assert name[0] not in ". " and name[: -len(".xlsx")][-1] not in ". "
            assert name.split(".")[0].rstrip(" ").upper() not in RESERVED
            ident = load_workbook(info.path, read_only=True)[layout.IDENTITY_SHEET]
            assert ident["B5"].value == info.division


def unicodedata_key(name: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFC", name).casefold()


# ==============================================================================================
# Faults: killed merges, concurrent merges
# ==============================================================================================
TEMP = re.compile(r"^\.汇总\.xlsx\.tmp-(\d+)$")


def merge_process(inbox: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "workbook_tools", "merge", "-q", str(QUARTER), "--master",
         str(MASTER), "--inbox", str(inbox), "--out", str(out / "汇总.xlsx"),
         "--json", str(out / "result.json")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=out,
    )  # fmt: skip


def valid_summary(path: Path) -> bool:
    wb = load_workbook(path, read_only=True)
    return wb.sheetnames == list(SUMMARY_SHEETS)


@pytest.fixture(scope="module")
def full_inbox(kit, tmp_path_factory) -> Path:
    inbox = tmp_path_factory.mktemp("full")
    for division in kit.master.divisions:
        kit.fill(division).rename(inbox / std_name(division))
    return inbox


def age(path: Path, seconds: float = 120) -> None:
    """Make ``path`` look as if it was left ``seconds`` ago (the next run comes later)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


#: The draft 通报 merge writes beside the summary, and the temporary files of the other outputs.
DRAFT = report_name(YEAR, QUARTER)
OTHER_TEMPS = (".result.json.tmp-", f".{DRAFT}.tmp-")


def test_killed_merge_leaves_the_previous_summary_intact(kit, tmp_path, full_inbox):
    out = tmp_path / "out"
    out.mkdir()
    small = make_inbox(kit, tmp_path)  # the previous summary: the good returns only
    proc = merge_process(small, out)
    assert proc.wait(60) == 0, proc.stderr.read()
    old = (out / "汇总.xlsx").read_bytes()
    start = time.perf_counter()
    proc = merge_process(full_inbox, out)
    assert proc.wait(60) == 0
    full_run = time.perf_counter() - start
    new = (out / "汇总.xlsx").read_bytes()
    assert new != old
    (out / "汇总.xlsx").write_bytes(old)

    outcomes, killed = set(), set()
    delays = [full_run * f for f in (0.0, 0.3, 0.6, 0.8, 0.9, 0.95, 1.0, 1.05)]
    plans = [("after", d) for d in delays] + [("at-temp", None)] * 4
    for how, delay in plans:
        proc = merge_process(full_inbox, out)
        if how == "after":
            time.sleep(delay)
        else:  # the moment the temporary file appears: mid-write
            while proc.poll() is None and not any(TEMP.match(n) for n in os.listdir(out)):
                time.sleep(0.0005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        killed.add(proc.pid)
        proc.stdout.close()
        proc.stderr.close()
        target = (out / "汇总.xlsx").read_bytes()
        if target == old:
            outcomes.add("old")
        else:
            assert valid_summary(out / "汇总.xlsx"), f"half-written summary after {how} {delay}"
            outcomes.add("new")
            (out / "汇总.xlsx").write_bytes(old)
        for name in os.listdir(out):
            # The draft 通报 is written after the summary, through a temporary file as well.
            if name in ("汇总.xlsx", "result.json", DRAFT) or name.startswith(OTHER_TEMPS):
                continue
            m = TEMP.match(name)
            assert m and int(m[1]) in killed, f"stray file {name}"
            outcomes.add("temp left")
            age(out / name)
        for name in os.listdir(out):
            if name.startswith(OTHER_TEMPS):
                age(out / name)
    # Killed before the move at least once, and mid-write at least once (a temp file left).
    assert {"old", "temp left"} <= outcomes, outcomes

    # The next run removes what killed runs left and writes a complete summary.
    proc = merge_process(full_inbox, out)
    assert proc.wait(60) == 0, proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    assert sorted(os.listdir(out)) == sorted(["result.json", "汇总.xlsx", DRAFT])
    assert (out / "汇总.xlsx").read_bytes() == new


def test_stale_temps_of_dead_runs_only_are_removed(kit, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    files = {
        f".汇总.xlsx.tmp-{dead.pid}": 120,  # dead, old: removed
        f".汇总.xlsx.tmp-{dead.pid + 1_000_000}": 5,  # dead but just written: kept
        f".汇总.xlsx.tmp-{alive.pid}": 120,  # another run still writing: kept
        f".result.json.tmp-{dead.pid}": 120,  # the JSON's leftover: removed
        ".汇总.xlsx.tmp-abc": 120,  # not ours: kept
        "其他.xlsx": 120,
    }
    for name, seconds in files.items():
        (out / name).write_bytes(b"partial")
        age(out / name, seconds)
    try:
        o = run_merge(kit, tmp_path, make_inbox(kit, tmp_path))
    finally:
        alive.kill()
        alive.wait()
    assert o.data["files"]
    assert sorted(os.listdir(out)) == sorted(
        [
            "result.json",
            "汇总.xlsx",
            DRAFT,
            f".汇总.xlsx.tmp-{dead.pid + 1_000_000}",
            f".汇总.xlsx.tmp-{alive.pid}",
            ".汇总.xlsx.tmp-abc",
            "其他.xlsx",
        ]
    )


def test_two_merges_at_once_both_succeed(kit, tmp_path, full_inbox):
    out = tmp_path / "out"
    out.mkdir()
    for _ in range(3):
        procs = [merge_process(full_inbox, out) for _ in range(2)]
        results = [(p.wait(60), *p.communicate()) for p in procs]
        for rc, stdout, stderr in results:
            assert rc == 0, stderr
            assert "汇总表：" in stdout
        assert valid_summary(out / "汇总.xlsx")
        assert json.loads((out / "result.json").read_text(encoding="utf-8"))["files"]
        assert sorted(os.listdir(out)) == sorted(["result.json", "汇总.xlsx", DRAFT])
