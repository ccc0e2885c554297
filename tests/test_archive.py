"""The archive: schema versions and migrations, one transaction a quarter, idempotence,
interruptions (an exception, a killed process), and rows made from a real merge."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pytest
from builders import SHIPPED_MASTER, fill_all, split_shipped

from workbook_tools.archive import (
    ARCHIVE_NAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    Archive,
    ArchiveRow,
    default_path,
    numbers_json,
    rows_from_summary,
)
from workbook_tools.errors import InputError
from workbook_tools.master import read_master


def row(quarter=1, division="养老服务处", task="3", answer="新建12个", numbers=None, year=2022):
    return ArchiveRow(
        year=year,
        quarter=quarter,
        division=division,
        task=task,
        role="牵头",
        answer=answer,
        status="按序时推进",
        plan="",
        numbers=numbers_json(numbers or {}),
        source=f"{division}.xlsx",
        sha256="ab" * 32,
        recorded="",
    )


def dump(path) -> list[str]:
    """The archive's schema and rows as SQL, in order (rows in the order they are stored)."""
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def contents(archive, year, quarter):
    return [r.content() for r in archive.answers(year, quarter)]


def test_a_new_archive_has_the_latest_schema(tmp_path):
    path = tmp_path / "sub" / ARCHIVE_NAME
    with Archive(path) as archive:
        assert archive.version == SCHEMA_VERSION == MIGRATIONS[-1][0]
        assert archive.answers(2022, 1) == [] and archive.quarters() == []
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    assert tables == {"schema_version", "answers", "merges", "send_log"}


def test_an_older_archive_is_migrated_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # what version 1 of the tool left
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version VALUES (1)")
        for sql in MIGRATIONS[0][1]:
            db.execute(sql)
        db.execute(
            "INSERT INTO answers VALUES (2022, 1, '养老服务处', '3', '牵头', '旧答复', '', '', '{}', "
            "'a.xlsx', '', '2022-04-01T00:00:00+08:00')"
        )
        db.execute("INSERT INTO merges VALUES (2022, 1, 1, '2022-04-01T00:00:00+08:00')")
    db.close()
    with Archive(path) as archive:
        assert archive.version == SCHEMA_VERSION
        assert [r.answer for r in archive.answers(2022, 1)] == ["旧答复"]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM send_log").fetchone() == (0,)
    db.close()


def test_an_archive_from_a_newer_tool_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    db.close()
    with pytest.raises(InputError) as err:
        Archive(path)
    assert str(err.value) == (
        f"文件 {path}：档案版本为 {SCHEMA_VERSION + 1}，本工具只认识到版本 {SCHEMA_VERSION}；"
        "请使用更新版本的 workbook-tools"
    )


def test_a_file_that_is_not_an_archive_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "x.sqlite"
    path.write_bytes(b"PK\x03\x04 not a database")
    with pytest.raises(InputError) as err:
        Archive(path)
    assert "不是工作目标档案（SQLite 数据库）" in str(err.value)
    assert path.read_bytes() == b"PK\x03\x04 not a database"


def test_default_path_is_beside_the_master(tmp_path):
    assert default_path(tmp_path / "master" / "分解方案.xlsx") == tmp_path / "master" / ARCHIVE_NAME


def test_recording_replaces_the_quarter_only(tmp_path):
    with Archive(tmp_path / "a.sqlite") as archive:
        archive.record_quarter(2022, 1, [row(1, task="3"), row(1, task="4")])
        archive.record_quarter(2022, 2, [row(2, task="3")])
        assert archive.record_quarter(2022, 1, [row(1, task="5", answer="新")]) == 1
        assert [(r.task, r.answer) for r in archive.answers(2022, 1)] == [("5", "新")]
        assert [r.task for r in archive.answers(2022, 2)] == ["3"]
        assert archive.quarters() == [(2022, 1), (2022, 2)]
        archive.record_quarter(2022, 3, [])  # a quarter where nothing was accepted
        assert archive.quarters(2022) == [(2022, 1), (2022, 2), (2022, 3)]


