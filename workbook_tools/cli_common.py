"""What the command modules share: options, error reporting, reading the master for a command.

Kept apart from cli.py so that cli_mail.py can use it without importing the group. Like the
commands, it imports heavy libraries only inside functions so that `workbook-tools --help` stays
fast.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from .errors import WorkbookToolsError

DEFAULT_MASTER = Path("master") / "分解方案.xlsx"
QUARTER = click.IntRange(1, 4)

# Options several commands share.
quarter_option = click.option("--quarter", "-q", type=QUARTER, required=True, help="季度，1-4。")


def inbox_option(help_text: str):
    """--inbox, with what the folder is for in this command."""
    return click.option(
        "--inbox",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("inbox"),
        show_default=True,
        help=help_text,
    )


year_option = click.option("--year", "-y", type=int, help="年度；默认取分解方案标题中的年份。")
master_option = click.option(
    "--master",
    "master_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_MASTER,
    show_default=True,
    help="分解方案（附件1）工作簿。",
)


ARCHIVE_ENV = "WORKBOOK_TOOLS_ARCHIVE"
archive_option = click.option(
    "--archive",
    "archive_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar=ARCHIVE_ENV,
    help="工作目标档案（SQLite）；默认为分解方案旁的 工作目标档案.sqlite，"
    f"也可用环境变量 {ARCHIVE_ENV} 指定。",
)


def archive_file_for(archive_path: Path | None, master_path: Path) -> Path:
    """The archive given (--archive or the environment), else the one beside the master."""
    from .archive import default_path

    return archive_path or default_path(master_path)


def reports_errors(func):
    """Turn the tool's own errors into one line on stderr and exit status 1, no traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except WorkbookToolsError as err:
            click.echo(f"错误：{err}", err=True)
            sys.exit(1)

    return wrapper


def load_master(path: Path):
    """The master, announced in one line; its warnings on stderr."""
    from .master import read_master

    master = read_master(path)
    click.echo(
        f"分解方案：{shown_path(path)}（工作表 {master.sheet}，{len(master.tasks)} 项事项，"
        f"{len(master.divisions)} 个处室/单位，{len(master.assignments)} 项分工）"
    )
    for warning in master.warnings:
        click.echo(f"警告：{warning}", err=True)
    return master


def shown_path(path: Path) -> str:
    """A path given on the command line as shown in messages (see files.display_name)."""
    from .files import display_name

    return display_name(str(path))


def resolve_year(year: int | None, master) -> int:
    """--year, else the year in the master's title; a usage error when neither says."""
    if year is not None:
        return year
    if master.year is None:
        raise click.UsageError("分解方案的标题中没有年份，请用 --year 指定，例如 --year 2022")
    return master.year
