"""Outgoing mail: one message per division with its template attached (send), or with its
problems listed (remind); written as .eml files (--dry-run) or handed to the SMTP server.

Headers are built by hand rather than by the email package's modern folding, which mangles a long
Content-Type with a parameter: subjects and display names are RFC 2047 encoded words; the
attachment's name is given three ways, as Chinese mail clients read it: ``name="=?utf-8?b?…?="``
on Content-Type (Outlook, Foxmail), ``filename*0*=utf-8''…`` RFC 2231 continuations and
``filename="=?utf-8?b?…?="`` on Content-Disposition. Every header line is 7-bit ASCII and folded
(the xlsx media type alone makes one line of 80), so no server needs SMTPUTF8.
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import smtplib
import ssl
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import encoders
from email.generator import BytesGenerator
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formatdate, make_msgid
from pathlib import Path

from . import layout
from .contacts import AddressBook
from .errors import OutputError, WorkbookToolsError
from .files import safe_filename, write_atomically
from .model import SEVERITY_ERROR, SEVERITY_INFO, Flag, Master, Summary, quarter_name
from .sendlog import KIND_REMIND, KIND_SEND, RESULT_FAILED, RESULT_SENT, LogEntry, SendLog
from .settings import MailSettings, Server

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
TIMEOUT = 60  # seconds per SMTP command
PREVIEW_DIR = "邮件预览"


class MailServerError(WorkbookToolsError):
    """The mail server cannot be reached or refuses the login."""


@dataclass(frozen=True)
class Outgoing:
    """One message to one division, ready to compose."""

    kind: str  # KIND_SEND / KIND_REMIND
    division: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    body: str
    attachment: Path


@dataclass(frozen=True)
class Outcome:
    division: str
    sent: bool
    detail: str  # why not, or which addresses were refused


def quarter_folder(outbox: Path, year: int, quarter: int) -> Path:
    """outbox/2022年第一季度/"""
    return Path(outbox) / f"{year}年第{quarter_name(quarter)}季度"


def find_template(outbox: Path, year: int, quarter: int, division: str) -> Path | None:
    """The template split wrote for ``division``: in the quarter's folder, else in the outbox."""
    name = safe_filename(layout.file_stem(year, quarter, division))
    for folder in (quarter_folder(outbox, year, quarter), Path(outbox)):
        if (folder / name).is_file():
            return folder / name
    return None


def plan_messages(
    kind: str,
    master: Master,
    book: AddressBook,
    settings: MailSettings,
    year: int,
    quarter: int,
    outbox: Path,
    divisions: Sequence[str],
    problems: dict[str, list[Flag]] | None = None,
) -> tuple[list[Outgoing], list[Outcome]]:
    """The messages for ``divisions``, and an Outcome for each division that cannot get one
    (no address, no template)."""
    prefix = "send" if kind == KIND_SEND else "remind"
    ready, missing = [], []
    for division in divisions:
        contact = book.of(division)
        if contact is None or not contact.to:
            missing.append(Outcome(division, False, "通讯录中没有邮箱"))
            continue
        path = find_template(outbox, year, quarter, division)
        if path is None:
            missing.append(Outcome(division, False, f"{outbox} 中没有模板，请先运行 split"))
            continue
        values = {
            "处室": division,
            "联系人": contact.person or division,
            "年度": str(year),
            "季度": f"第{quarter_name(quarter)}季度",
            "截止日期": settings.deadline,
            "附件": path.name,
            "发件人": settings.sender_name,
            "问题": describe_problems((problems or {}).get(division, [])),
        }
        subject = " ".join(settings.render(f"{prefix}_subject", values).split())
        body = settings.render(f"{prefix}_body", values)
        ready.append(Outgoing(kind, division, contact.to, contact.cc, subject, body, path))
    return ready, missing


def late_divisions(summary: Summary) -> dict[str, list[Flag]]:
    """The divisions remind writes to, in the summary's order: those that sent nothing and those
    whose return has an 错误; each with the flags its mail lists (all but 提示)."""
    late: dict[str, list[Flag]] = {}
    for d in summary.divisions:
        flags = [
            f for f in summary.flags if f.division == d.division and f.severity != SEVERITY_INFO
        ]
        if not d.submitted or any(f.severity == SEVERITY_ERROR for f in flags):
            late[d.division] = flags
    return late


