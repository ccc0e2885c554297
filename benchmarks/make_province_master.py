"""Generate a province-scale breakdown plan (分解方案, Annex 1) for the benchmarks.

The layout is the shipped master's (see scripts/make_master.py): 附件1 in A1, the title merged
across row 2, the header 序号 | 工作事项 | 分管领导 | 牵头处室 | 责任处室\\n（单位） in row 3, one
task per row (`*N` as text for tasks the bureau leads, plain numbers otherwise), several divisions
in one cell separated by blank lines, some names broken over two lines (政策法规处\\n（局信息中心）),
and a merged footnote that names the 民生实事 and 双重任务 items.

    python benchmarks/make_province_master.py [--tasks 2000] [--divisions 200] [--out FILE]

Everything comes from a seeded random generator, so the same options give the same bytes.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from datetime import datetime
from pathlib import Path

import xlsxwriter

YEAR = 2022
TITLE = f"{YEAR}年省《政府工作报告》民政工作责任分解方案"
HEADER = ("序号", "工作事项", "分管领导", "牵头处室", "责任处室\n（单位）")
WIDTHS = (7, 62, 11, 28, 28)  # as the shipped master
CREATED = datetime(YEAR, 1, 1)
MAX_NAME = 120  # a division name must fit a safe file name with the title around it

LEADERS = ("张明武", "彭莉莉", "孙家同", "李建国", "王晓红", "陈志强", "刘海燕", "赵德明")

# Division and unit names: topic x kind, plus a few units written as 处室（单位）.
TOPICS = (
    "养老服务",
    "社会救助",
    "儿童福利",
    "区划地名",
    "社会事务",
    "慈善事业促进",
    "社会工作",
    "社会组织管理",
    "基层政权建设",
    "社区治理",
    "规划财务",
    "政策法规",
    "婚姻登记",
    "殡葬管理",
    "残疾人福利",
    "流浪乞讨救助",
    "老龄工作",
    "志愿服务",
    "福利彩票",
    "行政审批",
    "科技信息",
    "人事教育",
    "机关党建",
    "离退休干部",
    "宣传教育",
    "安全监管",
    "法治建设",
    "综合协调",
    "督查督办",
    "应急保障",
    "未成年人保护",
    "低收入人口认定",
    "临时救助",
    "特困供养",
    "康复辅具",
    "地名文化",
    "界线管理",
    "社区建设",
    "村务公开",
    "养老机构监管",
)
KINDS = (
    "处",
    "一处",
    "二处",
    "三处",
    "中心",
    "服务中心",
    "指导中心",
    "管理站",
    "研究所",
    "监测站",
    "事务中心",
    "培训中心",
    "评估中心",
    "协调办",
    "保障站",
)
UNITS = ("局信息中心", "厅档案室", "省救助管理站", "厅机关服务中心", "省福利院", "省康复医院")

PROVINCE_UNITS = (
    "省发展改革委",
    "省教育厅",
    "省科技厅",
    "省公安厅",
    "省财政厅",
    "省人社厅",
    "省自然资源厅",
    "省住房城乡建设厅",
    "省交通运输厅",
    "省农业农村厅",
    "省商务厅",
    "省文旅厅",
    "省卫生健康委",
    "省退役军人事务厅",
    "省应急管理厅",
    "省市场监管局",
    "省医保局",
    "省乡村振兴局",
    "省残联",
    "省红十字会",
    "省妇联",
    "团省委",
)
ALL_CITIES = "各市（州）人民政府"

# Clauses of a realistic 工作事项; {n}, {p} and {k} become numbers.
CLAUSES = (
    "完善养老服务体系",
    "新建社区老年人服务中心（站）{n}个",
    "新建农村老年人互助照料中心（服务点）{n}个",
    "新增家庭养老床位{n}张",
    "为{k}万人提供居家养老上门服务",
    "推进特殊困难老年人居家适老化改造",
    "扩大特困人员救助供养范围",
    "建设街道（乡镇）社工站{n}个",
    "为{n}个县级儿童福利指导中心增配专业社工",
    "加强社区居委会、业委会、物业公司联动",
    "提升物业管理服务水平",
    "强化“五社联动”",
    "推动社会治理重心下移",
    "提升社区工作者队伍社会化、职业化、专业化水平",
    "健全分层分类的社会救助体系",
    "做好低保、特困、临时救助等兜底保障工作",
    "低保标准提高{p}%以上",
    "加强困境儿童和农村留守儿童关爱服务",
    "实施“精康融合行动”",
    "推进婚俗改革和殡葬改革",
    "建设公益性公墓{n}处",
    "开展地名文化保护工作",
    "完成{n}条行政区域界线联合检查",
    "规范社会组织登记管理",
    "开展社会组织“双随机、一公开”抽查",
    "推动慈善事业高质量发展",
    "培育发展社区社会组织{n}家",
    "推进“互联网+民政服务”",
    "实现更多民政服务事项“一网通办”",
    "加强养老机构安全管理和服务质量建设",
    "提升养老机构护理型床位占比至{p}%",
    "推进医养结合",
    "开展康复辅助器具社区租赁服务试点",
    "巩固拓展脱贫攻坚成果同乡村振兴有效衔接",
    "做好防止返贫动态监测和帮扶",
    "深入开展“打通断头路瓶颈路攻坚年”行动",
    "推进公共服务“九同工程”和便民服务“五卡通用”",
    "实现更多政务服务事项“一圈通办”",
    "加快建设区域性养老服务中心",
    "培训养老护理员{n}人次",
    "持续推进移风易俗",
    "开展民主法治示范村创建",
    "在公共场所配置自动体外除颤仪（AED）{n}台",
    "加大家庭经济困难学生资助力度",
    "建设国家智能社会治理实验基地",
    "打造{n}分钟便民生活圈",
    "确保不发生规模性返贫致贫",
    "让困难群众生活“芝麻开花节节高”",
)


def division_names(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct division or unit names, in a seeded random order."""
    pool = [f"{t}{k}" for t in TOPICS for k in KINDS]
    rng.shuffle(pool)
    names = [f"{pool.pop()}（{u}）" for u in UNITS]  # the ones written over two lines
    names += pool
    i = 1
    while len(names) < count:  # beyond topics x kinds: numbered regional offices
        names.append(f"第{i}片区{TOPICS[i % len(TOPICS)]}办事处")
        i += 1
    chosen = names[:count]
    rng.shuffle(chosen)
    return chosen


