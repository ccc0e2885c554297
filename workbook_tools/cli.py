"""The command line: a thin click layer over the stages.

This module holds the group and the quarter's cycle (split, merge, check, demo, targets); the
mail commands are in cli_mail.py, and what both use (options, error reporting) in cli_common.py.
Heavy libraries are imported inside the commands so that `workbook-tools --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .cli_common import (
    QUARTER,
    archive_file_for,
    archive_option,
    inbox_option,
    load_master,
    master_option,
    quarter_option,
    reports_errors,
    resolve_year,
    shown_path,
    year_option,
)
from .cli_mail import MAIL_COMMANDS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="workbook-tools")
def cli() -> None:
    """市民政局季度工作目标完成情况：拆分模板、校验回收、汇总。

    \b
    典型流程：
      workbook-tools split --quarter 1      # 分解方案 -> outbox/2022年第一季度/ 各处室模板
      workbook-tools merge --quarter 1      # inbox/ 回收文件 -> 汇总表
      workbook-tools demo                   # 在 demo/ 中完整演示一遍
    """


@cli.command()
@quarter_option
@year_option
@master_option
@click.option(
    "--outbox",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("outbox"),
    show_default=True,
    help="输出文件夹；模板写入其中的“<年度>年第<季度>季度”子文件夹。",
)
@click.option(
    "--force",
    is_flag=True,
    help="覆盖子文件夹中与本次生成内容不同的同名文件（它们可能是已填写的报送文件，请先确认）。",
)
@archive_option
@reports_errors
def split(
    quarter: int,
    year: int | None,
    master_path: Path,
    outbox: Path,
    force: bool,
    archive_path: Path | None,
) -> None:
    """把分解方案拆成各处室（单位）的附件2模板，每个处室一个 .xlsx 文件。

    档案中有本年度上一季度的汇总时，模板中每项事项旁另列灰色的“上季度完成情况”（只读，供参考）。

    模板写入 outbox/<年度>年第<季度>季度/。那里已有的同名文件与本次生成的内容完全相同时不动
    （未改变）；内容不同时（例如有人把填好的报送文件存在了那里）原样保留、不覆盖，列出这些文件并以
    状态 1 退出，确认可以覆盖时加 --force。

    \b
    示例：
      workbook-tools split --quarter 1
      workbook-tools split -q 2 --master master/分解方案.xlsx --outbox outbox
    """
    from . import layout
    from .cells import display_width
    from .files import KEPT, REPLACED, UNCHANGED, WRITTEN, display_name
    from .model import quarter_name
    from .progress import Progress
    from .template_files import write_templates

    master = load_master(master_path)
    year = resolve_year(year, master)
    folder = outbox / layout.quarter_folder(year, quarter)
    previous = None
    archive_file = archive_file_for(archive_path, master_path)
    if archive_file.exists():  # split only reads the archive; merge creates it
        from .archive import Archive
        from .yearly import previous_for_split

        with Archive(archive_file) as archive:
            previous = previous_for_split(archive, year, quarter, master)
            before = archive.previous_quarter(year, quarter)
        if previous:
            click.echo(
                f"上季度完成情况：取自档案 {shown_path(archive_file)}（{year}年第{quarter_name(before)}季度）"
            )
    with Progress("生成模板", len(master.divisions)) as progress:
        infos = write_templates(
            master, year, quarter, folder, progress=progress, force=force, previous=previous
        )
    width = max(map(display_width, ["处室/单位", *(info.division for info in infos)]))

    def pad(text: str) -> str:
        return text + " " * (width - display_width(text))

    notes = {UNCHANGED: "（未改变）", KEPT: "（已保留原文件，未覆盖）", REPLACED: "（已覆盖）"}
    click.echo(f"{pad('处室/单位')}  牵头  配合  文件")
    for info in infos:
        name = display_name(info.path.name) + notes.get(info.state, "")
        click.echo(f"{pad(info.division)}  {info.led:>4}  {info.assisted:>4}  {name}")
    where = _folder_text(folder)
    order = (WRITTEN, REPLACED, UNCHANGED, KEPT)
    counts = {state: sum(1 for info in infos if info.state == state) for state in order}
    if counts[WRITTEN] == len(infos):
        click.echo(f"已生成 {len(infos)} 个模板，位于 {where}")
    else:
        done = "，".join(f"{state} {counts[state]} 个" for state in order if counts[state])
        click.echo(f"{len(infos)} 个模板位于 {where}：{done}")
    kept = [info for info in infos if info.state == KEPT]
    if kept:
        click.echo(
            f"未覆盖：以下 {len(kept)} 个文件与本次生成的模板不同（可能已被填写，"
            "或是按修改前的分解方案生成的），已原样保留：",
            err=True,
        )
        for info in kept:
            click.echo(f"  {display_name(str(folder / info.path.name))}", err=True)
        click.echo(
            "请把需要保留的文件移到别处后重新运行；确认可以覆盖时，加 --force 重新运行。",
            err=True,
        )
        sys.exit(1)


def _folder_text(folder: Path) -> str:
    """A folder as shown in messages: readable, ending in a separator."""
    text = shown_path(folder)
    return text if text.endswith(("/", "\\")) else text + "/"


def _summary_path(outbox: Path, year: int, quarter: int) -> Path:
    from .model import quarter_name

    return outbox / f"{year}年第{quarter_name(quarter)}季度工作目标完成情况汇总.xlsx"


@cli.command()
@quarter_option
@year_option
@inbox_option("回收文件所在文件夹（含子文件夹和 .zip）。")
@master_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="汇总表路径；默认 outbox/<年度><季度>工作目标完成情况汇总.xlsx。",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="另存一份 JSON 结果，供脚本使用。",
)
@click.option(
    "--no-report",
    is_flag=True,
    help="不生成通报草稿（默认在汇总表旁生成给领导的通报草稿 .docx）。",
)
@click.option("--strict", is_flag=True, help="有“错误”级问题时以状态 1 退出。")
@archive_option
@click.option(
    "--no-archive", is_flag=True, help="不读写工作目标档案（不检查上季度，不记录本季度）。"
)
@click.option(
    "--from-archive",
    is_flag=True,
    help="不读取 inbox，按档案中已记录的本季度答复重新生成汇总表和通报草稿（汇总表丢失时使用）。",
)
@reports_errors
def merge(
    quarter: int,
    year: int | None,
    inbox: Path,
    master_path: Path,
    out: Path | None,
    json_path: Path | None,
    no_report: bool,
    strict: bool,
    archive_path: Path | None,
    no_archive: bool,
    from_archive: bool,
) -> None:
    """校验 inbox/ 中回收的模板，汇总为领导阅读的汇总表，并在旁边生成通报草稿（.docx）。

    inbox 中的文件只读不改。每个文件给出“采用/未采用”及原因；问题写入汇总表的“问题清单”。
    通报草稿中的数字与汇总表“总览”一致，供协调人修改后报领导。

    采用的答复（含累计完成数、来源文件及其摘要）记入工作目标档案（默认在分解方案旁），同一季度
    重新汇总时整体替换该季度的记录；下一季度据此检查答复未更新、数据倒退，并生成“全年进展”。

    \b
    示例：
      workbook-tools merge --quarter 1
      workbook-tools merge -q 1 --inbox inbox --out outbox/汇总.xlsx --json result.json --strict
      workbook-tools merge -q 1 --no-report
      workbook-tools merge -q 2 --from-archive
    """
    from .archive import Archive

    if no_archive and (from_archive or archive_path):
        raise click.UsageError("--no-archive 不能与 --from-archive 或 --archive 同时使用")
    if not from_archive and not inbox.is_dir():
        raise click.UsageError(
            f"找不到回收文件夹 {shown_path(inbox)}；请把回收的文件放入该文件夹，或用 --inbox 指定"
        )
    master = load_master(master_path)
    year = resolve_year(year, master)
    archive_file = None if no_archive else archive_file_for(archive_path, master_path)
    if from_archive and not archive_file.exists():
        raise click.UsageError(
            f"找不到工作目标档案 {shown_path(archive_file)}；请用 --archive 指定"
        )
    if not from_archive:
        target = out or _summary_path(Path("outbox"), year, quarter)
        for what, path in (("汇总表和通报草稿", target), ("JSON 文件", json_path)):
            if path is not None and _inside(Path(path).parent, inbox):
                # The next merge would read it as a return (and flag it as an error).
                raise click.UsageError(
                    f"{what}不能写在回收文件夹 {shown_path(inbox)} 中；请用 --out/--json 另选位置"
                )
    archive = Archive(archive_file) if archive_file is not None else None
    try:
        _merge_with(
            archive, master, inbox, year, quarter, out, json_path, no_report, strict, from_archive
        )
    finally:
        if archive is not None:
            archive.close()


def _inside(folder: Path, inbox: Path) -> bool:
    try:
        return folder.resolve().is_relative_to(inbox.resolve())
    except OSError:
        return False


def _merge_with(
    archive, master, inbox, year, quarter, out, json_path, no_report, strict, from_archive
) -> None:
    """merge, once the archive (or None) is open."""
    from .inbox import collect
    from .mailin import deliveries
    from .merge import has_errors
    from .merge import merge as merge_returns
    from .model import FLAG_TYPES, SEVERITIES, quarter_name
    from .overview import overview
    from .progress import Progress
    from .summary import write_summary
    from .yearly import archive_rows, previous_for_merge, summary_from_archive, year_history

    previous = previous_for_merge(archive, year, quarter, master) if archive is not None else None
    period = f"{year}年第{quarter_name(quarter)}季度"
    if from_archive:
        if (year, quarter) not in archive.quarters(year):
            raise click.UsageError(f"档案 {shown_path(archive.path)} 中没有{period}的记录")
        rows = tuple(archive.answers(year, quarter))
        summary = summary_from_archive(master, rows, year, quarter, previous)
        click.echo(f"据档案 {shown_path(archive.path)} 重新生成{period}汇总（{len(rows)} 条答复）")
    else:
        with Progress("读取回收文件") as progress:
            collected = collect(inbox, progress=progress)
        # Files collect saved from mail: who sent them, and when they were received.
        delivered = deliveries(inbox, (r.source for r in collected.returns))
        summary = merge_returns(master, collected, year, quarter, delivered, previous=previous)
        rows = archive_rows(summary, {r.source: r.sha256 for r in collected.returns})
    for verdict in summary.files:
        mark = "采用  " if verdict.accepted else "未采用"
        who = f"[{verdict.division}] " if verdict.division else ""
        click.echo(f"{mark} {verdict.source}  {who}{verdict.reason}")
    missing = [d.division for d in summary.divisions if not d.submitted]
    submitted = len(summary.divisions) - len(missing)
    click.echo(f"已报送 {submitted}/{len(summary.divisions)} 个处室（单位）")
    if missing:
        click.echo(f"未报送：{'、'.join(missing)}")
    counts = {s: sum(1 for f in summary.flags if f.severity == s) for s in SEVERITIES}
    click.echo("问题：" + "，".join(f"{s} {n}" for s, n in counts.items()))
    by_kind = {k: sum(1 for f in summary.flags if f.kind == k) for k in FLAG_TYPES}
    listed = "，".join(f"{k} {n}" for k, n in by_kind.items() if n)
    if listed:
        click.echo(f"      {listed}")
    history = year_history(archive, year, quarter, rows, master) if archive is not None else None
    target = out or _summary_path(Path("outbox"), year, quarter)
    ov = overview(summary)  # for both the summary's 总览 and the draft
    drafting = None
    if not no_report:
        from .report import report_name, start_report

        # A large draft is written in another process while this one writes the summary.
        drafting = start_report(summary, target.parent / report_name(year, quarter), ov)
    write_summary(summary, target, ov, history=history)
    click.echo(f"汇总表：{shown_path(target)}")
    if drafting is not None:
        click.echo(f"通报草稿：{shown_path(drafting())}")
    if json_path:
        _write_json(summary, json_path)
        click.echo(f"JSON：{shown_path(json_path)}")
    if archive is not None and not from_archive:
        # Last: a merge stopped before here leaves the archive as it was.
        before = {r.division for r in archive.answers(year, quarter)}
        count = archive.record_quarter(year, quarter, rows)
        click.echo(f"档案：{shown_path(archive.path)}（{period} {count} 条答复）")
        order = {d: i for i, d in enumerate(master.divisions)}
        gone = sorted(before - {r.division for r in rows}, key=lambda d: (order.get(d, 1e9), d))
        if gone:
            # The quarter is recorded anew from this inbox: say whose earlier answers left it.
            click.echo(
                f"注意：档案中原有{'、'.join(gone)}的{period}答复，本次收件箱中没有可采用的文件，"
                "已不在档案中；如是误用了别的收件箱，请用原收件箱重新汇总",
                err=True,
            )
    if strict and has_errors(summary.flags):
        sys.exit(1)


def _write_json(summary, path: Path) -> None:
    import json

    from .files import write_atomically
    from .summarise import to_json

    text = json.dumps(to_json(summary), ensure_ascii=False, indent=2)
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), what="JSON 文件")


@cli.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False)
)
@click.option("--quarter", "-q", type=QUARTER, help="应报季度；不填则按文件自身标注的季度检查。")
@click.option("--year", "-y", type=int, help="应报年度；默认取分解方案标题中的年份。")
@master_option
@reports_errors
def check(
    files: tuple[Path, ...], quarter: int | None, year: int | None, master_path: Path
) -> None:
    """逐个检查报送文件（不汇总），列出汇总时会标记的问题；有“错误”时以状态 1 退出。

    \b
    示例：
      workbook-tools check inbox/养老服务处.xlsx
      workbook-tools check -q 1 inbox/*.xlsx
    """
    from .check import check_files

    master = load_master(master_path)
    year = year if year is not None else master.year
    any_error = False
    for report in check_files(master, files, year, quarter):
        click.echo(report.headline)
        for f in report.flags:
            click.echo(f"  [{f.severity}] {f.kind}：{f.detail}")
        if not report.flags:
            click.echo("  未发现问题")
        any_error = any_error or report.has_errors
    sys.exit(1 if any_error else 0)


@cli.command()
@click.argument(
    "directory",
    required=False,
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo"),
)
@master_option
@reports_errors
def demo(directory: Path, master_path: Path) -> None:
    """在 DIRECTORY（默认 demo/）中演示完整流程：拆分、模拟填报、汇总。

    DIRECTORY 须是新文件夹、空文件夹或以前演示用过的文件夹：演示只删除、覆盖它自己写入的文件，
    其中只要有别的文件（或演示写入后被改动过的文件），就不运行，什么也不改动。

    示例数据都标有“【示例】”。两个处室不报送，一个文件被改名，一项滞后，一项事项被改动，
    一项完成情况空着；装有 LibreOffice 时，一个文件另存为 .xls。

    \b
    示例：
      workbook-tools demo
      workbook-tools demo /tmp/演示
    """
    from .demo import run_demo

    run_demo(directory, master_path, echo=click.echo)


@cli.command()
@master_option
@click.option(
    "--propose", is_flag=True, help="即使分解方案已有量化指标，也列出根据事项文字提出的建议。"
)
@reports_errors
def targets(master_path: Path, propose: bool) -> None:
    """列出分解方案“量化指标”列中的指标和序时进度；没有时，根据工作事项文字提出建议。

    建议只列出我局牵头或我局民生实事事项中可计数的指标（个、张、人、台…），不含增长率、金额、
    排名和其他部门牵头的全市目标；请核对后自行填入分解方案。本命令从不修改分解方案。

    \b
    示例：
      workbook-tools targets
      workbook-tools targets --master master/分解方案.xlsx --propose
    """
    from .model import quarter_name
    from .proposals import propose_for_master
    from .targets import format_target

    master = load_master(master_path)
    shares = "，".join(
        f"第{quarter_name(q)}季度 {master.schedule.share(q) * 100:g}%" for q in range(1, 5)
    )
    click.echo(f"序时进度：{shares}（{master.schedule.source or '默认'}）")
    with_targets = [t for t in master.tasks if t.targets]
    if with_targets and not propose:
        for task in with_targets:
            click.echo(f"第{task.number}项（{'、'.join(task.leads) or '无牵头处室'}牵头）")
            for target in task.targets:
                click.echo(f"  {format_target(target)}")
        count = sum(len(t.targets) for t in with_targets)
        click.echo(
            f"共 {len(with_targets)} 项事项有量化指标，{count} 个指标；"
            f"其余 {len(master.tasks) - len(with_targets)} 项为无量化指标"
        )
        return
    if not with_targets:
        click.echo("分解方案中没有量化指标。")
    click.echo("根据工作事项文字提出的建议（请核对后填入分解方案的“量化指标”列，每行一个）：")
    proposals = propose_for_master(master)
    for proposal in proposals:
        if proposal.targets:
            task = proposal.task
            click.echo(f"第{task.number}项（{'、'.join(task.leads) or '无牵头处室'}牵头）")
            for target in proposal.targets:
                click.echo(f"  {format_target(target)}")
    refused = [(p.task, c) for p in proposals for c in p.candidates if c.target is None]
    if refused:
        click.echo("未作为建议的数字（如确属我局指标，请自行填写）：")
        for task, c in refused:
            click.echo(f"  第{task.number}项“{c.snippet}”：{c.reason}")
    total = sum(len(p.targets) for p in proposals)
    click.echo(f"共建议 {total} 个指标。本命令不修改分解方案。")


for command in MAIL_COMMANDS:
    cli.add_command(command)


def main() -> None:
    cli(prog_name="workbook-tools")
