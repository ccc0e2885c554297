"""Mail settings: the ``workbook-tools.toml`` file in the working folder.

The file holds the sender, the SMTP and IMAP servers, the deadline and the subject and body
templates. It never holds a password: that comes from an environment variable (named in the file,
``WORKBOOK_TOOLS_PASSWORD`` by default) or from a prompt. ``workbook-tools init`` writes
:data:`EXAMPLE`, which loads as it is and points only at this machine (127.0.0.1).
"""

from __future__ import annotations

import os
import string
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

SETTINGS_FILE = "workbook-tools.toml"
DEFAULT_PASSWORD_ENV = "WORKBOOK_TOOLS_PASSWORD"
TLS_MODES = ("ssl", "starttls", "none")

#: Placeholders the subject and body templates may use, and what they mean.
PLACEHOLDERS = {
    "处室": "处室（单位）名称",
    "联系人": "通讯录中的联系人",
    "年度": "年度，如 2022",
    "季度": "季度，如 第一季度",
    "截止日期": "settings 中的 deadline",
    "附件": "附件文件名",
    "问题": "催报时列出的问题（仅 remind 使用）",
    "发件人": "settings 中的 sender_name",
}

DEFAULT_SEND_SUBJECT = "关于报送{年度}年{季度}工作目标完成情况的通知（{处室}）"
DEFAULT_SEND_BODY = """{联系人}同志：

现将《{年度}年市民政局{处室}{季度}工作目标完成情况》模板（见附件“{附件}”）发给你们，\
请按模板填写完成情况、进展状态和存在问题及下步打算，于{截止日期}前将填好的工作簿\
作为附件回复本邮件。请勿修改文件格式和事项内容。

{发件人}
"""
DEFAULT_REMIND_SUBJECT = "【催报】{年度}年{季度}工作目标完成情况（{处室}）"
DEFAULT_REMIND_BODY = """{联系人}同志：

截至目前，{处室}{年度}年{季度}工作目标完成情况存在以下问题：

{问题}

请于{截止日期}前按要求修改（或填写）附件“{附件}”后回复本邮件。

{发件人}
"""

EXAMPLE = f'''# workbook-tools 邮件设置（send、remind、collect 使用）。
# 以 # 开头的是说明。密码不写在本文件中：运行前设置环境变量（默认 {DEFAULT_PASSWORD_ENV}），
# 或在运行时按提示输入。

[mail]
sender = "bangongshi@localhost"      # 发件邮箱，请改为协调人的邮箱
sender_name = "市民政局办公室"          # 发件人显示名称
deadline = "4月10日"                    # 截止日期，填入邮件正文
password_env = "{DEFAULT_PASSWORD_ENV}"  # 保存密码的环境变量名

[smtp]                                  # 发信服务器
host = "127.0.0.1"                      # 请改为本局邮件服务器地址
port = 465
tls = "ssl"                             # ssl（通常 465 端口）、starttls（通常 587 或 25 端口）或 none
# user = "bangongshi@localhost"         # 登录名，默认与 sender 相同
# cafile = "ca.pem"                     # 服务器使用本单位自签证书时，填写其根证书文件

[imap]                                  # 收信服务器（collect 使用，只读，不删除、不移动邮件）
host = "127.0.0.1"
port = 993
tls = "ssl"
folder = "INBOX"                        # 回复邮件所在的文件夹
# user = "bangongshi@localhost"

[templates]                             # 可用：{{处室}} {{联系人}} {{年度}} {{季度}} {{截止日期}} {{附件}} {{发件人}}
send_subject = "{DEFAULT_SEND_SUBJECT}"
send_body = """
{DEFAULT_SEND_BODY}"""
remind_subject = "{DEFAULT_REMIND_SUBJECT}"
# remind_body 另可用 {{问题}}：催报时列出的问题
remind_body = """
{DEFAULT_REMIND_BODY}"""
'''