def cell_name(name: str, rng: random.Random) -> str:
    """How a name is typed in a cell: 处室（单位） is broken over two lines half of the time."""
    if "（" in name and rng.random() < 0.5:
        head, _, tail = name.partition("（")
        return f"{head}\n（{tail}"
    return name


def task_text(rng: random.Random, starred: bool) -> str:
    """A 工作事项 of 80-300 characters ending in （牵头单位：…；责任单位：…）."""
    lead = "省民政厅" if starred else rng.choice(PROVINCE_UNITS)
    others = [u for u in PROVINCE_UNITS if u != lead]
    partners = rng.sample(others, rng.randint(1, 6))
    if not starred and rng.random() < 0.7:
        partners.insert(rng.randrange(len(partners) + 1), "省民政厅")
    if rng.random() < 0.6:
        partners.append(ALL_CITIES)
    tail = f"（牵头单位：{lead}；责任单位：{'、'.join(partners)}）"
    target = rng.randint(80, 300)
    body = ""
    clauses = rng.sample(CLAUSES, len(CLAUSES))  # no clause twice in one task
    while len(body) + len(tail) + 1 < target and clauses:
        clause = clauses.pop().format(
            n=rng.choice((10, 20, 30, 50, 80, 100, 140, 200, 300, 500, 1000, 3000)),
            p=rng.randint(3, 60),
            k=rng.choice(("0.5", "1.1", "2", "3.6", "5")),
        )
        sep = "" if not body else ("。" if rng.random() < 0.25 else "，")
        body += sep + clause
    text = body + "。" + tail
    if len(text) > 300:  # cut the body at a character boundary, keep the parenthesis whole
        body = body[: max(10, 300 - len(tail) - 1)].rstrip("，。")
        text = body + "。" + tail
    return text


