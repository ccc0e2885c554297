"""Answer quality flags: 答复未更新, 答复雷同, 答复过简."""

from __future__ import annotations

import pytest

from workbook_tools.model import FLAG_TYPES, Answer
from workbook_tools.quality import (
    DEFAULT_PLACEHOLDERS,
    duplicate_answers,
    is_placeholder,
    normalise_answer,
    placeholders,
    quality_flags,
    stale_answers,
    terse_answers,
)

LONG = "新建社区老年人服务中心12个，完成年度目标的15%，正在推进选址和装修。"


def answer(text, division="养老服务处", task="3", cell="D5"):
    return Answer(
        task, division, "牵头", text, "按序时推进", "按序时推进", "", f"{division}.xlsx", cell
    )


def test_the_new_flag_types_and_their_severities():
    assert {k: FLAG_TYPES[k] for k in ("答复未更新", "答复雷同", "答复过简")} == {
        "答复未更新": "提示",
        "答复雷同": "提示",
        "答复过简": "警告",
    }
    assert {FLAG_TYPES[k] for k in ("未达序时", "状态与数据不符", "数据倒退")} == {"警告"}


def test_normalise_drops_space_punctuation_and_width():
    assert (
        normalise_answer(" 新建 ８个，\n完成。") == normalise_answer("新建8个完成") == "新建8个完成"
    )
    assert normalise_answer(None) == ""


@pytest.mark.parametrize(
    "text", ["无", "同上。", "正在推进", "正在推进中", "目前按计划推进。", " 暂 无 ", "已完成"]
)
def test_placeholders(text):
    assert is_placeholder(text)
    [flag] = terse_answers([answer(text)])
    assert (flag.kind, flag.severity) == ("答复过简", "警告")
    assert "仅为套话" in flag.detail and "（D5）" in flag.detail


@pytest.mark.parametrize("text", ["完成招标", "ok", "。。。"])
def test_too_short(text):
    [flag] = terse_answers([answer(text)])
    assert flag.kind == "答复过简"
    assert "不足5个字" in flag.detail or "没有文字内容" in flag.detail


def test_substance_and_empty_answers_are_not_terse():
    assert terse_answers([answer(LONG), answer(""), answer("  ")]) == []
    assert not is_placeholder("正在推进选址和装修，已签约3处")


def test_the_placeholder_list_is_extensible():
    mine = placeholders(["详见附件", "  "])
    assert {"无", "同上", "正在推进", "按计划推进"} <= set(DEFAULT_PLACEHOLDERS)  # the common ones
    assert not terse_answers([answer("详见附件材料")])
    assert [f.kind for f in terse_answers([answer("详见附件。")], mine)] == ["答复过简"]
    assert is_placeholder("无", mine)  # the defaults stay
    only_mine = placeholders(["详见附件"], base=())
    assert not is_placeholder("正在推进中", only_mine)


def test_stale_answers_compare_normalised_text():
    previous = {("养老服务处", "3"): LONG.replace("，", ", ") + "\n", ("养老服务处", "4"): "别的"}
    flags = stale_answers(
        [answer(LONG), answer(LONG, task="4"), answer("", task="5")],
        {**previous, ("养老服务处", "5"): ""},
    )
    [flag] = flags
    assert (flag.kind, flag.task, flag.division, flag.source) == (
        "答复未更新",
        "3",
        "养老服务处",
        "养老服务处.xlsx",
    )
    assert flag.detail.startswith("第3项完成情况（D5）与上季度报送的内容相同：“新建社区")


def test_duplicates_across_tasks_and_divisions():
    answers = [
        answer(LONG, task="3"),
        answer(LONG.replace("，", ","), task="4", cell="D6"),  # one text, two tasks
        answer(LONG, division="社会救助处", task="5"),  # another division
        answer("本处室负责的工作已按计划开展并完成季度任务", task="6"),
        answer("无", task="7"),
        answer("无", task="8"),  # placeholders are 过简, not 雷同
    ]
    flags = duplicate_answers(answers)
    assert [(f.division, f.task) for f in flags] == [
        ("养老服务处", "3"),
        ("养老服务处", "4"),
        ("社会救助处", "5"),
    ]
    assert flags[0].detail.startswith("第3项完成情况（D5）与第4项、社会救助处第5项的答复相同")
    assert flags[2].detail.startswith("第5项完成情况（D5）与养老服务处第3项、养老服务处第4项")
    assert {f.severity for f in flags} == {"提示"}


def test_same_text_by_lead_and_partner_on_one_task_is_a_duplicate():
    flags = duplicate_answers([answer(LONG), answer(LONG, division="市低保中心")])
    assert [f.division for f in flags] == ["养老服务处", "市低保中心"]


def test_many_duplicates_are_counted_not_all_named():
    flags = duplicate_answers([answer(LONG, task=str(n)) for n in range(1, 7)])
    assert "与第2项、第3项、第4项等5处的答复相同" in flags[0].detail


def test_quality_flags_runs_all_three():
    kinds = sorted(
        f.kind
        for f in quality_flags(
            [answer(LONG), answer(LONG, task="4"), answer("同上", task="5")],
            previous={("养老服务处", "3"): LONG},
        )
    )
    assert kinds == ["答复未更新", "答复过简", "答复雷同", "答复雷同"]
