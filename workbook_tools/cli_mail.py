"""The mail commands: init, contacts, send, remind, collect.

They are registered on the group in cli.py; like the other commands they parse options, call the
mail modules (settings, contacts, mailout, mailin, sendlog) and report.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .cli_common import (
    ARCHIVE_ENV,
    archive_file_for,
    inbox_option,
    load_master,
    master_option,
    quarter_option,
    reports_errors,
    resolve_year,
    year_option,
)

settings_option = click.option(
    "--settings",
    "settings_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("workbook-tools.toml"),
    show_default=True,
    help="邮件设置文件。",
)
contacts_option = click.option(
    "--contacts",
    "contacts_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="通讯录工作簿；默认使用分解方案中的“通讯录”工作表。",
)
outbox_option = click.option(
    "--outbox",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("outbox"),
    show_default=True,
    help="split 生成模板的文件夹。",
)
dry_run_option = click.option(
    "--dry-run", is_flag=True, help="不发送，把邮件写成 .eml 文件（默认 outbox/邮件预览/）供查看。"
)
preview_option = click.option(
    "--preview-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="--dry-run 时 .eml 文件的文件夹；默认 outbox/邮件预览/。",
)


def _password_prompt(settings, server):
    """The password from the environment, else typed at a terminal; never from a file."""
    from .settings import SettingsError, password

    def ask(label: str) -> str:
        if not sys.stdin.isatty():
            raise SettingsError(
                f"需要 {server.user} 的邮箱密码",
                hint=f"请设置环境变量 {settings.password_env}，或在终端中运行以便输入密码",
            )
        return click.prompt(label, hide_input=True, default="", show_default=False)

    return lambda: password(settings, server, prompt=ask)


def _address_book(master, master_path: Path, contacts_path: Path | None):
    from .contacts import coverage, find_address_book

    book = find_address_book(master_path, contacts_path)
    for problem in book.problems:
        click.echo(f"通讯录：{problem}", err=True)
    cover = coverage(book, master.divisions)
    if cover.unknown:
        click.echo(f"通讯录：分解方案中没有这些处室（单位）：{'、'.join(cover.unknown)}", err=True)
    if cover.missing:
        click.echo(f"通讯录中没有邮箱：{'、'.join(cover.missing)}", err=True)
    return book, cover


@click.command()
@settings_option
@click.option("--force", is_flag=True, help="覆盖已有的设置文件。")
@reports_errors
def init(settings_path: Path, force: bool) -> None:
    """在工作文件夹中生成带说明的邮件设置文件示例（workbook-tools.toml）。

    示例只指向本机（127.0.0.1）；请改为本局邮件服务器和协调人邮箱。密码不写入文件。

    \b
    示例：
      workbook-tools init
    """
    from .settings import write_example

    write_example(settings_path, force=force)
    click.echo(f"已生成邮件设置文件：{settings_path}；请按其中的说明修改发件邮箱和服务器")


@click.command()
@master_option
@contacts_option
@reports_errors
def contacts(master_path: Path, contacts_path: Path | None) -> None:
    """检查通讯录：分解方案中的每个处室（单位）是否都有邮箱；缺少时以状态 1 退出。

    \b
    示例：
      workbook-tools contacts --contacts master/通讯录.xlsx
    """
    master = load_master(master_path)
    book, cover = _address_book(master, master_path, contacts_path)
    for division in master.divisions:
        c = book.of(division)
        if c and c.to:
            cc = f"（抄送 {'; '.join(c.cc)}）" if c.cc else ""
            click.echo(f"{division}  {c.person}  {'; '.join(c.to)}{cc}")
    have = len(master.divisions) - len(cover.missing)
    click.echo(f"有邮箱 {have}/{len(master.divisions)} 个处室（单位）")
    sys.exit(1 if cover.missing else 0)


def _mail_out(
    kind,
    quarter,
    year,
    master_path,
    contacts_path,
    outbox,
    settings_path,
    dry_run,
    preview_dir,
    divisions_for,
    problems=None,
):
    from .mailout import PREVIEW_DIR, check_outbox, deliver, plan_messages, write_previews
    from .sendlog import open_send_log
    from .settings import load_settings

    settings = load_settings(settings_path)
    if not dry_run:
        settings.require("smtp")
    master = load_master(master_path)
    year = resolve_year(year, master)
    check_outbox(outbox)
    book, _ = _address_book(master, master_path, contacts_path)
    # In the archive when merge has made one (the same file merge would use), else beside outbox.
    archive = archive_file_for(
        Path(os.environ[ARCHIVE_ENV]) if os.environ.get(ARCHIVE_ENV) else None, master_path
    )
    log = open_send_log(outbox, archive)
    divisions = divisions_for(master, year, log)
    items, failed = plan_messages(
        kind, master, book, settings, year, quarter, outbox, divisions, problems
    )
    if dry_run:
        folder = preview_dir or outbox / PREVIEW_DIR
        for path in write_previews(items, settings, folder):
            click.echo(f"预览  {path}")
        click.echo(f"已写出 {len(items)} 封邮件预览，位于 {folder}/，未发送")
    else:
        server = settings.require("smtp")
        outcomes = deliver(items, settings, _password_prompt(settings, server), log, year, quarter)
        sent = [o for o in outcomes if o.sent]
        for outcome in sent:
            note = f"（{outcome.detail}）" if outcome.detail else ""
            click.echo(f"已发送  {outcome.division}{note}")
        failed += [o for o in outcomes if not o.sent]
        click.echo(f"{kind}：已发送 {len(sent)} 封，记录于 {log.path}")
    for outcome in failed:
        click.echo(f"未发送  {outcome.division}：{outcome.detail}", err=True)
    if failed:
        names = "；".join(f"{o.division}（{o.detail}）" for o in failed)
        click.echo(f"未发送 {len(failed)} 个：{names}")
        sys.exit(1)


@click.command()
@quarter_option
@year_option
@master_option
@contacts_option
@outbox_option
@settings_option
@dry_run_option
@preview_option
@click.option(
    "--resend",
    multiple=True,
    metavar="处室",
    help="再次发送给该处室（可重复；“全部”表示所有处室）。",
)
@reports_errors
def send(
    quarter, year, master_path, contacts_path, outbox, settings_path, dry_run, preview_dir, resend
):
    """把各处室的模板作为附件发到通讯录中的邮箱，每个处室一封。

    已发送过的处室不再发送（记录在 outbox/发送记录.csv），除非用 --resend 指定。
    某个地址被拒收不影响其他邮件；最后一行列出未发送的处室及原因。密码取自环境变量
    （默认 WORKBOOK_TOOLS_PASSWORD），未设置时提示输入。

    \b
    示例：
      workbook-tools send --quarter 1 --dry-run
      workbook-tools send --quarter 1
      workbook-tools send --quarter 1 --resend 养老服务处
    """
    from .layout import normalise_division
    from .sendlog import KIND_SEND

    wanted = {normalise_division(r) for r in resend}

    def divisions_for(master, year, log):
        unknown = wanted - set(master.divisions) - {"全部"}
        if unknown:
            raise click.UsageError(
                f"--resend 的处室不在分解方案中：{'、'.join(sorted(unknown))}；"
                f"可写：{'、'.join(master.divisions)}、全部"
            )
        done = set() if dry_run or "全部" in wanted else log.sent_to(KIND_SEND, year, quarter)
        skip = [d for d in master.divisions if d in done and d not in wanted]
        if skip:
            click.echo(f"已发送过，跳过 {len(skip)} 个：{'、'.join(skip)}（如需再发，用 --resend）")
        return [d for d in master.divisions if d not in skip]

    _mail_out(
        KIND_SEND,
        quarter,
        year,
        master_path,
        contacts_path,
        outbox,
        settings_path,
        dry_run,
        preview_dir,
        divisions_for,
    )


@click.command()
@quarter_option
@year_option
@inbox_option("回收文件所在文件夹。")
@master_option
@contacts_option
@outbox_option
@settings_option
@dry_run_option
@preview_option
@reports_errors
def remind(
    quarter, year, inbox, master_path, contacts_path, outbox, settings_path, dry_run, preview_dir
):
    """催报：汇总 inbox/ 后，给未报送或报送有“错误”的处室各发一封邮件，列出问题并再次附上模板。

    \b
    示例：
      workbook-tools remind --quarter 1 --dry-run
      workbook-tools remind --quarter 1
    """
    from .inbox import collect as collect_inbox
    from .mailout import late_divisions
    from .merge import merge as merge_returns
    from .sendlog import KIND_REMIND

    problems: dict = {}

    def divisions_for(master, year, log):
        if not inbox.is_dir():
            raise click.UsageError(f"找不到回收文件夹 {inbox}；请用 --inbox 指定")
        late = late_divisions(merge_returns(master, collect_inbox(inbox), year, quarter))
        problems.update(late)
        click.echo(f"需催报 {len(late)} 个：{'、'.join(late) or '无'}")
        return list(late)

    _mail_out(
        KIND_REMIND,
        quarter,
        year,
        master_path,
        contacts_path,
        outbox,
        settings_path,
        dry_run,
        preview_dir,
        divisions_for,
        problems,
    )


@click.command("collect")
@quarter_option
@year_option
@inbox_option("保存附件的文件夹。")
@click.option(
    "--eml",
    "eml_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="不连接服务器，改为读取此文件夹中导出的 .eml 邮件（Foxmail、Outlook 导出）。",
)
@master_option
@contacts_option
@settings_option
@reports_errors
def collect_mail(quarter, year, inbox, eml_dir, master_path, contacts_path, settings_path):
    """收取回复邮件中的工作簿附件（含工作簿压缩包），保存到 inbox/。

    只读取邮箱（不删除、不移动、不标为已读）；已收取过的附件（按内容）不再保存；inbox/ 中的
    文件从不被覆盖。发件人和收到时间记录在 inbox/.收件记录.json。

    \b
    示例：
      workbook-tools collect --quarter 1
      workbook-tools collect --quarter 1 --eml 导出的邮件
    """
    from .contacts import read_contacts
    from .mailin import eml_messages, imap_messages, save_attachments
    from .master import read_master
    from .settings import SettingsError, load_settings

    master = read_master(master_path) if master_path.exists() else None
    year = year if year is not None else (master.year if master else None) or 0
    book = None
    if contacts_path is not None:
        book = read_contacts(contacts_path)
    elif master is not None:
        book = read_contacts(master_path, required=False)
    own = ""  # the coordinator's address: what it sent is the notice, not a return
    if eml_dir is not None:
        mails = eml_messages(eml_dir)
        origin = str(eml_dir)
        try:
            own = load_settings(settings_path).sender if Path(settings_path).exists() else ""
        except SettingsError:  # exported mail needs no settings; a broken file is not fatal
            own = ""
    else:
        settings = load_settings(settings_path)
        own = settings.sender
        server = settings.require("imap")
        secret = _password_prompt(settings, server)()
        mails = imap_messages(server, secret)
        origin = f"{server.host}:{server.port} {server.folder}"
    result = save_attachments(
        mails,
        inbox,
        division_of=book.division_of if book else (lambda address: ""),
        year=year,
        quarter=quarter,
        own=own,
    )
    for r in result.saved:
        who = f"[{r.division}] " if r.division else ""
        click.echo(f"保存  {r.file}  {who}{r.sender} {r.received}")
    for d in result.duplicates:
        click.echo(f"已有  {d}")
    for s in result.skipped:
        click.echo(f"跳过  {s}")
    click.echo(
        f"读取 {result.messages} 封邮件（{origin}），保存 {len(result.saved)} 个附件，"
        f"已有 {len(result.duplicates)} 个，位于 {inbox}/"
    )


# In the order cli.py registers them; `--help` lists commands alphabetically anyway.
MAIL_COMMANDS = (init, contacts, send, remind, collect_mail)
