"""The cache of parsed masters the commands use: same plan as parsing, never a stale one, and
never a reason to fail."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shutil
import sys
from pathlib import Path

import pytest
from builders import SHIPPED_MASTER, run_cli
from openpyxl import load_workbook

from workbook_tools import cache, master, model
from workbook_tools.master import read_master
from workbook_tools.model import Master, Task


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    """An empty cache folder of this test's own."""
    out = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV, str(out))
    return out


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """The sources actually parsed (not taken from the cache) during the test."""
    seen: list[str] = []
    real = master._parse

    def spy(data: bytes, source: str):
        seen.append(source)
        return real(data, source)

    monkeypatch.setattr(master, "_parse", spy)
    return seen


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{cache.SUFFIX}"))


def test_a_cached_master_is_the_parsed_one_read_from_where_it_is_now(tmp_path, folder, parses):
    copy = tmp_path / "copy.xlsx"
    shutil.copyfile(SHIPPED_MASTER, copy)
    first = read_master(SHIPPED_MASTER, cached=True)
    again = read_master(copy, cached=True)  # same bytes, another path
    assert parses == [str(SHIPPED_MASTER)]
    assert len(entries(folder)) == 1
    assert again.source == str(copy)
    assert first.source == str(SHIPPED_MASTER)
    plain = read_master(copy)
    assert again == plain
    assert again.warnings == plain.warnings
    assert again.divisions == plain.divisions and again.assignments == plain.assignments


def test_an_edited_master_is_parsed_again(tmp_path, folder, parses):
    edited = tmp_path / "edited.xlsx"
    wb = load_workbook(SHIPPED_MASTER)
    ws = wb.worksheets[0]
    cell = next(c for row in ws.iter_rows() for c in row if "儿童福利处" in str(c.value))
    cell.value = cell.value.replace("儿童福利处", "儿童福利处（改）")
    wb.save(edited)
    shutil.copyfile(SHIPPED_MASTER, tmp_path / "same.xlsx")
    read_master(tmp_path / "same.xlsx", cached=True)
    shutil.copyfile(edited, tmp_path / "same.xlsx")  # the coordinator saves over it
    changed = read_master(tmp_path / "same.xlsx", cached=True)
    assert len(parses) == 2
    assert "儿童福利处（改）" in changed.divisions
    assert len(entries(folder)) == 2


def test_other_code_never_meets_an_old_entry(folder, parses, monkeypatch):
    read_master(SHIPPED_MASTER, cached=True)
    monkeypatch.setattr(cache, "code_version", lambda: "another version of the parser")
    read_master(SHIPPED_MASTER, cached=True)
    assert len(parses) == 2
    assert len(entries(folder)) == 2


def test_a_damaged_entry_is_dropped_and_the_master_parsed(folder, parses):
    expected = read_master(SHIPPED_MASTER, cached=True)
    [entry] = entries(folder)
    for damage in (entry.read_bytes()[:100], b"not a pickle", b""):
        entry.write_bytes(damage)
        assert read_master(SHIPPED_MASTER, cached=True) == expected
    assert len(parses) == 4
    assert entry.read_bytes()[:100] != b"not a pickle"[:100]  # written again, whole


def test_an_entry_that_is_not_a_master_is_not_used(folder, parses):
    read_master(SHIPPED_MASTER, cached=True)
    [entry] = entries(folder)
    cache.store(entry.name.removesuffix(cache.SUFFIX), {"tasks": ()})
    assert read_master(SHIPPED_MASTER, cached=True).tasks
    assert len(parses) == 2


@pytest.mark.parametrize(
    "spoil",
    [
        lambda d: d["tasks"][0].__setitem__(0, 1),  # 序号 a number, not text
        lambda d: d["tasks"][0].__setitem__(4, "养老服务处"),  # 牵头处室 text, not a list
        lambda d: d["tasks"][0].__setitem__(6, "yes"),  # bureau_leads not a bool
        lambda d: d["tasks"][0].pop(),  # a field short
        lambda d: d["tasks"].append("not a row"),
        lambda d: d.__setitem__("year", "2022"),
        lambda d: d.__setitem__("warnings", "一条警告"),
        lambda d: d.pop("title"),
    ],
)
def test_an_entry_of_the_wrong_shape_is_not_used(folder, parses, spoil):
    expected = read_master(SHIPPED_MASTER, cached=True)
    [entry] = entries(folder)
    data = json.loads(entry.read_text(encoding="utf-8"))
    spoil(data)
    entry.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert read_master(SHIPPED_MASTER, cached=True) == expected
    assert len(parses) == 2


def test_an_entry_is_json_so_loading_one_runs_no_code(folder, parses, tmp_path):
    # A pickle planted where an entry goes would run code when unpickled; JSON cannot.
    read_master(SHIPPED_MASTER, cached=True)
    [entry] = entries(folder)
    json.loads(entry.read_text(encoding="utf-8"))  # plain JSON, readable by anything
    marker = tmp_path / "ran"
    entry.write_bytes(pickle.dumps(_Planted(str(marker))))
    assert read_master(SHIPPED_MASTER, cached=True).tasks
    assert not marker.exists()
    assert len(parses) == 2


class _Planted:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path(self.path).touch, ())


