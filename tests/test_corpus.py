"""The promise, tested on a corpus: every character a person typed reaches the leaders under the
right division and task, or is shown to the coordinator whole, with the file and the place.

Each case of tests/corpus_cases.py changes one real filled return of the shipped master the way
people do (renumbered rows, a forwarded template, other headers, no identity, answers outside the
answer cells, two divisions in one file, a far cell, numbers as displayed, file name suffixes). Its
files are merged beside untouched returns of three other divisions, as made (client ``native``)
and after a re-save through LibreOffice and Gnumeric as .xlsx, .xls and .ods (all files of the
corpus converted in one batch per client). The summary workbook is reopened with openpyxl and
every typed string is looked up. The oracle, per string s typed for (division, task, column):

* FAIL (misfiled) if s is in a 明细 row of any other (division, task), or in the 汇总 row of
  another task or behind another 【处室】;
* PASS if s is in the 完成情况/进展状态/存在问题及下步打算 cell (the one it was typed in) of the
  明细 row of (division, task), possibly inside a longer text; a short number as displayed
  ("50%") must be the whole cell;
* PASS if s is quoted whole in the 说明 of a 问题清单 row that names the file (in 说明 or 来源文件)
  and the place (工作表 and a cell, or 文本框);
* FAIL (lost) otherwise.

Also: no division whose answers are in the inbox is 未报送; a case's forbidden 问题类型 (a false
缺少事项, 无法识别处室 or 文件无法读取) does not appear; and the flag a case requires is there (an
错误 naming both divisions of a forwarded template, a 警告 for a return attributed by its rows or
for two divisions in one file).

A string the client itself dropped on re-save (not in the converted file's text) is not asked
for; CLIENT_DROPS says which.

Pairs that fail on the current code are marked xfail(strict=True) in XFAIL, with the reason; a
fix turns them into XPASS, which fails the run until the marker is removed.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import olefile
import pytest
from builders import SHIPPED_MASTER, run_cli, split_shipped
from corpus_cases import CASES, Built, Case, Expect, Kit, untouched
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from workbook_tools import layout
from workbook_tools.master import read_master

CLIENTS = (
    "native",
    "libreoffice-xlsx",
    "libreoffice-xls",
    "libreoffice-ods",
    "gnumeric-xlsx",
    "gnumeric-xls",
    "gnumeric-ods",
)
LO_FILTERS = {"xlsx": None, "xls": "MS Excel 97", "ods": None}

# What a client does not keep when it re-saves: {client: {case: how many typed strings}}.
# An .xls sheet has 256 columns: both suites drop the note at ZX60000.
CLIENT_DROPS: dict[str, dict[str, int]] = {
    "libreoffice-xls": {"7-far-cell": 1},
    "gnumeric-xls": {"7-far-cell": 1},
}

# What fails on the current code: case -> (clients, why). Every other (case, client) passes.
# (case, clients) pairs that do not pass yet, with why; each XPASS fails the run, so that a fix
# takes its pair off this list.
FAILING: dict[str, tuple[tuple[str, ...], str]] = {
    "9-word-line-break": (
        ("libreoffice-ods",),
        "LibreOffice drops the vertical tab when it saves .ods: the paragraphs reach the file joined",
    ),
}


def _marks(case: Case, client: str):
    clients, reason = FAILING.get(case.name, ((), ""))
    if client not in clients:
        reason = ""
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


PARAMS = [
    pytest.param(case, client, id=f"{case.name}[{client}]", marks=_marks(case, client))
    for case in CASES
    for client in CLIENTS
]


# --- the corpus, made once and converted once per client -------------------------------------


@dataclass
class Corpus:
    cases: dict[str, Built]
    untouched: Built
    divisions: tuple[str, ...]
    dropped: dict[str, list[str]] = field(default_factory=dict)  # case -> strings the client lost


@pytest.fixture(scope="session")
def native(tmp_path_factory) -> Corpus:
    root = tmp_path_factory.mktemp("corpus")
    master = read_master(SHIPPED_MASTER)
    kit = Kit(master, split_shipped(root / "templates", quarter=1))
    cases = {}
    for i, case in enumerate(CASES):
        folder = root / "native" / f"{i:02d}"
        folder.mkdir(parents=True)
        cases[case.name] = case.build(kit, folder)
    good = untouched(kit, root / "native" / "untouched")
    return Corpus(cases, good, master.divisions)


@pytest.fixture(scope="session")
def converted() -> dict[str, Corpus]:
    """The corpus as each client re-saved it, made on first use: client -> Corpus."""
    return {}


def _convert_all(corpus: Corpus, convert, outdir: Path) -> Corpus:
    """Every file of the corpus through ``convert(sources, staged_dir) -> outputs`` in one batch.
    Files are staged under unique stems (their names repeat across cases), then given back their
    own stems beside the new suffix, with their file times."""
    built = [corpus.untouched, *corpus.cases.values()]
    staged_dir = outdir / "staged"
    staged_dir.mkdir(parents=True)
    sources, owners = [], []
    for b in built:
        for path in b.files:
            staged = staged_dir / f"f{len(sources):03d}{path.suffix}"
            shutil.copy2(path, staged)
            sources.append(staged)
            owners.append(path)
    outputs = convert(sources, outdir / "converted")
    back = {}
    for k, (src, out) in enumerate(zip(owners, outputs, strict=True)):
        target = outdir / f"{k:03d}" / f"{src.stem}{out.suffix}"
        target.parent.mkdir(parents=True)
        shutil.move(out, target)
        stat = src.stat()
        os.utime(target, (stat.st_atime, stat.st_mtime))
        back[src] = target

    dropped: dict[str, list[str]] = {}

    def moved(name: str, b: Built) -> Built:
        files = [back[p] for p in b.files]
        texts = [file_text(p) for p in files]
        kept = [e for e in b.expects if e.exact or any(survives(e, t) for t in texts)]
        if len(kept) < len(b.expects):
            dropped[name] = [e.text for e in b.expects if e not in kept]
        return replace(b, files=files, expects=kept)

    return Corpus(
        {name: moved(name, b) for name, b in corpus.cases.items()},
        moved("untouched", corpus.untouched),
        corpus.divisions,
        dropped,
    )


def corpus_for(client: str, request) -> Corpus:
    corpus = request.getfixturevalue("native")
    if client == "native":
        return corpus
    cache = request.getfixturevalue("converted")
    if client not in cache:
        suite, fmt = client.split("-")
        outdir = request.getfixturevalue("tmp_path_factory").mktemp(client)
        if suite == "libreoffice":
            office = request.getfixturevalue("soffice")

            def convert(sources, out):
                return office.convert_many(sources, fmt, out, filter_name=LO_FILTERS[fmt])
        else:
            gnumeric = request.getfixturevalue("gnumeric")

            def convert(sources, out):
                return gnumeric.convert_many(sources, fmt, out)

        cache[client] = _convert_all(corpus, convert, outdir)
    return cache[client]


def file_text(path: Path) -> tuple[str, str]:
    """The text of a workbook file, roughly, to tell whether a string survived a re-save: (text
    in cells, all text). For .xls, the cells are read with calamine: the file's string table can
    keep a string whose cell the client dropped (a column past IV)."""
    data = path.read_bytes()
    if data[:2] == b"PK":
        parts = []
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.endswith((".xml", ".vml")):
                    xml = z.read(name).decode("utf-8", "replace")
                    xml = re.sub(r"<text:line-break/>|</text:p>", "\n", xml)
                    xml = re.sub(r'<text:s text:c="(\d+)"/>', lambda m: " " * int(m[1]), xml)
                    xml = xml.replace("<text:s/>", " ")
                    parts.append(html.unescape(re.sub(r"<[^>]+>", "", xml)))
        text = "\n".join(parts)
        return text, text
    book = CalamineWorkbook.from_path(str(path))
    cells = "\n".join(
        str(v)
        for name in book.sheet_names
        for row in book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        for v in row
        if isinstance(v, str) and v
    )
    with olefile.OleFileIO(path) as ole:
        stream = ole.openstream("Workbook").read()
    raw = stream.decode("utf-16-le", "replace") + stream[1:].decode("utf-16-le", "replace")
    return cells, raw


def survives(e: Expect, texts: tuple[str, str]) -> bool:
    content = texts[0] if e.in_cell else texts[1]
    return all(part in content for part in e.text.replace("\x0b", "\n").split("\n"))


# --- the summary, read back -------------------------------------------------------------------


@dataclass
class Read:
    details: list[dict]  # 明细 rows by header
    flags: list[dict]  # 问题清单 rows by header
    tasks: list[dict]  # 汇总 rows by header


def _rows(ws, header_row: int) -> list[dict]:
    rows = list(ws.iter_rows(min_row=header_row, values_only=True))
    headers = rows[0]
    return [
        {h: ("" if v is None else str(v)) for h, v in zip(headers, r, strict=False) if h}
        for r in rows[1:]
        if any(v not in (None, "") for v in r)
    ]


def read_summary(path: Path) -> Read:
    wb = load_workbook(path)
    return Read(_rows(wb["明细"], 1), _rows(wb["问题清单"], 2), _rows(wb["汇总"], 2))


def _number(label: str) -> str:
    return label.strip().lstrip("*")


CELL_REF = re.compile(r"(?<![A-Za-z])[A-Z]{1,3}[1-9][0-9]*(?![0-9])")


def judge(read: Read, built: Built, divisions: tuple[str, ...]) -> list[str]:
    """What is wrong with the summary of ``built``, as lines (empty: the promise is kept)."""
    problems = []
    names = [p.name for p in built.files]
    mark = re.compile("【(" + "|".join(map(re.escape, divisions)) + ")】")
    for e in built.expects:
        where = [
            (r["处室"], _number(r["序号"]), col)
            for r in read.details
            for col in ("完成情况", "进展状态", "进展状态（原文）", "存在问题及下步打算")
            if (r.get(col, "").strip() == e.text if e.exact else e.text in r.get(col, ""))
        ]
        if not e.exact:
            wrong = sorted({(d, t) for d, t, _ in where if (d, t) not in e.places})
            # 汇总 quotes each division's text up to SUMMARY_EXCERPT characters: a text past
            # that is not there to be found, and is traced in 明细 alone.
            for row in read.tasks:
                for col in ("牵头处室完成情况", "配合处室完成情况", "存在问题及下步打算"):
                    cell = row.get(col, "")
                    for m in re.finditer(re.escape(e.text), cell):
                        before = list(mark.finditer(cell, 0, m.start()))
                        division = before[-1][1] if before else "?"
                        if (division, _number(row["序号"])) not in e.places:
                            wrong.append((f"汇总:{division}", _number(row["序号"])))
            if wrong:
                problems.append(f"MISFILED {e.text!r} (for {e.places}) under {wrong}")
                continue
        if any((d, t) in e.places and col in e.columns for d, t, col in where):
            continue
        quotes = [
            f
            for f in ([] if e.exact else read.flags)
            if e.text in f["说明"]
            and any(n in f["说明"] or n in f.get("来源文件", "") for n in names)
            and "工作表" in f["说明"].replace(e.text, "")
            and (
                CELL_REF.search(f["说明"].replace(e.text, ""))
                or "文本框" in f["说明"].replace(e.text, "")
            )
        ]
        if quotes:
            continue
        seen = [
            f"{f['问题类型']}: {f['说明'][:120]}" for f in read.flags if e.text[:12] in f["说明"]
        ]
        problems.append(
            f"LOST {e.text!r} (for {e.places or 'a quote'} {e.columns})"
            + (f"; found in 明细 at {where}" if where else "")
            + (f"; flags mentioning it: {seen}" if seen else "")
        )
    for f in read.flags:
        if f["问题类型"] == "未报送" and f["处室"] in built.returned:
            problems.append(f"{f['处室']} returned but is shown 未报送")
        if f["问题类型"] in built.forbid:
            problems.append(f"false {f['问题类型']}: {f['说明'][:160]}")
    for severity, words in built.require:
        if not any(
            f["严重程度"] == severity
            and all(w in f["说明"] + f["处室"] + f.get("来源文件", "") for w in words)
            for f in read.flags
        ):
            problems.append(f"no {severity} in 问题清单 naming {'、'.join(words)}")
    return problems


@pytest.mark.parametrize(("case", "client"), PARAMS)
def test_every_typed_string_reaches_the_leaders(case: Case, client: str, request, tmp_path):
    corpus = corpus_for(client, request)
    built = corpus.cases[case.name]
    good = corpus.untouched
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in [*good.files, *built.files]:
        assert not (inbox / path.name).exists(), path.name
        shutil.copy2(path, inbox / path.name)
    out = tmp_path / "summary.xlsx"
    result = run_cli(
        "merge", "--quarter", 1, "--master", SHIPPED_MASTER, "--inbox", inbox, "--out", out
    )
    assert result.exit_code == 0, result.output
    whole = replace(
        built,
        files=[*good.files, *built.files],
        expects=[*good.expects, *built.expects],
        returned=good.returned | built.returned,
    )
    problems = judge(read_summary(out), whole, corpus.divisions)
    shown = [p if len(p) < 300 else p[:300] + "…" for p in problems[:40]]
    assert not problems, f"{case.name} via {client}, {len(problems)} problems:\n" + "\n".join(shown)


@pytest.mark.parametrize("client", CLIENTS[1:])
def test_what_each_client_drops_on_re_save(client, request):
    """Content the office suite itself does not keep is not asked of the reader; this says which,
    so that a client losing more (or a broken text search above) cannot pass unnoticed."""
    corpus = corpus_for(client, request)
    assert {name: len(texts) for name, texts in corpus.dropped.items()} == CLIENT_DROPS.get(
        client, {}
    )


def test_the_corpus_types_unique_strings(native):
    """Each typed string is unique in the corpus, so where it lands says where it was put."""
    texts = [e.text for b in [native.untouched, *native.cases.values()] for e in b.expects]
    tagged = [t for t in texts if t.startswith("【")]
    assert len(tagged) == len(set(tagged)) > 300
    assert all(len(t) > 30 for t in tagged)


def test_the_oracle_catches_a_misfiled_and_a_lost_string(native, tmp_path):
    """The oracle itself: a summary where one answer sits under another task, and one where an
    answer is quoted cut to 30 characters, both fail."""
    built = native.cases["0-baseline"]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy2(built.files[0], inbox / built.files[0].name)
    out = tmp_path / "summary.xlsx"
    result = run_cli(
        "merge", "--quarter", 1, "--master", SHIPPED_MASTER, "--inbox", inbox, "--out", out
    )
    assert result.exit_code == 0, result.output
    read = read_summary(out)
    divisions = native.divisions
    assert judge(read, built, divisions) == []
    rows = {(_number(r["序号"]), r["处室"]): r for r in read.details}
    a, b = rows[("3", "养老服务处")], rows[("4", "养老服务处")]
    text = b["完成情况"]
    a["完成情况"], b["完成情况"] = b["完成情况"], a["完成情况"]
    assert [p.split(" ")[0] for p in judge(read, built, divisions)] == ["MISFILED"] * 2
    a["完成情况"], b["完成情况"] = b["完成情况"], ""
    lost = judge(read, built, divisions)
    assert len(lost) == 1 and lost[0].startswith("LOST"), lost
    read.flags.append(
        {
            "问题类型": "内容未读入",
            "处室": "",
            "说明": f"“{text[:30]}…”（{built.files[0].name}，"
            f"工作表 {layout.DATA_SHEET}，单元格 D6）",
            "来源文件": "",
            "序号": "",
        }
    )
    assert judge(read, built, divisions)[0].startswith("LOST")
    read.flags[-1]["说明"] = read.flags[-1]["说明"].replace(f"{text[:30]}…", text)
    assert judge(read, built, divisions) == []
