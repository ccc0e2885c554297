"""Real-client round trips, end to end through the CLI.

Templates from `split` on the shipped master are filled with hostile but legitimate answers on
every task row, then

1. re-saved by LibreOffice headless as .xlsx, .xls (Excel 97) and .ods, or
2. filled inside LibreOffice itself through UNO (tests/uno_fill.py, run by the system Python that
   has python3-uno) and stored as .xlsx, .xls and .ods,

dropped into an inbox and merged with `workbook-tools merge`. The summary is reopened with
openpyxl: every filled cell comes back in 明细 exactly, and in 汇总 behind its 【处室】, every file
is recognised by its identity sheet, and no cell anywhere is a formula.

3. Templates and summary are printed to PDF by LibreOffice and read back with poppler-utils:
   titles and task texts are there, and every page is A4 and one page wide.

What a client legitimately changes, asserted exactly by :func:`after_round_trip`:

* a carriage return ("\\r\\n" or a lone "\\r") comes back as "\\n". Where depends on the path:
  a file written by openpyxl stores it raw in XML, and every XML parser (LibreOffice's too) reads
  it as "\\n" (XML 1.0 §2.11); LibreOffice's setString (a paste) makes it a paragraph break;
  LibreOffice's input line (typing) keeps the "\\r" in the cell and in all three formats, the
  reader returns it, and the summary writes "\\n" (summary.py normalises line ends).

Nothing else changes: leading and trailing spaces, tabs, U+3000, NBSP, zero-width spaces,
combining marks, emoji (with ZWJ and skin tones), characters outside the BMP, numbers-as-text
("0027", "50%", "3/31", "TRUE") and a leading "=" or "'" all survive all three formats.
(Tabs in .ods did not survive before sheets.py spelt <text:tab/> as a character for calamine.)

Expected of the summary itself, by design (summary.py): 汇总 trims each answer before it puts
【处室】 in front; 明细 keeps the answer exactly.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from builders import (
    SHIPPED_MASTER,
    fill_all,
    on_track_figures,
    run_cli,
    sheet_rows,
    split_shipped,
)
from openpyxl import load_workbook
from xlsxwriter.utility import xl_col_to_name

from workbook_tools import layout
from workbook_tools.cells import utf16_len
from workbook_tools.demo import Fill, fill_template
from workbook_tools.inbox import collect
from workbook_tools.layout import role_text
from workbook_tools.master import read_master
from workbook_tools.model import STATUSES
from workbook_tools.pairing import task_number
from workbook_tools.summary_rows import SUMMARY_EXCERPT, SUMMARY_EXCERPT_MIN, TRUNCATION_MARKER
from workbook_tools.template_extra import target_text

HERE = Path(__file__).resolve().parent
UNO_FILL = HERE / "uno_fill.py"
SYSTEM_PYTHON = "/usr/bin/python3"
YEAR, QUARTER = 2022, 1
FILLER = {
    "填报人": "张三",
    "审核人": "李四",
    "联系电话": "+86 027-8888 6666",
    "填报日期": "2022-04-08",
}

# LibreOffice's filters: (file suffix, --convert-to filter, storeToURL filter).
FORMATS = {
    "xlsx": ("xlsx", None, "Calc MS Excel 2007 XML"),
    "xls": ("xls", "MS Excel 97", "MS Excel 97"),
    "ods": ("ods", None, "calc8"),
}
# Flags a fully and correctly filled inbox may raise: 疑似公式 (answers starting with = + - @ are
# kept as text, and said so), 进度滞后, 状态不一致 and 状态与数据不符 (the statuses rotate on
# purpose, while the leads' figures are on track).
ALLOWED_FLAGS = {"疑似公式", "进度滞后", "状态不一致", "状态与数据不符"}

LONG = "".join(
    f"第{i}段：完成了社区走访、台账整理和数据核对，群众满意度持续提升。" for i in range(60)
)
assert 1900 < len(LONG) < 2300


def answer_texts(tag: str) -> list[str]:
    """Every kind of answer, each carrying ``tag`` so a swapped row cannot pass."""
    return [
        f"{tag}：一、推进情况\n二、主要举措\n三、取得成效",
        f"{tag}：“引号”‘单引’、《书名》〈篇名〉，。；：！？（括号）【方括】……——·～",
        f"=SUM(A1:A2) 已完成{tag}",
        f"+86 027-8888 6666（{tag}联系人）",
        f"👍🏻已完成🎉 👨‍👩‍👧 ✅ {tag} 𠀀𪚥",
        f"{tag}{LONG}",
        f"  {tag}前导空格\t制表符，尾随空格  ",
        f"{tag}第一行\r\n第二行\r第三行",
        f"<b>{tag}</b> & \"双引号\" 'single' &amp; 50%",
        f"{tag} NBSP\u00a0零宽\u200b全角空格\u3000组合e\u0301",
        f"https://example.com/a?b=1&c={tag}",
        f"'{tag}单引号开头",
    ]


PLANS = [
    "0027",
    "50%",
    "3/31",
    "1e5",
    "TRUE",
    "2022-04-08",
    "-5 个百分点",
    "@提及",
    "存在问题：资金未到位。\n下步打算：加快推进。",
    "  前后空格  ",
    "制表\t符",
]


def after_round_trip(text: str) -> str:
    """The one normalisation a round trip makes (see the module docstring)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