def describe_problems(flags: Sequence[Flag]) -> str:
    """Numbered lines in plain words, as 问题清单 has them."""
    return "\n".join(f"{i}. 【{f.kind}】{f.detail}" for i, f in enumerate(flags, 1))


def compose(
    item: Outgoing, settings: MailSettings, *, date: str | None = None
) -> tuple[bytes, str]:
    """The message as bytes (CRLF line ends) and its Message-ID."""
    msg = MIMEMultipart(boundary=f"=_wbt_{secrets.token_hex(12)}")
    domain = settings.sender.rpartition("@")[2].strip("[]") or "localhost"
    message_id = make_msgid(domain=domain)
    msg["From"] = _address(settings.sender_name, settings.sender)
    msg["To"] = ",\r\n ".join(_address(item.division, a) for a in item.to)
    if item.cc:
        msg["Cc"] = ",\r\n ".join(item.cc)
    msg["Subject"] = _encoded_words(item.subject, "Subject")
    msg["Date"] = date or formatdate(localtime=True)
    msg["Message-ID"] = message_id
    msg.attach(MIMEText(item.body.replace("\r\n", "\n"), "plain", "utf-8"))
    msg.attach(_attachment(item.attachment.name, item.attachment.read_bytes()))
    buf = io.BytesIO()
    BytesGenerator(buf, policy=compat32.clone(linesep="\r\n", max_line_length=0)).flatten(msg)
    return buf.getvalue(), message_id


def write_previews(items: Sequence[Outgoing], settings: MailSettings, folder: Path) -> list[Path]:
    """--dry-run: each message as ``<处室>.eml`` in ``folder`` (replacing an earlier preview)."""
    out = []
    for item in items:
        data, _ = compose(item, settings)
        tag = "催报-" if item.kind == KIND_REMIND else ""
        path = Path(folder) / safe_filename(f"{tag}{item.division}", ".eml")
        out.append(write_atomically(path, lambda tmp, d=data: tmp.write_bytes(d), what="邮件预览"))
    return out


def deliver(
    items: Sequence[Outgoing],
    settings: MailSettings,
    get_password: Callable[[], str],
    log: SendLog,
    year: int,
    quarter: int,
) -> list[Outcome]:
    """Send each message over one SMTP connection; a refused message or address never stops
    the others. Each message is logged as soon as the server has answered for it."""
    server = settings.require("smtp")
    outcomes: list[Outcome] = []
    smtp = None
    try:
        for item in items:
            if smtp is None:
                smtp = _connect(server, get_password)
            data, message_id = compose(item, settings)
            outcome, smtp = _send_one(smtp, settings, item, data)
            outcomes.append(outcome)
            log.append([_entry(item, outcome, message_id, year, quarter)])
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
    return outcomes


def _send_one(smtp, settings: MailSettings, item: Outgoing, data: bytes):
    recipients = [*item.to, *item.cc]
    try:
        refused = smtp.sendmail(settings.sender, recipients, data)
    except smtplib.SMTPRecipientsRefused as exc:
        return Outcome(item.division, False, _refusals(exc.recipients)), smtp
    except smtplib.SMTPResponseException as exc:
        return Outcome(item.division, False, f"服务器拒收（{_reply(exc)}）"), smtp
    except (smtplib.SMTPException, OSError) as exc:
        # The connection is gone: this message is lost, the next one gets a new connection.
        return Outcome(item.division, False, f"连接中断（{exc}）"), None
    if all(a in refused for a in item.to):
        return Outcome(item.division, False, _refusals(refused)), smtp
    return Outcome(item.division, True, _refusals(refused) if refused else ""), smtp


