"""merge.py on hand-built values: every rule, without files (the CLI tests do it with files)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbook_tools.identify import match_division
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
    return SimpleNamespace(returns=tuple(returns), rejected=tuple(rejected), skipped=())


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
        previous="上季度：完成80个（按序时推进）",
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