# What is typed into every template: {division: {task number: Fill}}.
Plan = dict[str, dict[str, Fill]]


def make_plan(master) -> Plan:
    """Answers, statuses and plans rotating over every (task, division) of the master."""
    fills: Plan = {}
    i = 0
    for division in master.divisions:
        fills[division] = {}
        for task in master.tasks_of(division):
            kinds = answer_texts(f"【{division}·{task.number}】")
            fills[division][task.number] = Fill(
                answer=kinds[i % len(kinds)],
                status=STATUSES[i % len(STATUSES)],
                plan=PLANS[i % len(PLANS)],
                figures=on_track_figures(task, division),
            )
            i += 1
    assert i >= len(answer_texts("")), "every kind of answer is used at least once"
    return fills


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def master():
    return read_master(SHIPPED_MASTER)


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, Path]:
    return split_shipped(tmp_path_factory.mktemp("outbox"))


@pytest.fixture(scope="module")
def plan(master) -> Plan:
    return make_plan(master)


@pytest.fixture(scope="module")
def filled(templates, plan, tmp_path_factory) -> dict[str, Path]:
    """Every template filled with openpyxl, as staff would in Excel: {division: path}."""
    folder = tmp_path_factory.mktemp("filled")
    return {
        division: fill_template(path, folder / path.name, plan[division], filler=FILLER)
        for division, path in templates.items()
    }


@pytest.fixture(scope="module")
def uno_python():
    """/usr/bin/python3 with the UNO bridge. Missing: fails under CI, skips elsewhere."""
    ok = Path(SYSTEM_PYTHON).exists() and (
        subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True).returncode == 0
    )
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(
                f"{SYSTEM_PYTHON} with `import uno` is required when CI is set; install python3-uno"
            )
        pytest.skip(f"{SYSTEM_PYTHON} has no UNO bridge (python3-uno)")
    return SYSTEM_PYTHON


# ---------------------------------------------------------------------------- merging and checking