def deal(divisions: list[str], rng: random.Random):
    """Endless draws in which every division comes once per round (busy ones three times)."""
    busy = divisions[: max(1, len(divisions) // 10)]
    while True:
        deck = divisions + busy + busy
        rng.shuffle(deck)
        yield from deck


def plan(tasks: int, divisions: int, seed: int) -> tuple[list[tuple[str, ...]], str]:
    """The rows (序号, 工作事项, 分管领导, 牵头处室, 责任处室) and the footnote."""
    if tasks < 1 or divisions < 1:
        raise ValueError("--tasks and --divisions must be at least 1")
    rng = random.Random(seed)
    names = division_names(divisions, rng)
    draw = deal(names, rng)
    starred = max(1, tasks // 3)
    rows = []
    for i in range(1, tasks + 1):
        star = i <= starred
        n_leads = 2 if rng.random() < 0.08 else 1
        n_partners = rng.choices((0, 1, 2, 3, 4, 5), weights=(25, 16, 22, 20, 11, 6))[0]
        picked: list[str] = []
        while len(picked) < min(n_leads + n_partners, divisions):
            name = next(draw)
            if name not in picked:
                picked.append(name)
        leads = picked[:n_leads]
        partners = picked[n_leads:]
        rows.append(
            (
                f"*{i}" if star else str(i),
                task_text(rng, star),
                rng.choice(LEADERS),
                "\n\n".join(cell_name(n, rng) for n in leads),
                "\n\n".join(cell_name(n, rng) for n in partners),
            )
        )
    # Every division must receive a template: add the ones the draws missed as partners.
    seen = {n for r in rows for cell in r[3:] for n in cell.replace("\n（", "（").split("\n\n")}
    for k, name in enumerate(n for n in names if n not in seen):
        row = rows[k % tasks]
        partners = f"{row[4]}\n\n{name}" if row[4] else name
        rows[k % tasks] = (*row[:4], partners)

    numbers = list(range(1, tasks + 1))
    livelihood = sorted(rng.sample(numbers, max(1, tasks // 20)))
    both = sorted(rng.sample([n for n in numbers if n not in livelihood], max(1, tasks // 100)))
    footnote = (
        f"*为我厅牵头任务，第{'、'.join(map(str, both))}项为省《政府工作报告》和省政府民生实事"
        f"的双重任务，第{'、'.join(map(str, livelihood))}项为省政府民生实事的民政任务，其余是"
        "省《政府工作报告》的民政工作任务。"
    )
    return rows, footnote


def _lines(text: str, width: float) -> int:
    usable = max(width - 1.5, 1)
    return sum(max(1, math.ceil(len(line) * 2 / usable)) for line in text.split("\n"))


def write_master(rows: list[tuple[str, ...]], footnote: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(
        str(out),
        {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    wb.set_properties({"title": TITLE, "author": "省民政厅", "created": CREATED})
    ws = wb.add_worksheet("分解方案")

    def fmt(**kw):
        base = {"font_name": "宋体", "font_size": 11, "text_wrap": True, "valign": "vcenter"}
        return wb.add_format({**base, **kw})

    annex = fmt(font_name="黑体", font_size=12, text_wrap=False)
    title = fmt(font_size=18, bold=True, align="center")
    header = fmt(font_name="黑体", font_size=12, align="center", border=1)
    center = fmt(align="center", border=1)
    left = fmt(align="left", border=1)
    note = fmt(align="left", valign="top")

    for col, width in enumerate(WIDTHS):
        ws.set_column(col, col, width)
    ws.write_string(0, 0, "附件1", annex)
    ws.merge_range(1, 0, 1, len(HEADER) - 1, "", title)
    ws.write_string(1, 0, TITLE, title)
    ws.set_row(1, 40)
    for col, name in enumerate(HEADER):
        ws.write_string(2, col, name, header)
    ws.set_row(2, 36)
    r = 2
    for cells in rows:
        r += 1
        if cells[0].isdigit():
            ws.write_number(r, 0, int(cells[0]), center)
        else:
            ws.write_string(r, 0, cells[0], center)
        for col in range(1, len(HEADER)):
            ws.write_string(r, col, cells[col], left if col == 1 else center)
        lines = max(_lines(c, w) for c, w in zip(cells, WIDTHS, strict=True))
        ws.set_row(r, min(409, round(lines * 11 * 1.45 + 8, 1)))
    r += 1
    ws.merge_range(r, 0, r, len(HEADER) - 1, "", note)
    ws.write_string(r, 0, footnote, note)
    ws.set_row(r, min(409, _lines(footnote, sum(WIDTHS)) * 16 + 8))
    ws.freeze_panes(3, 0)
    ws.repeat_rows(2)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    wb.close()


def make_master(tasks: int, divisions: int, out: Path, seed: int = 2022) -> Path:
    """Write the master and return its path."""
    rows, footnote = plan(tasks, divisions, seed)
    write_master(rows, footnote, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a province-scale 分解方案 workbook.")
    parser.add_argument("--tasks", type=int, default=2000, help="tasks (rows); default 2000")
    parser.add_argument(
        "--divisions", type=int, default=200, help="divisions or units; default 200"
    )
    parser.add_argument("--seed", type=int, default=2022, help="random seed; default 2022")
    parser.add_argument(
        "--out", type=Path, default=Path("province_master.xlsx"), help="output .xlsx"
    )
    args = parser.parse_args(argv)
    rows, footnote = plan(args.tasks, args.divisions, args.seed)
    write_master(rows, footnote, args.out)
    assignments = sum(
        len([p for p in (r[3] + "\n\n" + r[4]).split("\n\n") if p.strip()]) for r in rows
    )
    print(f"{args.out}: {len(rows)} tasks, {args.divisions} divisions, {assignments} assignments")
    return 0


if __name__ == "__main__":
    sys.exit(main())
