"""Worker processes give the same results, in the same order, as doing the work here, whether
they are forked or spawned (as on Windows and macOS); a file that kills the process reading it
is refused, and the others are read."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest
from conftest import POOL_OK

from workbook_tools import inbox as inbox_module
from workbook_tools import report, report_text, template_files, workers
from workbook_tools.errors import OutputError
from workbook_tools.inbox import KILLED_READER, Collected, Rejected, collect, read_inbox_file
from workbook_tools.merge import merge
from workbook_tools.model import Master, Task
from workbook_tools.template import build_template
from workbook_tools.template_files import write_templates


@pytest.mark.parametrize("method", ["spawn", None])
def test_split_in_worker_processes_writes_the_bytes_written_here(tmp_path, method):
    # Spawned workers (as on Windows and macOS) get the master by pickling; the default start
    # method is what Linux users get.
    divisions = [f"第{i}处" for i in range(40)]
    tasks = tuple(
        Task(
            str(n),
            str(n),
            f"第{n}项工作任务，内容较长，需要换行显示。（牵头单位：市民政局；责任单位：各区人民政府）",
            "张三",
            (divisions[n % 40],),
            (divisions[(n + 7) % 40], divisions[(n + 13) % 40]),
            False,
            ("政府工作报告",),
        )
        for n in range(1, 121)
    )
    master = Master("m.xlsx", "Sheet1", "2022年方案", 2022, tasks)
    context = multiprocessing.get_context(method) if method else None
    seen = []
    pooled = write_templates(
        master, 2022, 2, tmp_path / "pooled", progress=seen.append, processes=2, mp_context=context
    )
    here = write_templates(master, 2022, 2, tmp_path / "here", processes=0)
    assert [i.division for i in pooled] == list(master.divisions)
    assert sorted(master.divisions) == sorted(divisions)
    assert sum(seen) == 40
    assert [(i.division, i.path.name, i.led, i.assisted, i.state) for i in pooled] == [
        (i.division, i.path.name, i.led, i.assisted, i.state) for i in here
    ]
    for a, b in zip(pooled, here, strict=True):
        assert a.path.read_bytes() == b.path.read_bytes()
    assert not multiprocessing.active_children()


def test_split_default_gives_the_same_files_small_or_large(tmp_path):
    # Whether write_templates chooses workers or not, the files are those built one by one.
    for count in (3, template_files.POOL_MIN_ROWS // 2 + 1):  # two rows a task: at the threshold
        tasks = tuple(
            Task(str(n), str(n), f"第{n}项工作", "张三", ("甲处",), ("乙处",), False, ())
            for n in range(1, count + 1)
        )
        master = Master("m.xlsx", "Sheet1", "2022年方案", 2022, tasks)
        infos = write_templates(master, 2022, 1, tmp_path / str(count))
        for info in infos:
            assert info.path.read_bytes() == build_template(master, info.division, 2022, 1)
    assert not multiprocessing.active_children()


# --- Reading the inbox in worker processes ----------------------------------------------------
# The readers below are module-level: the workers get them by pickling, by name, also when they
# are spawned (as on Windows and macOS), which the tests use on Linux too.


def reader_that_dies_on_some(inbox, rel):
    """Reads as collect does, but kills its process on files named killer*, as python-calamine
    does when it aborts."""
    if Path(rel).name.startswith("killer"):
        os._exit(70)
    return read_inbox_file(inbox, rel)


def reader_with_a_bug(inbox, rel):
    if rel == "zz.xlsx":
        raise KeyError("a bug")
    return read_inbox_file(inbox, rel)


def reader_telling_its_process(inbox, rel):
    return [], [Rejected(rel, str(os.getpid()))], []


def returns_inbox(folder: Path, count: int, extra: dict[str, bytes] | None = None) -> Path:
    from test_returns import build_return

    folder.mkdir()
    for i in range(count):
        build_return(folder / f"{i:02d}.xlsx", division=("养老服务处", "社会救助处")[i % 2])
    for name, data in (extra or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize("method", ["spawn", None])
def test_collect_in_worker_processes_gives_what_collect_here_gives(tmp_path, method):
    inbox = returns_inbox(tmp_path / "inbox", 9, {"坏.xlsx": b"PK\x03\x04broken", "说明.txt": b"x"})
    context = multiprocessing.get_context(method) if method else None
    done: list[int] = []
    pooled = collect(inbox, progress=done.append, processes=2, mp_context=context)
    assert sum(done) == 11
    assert len(pooled.returns) == 9 and [r.source for r in pooled.rejected] == [
        "坏.xlsx",
        "说明.txt",
    ]
    assert pooled == collect(inbox, processes=0)


@pytest.mark.parametrize(
    "killers",
    [("killer.xlsx",), ("a/killer1.xlsx", "killer2.xlsx"), ("00/killer.xlsx", "zz/killer.xlsx")],
)
def test_a_file_that_kills_its_reader_is_refused_and_the_run_goes_on(tmp_path, killers):
    # Whether it is alone in flight or beside others when its worker dies, the killer is found
    # and refused; the others are read; it is never read in this process (which it would kill).
    inbox = returns_inbox(tmp_path / "inbox", 10, {name: b"whatever" for name in killers})
    done: list[int] = []
    got = collect(
        inbox,
        progress=done.append,
        reader=reader_that_dies_on_some,
        processes=2,
        mp_context=multiprocessing.get_context("spawn"),
    )
    assert sum(done) == 10 + len(killers)
    assert [(r.source, r.reason) for r in got.rejected] == [(k, KILLED_READER) for k in killers]
    assert [r.source for r in got.returns] == [f"{i:02d}.xlsx" for i in range(10)]
    assert got.returns == collect(inbox, processes=0, reader=reader_with_a_bug).returns


def test_a_reader_that_raises_refuses_that_file_in_workers_and_here(tmp_path):
    inbox = returns_inbox(tmp_path / "inbox", 3, {"zz.xlsx": b"whatever"})
    for processes in (2, 0):
        got = collect(inbox, reader=reader_with_a_bug, processes=processes)
        assert [(r.source, r.reason) for r in got.rejected] == [
            ("zz.xlsx", "读取时出现意外错误（KeyError: 'a bug'）")
        ]
        assert len(got.returns) == 3


def test_workers_only_where_they_pay(tmp_path):
    few = returns_inbox(tmp_path / "few", 3)
    pids = {r.reason for r in collect(few, reader=reader_telling_its_process).rejected}
    assert pids == {str(os.getpid())}  # three small files: read here
    many = returns_inbox(tmp_path / "many", inbox_module.POOL_MIN_FILES)
    pids = {r.reason for r in collect(many, reader=reader_telling_its_process).rejected}
    if POOL_OK:
        assert str(os.getpid()) not in pids and len(pids) >= 2
    else:
        assert pids == {str(os.getpid())}


# --- One piece of work beside another: the draft 通报 beside the summary ----------------------


def pid_and(value):
    return os.getpid(), value


def raises_output_error(path):
    raise OutputError("无法写入", file=str(path))


def dies_unless_in(pid):
    if os.getpid() != pid:
        os._exit(70)  # as a worker killed from outside
    return "here"


@pytest.mark.parametrize("method", ["spawn", None])
def test_beside_runs_in_another_process_and_gives_the_result(method):
    context = multiprocessing.get_context(method) if method else None
    pid, value = workers.beside(pid_and, [1, "二"], mp_context=context)()
    assert value == [1, "二"] and pid != os.getpid()
    assert not multiprocessing.active_children()


def test_beside_raises_what_the_work_raised(tmp_path):
    with pytest.raises(OutputError, match="无法写入"):
        workers.beside(raises_output_error, tmp_path / "x.docx")()


def test_beside_does_the_work_here_when_the_worker_dies():
    assert workers.beside(dies_unless_in, os.getpid())() == "here"
    assert not multiprocessing.active_children()


def test_a_large_draft_written_in_a_worker_is_the_draft_written_here(tmp_path):
    tasks = tuple(
        Task(str(n), str(n), f"第{n}项工作", "张三", (f"第{n % 7}处",), (), False, ())
        for n in range(1, report.BESIDE_MIN_ROWS + 2)
    )
    master = Master("m.xlsx", "Sheet1", "2022年方案", 2022, tasks)
    summary = merge(master, Collected((), (), ()), 2022, 1)
    assert len(report_text.compose(summary).table) >= report.BESIDE_MIN_ROWS
    drafting = report.start_report(summary, tmp_path / "beside.docx")
    here = report.write_report(summary, tmp_path / "here.docx")
    assert drafting().read_bytes() == here.read_bytes()
