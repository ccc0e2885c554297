"""Quantitative targets: the 量化指标 column, 序时进度, buckets, flags, proposals and the command."""

from __future__ import annotations

import dataclasses

import openpyxl
import pytest
from builders import SHIPPED_MASTER, run_cli, tree_digest
from hypothesis import given
from hypothesis import strategies as st

from workbook_tools.errors import MasterLayoutError
from workbook_tools.master import read_master
from workbook_tools.model import DEFAULT_SCHEDULE, Schedule, Target
from workbook_tools.proposals import (
    COUNT_UNITS,
    examine_text,
    propose_for_master,
    propose_targets,
)
from workbook_tools.targets import (
    expected_share,
    format_target,
    parse_schedule,
    parse_targets,
    target_bucket,
    target_flags,
    task_bucket,
    task_progress,
)

# The shipped master's targets as the coordinator confirmed them, written out here
# independently of the generator: (task, name, amount, unit).
DOMAIN_TARGETS = [
    ("3", "社区老年人服务中心（站）", 80, "个"),
    ("3", "农村老年人互助照料中心（服务点）", 140, "个"),
    ("4", "家庭养老床位", 3000, "张"),
    ("4", "居家养老上门服务", 11000, "人"),
    ("6", "街道（乡镇）社工站", 140, "个"),
    ("6", "区级儿童福利指导中心增配专业社工", 11, "个"),
    ("17", "公共场所自动体外除颤仪（AED）", 4000, "台"),
]
HEADER = ["序号", "工作事项", "分管领导", "牵头处室", "责任处室（单位）"]


@pytest.fixture(scope="module")
def shipped():
    return read_master(SHIPPED_MASTER)


def listed(targets_by_task) -> list[tuple[str, str, float, str]]:
    return [(n, t.name, t.amount, t.unit) for n, targets in targets_by_task for t in targets]


def T(name="家庭养老床位", amount=3000.0, unit="张", due=None) -> Target:
    return Target(name, float(amount), unit, due)


# ------------------------------------------------------------------ parse_targets


def test_parse_the_issue_examples_and_the_usual_spellings():
    text = (
        "社区老年人服务中心（站）：80个\n"
        "居家养老上门服务：1.1万人（第四季度）\r\n"
        "\n"
        "家庭养老床位:３０００张\n"  # ASCII colon, full-width digits
        "社工站１４０个\n"  # no colon
        "  2. 养老护理员培训：3千人次（上半年）\n"  # a list mark, 千, a due half-year
        "专项资金：500万元（6月底前）"
    )
    targets, problems = parse_targets(text)
    assert problems == ()
    got = [(t.name, t.amount, t.unit, t.due_quarter) for t in targets]
    assert got == [
        ("社区老年人服务中心（站）", 80, "个", None),
        ("居家养老上门服务", 11000, "人", 4),
        ("家庭养老床位", 3000, "张", None),
        ("社工站", 140, "个", None),
        ("养老护理员培训", 3000, "人次", 2),
        ("专项资金", 500, "万元", 2),
    ]
    assert targets[1].raw == "居家养老上门服务：1.1万人（第四季度）"


@pytest.mark.parametrize(
    "bracket, due",
    [("第一季度", 1), ("二季度", 2), ("Q3", 3), ("第3季度前", 3), ("上半年", 2), ("9月底前", 3),
     ("年底前", None), ("全年", None)],
)  # fmt: skip
def test_due_quarters(bracket, due):
    [target], problems = parse_targets(f"家庭养老床位：3000张（{bracket}）")
    assert problems == () and target.due_quarter == due


@pytest.mark.parametrize(
    "line, problem",
    [
        ("家庭养老床位：若干", "“家庭养老床位：若干”：冒号后没有数量"),
        ("养老服务体系", "“养老服务体系”：没有找到数量"),
        ("护理型床位占比：55%", "百分比（增长率、覆盖率等）不是可以逐季累计的数量"),
        ("社工站：140", "缺少计量单位"),
        ("：80个", "缺少指标名称"),
        ("社工站：0个", "数量应大于0"),
        ("社工站：140个（尽快）", "括号中的“尽快”不是完成时限"),
    ],
)
def test_a_line_that_cannot_be_read_is_named_and_left_out(line, problem):
    targets, problems = parse_targets(f"家庭养老床位：3000张\n{line}")
    assert [t.name for t in targets] == ["家庭养老床位"]
    [message] = problems
    assert message.startswith(f"第2行“{line}”：")
    assert problem in message
    assert "应写作“名称：数量单位”" in message


