"""merge.py on hand-built values: every rule, without files (the CLI tests do it with files)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbook_tools.identify import match_division
from workbook_tools.inbox import Collected
from workbook_tools.merge import merge
from workbook_tools.model import Delivery, Master, ReturnFile, ReturnRow, Task
from workbook_tools.pairing import task_number
from workbook_tools.statuses import normalise_status
from workbook_tools.summarise import to_json
from workbook_tools.validate import check_return, looks_like_formula

T1 = "完善养老服务体系，新建社区老年人服务中心（站）80个。（牵头单位：市民政局；责任单位：各区人民政府）"
T2 = "扩大特困人员救助供养范围。（牵头单位：市民政局；责任单位：各区人民政府）"
T3 = "加大家庭经济困难学生资助力度。（牵头单位：市教育局；责任单位：市民政局）"


def make_master() -> Master:
    tasks = (
        Task("1", "*1", T1, "张明武", ("养老服务处",), (), True, ("政府工作报告", "民生实事")),
        Task("2", "*2", T2, "张明武", ("社会救助处",), ("市低保中心",), True, ("民生实事",)),
        Task(
            "3",
            "3",
            T3,
            "张明武",
            ("社会救助处", "养老服务处"),
            ("市低保中心",),
            False,
            ("政府工作报告",),
        ),
    )
    return Master("m.xlsx", "Sheet1", "2022年方案", 2022, tasks)


def row(
    n: int, number: str, text: str, answer="已完成工作", status="按序时推进", plan=""
) -> ReturnRow:
    return ReturnRow(n, number, text, answer, status, plan, {"完成情况": "D"})


def ret(source, division, rows, year=2022, quarter=1, sha=None, modified="", **kw) -> ReturnFile:
    return ReturnFile(
        source=source,
        sha256=sha or source,
        format="xlsx",
        sheet="完成情况",
        division=division,
        year=year,
        quarter=quarter,
        identified_by="模板标识",
        rows=tuple(rows),
        modified=modified,
        **kw,
    )


def collected(*returns, rejected=()):
    return Collected(tuple(returns), tuple(rejected), ())


def kinds(flags):
    return sorted(f.kind for f in flags)


def full_returns():
    return (
        ret("a.xlsx", "养老服务处", [row(5, "*1", T1), row(6, "3", T3)]),
        ret("b.xlsx", "社会救助处", [row(5, "*2", T2), row(6, "3", T3)]),
        ret("c.xlsx", "市低保中心", [row(5, "*2", T2), row(6, "3", T3)]),
    )


def test_complete_returns_have_no_flags_and_every_answer():
    s = merge(make_master(), collected(*full_returns()), 2022, 1)
    assert s.flags == ()
    assert [d.submitted for d in s.divisions] == [True, True, True]
    assert len(s.answers) == 6
    assert [ts.status for ts in s.tasks] == ["按序时推进"] * 3
    assert [len(ts.lead_answers) for ts in s.tasks] == [1, 1, 2]
    assert [len(ts.partner_answers) for ts in s.tasks] == [0, 1, 1]


def test_missing_division_is_flagged_not_submitted():
    a, b, _ = full_returns()
    s = merge(make_master(), collected(a, b), 2022, 1)
    assert kinds(s.flags) == ["未报送"]
    assert s.flags[0].division == "市低保中心"
    assert s.flags[0].severity == "错误"


def test_edited_text_missing_row_extra_row_and_empty_answer():
    master = make_master()
    r = ret(
        "a.xlsx",
        "养老服务处",
        [
            row(5, "*1", T1.replace("80个", "90个"), answer=""),
            row(7, "9", "自己加的一行", answer="随便写写"),
        ],
    )
    checked = check_return(master, r, "养老服务处")
    assert kinds(checked.flags) == ["事项被改动", "内容未读入", "未填写", "缺少事项"]
    assert [a.task_number for a in checked.answers] == ["1"]


def test_rows_in_any_order_and_renumbered_rows_match_by_text():
    master = make_master()
    r = ret("a.xlsx", "养老服务处", [row(5, "1", T3), row(6, "2", T1)])
    checked = check_return(master, r, "养老服务处")
    assert sorted(a.task_number for a in checked.answers) == ["1", "3"]
    assert set(kinds(checked.flags)) == {"事项被改动"}  # the numbers were changed


def test_statuses_normalised_lagging_and_disagreement():
    a = ret(
        "a.xlsx", "养老服务处", [row(5, "*1", T1, status="完成"), row(6, "3", T3, status="滞后")]
    )
    b = ret(
        "b.xlsx",
        "社会救助处",
        [row(5, "*2", T2, status="已完成"), row(6, "3", T3, status="已完成")],
    )
    c = ret(
        "c.xlsx", "市低保中心", [row(5, "*2", T2, status="滞后"), row(6, "3", T3, status="好得很")]
    )
    s = merge(make_master(), collected(a, b, c), 2022, 1)
    assert s.tasks[0].status == "已完成"
    assert s.tasks[2].status == "滞后"  # worst of the two leads
    assert "按“已完成”处理" in s.answers[0].note
    assert kinds(s.flags) == ["未填写", "状态不一致", "状态不一致", "进度滞后", "进度滞后"]
    bad = next(f for f in s.flags if f.kind == "未填写")
    assert "好得很" in bad.detail and "已完成、按序时推进、滞后、未启动" in bad.detail


def test_other_period_unknown_division_and_unreadable_are_left_out():
    a, b, c = full_returns()
    old = ret("old.xlsx", "养老服务处", a.rows, quarter=4, year=2021)
    stranger = ret("x.xlsx", "不存在的处", a.rows)
    bad = SimpleNamespace(source="broken.xlsx", reason="文件已损坏")
    s = merge(make_master(), collected(a, b, c, old, stranger, rejected=[bad]), 2022, 1)
    assert kinds(s.flags) == ["文件无法读取", "无法识别处室", "非本期文件"]
    verdicts = {v.source: v.accepted for v in s.files}
    assert verdicts == {
        "a.xlsx": True,
        "b.xlsx": True,
        "c.xlsx": True,
        "old.xlsx": False,
        "x.xlsx": False,
        "broken.xlsx": False,
    }


def test_newest_duplicate_wins_identical_copies_count_once():
    a, b, c = full_returns()
    newer = ret(
        "a2.xlsx",
        "养老服务处",
        [row(5, "*1", T1, answer="新的"), row(6, "3", T3)],
        modified="2022-04-09T10:00:00",
    )
    older = ret("a.xlsx", "养老服务处", a.rows, modified="2022-04-01T10:00:00")
    copy = ret(
        "copy/a2.xlsx", "养老服务处", newer.rows, sha="a2.xlsx", modified="2022-04-09T10:00:00"
    )
    s = merge(make_master(), collected(older, newer, copy, b, c), 2022, 1)
    assert kinds(s.flags) == ["重复报送"]
    assert s.flags[0].source == "a.xlsx" and "a2.xlsx" in s.flags[0].detail
    assert s.answers[0].answer == "新的"
    used = [v for v in s.files if v.accepted and v.division == "养老服务处"]
    assert len(used) == 1


def test_merge_does_not_depend_on_input_order():
    rs = full_returns()
    one = merge(make_master(), collected(*rs), 2022, 1)
    two = merge(make_master(), collected(*reversed(rs)), 2022, 1)
    assert to_json(one) == to_json(two)


def test_formula_like_answers_and_control_characters_are_noted():
    master = make_master()
    r = ret(
        "a.xlsx",
        "养老服务处",
        [row(5, "*1", T1, answer="=1+1"), row(6, "3", T3, answer="完成\x0b了\x01。")],
    )
    checked = check_return(master, r, "养老服务处")
    assert kinds(checked.flags) == ["疑似公式"]
    assert checked.answers[0].answer == "=1+1"
    # Word's line break stays a line break; other control characters go, and the note says so.
    assert checked.answers[1].answer == "完成\n了。"
    assert "控制字符" in checked.answers[1].note


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=SUM(A1)", True),
        ("@x", True),
        ("+86 138", True),
        ("-1", True),
        ("- 完成", False),
        ("完成", False),
        ("-完成", False),
    ],
)
def test_looks_like_formula(text, expected):
    assert looks_like_formula(text) is expected


def test_small_helpers():
    assert task_number("＊1") == "1" and task_number(" 7.0 ") == "7"
    assert normalise_status("推进中") == ("按序时推进", "进展状态“推进中”按“按序时推进”处理")
    assert normalise_status(" 滞后 ") == ("滞后", "")
    # A zero-width space pasted along: read, and shown where the note names it.
    assert normalise_status("\u200b已完成") == (
        "已完成",
        "进展状态“\\u200b已完成”中有看不见的字符，按“已完成”处理",
    )
    assert normalise_status("基本完成") == ("", "")
    assert match_division("养老服务处（已填）", ("养老服务处", "社会救助处")) == "养老服务处"
    assert (
        match_division("政策法规处(局信息中心)", ("政策法规处（局信息中心）",))
        == "政策法规处（局信息中心）"
    )
    assert match_division("处", ("养老服务处", "社会救助处")) is None


def test_return_rows_survive_pickling_as_sent_back_by_reading_processes():
    import pickle

    columns = {"完成情况": "D"}  # one mapping shared by the rows of a file, as read_return does
    rows = [
        ReturnRow(5, "*1", T1, "完成\n80个", "按序时推进", "下步", columns),
        ReturnRow(6, "2", T2, "已完成工作", "", "", columns),
    ]
    back = pickle.loads(pickle.dumps(ret("a.xlsx", "养老服务处", rows), protocol=5))
    assert back.rows == tuple(rows)
    assert [r.cell("完成情况") for r in back.rows] == ["D5", "D6"]
    assert back.rows[0].columns is back.rows[1].columns  # still one mapping per file


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(max_size=20),
        st.from_regex(r"[ *＊]{0,2}[0-9０-９]{1,20}(\.0{0,3})?\s?", fullmatch=True),
        st.integers(0, 10**20).map(str),
    )
)
def test_task_number_same_as_the_plain_rules(cell):
    import re

    text = re.sub(r"^[\s*＊]+", "", cell).strip()
    want = str(int(float(text))) if re.fullmatch(r"\d+(\.0+)?", text) else text
    assert task_number(cell) == want


def test_answers_survive_pickling_as_sent_back_by_reading_processes():
    import pickle

    checked = check_return(
        make_master(), ret("a.xlsx", "养老服务处", [row(5, "*1", T1)]), "养老服务处"
    )
    assert checked.answers and pickle.loads(pickle.dumps(checked, protocol=5)) == checked


def test_a_return_by_mail_has_its_time_received_and_a_sender_of_another_division_is_flagged():
    a, b, c = full_returns()
    delivered = {
        "a.xlsx": Delivery("2022-04-08 09:30:00", "张三 <zs@example.org>", "养老服务处"),
        "b.xlsx": Delivery("2022-04-09 10:00:00", "李四 <ls@example.org>", "市低保中心"),
    }
    s = merge(make_master(), collected(a, b, c), 2022, 1, delivered)
    times = {d.division: d.fill_time for d in s.divisions}
    assert times["养老服务处"] == "2022-04-08 09:30:00"
    assert times["社会救助处"] == "2022-04-09 10:00:00"
    reasons = {v.source: v.reason for v in s.files}
    assert (
        reasons["a.xlsx"]
        == "已采用，已填 2/2 项（邮件：张三 <zs@example.org>，2022-04-08 09:30:00 收到）"
    )
    [flag] = s.flags
    assert (flag.kind, flag.severity, flag.division, flag.source) == (
        "无法识别处室",
        "警告",
        "社会救助处",
        "b.xlsx",
    )
    assert "李四 <ls@example.org> 属于市低保中心" in flag.detail


def test_text_typed_over_last_quarters_answer_is_quoted_whole():
    # From the second quarter the template shows last quarter's answer in a locked column; a
    # division that unprotects it and types there has not answered this quarter in it.
    shown = ReturnRow(
        5,
        "*1",
        T1,
        "本季度的回答",
        "按序时推进",
        "",
        {"完成情况": "D"},
        previous="上季度：完成80个",  # as the template wrote it
        previous_cell="G5",
    )
    typed = ReturnRow(
        6,
        "3",
        T3,
        "",
        "按序时推进",
        "",
        {"完成情况": "D"},
        previous="这一季度新建了12个站点，写在了旁边这一栏",
        previous_cell="G6",
    )
    last = {
        ("养老服务处", "1"): SimpleNamespace(answer="上季度：完成80个", figures=()),
        ("养老服务处", "3"): SimpleNamespace(answer="上季度的回答", figures=()),
    }
    s = merge(
        make_master(),
        collected(ret("a.xlsx", "养老服务处", [shown, typed], quarter=2)),
        2022,
        2,
        previous=last,
    )
    unread = [f for f in s.flags if f.kind == "内容未读入"]
    assert [(f.task, f.division) for f in unread] == [("3", "养老服务处")]
    assert "“这一季度新建了12个站点，写在了旁边这一栏”" in unread[0].detail
    assert "单元格 G6" in unread[0].detail


def test_a_blank_file_sent_again_never_displaces_the_answers():
    a, b, c = full_returns()
    older = ret("a.xlsx", "养老服务处", a.rows, modified="2022-04-01T10:00:00")
    blank_rows = [row(5, "*1", T1, answer="", status=""), row(6, "3", T3, answer="", status="")]
    blank = ret("模板.xlsx", "养老服务处", blank_rows, modified="2022-04-09T10:00:00")
    s = merge(make_master(), collected(older, blank, b, c), 2022, 1)
    assert [(x.source, x.answer) for x in s.answers if x.division == "养老服务处"] == [
        ("a.xlsx", "已完成工作"),
        ("a.xlsx", "已完成工作"),
    ]
    assert kinds(s.flags) == ["重复报送"]
    assert s.flags[0].source == "模板.xlsx" and "本文件未填写任何内容" in s.flags[0].detail
    verdict = next(v for v in s.files if v.source == "模板.xlsx")
    assert not verdict.accepted and verdict.reason == "未填写任何内容，采用已填写的 a.xlsx"


def test_what_an_older_file_answers_where_the_newest_is_empty_is_quoted():
    a, b, c = full_returns()
    older = ret(
        "a.xlsx",
        "养老服务处",
        [row(5, "*1", T1, answer="旧的一"), row(6, "3", T3, answer="旧的三", plan="计划三")],
        modified="2022-04-01T10:00:00",
    )
    correction = ret(
        "更正.xlsx",
        "养老服务处",
        [row(5, "*1", T1, answer="更正后的一"), row(6, "3", T3, answer="", status="")],
        modified="2022-04-09T10:00:00",
    )
    s = merge(make_master(), collected(older, correction, b, c), 2022, 1)
    unread = [f for f in s.flags if f.kind == "内容未读入"]
    # Task 1 was answered in both: the newer answer is the correction, and nothing is quoted.
    assert [(f.task, f.source) for f in unread] == [("3", "a.xlsx"), ("3", "a.xlsx")]
    assert "在采用的更正.xlsx 中没有填写" in unread[0].detail
    assert "“旧的三”" in unread[0].detail and "“计划三”" in unread[1].detail
    assert [x.answer for x in s.answers if x.division == "养老服务处"] == ["更正后的一", ""]


def test_a_file_only_named_for_another_division_never_displaces_a_divisions_own():
    a, b, c = full_returns()
    own = ret("养老服务处.xlsx", "养老服务处", a.rows, modified="2022-04-01T10:00:00")
    own = own.__class__(**{**own.__dict__, "identity_division": "养老服务处"})
    saved_as = ret(
        "社会救助处.xlsx",
        "养老服务处",
        [row(5, "*1", T1, answer="误存的"), row(6, "3", T3, answer="误存的")],
        modified="2022-04-09T10:00:00",
        identity_division="养老服务处",
        file_division="社会救助处",
    )
    s = merge(make_master(), collected(own, saved_as, b, c), 2022, 1)
    assert {x.source for x in s.answers if x.division == "养老服务处"} == {"养老服务处.xlsx"}
    assert any(f.kind == "内容未读入" and "“误存的”" in f.detail for f in s.flags)


def test_rows_sorted_with_their_texts_cleared_go_by_their_numbers():
    m = make_master()
    rows = [row(5, "3", "", answer="答复三"), row(6, "*1", "", answer="答复一")]
    a = ret("a.xlsx", "养老服务处", rows)
    _, b, c = full_returns()
    s = merge(m, collected(a, b, c), 2022, 1)
    got = {x.task_number: x.answer for x in s.answers if x.division == "养老服务处"}
    assert got == {"1": "答复一", "3": "答复三"}


def test_a_second_sheet_of_a_divisions_own_tasks_stays_its_own():
    from workbook_tools.model import ReturnTable

    # Task 3 is all that 儿童福利处 has: a sheet holding only task 3 is exactly its task set.
    tasks = (
        Task("1", "*1", T1, "张明武", ("养老服务处",), (), True, ("民生实事",)),
        Task("3", "3", T3, "张明武", ("养老服务处",), ("儿童福利处",), False, ("政府工作报告",)),
    )
    m = Master("m.xlsx", "Sheet1", "2022年方案", 2022, tasks)
    moved = ReturnTable("配合事项", (row(2, "3", T3, answer="配合的答复"),), None, None, None)
    own = ret("a.xlsx", "养老服务处", [row(5, "*1", T1)], tables=(moved,))
    # 儿童福利处 has not reported: the sheet must not stand in for it.
    s = merge(m, collected(own), 2022, 1)
    assert "儿童福利处" not in {x.division for x in s.answers}
    assert any(f.kind == "未报送" and f.division == "儿童福利处" for f in s.flags)
    quoted = [f for f in s.flags if f.kind == "内容未读入" and f.division == "养老服务处"]
    assert quoted and "“配合的答复”" in quoted[0].detail and "配合事项" in quoted[0].detail


def test_folders_not_read_are_named_in_the_problems_and_the_files_received():
    why = "名称以“.”开头的隐藏文件夹，其中的文件未读取；如有报送文件，请移到收件箱中"
    got = Collected(full_returns(), (), (".草稿",), ((".草稿", why),))
    s = merge(make_master(), got, 2022, 1)
    assert [(f.kind, f.severity, f.source, f.detail) for f in s.flags] == [
        ("文件无法读取", "警告", ".草稿/", why)
    ]
    assert any(v.source == ".草稿/" and v.reason == f"未读取：{why}" for v in s.files)


@pytest.fixture
def beijing(monkeypatch):
    import time

    if not hasattr(time, "tzset"):
        pytest.skip("time zones cannot be switched here")
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_newest_file_is_found_across_time_zones(beijing):
    a, b, c = full_returns()
    # An .ods draft saved at 10:00 Beijing time (stored without a zone), then a correction
    # saved in Excel at 11:00 Beijing time (stored as 03:00 UTC).
    draft = ret(
        "草稿.ods",
        "养老服务处",
        [row(5, "*1", T1, answer="草稿"), row(6, "3", T3)],
        modified="2022-04-09T10:00:00.123456789",
    )
    fixed = ret(
        "更正.xlsx",
        "养老服务处",
        [row(5, "*1", T1, answer="更正"), row(6, "3", T3)],
        modified="2022-04-09T03:00:00Z",
    )
    s = merge(make_master(), collected(draft, fixed, b, c), 2022, 1)
    assert s.answers[0].source == "更正.xlsx" and s.answers[0].answer == "更正"


def test_a_file_retitled_for_this_quarter_is_a_warning_that_says_so():
    a, b, c = full_returns()
    reused = ret(
        "2022年第二季度-养老服务处.xlsx",
        "养老服务处",
        a.rows,
        quarter=1,
        conflicts=("标题中的季度为“第二季度”，模板标识为“第一季度”，以模板标识为准",),
    )
    s = merge(make_master(), collected(reused, b, c), 2022, 2)
    flag = next(f for f in s.flags if f.kind == "非本期文件")
    assert flag.severity == "警告"
    assert "标题中的季度为“第二季度”" in flag.detail and "本期模板重新报送" in flag.detail
    plain = merge(make_master(), collected(a, b, c), 2022, 2)
    assert next(f for f in plain.flags if f.kind == "非本期文件").severity == "提示"


def test_last_quarters_file_left_in_the_inbox_is_known_by_its_bytes():
    from workbook_tools.archive import ArchiveRow

    a, b, c = full_returns()
    # Pasted into a new workbook: nothing in it names a period.
    pasted = ret(
        "新建 Microsoft Excel 工作表.xlsx", None, a.rows, year=None, quarter=None, sha="abc"
    )
    before = {
        ("养老服务处", "1"): ArchiveRow(
            2022,
            1,
            "养老服务处",
            "1",
            "牵头",
            "已完成工作",
            "按序时推进",
            "",
            "",
            pasted.source,
            "abc",
            "2022-04-10",
        ),
    }
    s = merge(make_master(), collected(pasted, b, c), 2022, 2, previous=before)
    assert "养老服务处" not in {x.division for x in s.answers if x.source == pasted.source}
    flag = next(f for f in s.flags if f.source == pasted.source)
    assert flag.kind == "非本期文件" and "与2022年第一季度已采用的文件" in flag.detail
    assert any(f.kind == "未报送" and f.division == "养老服务处" for f in s.flags)


def test_an_edited_number_in_a_task_text_is_shown_where_it_changed():
    a, b, c = full_returns()
    edited = T1.replace("80个", "85个")
    s = merge(
        make_master(),
        collected(ret("a.xlsx", "养老服务处", [row(5, "*1", edited), a.rows[1]]), b, c),
        2022,
        1,
    )
    flag = next(f for f in s.flags if f.kind == "事项被改动")
    assert "相似度 100%" not in flag.detail
    assert "80个" in flag.detail and "85个" in flag.detail and "改为" in flag.detail


def test_a_task_text_cut_to_a_word_keeps_the_row_on_its_number():
    a, b, c = full_returns()
    rows = [row(5, "*1", T1, answer="一"), row(6, "3", "资助", answer="三")]
    s = merge(make_master(), collected(ret("a.xlsx", "养老服务处", rows), b, c), 2022, 1)
    got = {x.task_number: x.answer for x in s.answers if x.division == "养老服务处"}
    assert got == {"1": "一", "3": "三"}
    assert not any(f.kind in ("缺少事项", "内容未读入") for f in s.flags)
    assert any(f.kind == "事项被改动" and f.task == "3" for f in s.flags)


def test_two_blank_files_are_not_called_filled():
    _, b, c = full_returns()
    blank_rows = [row(5, "*1", T1, answer="", status=""), row(6, "3", T3, answer="", status="")]
    old = ret("旧.xlsx", "养老服务处", blank_rows, modified="2022-04-01T10:00:00")
    new = ret("新.xlsx", "养老服务处", blank_rows, sha="new", modified="2022-04-09T10:00:00")
    s = merge(make_master(), collected(old, new, b, c), 2022, 1)
    [again] = [f for f in s.flags if f.kind == "重复报送"]
    assert again.source == "旧.xlsx" and "采用最新的 新.xlsx" in again.detail


def test_text_added_to_last_quarters_answer_or_typed_over_its_blank_is_quoted():
    def typed_beside(n, number, text, previous):
        return ReturnRow(n, number, text, "", "按序时推进", "", {"完成情况": "D"},
                         previous=previous, previous_cell=f"G{n}")  # fmt: skip

    added = typed_beside(
        5, "*1", T1, "上季度：完成80个\n进展状态：按序时推进\n补充：二季度新增12个"
    )
    over_blank = typed_beside(6, "3", T3, "二季度：新增服务点两处")
    last = {
        ("养老服务处", "1"): SimpleNamespace(answer="上季度：完成80个", status="按序时推进"),
        ("养老服务处", "3"): SimpleNamespace(answer="", status="按序时推进"),  # shown （未填写）
    }
    got = ret("a.xlsx", "养老服务处", [added, over_blank], quarter=2)
    s = merge(make_master(), collected(got), 2022, 2, previous=last)
    unread = {f.task: f.detail for f in s.flags if f.kind == "内容未读入"}
    assert set(unread) == {"1", "3"}
    assert "补充：二季度新增12个" in unread["1"] and "二季度：新增服务点两处" in unread["3"]


def test_the_whole_last_quarter_cell_copied_is_a_stale_answer():
    copied = "上季度：完成80个\n进展状态：按序时推进"
    rows = [row(5, "*1", T1, answer=copied), row(6, "3", T3, answer="本季度新做的")]
    last = {
        ("养老服务处", "1"): SimpleNamespace(answer="上季度：完成80个", status="按序时推进"),
        ("养老服务处", "3"): SimpleNamespace(answer="上季度的回答", status="按序时推进"),
    }
    s = merge(make_master(), collected(ret("a.xlsx", "养老服务处", rows, quarter=2)), 2022, 2,
              previous=last)  # fmt: skip
    assert [f.task for f in s.flags if f.kind == "答复未更新"] == ["1"]


def test_a_second_figure_on_a_continued_row_is_quoted_not_dropped():
    from builders import SHIPPED_MASTER

    from workbook_tools.master import read_master
    from workbook_tools.targets import format_target

    shipped = read_master(SHIPPED_MASTER)
    beds = shipped.task("4")
    division = beds.leads[0]

    def figures(n, *values):
        return tuple(
            (format_target(t), v, f"H{n}", f"G{n}")
            for t, v in zip(beds.targets, values, strict=True)
        )

    rows, n = [], 6
    for task in shipped.tasks_of(division):
        r = ReturnRow(n, task.label, task.text, "做了", "按序时推进", "", {"完成情况": "D"})
        if task is beds:
            r = dataclasses.replace(r, figures=figures(n, "1500", "5500"))
            n += 1  # written on right below it
            rows.append(r)
            r = ReturnRow(n, "", "", "补充", "", "", {"完成情况": "D"},
                          figures=figures(n, "1600", "5500"))  # fmt: skip
        rows.append(r)
        n += 1
    got = merge(shipped, collected(ret("a.xlsx", division, rows)), 2022, 1)
    [answer] = [a for a in got.answers if a.division == division and a.task_number == "4"]
    assert dict(answer.figures)[beds.targets[0].name] == 1500
    assert any("另有累计完成数“1600”未读入" in f.detail for f in got.flags)


def test_figures_only_an_older_file_gives_are_quoted():
    from builders import SHIPPED_MASTER

    from workbook_tools.master import read_master
    from workbook_tools.targets import format_target

    shipped = read_master(SHIPPED_MASTER)
    beds = shipped.task("4")
    division = beds.leads[0]

    def return_with(source, values, modified):
        rows = []
        for n, task in enumerate(shipped.tasks_of(division), 6):
            r = ReturnRow(n, task.label, task.text, "做了", "按序时推进", "", {"完成情况": "D"})
            if task is beds:
                r = dataclasses.replace(r, figures=tuple(
                    (format_target(t), v, f"H{n}", f"G{n}")
                    for t, v in zip(beds.targets, values, strict=True)))  # fmt: skip
            rows.append(r)
        return ret(source, division, rows, modified=modified)

    older = return_with("初稿.xlsx", ("1500", "5500"), "2022-04-01T10:00:00")
    newer = return_with("更正.xlsx", ("", ""), "2022-04-09T10:00:00")
    got = merge(shipped, collected(older, newer), 2022, 1)
    quoted = [f.detail for f in got.flags if f.kind == "内容未读入" and f.source == "初稿.xlsx"]
    assert any("累计完成数“1500”未读入" in d for d in quoted)
    assert any("累计完成数“5500”未读入" in d for d in quoted)
