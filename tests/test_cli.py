"""The CLI end to end, as a coordinator runs it: split, fill, merge, check, demo."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from builders import (
    SHIPPED_MASTER,
    fill_all,
    run_cli,
    sheet_rows,
    split_shipped,
    tree_digest,
)
from openpyxl import load_workbook

from workbook_tools import layout
from workbook_tools.cli import cli
from workbook_tools.demo import Fill
from workbook_tools.master import read_master


@pytest.mark.parametrize("command", ["split", "merge", "check", "demo"])
def test_every_command_has_help_with_an_example(command):
    result = run_cli(command, "--help")
    assert result.exit_code == 0
    assert "示例" in result.output
    assert f"workbook-tools {command}" in result.output


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from workbook_tools.cli import cli\n"
        "heavy = [m for m in ('pandas', 'openpyxl', 'xlsxwriter', 'python_calamine') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_split_prints_one_line_per_division_and_is_reproducible(tmp_path):
    result = run_cli("split", "-q", "1", "--master", SHIPPED_MASTER, "--outbox", tmp_path / "a")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        f"分解方案：{SHIPPED_MASTER}（工作表 分解方案，17 项事项，12 个处室/单位，32 项分工）"
    )
    assert lines[-1] == f"已生成 12 个模板，位于 {tmp_path / 'a' / '2022年第一季度'}/"
    body = lines[2:-1]
    assert len(body) == 12
    assert body[3].split() == [
        "养老服务处",
        "4",
        "2",
        "2022年第一季度工作目标完成情况-养老服务处.xlsx",
    ]
    run_cli("split", "-q", "1", "--master", SHIPPED_MASTER, "--outbox", tmp_path / "b")
    made = sorted((tmp_path / "a").rglob("*.xlsx"))
    assert len(made) == 12
    for path in made:
        twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
        assert path.read_bytes() == twin.read_bytes(), path.name


def test_split_templates_follow_the_master(tmp_path):
    templates = split_shipped(tmp_path / "out", quarter=3)
    master = read_master(SHIPPED_MASTER)
    assigned = 0
    for division, path in templates.items():
        wb = load_workbook(path)
        ws = wb[layout.DATA_SHEET]
        assert wb.active.title == layout.DATA_SHEET
        assert (
            ws.cell(layout.ROW_TITLE, 1).value
            == f"2022年市民政局{division}第三季度工作目标完成情况"
        )
        rows = [
            (ws.cell(r, 1).value, ws.cell(r, 2).value)
            for r in range(layout.ROW_FIRST_TASK, ws.max_row + 1)
            if ws.cell(r, 1).value
        ]
        assert rows == [(t.label, t.text) for t in master.tasks_of(division)]
        assert wb[layout.IDENTITY_SHEET].sheet_state == "hidden"
        assigned += len(rows)
    assert assigned == 32


def test_split_errors_are_one_line_without_traceback(tmp_path):
    missing = tmp_path / "无此文件.xlsx"
    result = run_cli("split", "-q", "1", "--master", missing, "--outbox", tmp_path)
    assert result.exit_code == 1
    assert result.output.startswith("错误：")
    assert str(missing) in result.output
    assert "Traceback" not in result.output

    from openpyxl import Workbook

    bad = tmp_path / "缺列.xlsx"
    wb = Workbook()
    wb.active.append(["序号", "工作事项", "分管领导", "责任处室"])
    wb.active.append(["1", "某项工作", "张三", "养老服务处"])
    wb.save(bad)
    result = run_cli("split", "-q", "1", "--master", bad, "--outbox", tmp_path)
    assert result.exit_code == 1
    assert "牵头处室" in result.output and str(bad) in result.output


def test_usage_errors_exit_2(tmp_path):
    assert run_cli("split", "-q", "5").exit_code == 2
    assert run_cli("merge").exit_code == 2
    result = run_cli("merge", "-q", "1", "--inbox", tmp_path / "none", "--master", SHIPPED_MASTER)
    assert result.exit_code == 2
    assert "找不到回收文件夹" in result.output


def test_merge_end_to_end(tmp_path):
    templates = split_shipped(tmp_path / "outbox")
    inbox = tmp_path / "inbox"
    typed = fill_all(
        templates,
        inbox,
        skip={"区划地名处"},
        overrides={
            "养老服务处": {"3": Fill("场地审批未完成。", "滞后", "加快审批。")},
            "社会救助处": {"15": Fill("", "按序时推进", "")},
            "市低保中心": {"5": Fill("=1+1", "推进中", "")},
        },
    )
    (inbox / "养老服务处-副本").mkdir()
    (inbox / "~$锁文件.xlsx").write_bytes(b"lock")
    before = tree_digest(inbox)
    out = tmp_path / "summary.xlsx"
    result = run_cli(
        "merge",
        "-q",
        "1",
        "--inbox",
        inbox,
        "--master",
        SHIPPED_MASTER,
        "--out",
        out,
        "--json",
        tmp_path / "r.json",
    )
    assert result.exit_code == 0, result.output
    assert tree_digest(inbox) == before
    assert "已报送 11/12 个处室（单位）" in result.output
    assert "未报送：区划地名处" in result.output
    assert f"汇总表：{out}" in result.output

    master = read_master(SHIPPED_MASTER)
    details = sheet_rows(out, "明细", 1)
    assert len(details) == 31  # 32 assignments, 区划地名处's one is missing
    for row in details:
        division, number = row["处室"].value, row["序号"].value.lstrip("*")
        fill = typed[division][number]
        assert (row["完成情况"].value or "") == fill.answer
        assert row["完成情况"].data_type == ("s" if fill.answer else "n")  # "n": a true blank
        assert (row["存在问题及下步打算"].value or "") == fill.plan
        assert row["工作事项"].value == master.task(number).text
    tasks = sheet_rows(out, "汇总", 2)
    assert [r["序号"].value for r in tasks] == [t.label for t in master.tasks]
    assert tasks[2]["进展状态"].value == "滞后"
    assert "【养老服务处】场地审批未完成。" in tasks[2]["牵头处室完成情况"].value
    assert "进度滞后" in tasks[2]["问题标记"].value
    flags = {
        (r["问题类型"].value, r["处室"].value, r["序号"].value)
        for r in sheet_rows(out, "问题清单", 2)
    }
    assert ("未报送", "区划地名处", None) in flags  # a blank cell, not an empty string
    assert ("进度滞后", "养老服务处", "*3") in flags
    assert ("未填写", "社会救助处", "15") in flags
    assert ("疑似公式", "市低保中心", "*5") in flags
    for ws in load_workbook(out).worksheets:
        for row in ws.iter_rows():
            assert all(c.data_type != "f" for c in row), ws.title

    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert {f["division"] for f in data["files"] if f["accepted"]} == set(typed)
    task5 = next(t for t in data["tasks"] if t["number"] == "5")
    low = next(a for a in task5["answers"] if a["division"] == "市低保中心")
    assert low["answer"] == "=1+1" and low["status"] == "按序时推进" and "推进中" in low["note"]

    strict = run_cli(
        "merge", "-q", "1", "--inbox", inbox, "--master", SHIPPED_MASTER, "--out", out, "--strict"
    )
    assert strict.exit_code == 1


def test_merge_reports_a_summary_it_cannot_write(tmp_path):
    templates = split_shipped(tmp_path / "outbox")
    fill_all(templates, tmp_path / "inbox")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    result = run_cli(
        "merge",
        "-q",
        "1",
        "--inbox",
        tmp_path / "inbox",
        "--master",
        SHIPPED_MASTER,
        "--out",
        blocker / "s.xlsx",
    )
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith("错误：")
    assert str(blocker / "s.xlsx") in result.output


def test_merge_never_modifies_a_read_only_inbox(tmp_path):
    templates = split_shipped(tmp_path / "outbox")
    inbox = tmp_path / "inbox"
    fill_all(templates, inbox, skip={"儿童福利处"})
    before = tree_digest(inbox)
    for p in [inbox, *inbox.iterdir()]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        result = run_cli(
            "merge",
            "-q",
            "1",
            "--inbox",
            inbox,
            "--master",
            SHIPPED_MASTER,
            "--out",
            tmp_path / "s.xlsx",
        )
    finally:
        for p in [inbox, *inbox.iterdir()]:
            p.chmod(0o755 if p.is_dir() else 0o644)
    assert result.exit_code == 0, result.output
    assert tree_digest(inbox) == before
    assert "未报送：儿童福利处" in result.output


def test_check_reports_each_file(tmp_path):
    templates = split_shipped(tmp_path / "outbox")
    inbox = tmp_path / "inbox"
    fill_all(templates, inbox, overrides={"养老服务处": {"4": Fill("", "", "")}})
    good = inbox / templates["社会救助处"].name
    bad = inbox / templates["养老服务处"].name
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")

    ok = run_cli("check", "-q", "1", "--master", SHIPPED_MASTER, good)
    assert ok.exit_code == 0, ok.output
    assert f"{good}：社会救助处，2022年第一季度，已填 4/4 项（识别依据：模板标识）" in ok.output
    assert "未发现问题" in ok.output

    result = run_cli("check", "--master", SHIPPED_MASTER, good, bad, junk)
    assert result.exit_code == 1
    assert "[错误] 未填写：序号 *4 的完成情况为空" in result.output
    assert f"{junk}：无法读取" in result.output

    other = run_cli("check", "-q", "2", "--master", SHIPPED_MASTER, good)
    assert "非本期文件" in other.output


def test_check_says_what_merge_judges_about_the_answers(tmp_path):
    templates = split_shipped(tmp_path / "outbox")
    inbox = tmp_path / "inbox"
    fill_all(templates, inbox, overrides={"社会救助处": {"5": Fill("无", "按序时推进", "")}})
    path = inbox / templates["社会救助处"].name
    checked = run_cli("check", "-q", "1", "--master", SHIPPED_MASTER, path)
    merged = run_cli(
        "merge",
        "-q",
        "1",
        "--inbox",
        inbox,
        "--master",
        SHIPPED_MASTER,
        "--out",
        tmp_path / "s.xlsx",
        "--json",
        tmp_path / "r.json",
        "--no-report",
    )
    assert merged.exit_code == 0, merged.output
    said = [
        f"[{f['severity']}] {f['type']}：{f['detail']}"
        for f in json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["flags"]
        if f["source"] == path.name
    ]
    assert any("答复过简" in line for line in said)
    for line in said:
        assert line.replace(path.name, str(path)) in checked.output


def test_demo_shows_the_whole_cycle(tmp_path, soffice):
    result = run_cli("demo", tmp_path / "demo", "--master", SHIPPED_MASTER)
    assert result.exit_code == 0, result.output
    summary = tmp_path / "demo" / "outbox" / "2022年第一季度工作目标完成情况汇总.xlsx"
    assert f"汇总表：{summary}" in result.output
    draft = (
        tmp_path
        / "demo"
        / "outbox"
        / "2022年第一季度市《政府工作报告》民政工作推进情况通报（草稿）.docx"
    )
    assert f"通报草稿：{draft}" in result.output and draft.exists()
    assert "另存为 2022年第一季度工作目标完成情况-儿童福利处.xls" in result.output
    kinds = [r["问题类型"].value for r in sheet_rows(summary, "问题清单", 2)]
    assert sorted(kinds) == sorted(
        ["事项被改动", "未填写", "未报送", "未报送", "进度滞后", "未达序时", "未达序时"]
    )
    details = sheet_rows(summary, "明细", 1)
    assert {r["处室"].value for r in details} >= {"儿童福利处", "规划财务处"}
    assert all(r["完成情况"].value is None or "【示例】" in r["完成情况"].value for r in details)


def test_python_dash_m_works():
    out = subprocess.run(
        [sys.executable, "-m", "workbook_tools", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "workbook-tools" in out.stdout


def test_importing_the_main_module_runs_nothing():
    # As multiprocessing's spawn (Windows, macOS) or a documentation tool would import it.
    code = "import workbook_tools.__main__; print('imported')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (out.returncode, out.stdout) == (0, "imported\n")


def test_cli_object_is_the_console_script():
    assert cli.name in ("cli", "workbook-tools")


def test_check_names_a_lock_file_for_what_it_is(tmp_path):
    lock = tmp_path / "~$养老服务处.xlsx"
    lock.write_bytes(b"\x04zhang" + b"\x00" * 100)
    result = run_cli("check", "-q", "1", "--master", SHIPPED_MASTER, lock)
    assert result.exit_code == 1
    assert "锁定文件，不是报送文件" in result.output


def test_merge_refuses_to_write_into_the_inbox_it_reads(tmp_path):
    templates = split_shipped(tmp_path / "outbox")
    inbox = tmp_path / "inbox"
    fill_all(templates, inbox)
    before = tree_digest(inbox)
    for extra in (("--out", inbox / "汇总.xlsx"), ("--json", inbox / "sub" / "r.json")):
        result = run_cli("merge", "-q", "1", "--inbox", inbox, "--master", SHIPPED_MASTER, *extra)
        assert result.exit_code == 2
        assert "不能写在回收文件夹" in result.output
    assert tree_digest(inbox) == before


def test_a_second_inbox_for_the_same_quarter_says_whose_answers_leave_the_archive(tmp_path):
    templates = split_shipped(tmp_path / "outbox")
    first, second = tmp_path / "inbox-a", tmp_path / "inbox-b"
    fill_all(templates, first)
    fill_all(templates, second, skip=("养老服务处", "社会救助处"))
    archive = tmp_path / "档案.sqlite"
    common = ("merge", "-q", "1", "--master", SHIPPED_MASTER, "--archive", archive, "--no-report")
    one = run_cli(*common, "--inbox", first, "--out", tmp_path / "a.xlsx")
    assert one.exit_code == 0 and "注意" not in one.output
    two = run_cli(*common, "--inbox", second, "--out", tmp_path / "b.xlsx")
    assert two.exit_code == 0, two.output
    assert "注意：档案中原有养老服务处、社会救助处的2022年第一季度答复" in two.output