def test_a_repeated_name_keeps_the_first():
    targets, problems = parse_targets("社工站：140个\n社工站：150个")
    assert [t.amount for t in targets] == [140]
    assert problems == ("第2行“社工站：150个”：指标名称“社工站”重复，只保留第一个",)


def test_empty_cells_have_no_targets():
    assert parse_targets(None) == ((), ())
    assert parse_targets("  \n ") == ((), ())


names = st.text(alphabet="养老服务中心站社工床位儿童（）", min_size=1, max_size=12).filter(
    lambda s: not s.startswith(("（", "）")) and s[-1] not in "（）"
)


@given(
    name=names,
    amount=st.integers(1, 10**7),
    unit=st.sampled_from(COUNT_UNITS),
    due=st.sampled_from([None, 1, 2, 3]),
)
def test_format_target_reads_back(name, amount, unit, due):
    target = Target(name, float(amount), unit, due)
    [back], problems = parse_targets(format_target(target))
    assert problems == ()
    assert dataclasses.replace(back, raw="") == target


# ------------------------------------------------------------------ schedule and buckets


def test_expected_share_default_due_quarter_and_custom_schedule():
    assert [expected_share(q) for q in range(1, 5)] == [0.25, 0.5, 0.75, 1.0]
    half = T(due=2)
    assert [expected_share(q, half) for q in range(1, 5)] == [0.5, 1.0, 1.0, 1.0]
    slow = Schedule((0.1, 0.3, 0.6, 1.0))
    assert expected_share(2, T(), slow) == 0.3
    assert expected_share(1, T(due=3), slow) == pytest.approx(0.1 / 0.6)


@pytest.mark.parametrize(
    "reported, quarter, bucket",
    [
        (None, 1, "未达序时"),  # nothing reported
        (749, 1, "未达序时"),  # 24.97 % < 25 %
        (750, 1, "达序时"),  # exactly 25 %
        (1049, 1, "达序时"),  # 34.97 %: less than 10 points ahead
        (1050, 1, "超序时"),  # 35 %: 10 points ahead
        (3000, 1, "已完成"),
        (3300, 2, "已完成"),  # more than the target
        (2999, 4, "未达序时"),
        (1499, 2, "未达序时"),
        (1500, 2, "达序时"),
    ],
)
def test_target_bucket(reported, quarter, bucket):
    assert target_bucket(reported, T(), quarter) == bucket


def test_the_margin_is_a_parameter():
    assert target_bucket(900, T(), 1, margin=0.05) == "超序时"
    assert target_bucket(900, T(), 1) == "达序时"


def test_task_progress_counts_the_leads_figure_and_lists_disagreements(shipped):
    task = shipped.task("6")  # two leads, one target each
    assert task.leads == ("慈善事业促进和社会工作处", "儿童福利处")
    figures = {
        "儿童福利处": {"区级儿童福利指导中心增配专业社工": 6, "街道（乡镇）社工站": 20},
        "慈善事业促进和社会工作处": {"街道（乡镇）社工站": 70},
    }
    progress = task_progress(task, 2, figures)
    station, social = progress.targets
    assert (station.reported, station.division, station.bucket) == (
        70,
        "慈善事业促进和社会工作处",
        "达序时",
    )
    assert (social.reported, social.division, social.bucket) == (6, "儿童福利处", "达序时")
    assert progress.bucket == "达序时"
    [d] = progress.disagreements
    assert (d.target, d.division, d.reported, d.used_division, d.used) == (
        "街道（乡镇）社工站",
        "儿童福利处",
        20,
        "慈善事业促进和社会工作处",
        70,
    )


def test_a_partners_figure_counts_when_the_lead_gave_none(shipped):
    task = shipped.task("17")
    progress = task_progress(task, 1, {"市慈善服务中心": {"公共场所自动体外除颤仪（AED）": 1500}})
    [p] = progress.targets
    assert (p.division, p.bucket, p.completion) == ("市慈善服务中心", "超序时", 0.375)