def test_recording_the_same_rows_again_changes_nothing(tmp_path):
    path = tmp_path / "a.sqlite"
    rows = [row(1, task="3", numbers={"家庭养老床位": 800}), row(1, task="4")]
    with Archive(path) as archive:
        archive.record_quarter(2022, 1, rows, recorded="2022-04-10T09:00:00+08:00")
    first = dump(path)
    with Archive(path) as archive:
        archive.record_quarter(2022, 1, rows, recorded="2022-04-11T09:00:00+08:00")
        assert {r.recorded for r in archive.answers(2022, 1)} == {"2022-04-10T09:00:00+08:00"}
    assert dump(path) == first
    with Archive(path) as archive:  # in another order: the same rows, stored in that order
        archive.record_quarter(2022, 1, reversed(rows), recorded="2022-04-11T09:00:00+08:00")
    assert sorted(dump(path)) == sorted(first)
    with Archive(path) as archive:  # one answer changed: only it gets the new time
        archive.record_quarter(
            2022, 1, [rows[0], row(1, task="4", answer="改")], recorded="2022-04-12T09:00:00+08:00"
        )
        times = {r.task: r.recorded for r in archive.answers(2022, 1)}
    assert times == {"3": "2022-04-10T09:00:00+08:00", "4": "2022-04-12T09:00:00+08:00"}