def merge_inbox(inbox: Path, out: Path) -> tuple[Path, dict]:
    summary, result = out / "汇总.xlsx", out / "result.json"
    run = run_cli(
        "merge", "-q", QUARTER, "--master", SHIPPED_MASTER, "--inbox", inbox,
        "--out", summary, "--json", result,
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    return summary, json.loads(result.read_text(encoding="utf-8"))


def check_identity(inbox: Path, master, formats: dict[str, str]) -> None:
    """Every file is read in its own format and recognised by its identity sheet."""
    collected = collect(inbox)
    assert collected.rejected == () and collected.skipped == ()
    assert {r.division: r.format for r in collected.returns} == formats
    for r in collected.returns:
        assert (r.year, r.quarter, r.identified_by) == (YEAR, QUARTER, "模板标识"), r.source
        assert r.conflicts == () and r.extra == (), r.source
        assert (r.filled_by, r.reviewer, r.phone, r.fill_date) == tuple(FILLER.values()), r.source
    assert len(collected.returns) == len(master.divisions)


def check_summary(
    summary: Path, result: dict, master, plan: Plan, allowed: set[str] = ALLOWED_FLAGS
) -> None:
    """Every typed cell is back, exactly; nothing was refused; nothing is a formula."""
    assert all(f["accepted"] for f in result["files"]), result["files"]
    assert len(result["files"]) == len(master.divisions)
    kinds = {f["type"] for f in result["flags"]}
    assert kinds <= allowed, [f for f in result["flags"] if f["type"] not in allowed]
    assert all(d["submitted"] and d["answered"] == d["expected"] for d in result["divisions"])
    assert {d["fill_time"] for d in result["divisions"]} == {
        FILLER["填报日期"]
    }  # typed, not a date

    labels = {t.number: t.label for t in master.tasks}
    details = {
        (row["处室"].value, row["序号"].value): row for row in sheet_rows(summary, "明细", 1)
    }
    assert len(details) == len(master.assignments)
    for division, fills in plan.items():
        for number, fill in fills.items():
            row = details[(division, labels[number])]
            where = f"明细 {division} 序号 {labels[number]}"
            assert row["完成情况"].value == after_round_trip(fill.answer), where
            assert row["存在问题及下步打算"].value == after_round_trip(fill.plan), where
            assert row["进展状态"].value == fill.status, where
            assert row["进展状态（原文）"].value == fill.status, where
            assert row["备注"].value in (None, ""), where
            for cell in (row["完成情况"], row["存在问题及下步打算"]):
                assert cell.data_type == "s", where

    def check_quoted(cell: str, divisions, field: str) -> None:
        """汇总 quotes each division's text (明细 has it whole, as checked above) under its
        division, in order: whole, or its start and the marker, the cut texts of a cell cut
        alike, to between SUMMARY_EXCERPT_MIN and SUMMARY_EXCERPT characters."""
        texts = [
            (d, after_round_trip(getattr(plan[d][task.number], field)).strip()) for d in divisions
        ]
        texts = [(d, t) for d, t in texts if t]
        pattern = "\n\n".join(f"【{re.escape(d)}】(.*?)" for d, _ in texts)
        m = re.fullmatch(pattern, cell or "", re.S)
        assert m, (task.label, field, (cell or "")[:200])
        cuts = set()
        for (_, whole), part in zip(texts, m.groups(), strict=True):
            if part != whole:
                start = part.removesuffix(TRUNCATION_MARKER)
                assert part.endswith(TRUNCATION_MARKER) and whole.startswith(start), task.label
                cuts.add(utf16_len(start))  # as Excel counts: an emoji twice
        # Alike: the same length, or one less where a cut does not split an emoji.
        assert not cuts or max(cuts) - min(cuts) <= 1, (task.label, cuts)
        assert all(SUMMARY_EXCERPT_MIN - 1 <= n <= SUMMARY_EXCERPT for n in cuts)

    tasks = {row["序号"].value: row for row in sheet_rows(summary, "汇总", 2)}
    for task in master.tasks:
        row = tasks[task.label]
        partners = [d for d in task.partners if d not in task.leads]
        check_quoted(row["牵头处室完成情况"].value, task.leads, "answer")
        check_quoted(row["配合处室完成情况"].value, partners, "answer")
        check_quoted(row["存在问题及下步打算"].value, [*task.leads, *partners], "plan")
    quoting = [r for r in tasks.values() if TRUNCATION_MARKER in r["牵头处室完成情况"].value]
    assert quoting, "a long answer is quoted, not whole"
    heights = load_workbook(summary)["汇总"].row_dimensions
    assert all(heights[r].height < 400 for r in range(3, 3 + len(tasks)))  # Excel's limit: 409

    check_no_formulas(summary)


def check_no_formulas(path: Path) -> None:
    wb = load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula"
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                assert not re.search(rb"<f[ >]", zf.read(name)), f"{name} has a formula"


# ---------------------------------------------------------------------------- 1. re-saved


@pytest.fixture(scope="module")
def resaved(filled, soffice, tmp_path_factory) -> dict[str, Path]:
    """{format: inbox}: every filled template re-saved by LibreOffice, one soffice per format."""
    root = tmp_path_factory.mktemp("resaved")
    inboxes = {"openpyxl": root / "openpyxl"}
    inboxes["openpyxl"].mkdir()
    for path in filled.values():
        shutil.copy2(path, inboxes["openpyxl"] / path.name)
    for fmt, (suffix, filter_name, _) in FORMATS.items():
        inboxes[fmt] = root / fmt
        soffice.convert_many(list(filled.values()), suffix, inboxes[fmt], filter_name=filter_name)
    return inboxes


@pytest.mark.parametrize("fmt", ["openpyxl", *FORMATS])
def test_resaved_by_libreoffice_comes_back_exactly(fmt, resaved, master, plan, tmp_path):
    inbox = resaved[fmt]
    check_identity(
        inbox, master, dict.fromkeys(master.divisions, "xlsx" if fmt == "openpyxl" else fmt)
    )
    summary, result = merge_inbox(inbox, tmp_path)
    check_summary(summary, result, master, plan)


def test_resaved_flags_are_those_of_the_original(resaved, tmp_path):
    """LibreOffice changes nothing the merge looks at: the same flags on the same rows."""

    def flags(fmt: str) -> list[tuple[str, str, str]]:
        _, result = merge_inbox(resaved[fmt], tmp_path / fmt)
        return sorted((f["type"], f["division"], f["task"]) for f in result["flags"])

    original = flags("openpyxl")
    assert {kind for kind, _, _ in original} == ALLOWED_FLAGS  # the answers do provoke them
    for fmt in FORMATS:
        assert flags(fmt) == original, fmt


def test_ods_keeps_tabs_and_line_breaks(soffice, templates, tmp_path):
    """Regression: calamine dropped <text:tab/> and <text:line-break/>, joining the words."""
    division = "儿童福利处"
    path = templates[division]
    [task] = read_master(SHIPPED_MASTER).tasks_of(division)
    number = task.number
    fill_template(path, tmp_path / "src" / path.name, {number: Fill("甲\t乙", "已完成", "\t丙")})
    ods = soffice.convert(tmp_path / "src" / path.name, "ods", tmp_path / "ods")
    content = zipfile.ZipFile(ods).read("content.xml")
    assert b"<text:tab/>" in content  # how LibreOffice writes a tab in a cell
    broken = content.replace("乙".encode(), "<text:line-break/>乙".encode())
    out = io.BytesIO()
    with zipfile.ZipFile(ods) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, broken if info.filename == "content.xml" else src.read(info))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / ods.name).write_bytes(out.getvalue())
    [ret] = collect(inbox).returns
    [row] = [r for r in ret.rows if task_number(r.number) == number]
    assert (row.answer, row.plan) == ("甲\t\n乙", "\t丙")