def test_task_bucket_is_the_worst_and_done_only_when_all_are(shipped):
    task = shipped.task("4")
    assert task_bucket([]) == "无量化指标"
    assert task_progress(shipped.task("1"), 1, {}).bucket == "无量化指标"
    lead = "养老服务处"
    done = task_progress(task, 3, {lead: {"家庭养老床位": 3000, "居家养老上门服务": 11000}})
    assert done.bucket == "已完成"
    mixed = task_progress(task, 3, {lead: {"家庭养老床位": 3000, "居家养老上门服务": 9000}})
    assert [p.bucket for p in mixed.targets] == ["已完成", "达序时"]
    assert mixed.bucket == "达序时"
    one_missing = task_progress(task, 3, {lead: {"家庭养老床位": 3000}})
    assert one_missing.bucket == "未达序时"


def test_flags_from_numbers(shipped):
    task = shipped.task("4")
    lead = "养老服务处"
    figures = {lead: {"家庭养老床位": 1800, "居家养老上门服务": 2000}}
    progress = task_progress(task, 2, figures)
    flags = target_flags(
        task,
        2,
        progress,
        statuses={lead: "按序时推进"},
        figures=figures,
        previous={lead: {"家庭养老床位": 1900, "居家养老上门服务": 1000}},
        sources={lead: "养老服务处.xlsx"},
    )
    got = sorted((f.kind, f.severity, f.detail) for f in flags)
    assert got == [
        ("数据倒退", "警告", "“家庭养老床位”截至第二季度末累计完成1800张，少于上季度末的1900张"),
        (
            "未达序时",
            "警告",
            "“居家养老上门服务”截至第二季度末累计完成2000人，为目标11000人的18.2%，低于序时进度50%",
        ),
        (
            "状态与数据不符",
            "警告",
            "进展状态为“按序时推进”，但“居家养老上门服务”累计完成2000人（18.2%），未达序时进度",
        ),
    ]
    assert {(f.division, f.task, f.source) for f in flags} == {(lead, "4", "养老服务处.xlsx")}


def test_done_at_sixty_percent_and_disagreements_are_flagged(shipped):
    task = shipped.task("17")
    figures = {
        "慈善事业促进和社会工作处": {"公共场所自动体外除颤仪（AED）": 2400},
        "市慈善服务中心": {"公共场所自动体外除颤仪（AED）": 2000},
    }
    progress = task_progress(task, 2, figures)
    flags = target_flags(
        task, 2, progress, {"慈善事业促进和社会工作处": "已完成"}, figures, previous=None
    )
    assert [(f.kind, f.division, f.detail) for f in flags] == [
        (
            "状态与数据不符",
            "慈善事业促进和社会工作处",
            "进展状态为“已完成”，但“公共场所自动体外除颤仪（AED）”累计完成2400台（60%），未达到目标",
        ),
        (
            "状态不一致",
            "市慈善服务中心",
            "“公共场所自动体外除颤仪（AED）”的累计完成数不一致："
            "慈善事业促进和社会工作处填报2400台（采用），市慈善服务中心填报2000台",
        ),
    ]


def test_a_missing_figure_is_behind_and_says_so(shipped):
    task = shipped.task("17")
    progress = task_progress(task, 1, {})
    [flag] = target_flags(task, 1, progress, {}, {})
    assert (flag.kind, flag.division) == ("未达序时", "慈善事业促进和社会工作处")
    assert flag.detail == (
        "“公共场所自动体外除颤仪（AED）”（目标4000台）未填报截至第一季度末累计完成数，按未达序时计"
    )


# ------------------------------------------------------------------ proposals


def test_proposals_on_the_shipped_master_are_domains_list(shipped):
    proposals = propose_for_master(shipped)
    assert listed((p.task.number, p.targets) for p in proposals) == DOMAIN_TARGETS
    refused = {(p.task.number, c.snippet): c.reason for p in proposals for c in p.candidates}
    assert "增长率" in refused[("8", "力争工业投资增长12%以上")]
    assert "其他部门牵头" in refused[("7", "引进培育总部企业20家")]
    assert "市发展改革委" in refused[("10", "建设8个合作园区")]
    assert "时间或期限" in refused[("9", "打造15分钟便民生活圈")]


