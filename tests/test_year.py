"""A whole year on the shipped master, through the CLI and real files: split, fill with numbers,
merge, four times. Each quarter checks the 序时 buckets, the flags, 全年进展, the archive (one
transaction a quarter, untouched by a merge that stops) and, from the second quarter on, last
quarter's answers in the new templates. The second quarter's returns are re-saved through
LibreOffice, one of the third's as .ods."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
from builders import SHIPPED_MASTER, run_cli, sheet_rows

from workbook_tools import layout
from workbook_tools.archive import ARCHIVE_NAME, Archive
from workbook_tools.demo import Fill, fill_template
from workbook_tools.master import read_master

MASTER = read_master(SHIPPED_MASTER)
Q = {1: "一", 2: "二", 3: "三", 4: "四"}

# The lead's cumulative figure at each quarter's end, as a share of each target of the task.
SHARES = {
    1: {"3": 0.25, "4": 0.30, "6": 0.40, "17": 0.10},
    2: {"3": 0.30, "4": 0.25, "6": 0.60, "17": 0.50},
    3: {"3": 0.75, "4": 0.80, "6": 1.00, "17": 0.90},
    4: {"3": 1.00, "4": 0.95, "6": 1.00, "17": 1.00},
}
# What the rule gives (expected share 25/50/75/100 %, 超序时 from 10 points ahead), by hand.
BUCKETS = {
    1: {"3": "达序时", "4": "达序时", "6": "超序时", "17": "未达序时"},
    2: {"3": "未达序时", "4": "未达序时", "6": "超序时", "17": "达序时"},
    3: {"3": "达序时", "4": "达序时", "6": "已完成", "17": "超序时"},
    4: {"3": "已完成", "4": "未达序时", "6": "已完成", "17": "已完成"},
}
STATUS = {  # the lead's 进展状态 where it is not 按序时推进
    (1, "17"): "滞后",
    (2, "4"): "滞后",
    (3, "6"): "已完成",
    (4, "3"): "已完成",
    (4, "4"): "滞后",
    (4, "6"): "已完成",
    (4, "17"): "已完成",
}
UNCHANGED = (2, "社会救助处", "16")  # the Q1 answer copied into Q2
TERSE = (2, "规划财务处", "8")  # a placeholder
DISAGREES = (3, "市慈善服务中心", "17")  # an assisting division reports another figure
AS_TEXT = (3, "养老服务处", "4", "居家养老上门服务", "8,800")  # typed over the validation


def answer(quarter: int, division: str, task: str) -> str:
    return (
        f"{division}第{Q[quarter]}季度推进第{task}项工作，召开推进会{quarter}次，落实资金和场地。"
    )


def fills(quarter: int, division: str, first_answers: dict) -> dict[str, Fill]:
    out = {}
    for task in MASTER.tasks_of(division):
        n = task.number
        text = answer(quarter, division, n)
        if (quarter, division, n) == UNCHANGED:
            text = first_answers[(division, n)]
        if (quarter, division, n) == TERSE:
            text = "正在推进"
        status = STATUS.get((quarter, n), "按序时推进") if division in task.leads else "按序时推进"
        figures: dict[str, float | str] = {}
        if division in task.leads and n in SHARES[quarter]:
            figures = {t.name: round(t.amount * SHARES[quarter][n], 1) for t in task.targets}
        if (quarter, division, n) == DISAGREES:
            figures = {task.targets[0].name: 3500}
        if (quarter, division, n) == AS_TEXT[:3]:
            figures[AS_TEXT[3]] = AS_TEXT[4]
        out[n] = Fill(text, status, f"{division}下季度继续推进第{n}项", None, figures)
    return out


def keys(path: Path) -> set[tuple[str, str, str]]:
    """(问题类型, 处室, 序号) of the summary's 问题清单."""
    return {
        (r["问题类型"].value, r["处室"].value or "", str(r["序号"].value or "").lstrip("*"))
        for r in sheet_rows(path, "问题清单", 2)
        if r["问题类型"].value
    }