# ---------------------------------------------------------------------------- 2. filled by UNO


def uno_jobs(templates, plan, out: Path) -> tuple[list[dict], dict[str, str]]:
    """One job per template, formats rotating; answers alternately typed and pasted."""
    jobs, formats = [], {}
    cols = {name: i + 1 for i, name in enumerate(layout.HEADERS)}
    letter = {name: "ABCDEF"[i - 1] for name, i in cols.items()}
    for i, (division, path) in enumerate(templates.items()):
        fmt = list(FORMATS)[i % len(FORMATS)]
        formats[division] = fmt
        ws = load_workbook(path, read_only=True)[layout.DATA_SHEET]
        rows = {
            task_number(r[0].value or ""): r[0].row
            for r in ws.iter_rows(min_row=layout.ROW_FIRST_TASK, max_col=1)
            if r[0].value
        }
        cells = []
        for label, value in FILLER.items():
            row, col = layout.FILLER_CELLS[label]
            cells.append((xl_col_to_name(col + 1), row, value, "typed"))
        for j, (number, fill) in enumerate(plan[division].items()):
            row = rows[number]
            # "typed" goes through the input line (honours the "@" text format); "string" is
            # a paste of plain text. The numbers-as-text plans and the "=" answers are typed.
            cells.append((letter[layout.COL_ANSWER], row, fill.answer, ("typed", "string")[j % 2]))
            cells.append((letter[layout.COL_STATUS], row, fill.status, "typed"))
            cells.append((letter[layout.COL_PLAN], row, fill.plan, "typed"))
        suffix, _, filter_name = FORMATS[fmt]
        jobs.append(
            {
                "src": str(path),
                "dst": str(out / f"{path.stem}.{suffix}"),
                "filter": filter_name,
                "cells": [
                    {"sheet": layout.DATA_SHEET, "cell": f"{c}{r}", "value": v, "how": how}
                    for c, r, v, how in cells
                ],
            }
        )
    return jobs, formats