def test_the_shipped_master_carries_domains_targets(shipped):
    assert listed((t.number, t.targets) for t in shipped.tasks) == DOMAIN_TARGETS
    assert shipped.schedule == DEFAULT_SCHEDULE
    assert shipped.warnings == ()
    assert (len(shipped.tasks), len(shipped.divisions), len(shipped.assignments)) == (17, 12, 32)


def test_task_17_is_proposed_only_as_the_bureaus_livelihood_task(shipped):
    text = shipped.task("17").text  # 牵头单位：市卫生健康委
    assert propose_targets(text) == []
    assert [t.amount for t in propose_targets(text, own=True)] == [4000]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("全年新增养老床位500张，养老机构护理型床位占比达到60%以上。", [("养老床位", 500, "张", None)]),
        ("新建社区老年食堂３０个，为2000名困难老年人提供助餐服务。",
         [("社区老年食堂", 30, "个", None), ("助餐服务", 2000, "名", None)]),
        ("6月底前完成200户困难家庭适老化改造。", [("困难家庭适老化改造", 200, "户", 2)]),
        ("培训养老护理员1,200人次。", [("养老护理员", 1200, "人次", None)]),
        ("为1.5万名困难群众发放救助金，救助资金2.3亿元。", [("救助金", 15000, "名", None)]),
        ("争取中央资金1.2亿元，发放补贴3000万元。", []),
        ("社会救助工作进入全省前10名，打造10大品牌，增长8个百分点。", []),
        ("打造15分钟养老服务圈，2022年底前完成。", []),
        ("新建医养结合机构20个。（牵头单位：市卫生健康委；责任单位：市民政局）", []),
        ("新建医养结合机构20个。（牵头单位：市民政局；责任单位：市卫生健康委）",
         [("医养结合机构", 20, "个", None)]),
    ],
)  # fmt: skip
def test_proposals_on_made_up_texts(text, expected):
    got = [(t.name, t.amount, t.unit, t.due_quarter) for t in propose_targets(text)]
    assert got == expected
    # what is proposed reads back as written in the column
    for t in propose_targets(text):
        assert parse_targets(t.raw) == ((t,), ())


def test_every_refused_number_says_why():
    reasons = [c.reason for c in examine_text("增长12%，资金3亿元，前10名，15分钟，建设5处")]
    assert reasons[:4] == [
        "增长率或百分比，不是可计数的量化指标",
        "金额，不作为量化指标",
        "排名或“N大”提法，不是可计数的量化指标",
        "时间或期限，不是量化指标",
    ]
    assert reasons[4] == "找不到指标名称"  # 建设5处: a count, but of what?


# ------------------------------------------------------------------ the master's column and sheet


