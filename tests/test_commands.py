"""Commands that must never crash on odd file names nor touch files they did not write:
file names shown readably (display_name), split's per-quarter folder that keeps what differs,
demo in a folder of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import pytest
from builders import SHIPPED_MASTER, run_cli, sample_fills, split_shipped, tree_digest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from workbook_tools import layout
from workbook_tools.demo import MARKER, fill_template
from workbook_tools.files import display_name

linux_only = pytest.mark.skipif(
    sys.platform != "linux", reason="file names that are not UTF-8 can only be made on Linux"
)

GBK_NAME = "养老服务处.xlsx".encode("gbk")  # as an unzip tool on Chinese Windows leaves it
CONTROL_NAME = "社会救助处\n第二份\r.xlsx"
ANSI_NAME = "\x1b[31m红色\t.xlsx"
LATIN1_NAME = b"caf\xe9.xlsx"  # not UTF-8, not GB18030 either: shown byte by byte


# ---------------------------------------------------------------------------- display_name


def test_display_name_decodes_gbk_bytes_and_escapes_what_it_cannot_read():
    assert display_name(os.fsdecode(GBK_NAME)) == "养老服务处.xlsx"
    assert display_name("子文件夹/" + os.fsdecode(GBK_NAME)) == "子文件夹/养老服务处.xlsx"
    assert display_name(os.fsdecode(LATIN1_NAME)) == "caf\\xe9.xlsx"
    assert display_name(CONTROL_NAME) == "社会救助处\\n第二份\\r.xlsx"
    assert display_name(ANSI_NAME) == "\\x1b[31m红色\\t.xlsx"
    assert display_name("a\x85b\u2028c\u202eexe.xlsx") == "a\\x85b\\u2028c\\u202eexe.xlsx"
    assert display_name("\udc00x") == "\\udc00x"  # a surrogate that was never a byte
    assert display_name("2022年 第一季度（养老）.xlsx") == "2022年 第一季度（养老）.xlsx"


@given(st.text())
def test_display_name_is_one_readable_line_of_valid_utf8(name):
    shown = display_name(name)
    shown.encode("utf-8")  # no lone surrogates
    assert len(shown.splitlines()) <= 1
    assert not any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in shown)
    assert not any(c in shown for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert display_name(shown) == shown
    if name.isprintable():
        assert shown == name


@given(st.binary(min_size=1, max_size=30).filter(lambda b: b"/" not in b and b"\0" not in b))
def test_display_name_of_any_bytes_is_valid_utf8(raw):
    shown = display_name(os.fsdecode(raw))
    shown.encode("utf-8")
    assert "\n" not in shown and "\r" not in shown


# ---------------------------------------------------------------------------- merge, check


def _odd_inbox(tmp_path: Path) -> tuple[Path, Path]:
    """An inbox whose file names are GBK bytes, hold a newline and CR, ANSI codes, Latin-1."""
    templates = split_shipped(tmp_path / "outbox")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    root = os.fsencode(inbox)
    fill_template(
        templates["养老服务处"],
        Path(os.fsdecode(root + b"/" + GBK_NAME)),
        sample_fills("养老服务处"),
    )
    fill_template(templates["社会救助处"], inbox / CONTROL_NAME, sample_fills("社会救助处"))
    (inbox / ANSI_NAME).write_text("not a workbook")
    Path(os.fsdecode(root + b"/" + LATIN1_NAME)).write_text("not a workbook either")
    with zipfile.ZipFile(inbox / "打包.zip", "w") as z:
        z.writestr("区划\n地名处.xlsx", templates["区划地名处"].read_bytes())
    return inbox, templates["养老服务处"]


EXPECTED_SOURCES = {
    "养老服务处.xlsx",
    "社会救助处\\n第二份\\r.xlsx",
    "\\x1b[31m红色\\t.xlsx",
    "caf\\xe9.xlsx",
    "打包.zip/区划\\n地名处.xlsx",
}
LINE_STARTS = (
    "分解方案：",
    "采用",
    "未采用",
    "已报送",
    "未报送：",
    "问题：",
    "      ",
    "汇总表：",
    "档案：",
    "通报草稿：",
    "JSON：",
)


def _check_merge_results(stdout: str, json_bytes: bytes, summary: Path) -> None:
    lines = stdout.splitlines()
    assert all(line.startswith(LINE_STARTS) for line in lines), lines
    verdicts = [line for line in lines if line.startswith(("采用", "未采用"))]
    assert len(verdicts) == len(EXPECTED_SOURCES)
    assert any(v.startswith("采用") and "养老服务处.xlsx  [养老服务处]" in v for v in verdicts)
    assert "\x1b" not in stdout and "\r" not in stdout

    data = json.loads(json_bytes.decode("utf-8"))  # strict: any lone surrogate would fail here
    assert {f["source"] for f in data["files"]} == EXPECTED_SOURCES
    accepted = {f["division"]: f["source"] for f in data["files"] if f["accepted"]}
    # Read through the real paths: the answers typed are there.
    assert accepted == {
        "养老服务处": "养老服务处.xlsx",
        "社会救助处": "社会救助处\\n第二份\\r.xlsx",
        "区划地名处": "打包.zip/区划\\n地名处.xlsx",
    }
    answers = [a for t in data["tasks"] for a in t["answers"] if a["division"] == "养老服务处"]
    assert answers and all(a["answer"].startswith("养老服务处第") for a in answers)

    cells = {
        c
        for ws in load_workbook(summary).worksheets
        for row in ws.iter_rows(values_only=True)
        for c in row
        if isinstance(c, str)
    }
    assert {"养老服务处.xlsx", "社会救助处\\n第二份\\r.xlsx", "caf\\xe9.xlsx"} <= cells


@linux_only
def test_merge_names_odd_files_readably_in_console_json_and_summary(tmp_path):
    inbox, _ = _odd_inbox(tmp_path)
    before = tree_digest(inbox)
    out, js = tmp_path / "s.xlsx", tmp_path / "r.json"
    result = run_cli(
        "merge", "-q", "1", "--master", SHIPPED_MASTER, "--inbox", inbox, "--out", out, "--json", js
    )
    assert result.exit_code == 0, result.output
    _check_merge_results(result.stdout, js.read_bytes(), out)
    assert tree_digest(inbox) == before


@linux_only
@pytest.mark.parametrize("locale", ["C.UTF-8", "C"])
def test_merge_json_in_a_subprocess_never_crashes_on_odd_names(tmp_path, locale):
    inbox, _ = _odd_inbox(tmp_path)
    env = {**os.environ, "LC_ALL": locale}
    env.pop("PYTHONIOENCODING", None)
    out, js = tmp_path / "s.xlsx", tmp_path / "r.json"
    args = ["merge", "-q", "1", "--master", str(SHIPPED_MASTER), "--inbox", str(inbox)]
    done = subprocess.run(
        [sys.executable, "-m", "workbook_tools", *args, "--out", str(out), "--json", str(js)],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in done.stderr
    _check_merge_results(done.stdout.decode("utf-8"), js.read_bytes(), out)


@linux_only
def test_check_shows_an_odd_file_name_readably(tmp_path):
    inbox, _ = _odd_inbox(tmp_path)
    gbk = os.fsdecode(os.fsencode(inbox) + b"/" + GBK_NAME)
    result = run_cli("check", "--master", SHIPPED_MASTER, gbk, inbox / CONTROL_NAME)
    assert result.exit_code == 0, result.output
    assert f"{inbox}/养老服务处.xlsx：养老服务处，2022年第一季度，已填 6/6 项" in result.output
    assert f"{inbox}/社会救助处\\n第二份\\r.xlsx：社会救助处" in result.output
    assert len(result.output.splitlines()) == 5  # master line, two files, two "未发现问题"


# ---------------------------------------------------------------------------- split


def _split(outbox: Path, *extra):
    return run_cli("split", "-q", "1", "--master", SHIPPED_MASTER, "--outbox", outbox, *extra)


def test_split_writes_into_the_quarter_folder_and_keeps_a_file_that_differs(tmp_path):
    outbox = tmp_path / "outbox"
    folder = outbox / "2022年第一季度"
    assert layout.quarter_folder(2022, 1) == "2022年第一季度"
    first = _split(outbox)
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[-1] == f"已生成 12 个模板，位于 {folder}/"
    made = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert len(made) == 12 and sorted(outbox.iterdir()) == [folder]

    # Identical: left alone, said so.
    mtimes = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    again = _split(outbox)
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[-1] == f"12 个模板位于 {folder}/：未改变 12 个"
    assert again.stdout.count("（未改变）") == 12
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == mtimes

    # A filled return saved over a template, and one template deleted.
    yl = folder / "2022年第一季度工作目标完成情况-养老服务处.xlsx"
    fill_template(yl, tmp_path / "filled.xlsx", sample_fills("养老服务处"))
    filled = (tmp_path / "filled.xlsx").read_bytes()
    yl.write_bytes(filled)
    gone = folder / "2022年第一季度工作目标完成情况-社会救助处.xlsx"
    gone.unlink()
    kept = _split(outbox)
    assert kept.exit_code == 1
    assert yl.read_bytes() == filled
    assert gone.read_bytes() == made[gone.name]
    assert f"{yl.name}（已保留原文件，未覆盖）" in kept.stdout
    assert kept.stdout.splitlines()[-1] == (
        f"12 个模板位于 {folder}/：已生成 1 个，未改变 10 个，已保留 1 个"
    )
    assert kept.stderr == (
        "未覆盖：以下 1 个文件与本次生成的模板不同（可能已被填写，或是按修改前的分解方案生成的），"
        f"已原样保留：\n  {yl}\n"
        "请把需要保留的文件移到别处后重新运行；确认可以覆盖时，加 --force 重新运行。\n"
    )

    forced = _split(outbox, "--force")
    assert forced.exit_code == 0, forced.output
    assert f"{yl.name}（已覆盖）" in forced.stdout
    assert forced.stdout.splitlines()[-1] == f"12 个模板位于 {folder}/：已覆盖 1 个，未改变 11 个"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == made


def test_split_of_two_quarters_keeps_both(tmp_path):
    assert _split(tmp_path).exit_code == 0
    second = run_cli("split", "-q", "2", "--master", SHIPPED_MASTER, "--outbox", tmp_path)
    assert second.exit_code == 0, second.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2022年第一季度", "2022年第二季度"]
    assert all(len(list(p.iterdir())) == 12 for p in tmp_path.iterdir())


# ---------------------------------------------------------------------------- demo


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_demo_runs_twice_in_its_own_folder(tmp_path, soffice):
    where = tmp_path / "演示"
    first = run_cli("demo", where, "--master", SHIPPED_MASTER)
    assert first.exit_code == 0, first.output
    written = _files(where)
    assert MARKER in written
    assert "outbox/2022年第一季度工作目标完成情况汇总.xlsx" in written
    assert sum(1 for f in written if f.startswith("outbox/2022年第一季度/")) == 12
    assert sum(1 for f in written if f.startswith("inbox/")) == 10
    recorded = json.loads((where / MARKER).read_text(encoding="utf-8"))["files"]
    assert set(recorded) == written - {MARKER}
    assert f"模板：{where}/outbox/2022年第一季度/" in first.output

    second = run_cli("demo", where, "--master", SHIPPED_MASTER)
    assert second.exit_code == 0, second.output
    assert _files(where) == written


@pytest.mark.parametrize(
    "planted",
    [
        "inbox/2022年第一季度工作目标完成情况-养老服务处.xlsx",  # a real return in demo/inbox
        "笔记.txt",
        "outbox/2022年第一季度/别人的.xlsx",
    ],
)
def test_demo_refuses_a_folder_with_files_it_did_not_write(tmp_path, planted):
    where = tmp_path / "demo"
    (where / planted).parent.mkdir(parents=True)
    (where / planted).write_bytes(b"someone's work")
    before = tree_digest(where)
    result = run_cli("demo", where, "--master", SHIPPED_MASTER)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"错误：文件夹 {where} 中有演示以外的文件，演示不会在这里运行")
    assert f"{planted}（不是演示写入的）" in result.stderr
    assert tree_digest(where) == before
    assert not (where / MARKER).exists()


def test_demo_refuses_a_folder_after_an_earlier_demo_if_a_file_was_added_or_changed(
    tmp_path, monkeypatch
):
    monkeypatch.setattr("workbook_tools.demo.resave_with_libreoffice", lambda *a: None)
    where = tmp_path / "demo"
    assert run_cli("demo", where, "--master", SHIPPED_MASTER).exit_code == 0
    summary = where / "outbox" / "2022年第一季度工作目标完成情况汇总.xlsx"
    summary.write_bytes(summary.read_bytes() + b"edited")
    real = where / "inbox" / "真实的报送文件.xlsx"
    real.write_bytes(b"a real return")
    before = tree_digest(where)
    result = run_cli("demo", where, "--master", SHIPPED_MASTER)
    assert result.exit_code == 1
    assert "inbox/真实的报送文件.xlsx（不是演示写入的）" in result.stderr
    assert "outbox/2022年第一季度工作目标完成情况汇总.xlsx（演示写入后被改动过）" in result.stderr
    assert tree_digest(where) == before


def test_demo_in_a_project_folder_refuses_and_touches_nothing(tmp_path):
    project = tmp_path / "project"
    templates = split_shipped(project / "outbox")
    (project / "master").mkdir()
    (project / "master" / "分解方案.xlsx").write_bytes(SHIPPED_MASTER.read_bytes())
    (project / "inbox").mkdir()
    fill_template(
        templates["养老服务处"],
        project / "inbox" / templates["养老服务处"].name,
        sample_fills("养老服务处"),
    )
    before = tree_digest(project)
    old = Path.cwd()
    os.chdir(project)
    try:
        result = run_cli("demo", ".")
    finally:
        os.chdir(old)
    assert result.exit_code == 1
    assert "演示不会在这里运行" in result.stderr
    assert tree_digest(project) == before
    assert _files(project) == set(before)


def test_demo_marker_cannot_make_it_delete_anything_else(tmp_path, monkeypatch):
    monkeypatch.setattr("workbook_tools.demo.resave_with_libreoffice", lambda *a: None)
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    where = tmp_path / "demo"
    assert run_cli("demo", where, "--master", SHIPPED_MASTER).exit_code == 0
    marker = json.loads((where / MARKER).read_text(encoding="utf-8"))
    marker["files"]["../outside.txt"] = ""
    marker["files"]["/etc/hostname"] = ""
    (where / MARKER).write_text(json.dumps(marker), encoding="utf-8")
    assert run_cli("demo", where, "--master", SHIPPED_MASTER).exit_code == 0
    assert outside.read_text() == "keep me"

    (where / MARKER).write_text("not json", encoding="utf-8")
    before = tree_digest(where)
    broken = run_cli("demo", where, "--master", SHIPPED_MASTER)
    assert broken.exit_code == 1
    assert f"演示记录 {MARKER} 无法识别" in broken.stderr
    assert tree_digest(where) == before


def test_demo_takes_back_a_file_it_was_writing_when_cut_short(tmp_path, monkeypatch):
    # Entered in the marker with an empty digest before it is written: whatever is there is ours.
    monkeypatch.setattr("workbook_tools.demo.resave_with_libreoffice", lambda *a: None)
    where = tmp_path / "demo"
    assert run_cli("demo", where, "--master", SHIPPED_MASTER).exit_code == 0
    marker = json.loads((where / MARKER).read_text(encoding="utf-8"))
    half = "outbox/2022年第一季度工作目标完成情况汇总.xlsx"
    marker["files"][half] = ""
    (where / MARKER).write_text(json.dumps(marker), encoding="utf-8")
    (where / half).write_bytes(b"half written")
    (where / f".{MARKER}.tmp-999999").write_text("{")
    again = run_cli("demo", where, "--master", SHIPPED_MASTER)
    assert again.exit_code == 0, again.output
    assert not (where / f".{MARKER}.tmp-999999").exists()
    assert (where / half).read_bytes()[:2] == b"PK"