def test_filled_by_libreoffice_through_uno(uno_python, soffice, templates, plan, master, tmp_path):
    inbox = tmp_path / "inbox"
    jobs, formats = uno_jobs(templates, plan, inbox)
    assert set(formats.values()) == set(FORMATS)
    spec = tmp_path / "jobs.json"
    spec.write_text(json.dumps({"jobs": jobs, "timeout": 240}, ensure_ascii=False), "utf-8")
    proc = subprocess.Popen(
        [uno_python, str(UNO_FILL), str(spec)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.terminate()  # uno_fill.py kills its soffice on SIGTERM
        stdout, stderr = proc.communicate(timeout=30)
        pytest.fail(f"uno_fill.py timed out\n{stderr.decode(errors='replace')}")
    assert proc.returncode == 0, stderr.decode(errors="replace")

    # What LibreOffice holds after the entry: always text, never a number or a formula; exactly
    # what was typed (the input line keeps even a "\r", and so do the three files it writes),
    # and what was pasted with its line ends as paragraph breaks (setString: "\r\n", "\r" -> "\n").
    report = json.loads(stdout)
    for job_spec, job in zip(jobs, report["jobs"], strict=True):
        for asked, seen in zip(job_spec["cells"], job["cells"], strict=True):
            assert seen["type"] == "text", (job["dst"], seen)
            typed = asked["how"] == "typed"
            want = asked["value"] if typed else after_round_trip(asked["value"])
            assert seen["string"] == want, (job["dst"], seen)

    check_identity(inbox, master, formats)
    summary, result = merge_inbox(inbox, tmp_path / "out")
    # uno_fill.py types the text columns only: the 累计完成 cells stay empty, so 未达序时.
    check_summary(summary, result, master, plan, ALLOWED_FLAGS | {"未达序时"})


def test_uno_fill_reports_a_missing_template_and_leaves_no_soffice(uno_python, soffice, tmp_path):
    spec = tmp_path / "jobs.json"
    job = {"src": str(tmp_path / "missing.xlsx"), "dst": str(tmp_path / "x.xlsx"), "cells": []}
    spec.write_text(json.dumps({"jobs": [dict(job, filter="calc8")], "timeout": 120}), "utf-8")
    proc = subprocess.Popen(
        [uno_python, str(UNO_FILL), str(spec)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 1
    assert "missing.xlsx" in stderr.decode()
    # The helper names its soffice pipe after its own pid; no process may still carry it.
    assert processes_with(f"wbt_uno_{proc.pid}_") == []


def processes_with(marker: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


# ---------------------------------------------------------------------------- 3. PDF


A4_LANDSCAPE = (841.89, 595.28)
A4_PORTRAIT = A4_LANDSCAPE[::-1]


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def is_size(size: tuple[float, float], want: tuple[float, float]) -> bool:
    # LibreOffice writes A4 as 841.89 x 595.304 pt (its own mm rounding), not 595.28.
    return abs(size[0] - want[0]) < 1 and abs(size[1] - want[1]) < 1


def in_order(needle: str, hay: str, allowance: int) -> bool:
    """``needle`` appears in ``hay`` in order, with at most ``allowance`` other characters
    inside its span. pdftotext -layout prints a table line by line, so a wrapped cell's lines
    are interleaved with the lines of the cells beside it."""
    if not needle:
        return True
    start = hay.find(needle[0])
    while start != -1:
        pos = start
        for ch in needle[1:]:
            pos = hay.find(ch, pos + 1)
            if pos == -1 or pos - start + 1 > len(needle) + allowance:
                break
        else:
            return True
        start = hay.find(needle[0], start + 1)
    return False


@dataclass(frozen=True)
class Printed:
    templates: dict[str, Path]  # division -> PDF
    summary: Path  # the summary workbook
    summary_pdf: Path


@pytest.fixture(scope="module")
def printed(templates, soffice, tmp_path_factory) -> Printed:
    """Templates and a summary, all printed to PDF by one soffice start.

    The summary is of ordinary answers: a 2,000-character answer is taller than Excel's largest
    row (409 pt), so it is clipped on paper, and pdftotext, which ignores clipping, would mix
    its hidden lines into the rows around it.
    """
    root = tmp_path_factory.mktemp("pdf")
    fill_all(templates, root / "inbox")
    summary, _ = merge_inbox(root / "inbox", root / "merged")
    out = soffice.convert_many([*templates.values(), summary], "pdf", root / "pdf")
    return Printed(dict(zip(templates, out, strict=False)), summary, out[-1])


def test_template_pdf_is_a4_landscape_one_page_wide(printed, master, poppler):
    for division, pdf in printed.templates.items():
        pages = [squash(p) for p in poppler.pages(pdf)]
        sizes = poppler.page_sizes(pdf)
        assert len(sizes) == len(pages)
        data = [i for i, s in enumerate(sizes) if is_size(s, A4_LANDSCAPE)]
        guide = [i for i, s in enumerate(sizes) if is_size(s, A4_PORTRAIT)]
        assert data == list(range(len(data))) and data, (division, sizes)  # data sheet first
        assert len(data) + len(guide) == len(pages), (division, sizes)  # identity not printed
        # Header repeated on every data page, first and last column together: nothing spilled.
        for i in data:
            assert layout.COL_NUMBER in pages[i] and layout.COL_PLAN in pages[i], (division, i)
        assert squash(layout.title(YEAR, QUARTER, division)) in pages[0]
        assert all("填报说明" in pages[i] for i in guide[:1]) and guide, division
        text = "".join(pages[i] for i in data)
        for task in master.tasks_of(division):
            targets = "".join(target_text(t) for t in task.targets)  # printed beside it
            beside = len(squash(task.label + role_text(task, division) + targets))
            assert in_order(squash(task.text), text, beside), (division, task.number)


def test_summary_pdf_is_a4_landscape_one_page_wide(printed, master, poppler):
    pdf = printed.summary_pdf
    pages = [squash(p) for p in poppler.pages(pdf)]
    sizes = poppler.page_sizes(pdf)
    assert len(sizes) == len(pages) >= 5
    # 总览 on A4 portrait first (see below), every other sheet A4 landscape.
    portrait = [i for i, s in enumerate(sizes) if is_size(s, A4_PORTRAIT)]
    assert portrait == list(range(len(portrait))) and portrait, sizes
    assert all(is_size(s, A4_LANDSCAPE) for s in sizes[len(portrait) :]), sizes
    period = f"{YEAR}年第一季度"
    overview = f"{YEAR}年市《政府工作报告》民政工作第一季度完成情况汇总"
    titles = {
        "汇总": (overview + "表", "问题标记"),
        "报送情况": (f"{period}各处室（单位）报送情况", "已填报事项数"),
        "问题清单": (f"{period}汇总问题清单", "来源文件"),
    }
    assert squash(overview) in pages[0]
    for sheet, (title, last_header) in titles.items():
        with_title = [i for i, p in enumerate(pages) if squash(title) in p]
        assert with_title, sheet
        # The title and header rows repeat on every page of the sheet; a column that spilled
        # onto a page of its own would bring its header without the title.
        assert all(last_header in pages[i] for i in with_title), sheet
    details = [i for i, p in enumerate(pages) if "进展状态（原文）" in p]
    assert details and all("序号" in pages[i] and "分管领导" in pages[i] for i in details)
    text = "".join(pages)
    rows = {r["序号"].value: r for r in sheet_rows(printed.summary, "汇总", 2)}
    for task in master.tasks:
        row = rows[task.label]
        beside = sum(len(squash(str(c.value or ""))) for h, c in row.items() if h != "工作事项")
        assert in_order(squash(task.text), text, beside), task.number


# A thousand characters, each sentence numbered, so a cut or a reordered line cannot pass.
THOUSAND = "".join(f"第{i:03d}句：情况说明" for i in range(100))
assert len(THOUSAND) == 1000


def test_long_answer_typed_in_libreoffice_prints_whole(
    uno_python, soffice, poppler, templates, master, tmp_path
):
    """A 1,000-character answer typed into a template through LibreOffice's input line grows
    its row: printed straight away, and printed again after the file was saved and reopened,
    the whole answer is on one page, in order, under the table's own headings."""
    division = "社会救助处"
    task = master.tasks_of(division)[0]
    cell = f"D{layout.ROW_FIRST_TASK}"
    entry = [{"sheet": layout.DATA_SHEET, "cell": cell, "value": THOUSAND, "how": "typed"}]
    src = str(templates[division])
    jobs = [
        {"src": src, "dst": str(tmp_path / "typed.pdf"), "filter": "calc_pdf_Export"},
        {"src": src, "dst": str(tmp_path / "saved.xlsx"), "filter": FORMATS["xlsx"][2]},
    ]
    spec = tmp_path / "jobs.json"
    spec.write_text(
        json.dumps({"jobs": [dict(j, cells=entry) for j in jobs], "timeout": 240}), "utf-8"
    )
    proc = subprocess.run([uno_python, str(UNO_FILL), str(spec)], capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    reprinted = soffice.convert(tmp_path / "saved.xlsx", "pdf", tmp_path / "pdf")

    beside = len(squash(task.label + task.text + role_text(task, division)))
    for pdf in (tmp_path / "typed.pdf", reprinted):
        pages = [squash(p) for p in poppler.pages(pdf)]
        sizes = poppler.page_sizes(pdf)
        data = [p for p, s in zip(pages, sizes, strict=True) if is_size(s, A4_LANDSCAPE)]
        assert data and all(layout.COL_ANSWER in p and layout.COL_PLAN in p for p in data)
        whole = [p for p in data if in_order(THOUSAND, p, beside)]
        assert whole, (pdf.name, [p[:200] for p in data])
        # Every task of the division is still printed (the tall row pushed none off the page).
        text = "".join(data)
        for other in master.tasks_of(division):
            assert squash(other.text)[:12] in text, other.number


def word_heights(pdftotext: str, pdf: Path) -> list[list[float]]:
    """The height of every word on every page, in points: the size its text is printed at
    (poppler's word box is one em tall)."""
    out = subprocess.run(
        [pdftotext, "-bbox", str(pdf), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode("utf-8")
    pages = []
    for page in out.split("<page ")[1:]:
        boxes = re.findall(
            r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', page
        )
        pages.append([float(bottom) - float(top) for top, bottom in boxes])
    return pages


def test_summary_pages_carry_their_own_headings(printed, poppler):
    """Each printed page is headed by its own sheet's title and header row: the files received
    never print under 报送情况's headings (采用 under 报送状态), nor divisions under theirs."""
    pages = [squash(p) for p in poppler.pages(printed.summary_pdf)]
    period = f"{YEAR}年第一季度"
    heads = {
        "报送情况": (
            f"{period}各处室（单位）报送情况",
            "处室（单位）报送状态采用文件填报时间填报人审核人联系电话应报事项数已填报事项数问题",
        ),
        "收到的文件": (f"{period}收到的文件", "识别为处室（单位）是否采用文件说明"),
        "问题清单": (f"{period}汇总问题清单", "严重程度问题类型处室序号说明来源文件"),
        "明细": (
            f"{period}各处室（单位）填报明细",
            "序号工作事项处室职责进展状态进展状态（原文）完成情况",
        ),
    }
    found = {}
    for i, page in enumerate(pages):
        mine = [name for name, (title, _) in heads.items() if title in page]
        assert len(mine) <= 1, (i, mine)
        for name in mine:
            title, header = heads[name]
            assert header in page, (i, name)
            found.setdefault(name, []).append(i)
    assert set(found) == set(heads), found
    files = "".join(pages[i] for i in found["收到的文件"])
    assert "未采用" in files or "采用" in files
    for i in found["报送情况"]:
        assert "是否采用" not in pages[i] and "收到的文件" not in pages[i], i


def test_overview_prints_on_a4_portrait_at_ten_points_or_more(printed, poppler):
    """总览 is laid out for A4 portrait at full size, not shrunk onto one page."""
    sizes = poppler.page_sizes(printed.summary_pdf)
    pages = [squash(p) for p in poppler.pages(printed.summary_pdf)]
    overview = [
        i for i, p in enumerate(pages) if is_size(sizes[i], A4_PORTRAIT) and "汇总表" not in p
    ]
    assert overview and overview == list(range(len(overview))), sizes  # the first pages
    assert squash(f"{YEAR}年市《政府工作报告》民政工作第一季度完成情况汇总") in pages[0]
    assert "一、报送情况" in pages[0] and "五、问题统计" in "".join(pages[i] for i in overview)
    heights = word_heights(poppler.pdftotext_exe, printed.summary_pdf)
    text = sorted(h for i in overview for h in heights[i])
    assert text and text[0] >= 9.9, text[:10]