MISSING_HELP = f"""请在工作文件夹中创建 {SETTINGS_FILE}（可运行 workbook-tools init 生成示例），至少写明：
  [mail]
  sender = "协调人邮箱"
  [smtp]
  host = "发信服务器地址"
  port = 465
  tls = "ssl"            # 或 starttls、none
  [imap]
  host = "收信服务器地址"
  port = 993
  tls = "ssl"
  folder = "INBOX"
密码不要写入文件：设置环境变量 {DEFAULT_PASSWORD_ENV}，或运行时按提示输入"""


class SettingsError(InputError):
    """The mail settings are missing or cannot be used."""


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    tls: str  # one of TLS_MODES
    user: str
    cafile: str = ""  # a CA certificate to trust besides the system's
    folder: str = "INBOX"  # IMAP only


@dataclass(frozen=True)
class MailSettings:
    sender: str
    sender_name: str
    deadline: str
    password_env: str
    smtp: Server | None
    imap: Server | None
    templates: Mapping[str, str]
    source: str = ""

    def require(self, which: str) -> Server:
        """The SMTP or IMAP server settings, or a SettingsError saying what to write."""
        server = self.smtp if which == "smtp" else self.imap
        if server is None:
            port, folder = ("465", "") if which == "smtp" else ("993", '\n  folder = "INBOX"')
            raise SettingsError(
                f"没有 [{which}] 设置",
                file=self.source,
                hint=f'请在文件中加入：\n  [{which}]\n  host = "服务器地址"\n  port = {port}\n  tls = "ssl"{folder}',
            )
        return server

    def render(self, key: str, values: Mapping[str, str]) -> str:
        """Fill template ``key`` (send_subject, send_body, remind_subject, remind_body)."""
        return render_template(self.templates[key], values, f"[templates] {key}", self.source)


DEFAULT_TEMPLATES = {
    "send_subject": DEFAULT_SEND_SUBJECT,
    "send_body": DEFAULT_SEND_BODY,
    "remind_subject": DEFAULT_REMIND_SUBJECT,
    "remind_body": DEFAULT_REMIND_BODY,
}


def write_example(path: Path, *, force: bool = False) -> Path:
    """Write the commented example settings to ``path``; never over an existing file unless
    ``force``."""
    from .errors import OutputError
    from .files import write_atomically

    path = Path(path)
    if path.exists() and not force:
        raise OutputError(
            "设置文件已存在，未改动", file=str(path), hint="如需重新生成，请加 --force"
        )
    return write_atomically(
        path, lambda tmp: tmp.write_text(EXAMPLE, encoding="utf-8"), what="设置文件"
    )


def load_settings(path: Path | None = None) -> MailSettings:
    """Read the settings file (default ``workbook-tools.toml`` in the working folder)."""
    path = Path(path) if path is not None else Path(SETTINGS_FILE)
    source = str(path)
    if not path.is_file():
        raise SettingsError(f"找不到邮件设置文件 {source}", hint=MISSING_HELP)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise SettingsError("设置文件不是 UTF-8 编码", file=source, hint="请用 UTF-8 保存") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"设置文件格式有误（{exc}）", file=source) from exc
    except OSError as exc:
        raise SettingsError(f"无法读取设置文件（{exc.strerror or exc}）", file=source) from exc
    if "password" in _all_keys(data):
        raise SettingsError(
            "设置文件中不能写密码",
            file=source,
            hint=f"请删除 password 一行，改为设置环境变量 {DEFAULT_PASSWORD_ENV} 或运行时输入",
        )
    mail = _table(data, "mail", source)
    sender = _text(mail, "sender", "mail", source)
    if not sender:
        raise SettingsError(
            "没有写发件邮箱", file=source, hint='请在 [mail] 中写 sender = "协调人邮箱"'
        )
    if not _looks_like_address(sender):
        raise SettingsError(f"发件邮箱“{sender}”不是有效的邮箱地址", file=source)
    templates = dict(DEFAULT_TEMPLATES)
    for key, value in _table(data, "templates", source).items():
        if key not in DEFAULT_TEMPLATES or not isinstance(value, str):
            raise SettingsError(
                f"[templates] 中的 {key} 无法识别",
                file=source,
                hint="可写：" + "、".join(DEFAULT_TEMPLATES),
            )
        templates[key] = value.strip("\n") + ("\n" if key.endswith("body") else "")
        render_template(templates[key], {k: "" for k in PLACEHOLDERS}, f"[templates] {key}", source)
    return MailSettings(
        sender=sender,
        sender_name=_text(mail, "sender_name", "mail", source) or sender,
        deadline=_text(mail, "deadline", "mail", source) or "规定时间",
        password_env=_text(mail, "password_env", "mail", source) or DEFAULT_PASSWORD_ENV,
        smtp=_server(data, "smtp", sender, source),
        imap=_server(data, "imap", sender, source),
        templates=templates,
        source=source,
    )


