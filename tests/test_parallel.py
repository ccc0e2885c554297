"""The process pool gives the same results, in the same order, as doing the work here."""

from __future__ import annotations

import os
import time

import pytest
from conftest import POOL_OK, no_children

from workbook_tools import parallel
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
    from workbook_tools import merge as merge_module
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
    fresh = Master("m.xlsx", "Sheet1", "2022年方案", 2022, tasks)
    merge_module.precheck(fresh, 2022, 1)
    assert seen == [True]
    assert {"_tasks_by_division", "_tasks_by_number", "divisions", "content_hash"} <= set(
        vars(fresh)
    )
    # The hash precheck and merge compare (once: it hashes every task) is the Master's own.
    assert fresh.content_hash == hash(fresh) == hash(master)
