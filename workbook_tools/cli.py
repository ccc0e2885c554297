"""The command line: a thin click layer over the stages.

Heavy libraries are imported inside the commands so that `workbook-tools --help` stays fast.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from . import __version__
from .errors import WorkbookToolsError

DEFAULT_MASTER = Path("master") / "分解方案.xlsx"
QUARTER = click.IntRange(1, 4)

# Options several commands share.
quarter_option = click.option("--quarter", "-q", type=QUARTER, required=True, help="季度，1-4。")
year_option = click.option("--year", "-y", type=int, help="年度；默认取分解方案标题中的年份。")
master_option = click.option(
    "--master",
    "master_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_MASTER,
    show_default=True,
    help="分解方案（附件1）工作簿。",
)


def _reports_errors(func):
    """Turn the tool's own errors into one line on stderr and exit status 1, no traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except WorkbookToolsError as err:
            click.echo(f"错误：{err}", err=True)
            sys.exit(1)

    return wrapper


def _load_master(path: Path):
    from .master import read_master

    master = read_master(path)
    click.echo(
        f"分解方案：{path}（工作表 {master.sheet}，{len(master.tasks)} 项事项，"
        f"{len(master.divisions)} 个处室/单位，{len(master.assignments)} 项分工）"
    )
    for warning in master.warnings:
        click.echo(f"警告：{warning}", err=True)
    return master


def _year(year: int | None, master) -> int:
    if year is not None:
        return year
    if master.year is None:
        raise click.UsageError("分解方案的标题中没有年份，请用 --year 指定，例如 --year 2022")
    return master.year


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="workbook-tools")
def cli() -> None:
    """市民政局季度工作目标完成情况：拆分模板、校验回收、汇总。

    \b
    典型流程：
      workbook-tools split --quarter 1      # 分解方案 -> outbox/ 各处室模板
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
    help="模板输出文件夹。",
)
@_reports_errors
def split(quarter: int, year: int | None, master_path: Path, outbox: Path) -> None:
    """把分解方案拆成各处室（单位）的附件2模板，每个处室一个 .xlsx 文件。

    \b
    示例：
      workbook-tools split --quarter 1
      workbook-tools split -q 2 --master master/分解方案.xlsx --outbox outbox
    """
    from .cells import display_width
    from .progress import Progress
    from .template import write_templates

    master = _load_master(master_path)
    year = _year(year, master)
    with Progress("生成模板", len(master.divisions)) as progress:
        infos = write_templates(master, year, quarter, outbox, progress=progress)
    width = max(map(display_width, ["处室/单位", *(info.division for info in infos)]))

    def pad(text: str) -> str:
        return text + " " * (width - display_width(text))

    click.echo(f"{pad('处室/单位')}  牵头  配合  文件")
    for info in infos:
        click.echo(f"{pad(info.division)}  {info.led:>4}  {info.assisted:>4}  {info.path.name}")
    click.echo(
        f"已生成 {len(infos)} 个模板，位于 {outbox}{'' if str(outbox).endswith('/') else '/'}"
    )


def _summary_path(outbox: Path, year: int, quarter: int) -> Path:
    from .model import quarter_name

    return outbox / f"{year}年第{quarter_name(quarter)}季度工作目标完成情况汇总.xlsx"


@cli.command()
@quarter_option
@year_option
@click.option(
    "--inbox",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("inbox"),
    show_default=True,
    help="回收文件所在文件夹（含子文件夹和 .zip）。",
)
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
@click.option("--strict", is_flag=True, help="有“错误”级问题时以状态 1 退出。")
@_reports_errors
def merge(
    quarter: int,
    year: int | None,
    inbox: Path,
    master_path: Path,
    out: Path | None,
    json_path: Path | None,
    strict: bool,
) -> None:
    """校验 inbox/ 中回收的模板，汇总为领导阅读的汇总表。

    inbox 中的文件只读不改。每个文件给出“采用/未采用”及原因；问题写入汇总表的“问题清单”。

    \b
    示例：
      workbook-tools merge --quarter 1
      workbook-tools merge -q 1 --inbox inbox --out outbox/汇总.xlsx --json result.json --strict
    """
    from .inbox import collect
    from .merge import has_errors, precheck
    from .merge import merge as merge_returns
    from .model import FLAG_TYPES, SEVERITIES
    from .progress import Progress
    from .summary import write_summary

    if not inbox.is_dir():
        raise click.UsageError(
            f"找不到回收文件夹 {inbox}；请把回收的文件放入该文件夹，或用 --inbox 指定"
        )
    master = _load_master(master_path)
    year = _year(year, master)
    with Progress("读取回收文件") as progress:
        # Each return is also validated where it is read (by the reading processes, if any).
        collected = collect(inbox, progress=progress, check=precheck(master, year, quarter))
    summary = merge_returns(master, collected, year, quarter)
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
    target = out or _summary_path(Path("outbox"), year, quarter)
    write_summary(summary, target)
    click.echo(f"汇总表：{target}")
    if json_path:
        _write_json(summary, json_path)
        click.echo(f"JSON：{json_path}")
    if strict and has_errors(summary.flags):
        sys.exit(1)


def _write_json(summary, path: Path) -> None:
    import json

    from .files import write_atomically
    from .merge import to_json

    text = json.dumps(to_json(summary), ensure_ascii=False, indent=2)
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), what="JSON 文件")


@cli.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False)
)
@click.option("--quarter", "-q", type=QUARTER, help="应报季度；不填则按文件自身标注的季度检查。")
@click.option("--year", "-y", type=int, help="应报年度；默认取分解方案标题中的年份。")
@master_option
@_reports_errors
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

    master = _load_master(master_path)
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
@_reports_errors
def demo(directory: Path, master_path: Path) -> None:
    """在 DIRECTORY（默认 demo/）中演示完整流程：拆分、模拟填报、汇总。

    示例数据都标有“【示例】”。两个处室不报送，一个文件被改名，一项滞后，一项事项被改动，
    一项完成情况空着；装有 LibreOffice 时，一个文件另存为 .xls。

    \b
    示例：
      workbook-tools demo
      workbook-tools demo /tmp/演示
    """
    from .demo import run_demo

    run_demo(directory, master_path, echo=click.echo)


def main() -> None:
    cli(prog_name="workbook-tools")