def build_master(path, rows, *, header=(*HEADER, "量化指标"), schedule=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "分解方案"
    ws.append(["2023年某某工作责任分解方案"])
    ws.append(list(header))
    for row in rows:
        ws.append(row)
    if schedule is not None:
        sheet = wb.create_sheet("序时进度")
        for row in schedule:
            sheet.append(row)
    wb.save(path)
    return path


TASK = "新增家庭养老床位3000张。（牵头单位：市民政局）"


def test_the_column_is_read_with_problems_naming_the_cell(tmp_path):
    path = build_master(
        tmp_path / "m.xlsx",
        [
            ["*1", TASK, "张三", "养老服务处", "", "家庭养老床位：3000张\n护理型床位占比：55%"],
            ["2", "扩大特困人员救助供养范围。", "李四", "社会救助处", "市低保中心", None],
        ],
    )
    master = read_master(path)
    assert [t.name for t in master.task("1").targets] == ["家庭养老床位"]
    assert master.task("2").targets == ()
    [warning] = [w for w in master.warnings if "量化指标" in w]
    assert warning.startswith("单元格 F3（序号 1，量化指标）：第2行“护理型床位占比：55%”：百分比")


@pytest.mark.parametrize("label", ["量化指标", "量化目标", "年度目标", "指标"])
def test_header_synonyms(tmp_path, label):
    path = build_master(
        tmp_path / "m.xlsx",
        [["1", TASK, "张三", "养老服务处", "", "家庭养老床位：3000张"]],
        header=(*HEADER, label),
    )
    assert read_master(path).task("1").targets[0].amount == 3000


def test_a_master_without_the_column_has_no_targets(tmp_path):
    path = build_master(tmp_path / "m.xlsx", [["1", TASK, "张三", "养老服务处", ""]], header=HEADER)
    master = read_master(path)
    assert master.task("1").targets == ()
    assert not [w for w in master.warnings if "量化指标" in w]
    assert master.schedule == DEFAULT_SCHEDULE


def test_a_schedule_sheet(tmp_path):
    schedule = [
        ["季度", "序时进度"],
        ["第一季度", "10%"],
        ["第二季度", 0.3],
        [3, 60],
        ["Q4", "100%"],
    ]
    path = build_master(
        tmp_path / "m.xlsx",
        [["1", TASK, "张三", "养老服务处", "", "家庭养老床位：3000张"]],
        schedule=schedule,
    )
    master = read_master(path)
    assert master.schedule.shares == (0.1, 0.3, 0.6, 1.0)
    assert master.schedule.source == "工作表 序时进度"
    progress = task_progress(
        master.task("1"), 2, {"养老服务处": {"家庭养老床位": 900}}, master.schedule
    )
    assert progress.bucket == "达序时"  # 30 % against 30 %, where the default wanted 50 %


@pytest.mark.parametrize(
    "schedule, message",
    [
        ([["第一季度", "50%"], ["第二季度", "40%"], ["第三季度", "75%"], ["第四季度", "100%"]],
         "单元格 B2：第二季度的序时进度（40%）低于上一季度（50%）"),
        ([["第一季度", "25%"], ["第二季度", "50%"], ["第三季度", "75%"]], "缺少第四季度的序时进度"),
        ([["第一季度", "很多"], ["第二季度", "50%"], ["第三季度", "75%"], ["第四季度", "100%"]],
         "单元格 B1：“很多”不是百分比（如 25%）"),
        ([["第一季度", "25%"], ["第二季度", "50%"], ["第三季度", "75%"], ["第四季度", "90%"]],
         "单元格 B4：第四季度的序时进度应为100%"),
    ],
)  # fmt: skip
def test_an_unreadable_schedule_is_an_error_naming_the_cell(tmp_path, schedule, message):
    path = build_master(
        tmp_path / "m.xlsx", [["1", TASK, "张三", "养老服务处", "", ""]], schedule=schedule
    )
    with pytest.raises(MasterLayoutError) as err:
        read_master(path)
    assert str(err.value) == (
        f"文件 {path}，工作表 序时进度：序时进度无法读取：{message}；"
        "每个季度一行，季度右侧写序时进度，如“第一季度 25%”…“第四季度 100%”"
    )


def test_parse_schedule_needs_a_header_for_bare_numbers():
    assert parse_schedule([[1, 0.25], [2, 0.5], [3, 0.75], [4, 1]])[0] is None
    schedule, problems = parse_schedule([["季度", ""], [1, 0.25], [2, 0.5], [3, 0.75], [4, 1]])
    assert problems == () and schedule.shares == (0.25, 0.5, 0.75, 1.0)


def test_libreoffice_resave_keeps_the_targets(soffice, shipped, tmp_path):
    out = soffice.convert(SHIPPED_MASTER, "ods", tmp_path)
    assert [t.targets for t in read_master(out).tasks] == [t.targets for t in shipped.tasks]


# ------------------------------------------------------------------ the command


def test_targets_command_lists_the_shipped_targets():
    before = tree_digest(SHIPPED_MASTER.parent)
    result = run_cli("targets", "--master", SHIPPED_MASTER)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == "序时进度：第一季度 25%，第二季度 50%，第三季度 75%，第四季度 100%（默认）"
    assert "  居家养老上门服务：1.1万人" in lines
    assert lines[-1] == "共 4 项事项有量化指标，7 个指标；其余 13 项为无量化指标"
    assert tree_digest(SHIPPED_MASTER.parent) == before


def test_targets_command_proposes_for_a_master_without_targets(tmp_path, shipped):
    rows = [[t.label, t.text, t.leader, t.leads_raw, t.partners_raw] for t in shipped.tasks]
    path = build_master(tmp_path / "m.xlsx", rows, header=HEADER)
    before = tree_digest(tmp_path)
    result = run_cli("targets", "--master", path)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "分解方案中没有量化指标。" in out
    proposed = [line.strip() for line in out.splitlines() if line.startswith("  ") and "：" in line]
    proposed = [line for line in proposed if not line.startswith("第")]
    assert proposed == [
        "社区老年人服务中心（站）：80个",
        "农村老年人互助照料中心（服务点）：140个",
        "家庭养老床位：3000张",
        "居家养老上门服务：1.1万人",
        "街道（乡镇）社工站：140个",
        "区级儿童福利指导中心增配专业社工：11个",
    ]  # no footnote in this copy: task 17 is not known as the bureau's 民生实事
    assert "  第7项“引进培育总部企业20家”：属于其他部门牵头的全市目标" in out
    assert out.rstrip().endswith("共建议 6 个指标。本命令不修改分解方案。")
    assert tree_digest(tmp_path) == before


def test_targets_command_has_help_with_an_example():
    result = run_cli("targets", "--help")
    assert result.exit_code == 0 and "workbook-tools targets" in result.output


def test_a_fall_since_an_earlier_quarter_names_that_quarter(shipped):
    task = shipped.task("4")
    lead = "养老服务处"
    figures = {lead: {"家庭养老床位": 800, "居家养老上门服务": 9000}}
    flags = target_flags(
        task,
        3,
        task_progress(task, 3, figures),
        statuses={lead: "滞后"},
        figures=figures,
        previous={lead: {"家庭养老床位": 1000}},
        previous_quarter={lead: 1},  # nothing from 养老服务处 in the second quarter
    )
    [fall] = [f.detail for f in flags if f.kind == "数据倒退"]
    assert fall == "“家庭养老床位”截至第三季度末累计完成800张，少于第一季度末的1000张"


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("1,200", 1200.0),
        ("1 200", 1200.0),
        ("1,200,300", 1200300.0),
        ("１２００张", 1200.0),
        ("1.2万张", 12000.0),
        ("1.2亿", 120000000.0),
        ("约1200", 1200.0),
        ("1200多张", 1200.0),
        ("1.2w", None),  # not 1.2
        ("1.2k", None),
        ("1200 1300", None),  # two numbers, not 12,001,300
        ("1,2", None),
        ("12,00", None),
        ("1,2000", None),
        ("1200人", None),  # another target's unit: typed in the wrong cell
    ],
)
def test_a_figure_is_read_as_typed_or_refused(typed, read):
    from workbook_tools.targets import parse_figure

    if read is None:
        with pytest.raises(ValueError):
            parse_figure(typed, "张")
    else:
        assert parse_figure(typed, "张") == read


def test_target_columns_moved_out_of_their_pairs_go_by_order():
    from workbook_tools.layout import COL_FIGURE, COL_TARGET, extra_columns

    t, f = COL_TARGET, COL_FIGURE
    assert extra_columns(["序号", t, f, t, f])[0] == [(1, 2), (3, 4)]
    # Two target columns side by side, then their figures: which is whose cannot be told.
    assert extra_columns(["序号", t, t, f, f])[0] == [(None, 3), (None, 4)]
    assert extra_columns(["序号", f, t, f, t])[0] == [(None, 1), (None, 3)]


def test_a_figure_beside_another_tasks_target_is_not_placed(shipped):
    from workbook_tools.targets import format_target, match_figures

    centres, beds = shipped.task("3"), shipped.task("4")
    # Rows sorted without their target columns: *3's row now has *4's targets beside it.
    cells = [(format_target(t), str(n), f"H{i}") for i, (t, n) in
             enumerate(zip(beds.targets, (1500, 5500), strict=True), 6)]  # fmt: skip
    found, unplaced = match_figures(centres.targets, cells)
    assert found == {} and [c[1] for c in unplaced] == ["1500", "5500"]