def test_an_exception_mid_write_leaves_the_previous_rows(tmp_path):
    path = tmp_path / "a.sqlite"
    with Archive(path) as archive:
        archive.record_quarter(2022, 1, [row(1, task="3"), row(1, task="4")])
    before = dump(path)

    def rows_then_failure():
        yield row(1, task="5")
        yield row(1, task="6")
        raise RuntimeError("reading the inbox failed")

    with Archive(path) as archive:
        with pytest.raises(RuntimeError):
            archive.record_quarter(2022, 1, rows_then_failure())
        assert [r.task for r in archive.answers(2022, 1)] == ["3", "4"]
        with pytest.raises(ValueError):  # a row of another quarter
            archive.record_quarter(2022, 1, [row(1, task="7"), row(2, task="7")])
        with pytest.raises(sqlite3.IntegrityError):  # the same task twice
            archive.record_quarter(2022, 1, [row(1, task="7"), row(1, task="7")])
        assert [r.task for r in archive.answers(2022, 1)] == ["3", "4"]
    assert dump(path) == before


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from workbook_tools.archive import Archive, ArchiveRow

    def rows():
        for n in range(1, 1000):
            yield ArchiveRow(2022, 1, "养老服务处", str(100 + n), "牵头", "半途", "", "", "{}",
                             "x.xlsx", "", "")
            if n == 50:
                print("writing", flush=True)  # half the rows are in the open transaction
                time.sleep(60)

    with Archive(sys.argv[1]) as archive:
        archive.record_quarter(2022, 1, rows())
    """
)


def test_a_killed_process_leaves_a_consistent_archive(tmp_path):
    path = tmp_path / "a.sqlite"
    with Archive(path) as archive:
        archive.record_quarter(2022, 1, [row(1, task="3"), row(1, task="4")])
    before = dump(path)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "writing"
        assert path.with_name(path.name + "-journal").exists()  # the transaction is open
    finally:
        proc.kill()  # SIGKILL / TerminateProcess: no cleanup runs
        proc.wait(timeout=30)
        proc.stdout.close()
    with Archive(path) as archive:  # opening rolls the hot journal back
        assert [r.task for r in archive.answers(2022, 1)] == ["3", "4"]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    assert dump(path) == before


def test_previous_answers_are_the_last_recorded_quarter_of_the_year(tmp_path):
    with Archive(tmp_path / "a.sqlite") as archive:
        archive.record_quarter(2021, 4, [row(4, year=2021, answer="去年")])
        archive.record_quarter(2022, 1, [row(1, answer="一季度", numbers={"家庭养老床位": 500})])
        assert archive.previous_answers(2022, 1) == {}  # not last year's: other tasks
        archive.record_quarter(2022, 3, [row(3, answer="三季度")])
        previous = archive.previous_answers(2022, 3)  # the second quarter was never merged
        assert list(previous) == [("养老服务处", "3")]
        assert previous[("养老服务处", "3")].answer == "一季度"
        assert previous[("养老服务处", "3")].figures == {"家庭养老床位": 500}
        assert archive.previous_answers(2022, 4)[("养老服务处", "3")].answer == "三季度"
        assert [r.quarter for r in archive.history(2022)] == [1, 3]


def test_rows_from_a_real_merge(tmp_path):
    from workbook_tools.inbox import collect
    from workbook_tools.merge import merge

    master = read_master(SHIPPED_MASTER)
    templates = split_shipped(tmp_path / "outbox")
    fill_all(templates, tmp_path / "inbox", skip={"社会救助处"})
    collected = collect(tmp_path / "inbox")
    summary = merge(master, collected, 2022, 1)
    hashes = {r.source: r.sha256 for r in collected.returns}
    numbers = {("养老服务处", "4"): {"家庭养老床位": 900.0, "居家养老上门服务": None}}
    rows = rows_from_summary(summary, hashes, numbers, recorded="2022-04-10T09:00:00+08:00")
    assert len(rows) == len(summary.answers) > 0
    assert "社会救助处" not in {r.division for r in rows}
    path = tmp_path / "master" / ARCHIVE_NAME
    with Archive(path) as archive:
        archive.record_quarter(2022, 1, rows)
        got = {(r.division, r.task): r for r in archive.answers(2022, 1)}
    for a in summary.answers:
        r = got[(a.division, a.task_number)]
        assert (r.answer, r.status, r.plan, r.role, r.source) == (
            a.answer,
            a.status,
            a.plan,
            a.role,
            a.source,
        )
        assert r.sha256 == hashes[a.source] and len(r.sha256) == 64
    assert got[("养老服务处", "4")].figures == {"家庭养老床位": 900.0, "居家养老上门服务": None}
    # the same inbox merged again gives the same archive
    before = dump(path)
    again = merge(master, collect(tmp_path / "inbox"), 2022, 1)
    with Archive(path) as archive:
        archive.record_quarter(2022, 1, rows_from_summary(again, hashes, numbers))
    assert dump(path) == before


def test_a_summary_rebuilt_from_the_archive_flags_what_its_answers_show():
    from workbook_tools.archive import ArchiveRow
    from workbook_tools.master import read_master
    from workbook_tools.yearly import summary_from_archive

    master = read_master(SHIPPED_MASTER)
    division = "社会救助处"
    rows = []
    for i, task in enumerate(master.tasks_of(division)):
        answer, status = (
            [("", "按序时推进"), ("资金未到位", "滞后")][i] if i < 2 else ("做了", "按序时推进")
        )
        role = "牵头" if division in task.leads else "配合"
        rows.append(
            ArchiveRow(
                2022, 1, division, task.number, role, answer, status, "", "", "a.xlsx", "x", "t"
            )
        )
    summary = summary_from_archive(master, rows, 2022, 1)
    mine = [
        (f.kind, f.task)
        for f in summary.flags
        if f.division == division and f.kind in ("未填写", "进度滞后")
    ]
    first, second = (t.number for t in master.tasks_of(division)[:2])
    assert mine == [("未填写", first), ("进度滞后", second)]


def test_a_quarter_skipped_is_compared_with_what_came_before(tmp_path):
    from workbook_tools.archive import Archive, ArchiveRow
    from workbook_tools.yearly import previous_for_merge

    def row(quarter, answer, numbers):
        return ArchiveRow(2022, quarter, "养老服务处", "4", "牵头", answer, "按序时推进", "",
                          numbers, f"q{quarter}.xlsx", f"h{quarter}", "t")  # fmt: skip

    with Archive(tmp_path / "a.sqlite") as archive:
        archive.record_quarter(2022, 1, [row(1, "一季度", '{"床位": 900}')])
        archive.record_quarter(2022, 2, [])  # merged; 养老服务处 sent nothing
        assert previous_for_merge(archive, 2022, 3)[("养老服务处", "4")].quarter == 1
        archive.record_quarter(2022, 3, [row(3, "三季度", '{"床位": null}')])
        # Q3 reported no figure: Q4's answer is compared with Q3's, its figure with Q1's.
        kept = previous_for_merge(archive, 2022, 4)[("养老服务处", "4")]
        assert (kept.answer, kept.quarter) == ("三季度", 3)
        assert (kept.figures, kept.figures_quarter) == ({"床位": 900}, 1)


def test_the_year_sheet_judges_a_lead_as_the_summary_does():
    from workbook_tools.archive import ArchiveRow
    from workbook_tools.master import read_master
    from workbook_tools.yearly import year_rows

    master = read_master(SHIPPED_MASTER)
    two_leads = next(t for t in master.tasks if len(t.leads) > 1)
    one_lead = next(t for t in master.tasks if len(t.leads) == 1)
    first, second = two_leads.leads

    def row(division, task, answer, status):
        return ArchiveRow(2022, 1, division, task.number, "牵头", answer, status, "", "",
                          "a.xlsx", "h", "t")  # fmt: skip

    history = [
        row(one_lead.leads[0], one_lead, "", "按序时推进"),  # status chosen, nothing written
        row(first, two_leads, "做了", "按序时推进"),  # the other lead sent nothing
    ]
    got = {r.task.number: r.quarters[0].status for r in year_rows(master, history)}
    assert got[one_lead.number] == "未填写"
    assert second not in {r.division for r in history}
    assert got[two_leads.number] == "未报送"


def test_an_answer_stays_with_its_task_when_the_master_is_renumbered(tmp_path):
    from dataclasses import replace

    from workbook_tools.archive import Archive, ArchiveRow
    from workbook_tools.master import read_master
    from workbook_tools.model import Master
    from workbook_tools.yearly import previous_for_merge, previous_for_split, year_history

    master = read_master(SHIPPED_MASTER)
    beds = master.task("4")
    q1 = ArchiveRow(2022, 1, "养老服务处", "4", "牵头", "床位已建900张", "按序时推进", "",
                    '{"家庭养老床位": 900}', "a.xlsx", "h", "t", beds.text)  # fmt: skip
    # The revised master: a task inserted before *4, which becomes *5; *9 deleted.
    inserted = replace(beds, number="4", label="*4", text="新增的一项任务。（牵头单位：市民政局）")
    tasks = []
    for t in master.tasks:
        if t.number == "9":
            continue
        n = int(t.number)
        moved = replace(t, number=str(n + 1), label=t.label.replace(t.number, str(n + 1)))
        tasks += [inserted, moved] if t.number == "4" else [moved if n > 4 else t]
    revised = Master(master.source, master.sheet, master.title, master.year, tuple(tasks))
    with Archive(tmp_path / "a.sqlite") as archive:
        archive.record_quarter(2022, 1, [q1])
        before = previous_for_merge(archive, 2022, 2, revised)
        assert set(before) == {("养老服务处", "5")}
        assert before[("养老服务处", "5")].answer == "床位已建900张"
        shown = previous_for_split(archive, 2022, 2, revised)
        assert list(shown["养老服务处"]) == ["5"]
        [row] = year_history(archive, 2022, 2, [], revised)
        assert row.task == "5"


def _open_archive(path: str) -> int:
    from workbook_tools.archive import Archive

    with Archive(path) as archive:
        return archive.version


def test_merges_opening_a_new_archive_at_once_each_migrate_it_once(tmp_path):
    # Each process reads the version, then applies the steps it lacks: a step another process
    # applied meanwhile must not be applied twice ("table answers already exists").
    from concurrent.futures import ProcessPoolExecutor

    from workbook_tools.archive import SCHEMA_VERSION

    with ProcessPoolExecutor(6) as pool:
        for i in range(6):
            path = str(tmp_path / f"a{i}.sqlite")
            assert list(pool.map(_open_archive, [path] * 6)) == [SCHEMA_VERSION] * 6