def _connect(server: Server, get_password: Callable[[], str]) -> smtplib.SMTP:
    where = f"{server.host}:{server.port}"
    context = ssl.create_default_context(cafile=server.cafile or None)
    try:
        if server.tls == "ssl":
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
        smtp.ehlo()
        if server.tls == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if smtp.has_extn("auth"):
            password = get_password()
            if password:
                _login(smtp, server.user, password)
        return smtp
    except smtplib.SMTPAuthenticationError as exc:
        raise MailServerError(
            f"发信服务器 {where} 拒绝登录（{_reply(exc)}）",
            hint=f"请检查 [smtp] user（现为 {server.user}）和密码",
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise MailServerError(
            f"发信服务器 {where} 不支持 STARTTLS", hint="请把 [smtp] tls 改为 ssl 并使用相应端口"
        ) from exc
    except ssl.SSLError as exc:
        raise MailServerError(
            f"与发信服务器 {where} 建立加密连接失败（{exc.reason or exc}）",
            hint="请检查 [smtp] tls 与端口是否匹配（ssl 通常 465，starttls 通常 587）；"
            "服务器使用自签证书时，在 [smtp] 中写 cafile",
        ) from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise MailServerError(
            f"无法连接发信服务器 {where}（{exc}）", hint="请检查 [smtp] host、port 和网络"
        ) from exc


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """smtplib.login, except for a password that is not ASCII, which smtplib cannot encode:
    AUTH PLAIN carries it as UTF-8 (RFC 4616)."""
    if (user + password).isascii():
        smtp.login(user, password)
        return
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _entry(item: Outgoing, outcome: Outcome, message_id: str, year: int, quarter: int) -> LogEntry:
    data = item.attachment.read_bytes()
    return LogEntry(
        time=datetime.now().astimezone().isoformat(timespec="seconds"),
        kind=item.kind,
        year=year,
        quarter=quarter,
        division=item.division,
        to="; ".join(item.to),
        cc="; ".join(item.cc),
        attachment=item.attachment.name,
        sha256=hashlib.sha256(data).hexdigest(),
        result=RESULT_SENT if outcome.sent else RESULT_FAILED,
        detail=outcome.detail,
        message_id=message_id,
    )


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = (
        exc.smtp_error.decode("utf-8", "replace")
        if isinstance(exc.smtp_error, bytes)
        else str(exc.smtp_error)
    )
    return f"{exc.smtp_code} {' '.join(text.split())}"


def _refusals(refused: dict) -> str:
    parts = []
    for address, (code, text) in sorted(refused.items()):
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        parts.append(f"{address} 被拒收（{code} {' '.join(text.split())}）")
    return "；".join(parts)


def _encoded_words(text: str, header_name: str = "") -> str:
    """RFC 2047 encoded words folded to 76 characters (the first line leaves room for the
    header's name), or the text itself when it is short ASCII."""
    if text.isascii() and len(text) < 60:
        return text
    return Header(text, "utf-8", header_name=header_name or None).encode(
        maxlinelen=76, linesep="\r\n"
    )


def _address(name: str, address: str) -> str:
    if not name:
        return address
    if name.isascii() and not any(c in name for c in '()<>[]:;@\\,."'):
        return f"{name} <{address}>"
    return f"{_encoded_words(name) if not name.isascii() else Header(name, 'utf-8').encode()} <{address}>"


def _rfc2231(param: str, value: str) -> str:
    """``param*0*=utf-8''…; param*1*=…`` continuations of at most 54 characters each."""
    quoted = urllib.parse.quote(value.encode("utf-8"), safe="")
    chunks, i = [], 0
    while i < len(quoted):
        j = min(i + 54, len(quoted))
        percent = quoted.rfind("%", i, j)
        if j < len(quoted) and percent > j - 3:  # never cut inside a %XX escape
            j = percent
        chunks.append(quoted[i:j])
        i = j
    return ";\r\n ".join(
        f"{param}*{n}*=utf-8''{chunk}" if n == 0 else f"{param}*{n}*={chunk}"
        for n, chunk in enumerate(chunks)
    )


def _attachment(name: str, data: bytes) -> MIMEBase:
    part = MIMEBase(*XLSX_TYPE)
    part.set_payload(data)
    encoders.encode_base64(part)
    words = Header(name, "utf-8").encode(maxlinelen=64, linesep="\r\n")
    part.replace_header("Content-Type", f'{"/".join(XLSX_TYPE)};\r\n name="{words}"')
    part["Content-Disposition"] = (
        f'attachment;\r\n {_rfc2231("filename", name)};\r\n filename="{words}"'
    )
    return part


def check_outbox(outbox: Path) -> None:
    if not Path(outbox).is_dir():
        raise OutputError(
            "找不到模板文件夹", file=str(outbox), hint="请先运行 split，或用 --outbox 指定"
        )
