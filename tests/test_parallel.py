"""The process pools give the same results, in the same order, as doing the work here; a file
that kills the process reading it is refused, and the others are read."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest
from conftest import POOL_OK, no_children

from workbook_tools import inbox as inbox_module
from workbook_tools import parallel
from workbook_tools.inbox import KILLED_READER, Rejected, collect, read_inbox_file
from workbook_tools.model import Master, Task
from workbook_tools.template import build_template, write_templates


def test_ordered_map_keeps_order_and_runs_closures():
    offset = 1000
    items = list(range(200))
    assert list(parallel.ordered_map(lambda x: (x + offset, os.getpid()), items))[5][0] == 1005
    results = list(parallel.ordered_map(lambda x: x * x + offset, items))
    assert results == [x * x + offset for x in items]


@pytest.mark.skipif(parallel.workers() < 2, reason="needs two CPUs to use a pool")
def test_ordered_map_really_uses_other_processes():
    pids = {pid for pid in parallel.ordered_map(lambda _: os.getpid(), range(100))}
    assert pids - {os.getpid()}


def test_ordered_map_propagates_errors():
    def boom(x):
        if x == 50:
            raise ValueError("boom")
        return x

    with pytest.raises(ValueError, match="boom"):
        list(parallel.ordered_map(boom, range(100)))


def test_pooled_split_writes_the_same_bytes_as_serial(tmp_path):
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
    seen = []
    infos = write_templates(master, 2022, 2, tmp_path, progress=seen.append)
    assert [i.division for i in infos] == list(master.divisions)
    assert sorted(master.divisions) == sorted(divisions)
    assert sum(seen) == 40
    for info in infos:
        assert info.path.read_bytes() == build_template(master, info.division, 2022, 2)


def test_few_divisions_with_many_rows_use_the_pool(tmp_path, pool_maps):
    from workbook_tools import template

    tasks = tuple(
        Task(str(n), str(n), f"第{n}项工作", "张三", ("甲处",), ("乙处",), False, ())
        for n in range(1, template.POOL_MIN_ROWS // 2 + 2)
    )
    master = Master("m.xlsx", "Sheet1", "2022年方案", 2022, tasks)
    assert len(master.assignments) >= template.POOL_MIN_ROWS and len(master.divisions) == 2
    infos = write_templates(master, 2022, 1, tmp_path)
    if POOL_OK:
        assert pool_maps, "the pool was not used"
    for info in infos:
        assert info.path.read_bytes() == build_template(master, info.division, 2022, 1)


def test_beside_runs_in_another_process_and_gives_the_result():
    here = os.getpid()
    got = parallel.beside(lambda: (os.getpid(), [1, 2, 3]))()
    assert got[1] == [1, 2, 3]
    if POOL_OK:
        assert got[0] != here


def test_beside_raises_what_the_work_raised():
    def boom():
        raise ValueError("坏了")

    with pytest.raises(ValueError, match="坏了"):
        parallel.beside(boom)()


def test_beside_does_the_work_here_when_the_worker_dies(pool_maps):
    def dies_in_a_worker():
        if parallel._in_worker:
            os._exit(1)  # as python-calamine does when it aborts
        return os.getpid()

    assert parallel.beside(dies_in_a_worker)() == os.getpid()
    assert no_children()
    if POOL_OK:
        assert pool_maps, "no worker was started"


@pytest.mark.parametrize("count", [40, 3000])  # 3,000: queued in chunks of three
def test_ordered_map_does_here_what_a_dead_worker_left(pool_maps, count):
    def dies_at_7(x):
        if x == 7 and parallel._in_worker:
            os._exit(1)
        return x * 2, parallel._in_worker

    got = list(parallel.ordered_map(dies_at_7, range(count)))
    assert [x for x, _ in got] == [x * 2 for x in range(count)]
    assert no_children()
    if POOL_OK:
        assert pool_maps and got[7][1] is False and any(w for _, w in got)


@pytest.mark.skipif(not POOL_OK, reason="needs worker processes")
def test_ordered_map_workers_take_work_as_they_become_free():
    def slow_first(x):
        time.sleep(0.8 if x == 0 else 0.002)
        return os.getpid()

    pids = list(parallel.ordered_map(slow_first, range(40), min_items=2))
    assert pids[0] != os.getpid()
    # The worker held up by item 0 leaves the other items to the free one (a fixed share each
    # would have given it every other item).
    assert pids.count(pids[0]) <= 3
    assert no_children()


def test_ordered_map_error_stops_and_reaps_the_workers():
    def slow_or_boom(x):
        if x == 3:
            raise KeyError("三")
        if parallel._in_worker:
            time.sleep(0.01)
        return x

    with pytest.raises(KeyError, match="三"):
        list(parallel.ordered_map(slow_or_boom, range(300)))
    assert no_children()


def test_ordered_map_left_early_reaps_the_workers():
    results = parallel.ordered_map(lambda x: x, range(1000))
    assert next(results) == 0
    results.close()
    assert no_children()


def test_unpicklable_error_comes_back_as_runtime_error():
    class Odd(Exception):
        def __init__(self, a, b):  # a local class: cannot be pickled
            super().__init__(f"{a}-{b}")

    def boom(x):
        raise Odd(1, 2)

    with pytest.raises((RuntimeError, Odd), match="1-2"):
        list(parallel.ordered_map(boom, range(40)))
    assert no_children()


def test_master_lookups_are_built_before_workers_fork(tmp_path, monkeypatch):
    # Built in the parent, the workers inherit them instead of each building its own.
    from workbook_tools import template

    divisions = [f"第{i}处" for i in range(3)]
    tasks = tuple(
        Task(str(n), str(n), f"第{n}项", "张三", (divisions[n % 3],), (), False, ())
        for n in range(1, 200)
    )
    seen = []
    real = parallel.ordered_map

    def spy(func, items, **kw):
        seen.append({"_tasks_by_division", "_tasks_by_number", "divisions"} <= set(vars(master)))
        return real(func, items, **kw)

    monkeypatch.setattr(template, "ordered_map", spy)
    master = Master("m.xlsx", "Sheet1", "2022年方案", 2022, tasks)
    write_templates(master, 2022, 1, tmp_path)
    assert seen == [True]


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