def dump(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def check_template(path: Path, quarter: int, first_answers: dict, division: str) -> None:
    """Target columns (locked target, unlocked validated number cell); from Q2 the grey,
    locked 上季度完成情况 with last quarter's answer, the answer cell still empty."""
    ws = openpyxl.load_workbook(path)[layout.DATA_SHEET]
    header = [c.value for c in ws[layout.ROW_HEADER]]
    assert header[:6] == list(layout.HEADERS)
    assert layout.COL_TARGET in header and layout.COL_FIGURE in header
    assert (layout.COL_PREVIOUS in header) == (quarter > 1)
    target_col = header.index(layout.COL_TARGET) + 1
    figure_col = header.index(layout.COL_FIGURE) + 1
    rows = {
        str(ws.cell(r, 1).value).lstrip("*"): r
        for r in range(layout.ROW_FIRST_TASK, ws.max_row + 1)
        if ws.cell(r, 1).value
    }
    r = rows["3"]
    assert ws.cell(r, target_col).value == "社区老年人服务中心（站）：80个"
    assert ws.cell(r, target_col).protection.locked
    assert not ws.cell(r, figure_col).protection.locked
    assert ws.cell(r, figure_col).value is None
    [dv] = [
        v
        for v in ws.data_validations.dataValidation
        if ws.cell(r, figure_col).coordinate in v.sqref
    ]
    assert (dv.type, dv.operator, dv.formula1) == ("decimal", "greaterThanOrEqual", "0")
    assert dv.showErrorMessage and dv.errorStyle in (None, "stop")  # absent: stop, blocking
    assert dv.showInputMessage and dv.promptTitle == layout.COL_FIGURE
    assert ws.cell(rows["7"], figure_col).protection.locked  # task 7 has no target
    if quarter > 1:
        cell = ws.cell(r, header.index(layout.COL_PREVIOUS) + 1)
        assert first_answers[(division, "3")] in cell.value
        assert cell.protection.locked and cell.fill.fgColor.rgb.endswith("E7E6E6")
        share = SHARES[quarter - 1]["3"]
        assert f"社区老年人服务中心（站）累计完成：{80 * share:g}个" in cell.value
        assert ws.cell(r, 4).value is None  # 完成情况 is for this quarter's answer


def test_a_whole_year(tmp_path, soffice, monkeypatch):
    monkeypatch.delenv("WORKBOOK_TOOLS_ARCHIVE")  # the archive's default place: beside the master
    master = tmp_path / "master" / "分解方案.xlsx"
    master.parent.mkdir()
    shutil.copy(SHIPPED_MASTER, master)
    archive = master.parent / ARCHIVE_NAME
    answers: dict[int, dict[tuple[str, str], str]] = {}
    for quarter in range(1, 5):
        # split: from Q2 on, last quarter's answers come from the archive
        result = run_cli("split", "-q", quarter, "--master", master, "--outbox", tmp_path / "ob")
        assert result.exit_code == 0, result.output
        assert ("上季度完成情况：取自档案" in result.output) == (quarter > 1)
        folder = tmp_path / "ob" / layout.quarter_folder(2022, quarter)
        templates = {p.stem.split("-", 1)[1]: p for p in folder.glob("*.xlsx")}
        check_template(templates["养老服务处"], quarter, answers.get(quarter - 1, {}), "养老服务处")

        # fill as staff would; Q2 re-saved through LibreOffice, Q3's 养老服务处 as .ods
        filled = tmp_path / f"filled{quarter}"
        inbox = tmp_path / f"inbox{quarter}"
        inbox.mkdir()
        typed = {}
        for division, path in templates.items():
            f = fills(quarter, division, answers.get(1, {}))
            typed.update({(division, n): x.answer for n, x in f.items()})
            fill_template(
                path,
                filled / path.name,
                f,
                filler={"填报人": "张三", "联系电话": "027-1", "填报日期": "2022-04-08"},
            )
        answers[quarter] = typed
        if quarter == 2:
            soffice.convert_many(sorted(filled.glob("*.xlsx")), "xlsx", inbox)
        else:
            for p in filled.glob("*.xlsx"):
                if quarter == 3 and p.stem.endswith("养老服务处"):
                    soffice.convert(p, "ods", inbox)
                else:
                    shutil.copy(p, inbox / p.name)

        out = tmp_path / "out" / f"q{quarter}.xlsx"
        if quarter == 3:
            # A merge that stops (the summary cannot be written) leaves the archive as it was.
            before = dump(archive)
            blocked = tmp_path / "blocked"
            blocked.write_text("a file where the output folder should be")
            stopped = run_cli(
                "merge", "-q", 3, "--master", master, "--inbox", inbox, "--out", blocked / "s.xlsx"
            )
            assert stopped.exit_code == 1
            assert dump(archive) == before
        result = run_cli("merge", "-q", quarter, "--master", master, "--inbox", inbox, "--out", out)
        assert result.exit_code == 0, result.output
        assert f"档案：{archive}（2022年第{Q[quarter]}季度 32 条答复）" in result.output

        # buckets: 汇总's 序时进度情况, one per task
        rows = {str(r["序号"].value).lstrip("*"): r for r in sheet_rows(out, "汇总", 2)}
        buckets = {n: r["序时进度情况"].value for n, r in rows.items()}
        assert buckets == {
            t.number: BUCKETS[quarter].get(t.number, "无量化指标") for t in MASTER.tasks
        }
        r3 = rows["3"]
        share = SHARES[quarter]["3"]
        assert r3["累计完成"].value.split("\n") == [f"{80 * share:g}个", f"{140 * share:g}个"]
        assert r3["序时进度"].value.split("\n") == [f"{25 * quarter}%"] * 2
        overview = [r for r in openpyxl.load_workbook(out)["总览"].iter_rows(values_only=True)]
        start = next(i for i, r in enumerate(overview) if r[0] == "序时进度情况")
        counted = {r[0]: r[1] for r in overview[start + 1 : start + 6]}
        assert counted == {b: list(buckets.values()).count(b) for b in counted}
        assert sum(counted.values()) == 17

        # flags
        found = keys(out)
        kinds = {k for k, _, _ in found}
        assert "内容未读入" not in kinds and "多余内容" not in kinds  # the new columns are known
        behind = {(d, n) for k, d, n in found if k == "未达序时"}
        assert {n for _, n in behind} == {n for n, b in BUCKETS[quarter].items() if b == "未达序时"}
        if quarter == 1:
            assert not kinds & {"数据倒退", "答复未更新", "答复过简", "答复雷同"}
        if quarter == 2:
            assert ("状态与数据不符", "养老服务处", "3") in found  # 按序时推进 at 30 %
            assert ("数据倒退", "养老服务处", "4") in found  # lower than Q1
            assert {(d, n) for k, d, n in found if k == "数据倒退"} == {("养老服务处", "4")}
            assert ("答复未更新", "社会救助处", "16") in found
            assert {(d, n) for k, d, n in found if k == "答复未更新"} == {("社会救助处", "16")}
            assert ("答复过简", "规划财务处", "8") in found
        if quarter == 3:
            assert ("状态不一致", "市慈善服务中心", "17") in found
            assert "数据倒退" not in kinds and "答复未更新" not in kinds
        if quarter == 4:
            assert "状态与数据不符" not in kinds

        # 全年进展: every merged quarter side by side, coloured by bucket
        wb = openpyxl.load_workbook(out)
        assert (wb.sheetnames[-1] == "全年进展") == (quarter > 1)  # once the year has history
        if quarter > 1:
            year = {str(r["序号"].value).lstrip("*"): r for r in sheet_rows(out, "全年进展", 2)}
            for q in range(1, 5):
                cell = year["4"][f"第{Q[q]}季度累计完成"]
                if q > quarter:
                    assert cell.value is None
                    continue
                s = SHARES[q]["4"]
                assert cell.value.split("\n")[0] == f"家庭养老床位：{3000 * s:g}张（{100 * s:g}%）"
                colour = {
                    "未达序时": "F8CBAD",
                    "达序时": "DDEBF7",
                    "超序时": "9BC2E6",
                    "已完成": "C6EFCE",
                }
                assert cell.fill.fgColor.rgb.endswith(colour[BUCKETS[q]["4"]])
                lead = STATUS.get((q, "4"), "按序时推进")
                assert year["4"][f"第{Q[q]}季度进展状态"].value == lead
            assert year["7"]["第一季度进展状态"].value == "按序时推进"

        # the archive: this quarter's answers and figures, as typed
        with Archive(archive) as a:
            assert a.quarters(2022) == [(2022, q) for q in range(1, quarter + 1)]
            rows_q = {(r.division, r.task): r for r in a.answers(2022, quarter)}
        assert len(rows_q) == 32
        assert rows_q[("养老服务处", "3")].figures == {
            "社区老年人服务中心（站）": 80 * SHARES[quarter]["3"],
            "农村老年人互助照料中心（服务点）": round(140 * SHARES[quarter]["3"], 1),
        }
        assert rows_q[("养老服务处", "3")].answer == answers[quarter][("养老服务处", "3")]
        if quarter == 3:
            assert rows_q[("养老服务处", "4")].figures["居家养老上门服务"] == 8800
            assert rows_q[("养老服务处", "4")].source.endswith(".ods")

        if quarter == 2:
            # The same merge again: the archive does not change at all.
            before = dump(archive)
            again = run_cli("merge", "-q", 2, "--master", master, "--inbox", inbox, "--out", out)
            assert again.exit_code == 0
            assert dump(archive) == before

    # A merge killed at any moment leaves the fourth quarter either as it was or as the new one.
    inbox = tmp_path / "inbox4"
    changed = next(inbox.glob("*养老服务处.xlsx"))
    division_fills = fills(4, "养老服务处", answers[1])
    division_fills["7"] = Fill("改写后的第7项答复，新增服务点两处。", "按序时推进", "继续推进")
    template = next((tmp_path / "ob" / layout.quarter_folder(2022, 4)).glob("*养老服务处.xlsx"))
    fill_template(template, changed, division_fills)
    with Archive(archive) as a:
        old = [r.content() for r in a.answers(2022, 4)]
    args = [sys.executable, "-m", "workbook_tools", "merge", "-q", "4", "--master", str(master)]
    args += ["--inbox", str(inbox), "--out", str(tmp_path / "out" / "killed.xlsx")]
    for delay in (0.5, 1.5):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.kill()
        proc.wait()
        db = sqlite3.connect(archive)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        db.close()
        with Archive(archive) as a:
            now = [r.content() for r in a.answers(2022, 4)]
        assert len(now) == 32 and (now == old or ("改写后的第7项答复" in str(now)))
    done = run_cli("merge", "-q", 4, "--master", master, "--inbox", inbox, "--out", out)
    assert done.exit_code == 0
    with Archive(archive) as a:
        assert a.answers(2022, 4) != [] and "改写后的第7项答复" in str(
            [r.answer for r in a.answers(2022, 4)]
        )

    # A lost summary written again from the archive alone.
    out.unlink()
    again = run_cli("merge", "-q", 4, "--master", master, "--from-archive", "--out", out)
    assert again.exit_code == 0, again.output
    rows = {str(r["序号"].value).lstrip("*"): r for r in sheet_rows(out, "汇总", 2)}
    assert {n: r["序时进度情况"].value for n, r in rows.items()} == {
        t.number: BUCKETS[4].get(t.number, "无量化指标") for t in MASTER.tasks
    }
    year = {str(r["序号"].value).lstrip("*"): r for r in sheet_rows(out, "全年进展", 2)}
    assert year["17"]["第四季度进展状态"].value == "已完成"