def test_every_field_of_a_master_is_kept_and_checked():
    # A new field of another type would make every entry look damaged (always parsed again).
    # (targets are written by model._targets_to_data and checked in tests/test_targets.py)
    types = {"str", "bool", "int", "tuple[str, ...]", "tuple[Target, ...]"}
    assert {f.type for f in dataclasses.fields(Task)} <= types
    fields = [f.name for f in dataclasses.fields(Task) if f.name != "targets"]
    assert [name for name, _ in model._TASK_FIELDS] == fields
    kept = {"source", "year", "tasks", "warnings", "schedule", *model._MASTER_TEXTS}
    assert {f.name for f in dataclasses.fields(Master)} == kept


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_cache_that_cannot_be_written_is_no_error(tmp_path, monkeypatch, parses):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    monkeypatch.setenv(cache.ENV, str(locked / "cache"))
    try:
        assert read_master(SHIPPED_MASTER, cached=True).tasks
        assert read_master(SHIPPED_MASTER, cached=True).tasks
    finally:
        locked.chmod(0o700)
    assert len(parses) == 2


def test_a_cache_folder_that_is_a_file_is_no_error(tmp_path, monkeypatch, parses):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv(cache.ENV, str(blocker))
    assert read_master(SHIPPED_MASTER, cached=True).tasks
    assert read_master(SHIPPED_MASTER, cached=True).tasks
    assert len(parses) == 2
    assert blocker.read_text(encoding="utf-8") == "not a folder"


@pytest.mark.parametrize("value", ["off", "0", "", "FALSE", " no "])
def test_the_cache_can_be_turned_off(tmp_path, monkeypatch, parses, value):
    monkeypatch.setenv(cache.ENV, value)
    monkeypatch.chdir(tmp_path)
    read_master(SHIPPED_MASTER, cached=True)
    read_master(SHIPPED_MASTER, cached=True)
    assert len(parses) == 2
    assert list(tmp_path.iterdir()) == []


def test_without_the_variable_the_cache_is_the_users(tmp_path, monkeypatch):
    monkeypatch.delenv(cache.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    found = cache.cache_dir()
    assert found is not None and "workbook-tools" in found.parts
    if os.name == "posix" and os.uname().sysname == "Linux":
        assert found == tmp_path / "xdg" / "workbook-tools"


def test_no_home_folder_means_no_cache_not_an_error(monkeypatch, parses):
    # Path.home() raises RuntimeError when neither HOME nor the password database names one
    # (some service accounts and containers).
    def no_home():
        raise RuntimeError("Could not determine home directory.")

    for name in (cache.ENV, "XDG_CACHE_HOME", "HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    if os.name == "posix" and sys.platform != "darwin":
        assert cache.cache_dir() is None
    assert read_master(SHIPPED_MASTER, cached=True).tasks
    assert read_master(SHIPPED_MASTER, cached=True).tasks


def name(i: int) -> str:
    """An entry name of the form keys take (a SHA-256 hex digest)."""
    return f"{i:064x}"


def test_the_least_recently_used_entries_go_first(folder):
    for i in range(cache.KEEP + 3):
        cache.store(name(i), i)
        os.utime(folder / f"{name(i)}{cache.SUFFIX}", (1000 + i, 1000 + i))
    assert cache.load(name(0)) is None  # pruned when the 17th came
    assert cache.load(name(3)) == 3  # used now: newest
    cache.store(name(99), "x")
    names = {p.name.removesuffix(cache.SUFFIX) for p in entries(folder)}
    assert len(names) == cache.KEEP
    assert {name(3), name(99)} <= names
    assert name(4) not in names  # the least recently used of what was left


def test_pruning_leaves_other_files_alone(tmp_path, monkeypatch):
    # WORKBOOK_TOOLS_CACHE may name a folder that holds other things, say the JSON a merge
    # wrote with --json: only the cache's own entries and temporary files are ever deleted.
    monkeypatch.setenv(cache.ENV, str(tmp_path))
    mine = ["result.json", "notes.json", ".result.json.tmp-1", "汇总.xlsx"]
    for other in mine:
        (tmp_path / other).write_text("keep me", encoding="utf-8")
        os.utime(tmp_path / other, (1000, 1000))
    for i in range(cache.KEEP + 5):
        cache.store(name(i), i)
    assert sorted(
        p.name for p in tmp_path.iterdir() if not p.name.startswith(("0", "."))
    ) == sorted(n for n in mine if not n.startswith("."))
    assert (tmp_path / ".result.json.tmp-1").exists()
    assert len([p for p in entries(tmp_path) if len(p.stem) == 64]) == cache.KEEP


def test_a_temporary_file_a_killed_run_left_is_removed(folder):
    cache.store(name(1), 1)
    stale = folder / f".{name(7)}.tmp-999999"
    stale.write_bytes(b"half an entry")
    os.utime(stale, (1000, 1000))
    fresh = folder / f".{name(8)}.tmp-999998"
    fresh.write_bytes(b"another run writing now")
    cache.store(name(2), 2)
    assert not stale.exists()
    assert fresh.exists()
    assert cache.load(name(1)) == 1 and cache.load(name(2)) == 2


def test_split_then_merge_parse_the_master_once_and_print_its_warnings(tmp_path, folder, parses):
    for command in (
        ["split", "-q", "1", "--outbox", tmp_path / "outbox"],
        ["merge", "-q", "1", "--inbox", tmp_path / "outbox", "--out", tmp_path / "s.xlsx"],
    ):
        result = run_cli(*command, "--master", SHIPPED_MASTER)
        assert result.exit_code == 0, result.output
        assert "分解方案：" in result.output and "17 项事项" in result.output
    assert parses == [str(SHIPPED_MASTER)]
    assert len(entries(folder)) == 1


def test_a_master_that_cannot_be_read_is_not_cached(tmp_path, folder):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    for _ in range(2):
        result = run_cli("split", "-q", "1", "--master", bad, "--outbox", tmp_path / "o")
        assert result.exit_code == 1
        assert "bad.xlsx" in result.output
    assert entries(folder) == []