def password(
    settings: MailSettings,
    server: Server,
    prompt: Callable[[str], str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The password for ``server``: from the environment variable the settings name, else from
    ``prompt`` (None: no prompt, an empty password, for servers that need no login)."""
    environ = os.environ if environ is None else environ
    value = environ.get(settings.password_env)
    if value:
        return value
    if prompt is None:
        return ""
    return prompt(
        f"{server.user}@{server.host} 的密码（或预先设置环境变量 {settings.password_env}）"
    )


def render_template(text: str, values: Mapping[str, str], where: str, source: str = "") -> str:
    """``text`` with each ``{名称}`` replaced; names outside :data:`PLACEHOLDERS`, attribute or
    index access and format specs are refused, so a template cannot reach into Python objects.
    ``{{`` and ``}}`` stand for braces."""
    out = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise SettingsError(
            f"{where} 中的花括号不成对（{exc}）", file=source, hint="字面的花括号请写成 {{ 或 }}"
        ) from exc
    for literal, field, spec, conversion in parsed:
        out.append(literal)
        if field is None:
            continue
        if field not in PLACEHOLDERS or spec or conversion:
            raise SettingsError(
                f"{where} 中的 {{{field}}} 无法识别",
                file=source,
                hint="可用：" + "、".join(f"{{{k}}}（{v}）" for k, v in PLACEHOLDERS.items()),
            )
        out.append(str(values.get(field, "")))
    return "".join(out)


def _all_keys(data: object) -> set[str]:
    if not isinstance(data, dict):
        return set()
    keys = {str(k).lower() for k in data}
    for value in data.values():
        keys |= _all_keys(value)
    return keys


def _table(data: dict, name: str, source: str) -> dict:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise SettingsError(f"[{name}] 应当是一节设置", file=source)
    return value


def _text(table: dict, key: str, section: str, source: str) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise SettingsError(f"[{section}] 中的 {key} 应当用引号写成文字", file=source)
    if any(c in value for c in "\r\n\x00"):
        raise SettingsError(f"[{section}] 中的 {key} 不能换行", file=source)
    return value.strip()


def _server(data: dict, name: str, sender: str, source: str) -> Server | None:
    table = _table(data, name, source)
    if not table:
        return None
    host = _text(table, "host", name, source)
    if not host:
        raise SettingsError(
            f"[{name}] 中没有 host", file=source, hint='例如 host = "mail.本局域名"'
        )
    tls = (_text(table, "tls", name, source) or "ssl").lower()
    if tls not in TLS_MODES:
        raise SettingsError(
            f"[{name}] 中的 tls = “{tls}” 无法识别", file=source, hint="可写：ssl、starttls、none"
        )
    defaults = {("smtp", "ssl"): 465, ("smtp", "starttls"): 587, ("smtp", "none"): 25}
    defaults |= {("imap", "ssl"): 993, ("imap", "starttls"): 143, ("imap", "none"): 143}
    port = table.get("port", defaults[name, tls])
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise SettingsError(f"[{name}] 中的 port 应当是 1-65535 的整数", file=source)
    cafile = _text(table, "cafile", name, source)
    if cafile and not Path(cafile).is_absolute() and source:
        cafile = str(Path(source).parent / cafile)
    return Server(
        host=host,
        port=port,
        tls=tls,
        user=_text(table, "user", name, source) or sender,
        cafile=cafile,
        folder=_text(table, "folder", name, source) or "INBOX",
    )


def _looks_like_address(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    return bool(at and local and domain) and not any(c.isspace() or c in '<>,;"' for c in text)
