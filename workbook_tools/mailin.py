"""Incoming mail -> returned workbooks in inbox/, with who sent each and when.

Mail is hostile input, as the returns are: every message and attachment is size-capped, names
are decoded whatever their encoding (RFC 2047 words, RFC 2231 continuations, raw GBK bytes,
gb2312 labels on GBK text), base64 is decoded leniently, and nested messages (a forwarded return,
an attached .eml) are opened a few levels deep. The IMAP folder is only EXAMINEd and read with
BODY.PEEK: no flag is set, nothing is moved or deleted. Nothing in inbox/ is ever overwritten:
a new name gets ``-2``, ``-3``…; an attachment whose content is already there is skipped.

What was saved is recorded in ``inbox/.收件记录.json`` (a name the inbox walker skips), read with
:func:`read_receipts`.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.header
import email.utils
import hashlib
import imaplib
import json
import os
import re
import ssl
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import Message
from email.policy import compat32
from pathlib import Path

from .containers import sniff_bytes
from .errors import InputError
from .files import safe_filename, write_atomically
from .inbox import is_ignored_name, member_name
from .limits import MAX_FILE_SIZE
from .model import Delivery

RECEIPTS_NAME = ".收件记录.json"
MAX_MESSAGE_BYTES = 50 * 1024 * 1024
MAX_PARTS = 200  # MIME parts walked per message
MAX_DEPTH = 4  # nested messages opened
MAX_MESSAGES = 5_000  # per collect
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".et", ".xlsb")
ARCHIVE_SUFFIXES = (".zip",)
_KIND_SUFFIX = {"xlsx": ".xlsx", "xlsm": ".xlsm", "xls": ".xls", "ods": ".ods", "zip": ".zip"}
# Labels senders put on text that is really GBK/GB18030 (a superset of each).
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "gb_2312-80": "gb18030",
}


class MailReadError(InputError):
    """The mailbox or the folder of saved mail cannot be read."""


@dataclass(frozen=True)
class RawMail:
    data: bytes
    received: str  # ISO 8601 with offset, "" if unknown
    where: str  # "IMAP INBOX UID 101" or the .eml path
    #: ``received`` is the server's own (IMAP INTERNALDATE); otherwise it is only the file's
    #: time, and the message's topmost Received header (or its Date) is preferred.
    server_time: bool = False
    #: when set, no message was read, and this line says why (instead of "over 50MB")
    note: str = ""


@dataclass(frozen=True)
class Found:
    """An attachment worth saving, and where it came from."""

    name: str
    data: bytes
    sender: str  # address of the outer message's From
    sender_name: str
    received: str
    message_id: str
    subject: str
    where: str
    forwarded_from: str = ""  # From of the nested message it was in, for a forwarded return


@dataclass(frozen=True)
class Receipt:
    file: str  # name in inbox/
    sender: str
    sender_name: str
    division: str  # from the address book, "" when the sender is not in it
    received: str
    message_id: str
    subject: str
    sha256: str
    where: str
    forwarded_from: str = ""
    quarter: int = 0
    year: int = 0


@dataclass(frozen=True)
class CollectResult:
    saved: tuple[Receipt, ...]
    duplicates: tuple[str, ...]  # "name（where）" of attachments already in inbox/
    skipped: tuple[str, ...]  # what was not saved and why, one line each
    messages: int


# --- Sources ---------------------------------------------------------------------------------
def imap_messages(server, password: str, *, timeout: float = 60) -> Iterator[RawMail]:
    """Every message of the folder, read-only (EXAMINE, BODY.PEEK); oversized ones are yielded
    with empty data so that the caller can say they were skipped."""
    where = f"{server.host}:{server.port}"
    context = ssl.create_default_context(cafile=server.cafile or None)
    try:
        if server.tls == "ssl":
            imap = imaplib.IMAP4_SSL(server.host, server.port, ssl_context=context, timeout=timeout)
        else:
            imap = imaplib.IMAP4(server.host, server.port, timeout=timeout)
            if server.tls == "starttls":
                imap.starttls(ssl_context=context)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailReadError(
            f"无法连接收信服务器 {where}（{exc}）", hint="请检查 [imap] host、port、tls 和网络"
        ) from exc
    try:
        try:
            imap.login(server.user, password)
        except imaplib.IMAP4.error as exc:
            raise MailReadError(
                f"收信服务器 {where} 拒绝登录（{_text(exc)}）",
                hint=f"请检查 [imap] user（现为 {server.user}）和密码",
            ) from exc
        status, reply = imap.select(_quote_mailbox(server.folder), readonly=True)  # EXAMINE
        if status != "OK":
            raise MailReadError(
                f"收信服务器上没有文件夹“{server.folder}”（{_text(reply)}）",
                hint="请检查 [imap] folder",
            )
        status, reply = imap.uid("SEARCH", None, "ALL")
        uids = reply[0].split() if status == "OK" and reply and reply[0] else []
        if len(uids) > MAX_MESSAGES:
            # The newest: this quarter's returns are the latest mail of a folder kept for years.
            older = len(uids) - MAX_MESSAGES
            note = f"文件夹中有 {len(uids)} 封邮件，只读取了最新的 {MAX_MESSAGES} 封，较早的 {older} 封未读取"
            yield RawMail(b"", "", f"IMAP {server.folder}", note=note)
            uids = uids[-MAX_MESSAGES:]
        for uid in uids:
            uid = uid.decode()
            status, meta = imap.uid("FETCH", uid, "(RFC822.SIZE INTERNALDATE)")
            head = b" ".join(m if isinstance(m, bytes) else m[0] for m in meta if m)
            size = re.search(rb"RFC822\.SIZE (\d+)", head)
            received = _internaldate(head)
            label = f"IMAP {server.folder} UID {uid}"
            if size and int(size.group(1)) > MAX_MESSAGE_BYTES:
                yield RawMail(b"", received, label, server_time=True)
                continue
            status, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
            data = b"".join(p[1] for p in parts if isinstance(p, tuple))
            if not data:
                note = "读取时服务器上已没有这封邮件（被移走或删除），未读取；请在邮件客户端中查找后重新收取"
                yield RawMail(b"", received, label, server_time=True, note=note)
                continue
            yield RawMail(data[: MAX_MESSAGE_BYTES + 1], received, label, server_time=True)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailReadError(f"读取收信服务器 {where} 时出错（{_text(exc)}）") from exc
    finally:
        try:
            imap.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def eml_messages(folder: Path) -> Iterator[RawMail]:
    """Every .eml file under ``folder`` (as Foxmail or Outlook export them), in sorted order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MailReadError("找不到邮件文件夹", file=str(folder), hint="请检查路径")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".eml" and p.is_file())
    for path in paths[:MAX_MESSAGES]:
        try:
            size = path.stat().st_size
            data = b"" if size > MAX_MESSAGE_BYTES else path.read_bytes()
            mtime = path.stat().st_mtime
        except OSError:
            continue
        received = datetime.fromtimestamp(mtime).astimezone().isoformat(timespec="seconds")
        yield RawMail(data, received, str(path.relative_to(folder).as_posix()))


# --- Parsing ---------------------------------------------------------------------------------
def attachments(mail: RawMail) -> tuple[list[Found], list[str]]:
    """The workbook and archive attachments of one message, and what was skipped and why."""
    if mail.note:
        return [], [f"{mail.where}：{mail.note}"]
    if not mail.data:
        when = f"（{mail.received} 收到）" if mail.received else ""
        return [], [f"{mail.where}{when}：邮件超过 {MAX_MESSAGE_BYTES // 1024 // 1024}MB，未读取"]
    msg = email.message_from_bytes(mail.data, policy=compat32)
    sender_name, sender = sender_of(msg)
    received = mail.received if mail.server_time and mail.received else ""
    received = received or _received(msg) or mail.received
    subject = decode_words(msg.get("Subject", ""))
    base = {
        "sender": sender.lower(),
        "sender_name": sender_name,
        "received": received,
        "message_id": str(msg.get("Message-ID", "")).strip(),
        "subject": subject,
        # Skipped lines name the message as a mail client shows it, not by its IMAP number.
        "where": f"{mail.where}（{sender_name or sender or '发件人不明'}，“{subject}”，{received}）",
    }
    found: list[Found] = []
    skipped: list[str] = []
    budget = [MAX_PARTS]
    _walk(msg, base, "", 0, found, skipped, budget)
    return found, skipped


def _walk(msg: Message, base: dict, forwarded: str, depth: int, found, skipped, budget) -> None:
    for part in _parts(msg, budget):
        ctype = part.get_content_type()
        name = filename(part)
        if ctype == "message/rfc822" or (name.lower().endswith(".eml") and not part.is_multipart()):
            inner = _inner_message(part)
            if inner is None:
                continue
            if depth + 1 > MAX_DEPTH:
                skipped.append(f"{base['where']}：转发层数过多，未展开")
                continue
            inner_from = sender_of(inner)[1]
            _walk(inner, base, forwarded or inner_from.lower(), depth + 1, found, skipped, budget)
            continue
        if part.is_multipart() or not name and part.get_content_maintype() in ("text", "multipart"):
            continue
        data = _decoded(part)
        if len(data) > MAX_FILE_SIZE:
            skipped.append(
                f"{base['where']}：附件“{name}”超过 {MAX_FILE_SIZE // 1024 // 1024}MB，未保存"
            )
            continue
        kind = sniff_bytes(data).kind
        suffix = os.path.splitext(name)[1].lower()
        if kind == "zip" and not _holds_workbooks(data):
            skipped.append(f"{base['where']}：压缩包“{name}”中没有工作簿，未保存")
            continue
        if kind not in _KIND_SUFFIX and kind != "encrypted" and suffix not in WORKBOOK_SUFFIXES:
            if ctype == "application/ms-tnef" or name.lower() == "winmail.dat":
                skipped.append(
                    f"{base['where']}：附件“{name or 'winmail.dat'}”是 Outlook 以 RTF 格式发信时的"
                    "封装，其中可能有报送文件，未保存；请发件人改用 HTML 或纯文本格式重发"
                )
            elif suffix in _OTHER_ARCHIVES:
                skipped.append(
                    f"{base['where']}：附件“{name}”是 {suffix} 压缩包，无法读取，其中可能有报送文件，"
                    "未保存；请发件人直接附上工作簿或改用 .zip 重发"
                )
            elif name and not _inline_picture(part):
                skipped.append(f"{base['where']}：附件“{name}”不是工作簿，未保存")
            continue
        found.append(Found(name=name, data=data, forwarded_from=forwarded, **base))
    if budget[0] <= 0:
        skipped.append(f"{base['where']}：邮件部分超过 {MAX_PARTS} 个，其余未读取")


def sender_of(msg: Message) -> tuple[str, str]:
    """(display name, address) of the From header. The address is parsed before the name is
    decoded: a name such as "张三, 社会救助处" holds a comma only once decoded."""
    raw = msg.get("From", "")
    name, address = email.utils.parseaddr(raw if isinstance(raw, str) else str(raw))
    if "@" not in address:  # raw 8-bit bytes in the header: decode first
        name, address = email.utils.parseaddr(decode_words(raw))
        return name, address
    return decode_words(name), address


def _parts(msg: Message, budget: list[int]) -> Iterator[Message]:
    """Leaf parts and nested messages, depth first, at most MAX_PARTS in all."""
    stack = [msg]
    while stack and budget[0] > 0:
        part = stack.pop(0)
        budget[0] -= 1
        if part.get_content_type() == "message/rfc822":
            yield part
        elif part.is_multipart():
            payload = part.get_payload()
            stack[:0] = (
                [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
            )
        else:
            yield part


def _inline_picture(part: Message) -> bool:
    """A picture shown in the body (a signature's logo, image001.png): never a return, and one
    line for each in every mail of a folder would bury the lines that matter."""
    disposition = str(part.get("Content-Disposition", "")).split(";")[0].strip().lower()
    return part.get_content_maintype() == "image" and (
        disposition == "inline" or part.get("Content-ID") is not None
    )


def _decoded(part: Message) -> bytes:
    """The part's content. Base64 encoded piece by piece, with padding inside the stream (as
    some mailers and gateways write it), is decoded piece by piece: the standard decoder stops
    at the first padding and would keep only the first piece of the file."""
    data = part.get_payload(decode=True) or b""
    raw = part.get_payload(decode=False)
    if str(part.get("Content-Transfer-Encoding", "")).strip().lower() != "base64" or not (
        isinstance(raw, str)
    ):
        return data
    text = re.sub(r"[^A-Za-z0-9+/=]", "", raw)
    if "=" not in text.rstrip("="):
        return data
    out = bytearray()
    for piece in re.findall(r"[A-Za-z0-9+/]+={0,2}", text):
        body = piece.rstrip("=")
        try:
            out += base64.b64decode(body + "=" * (-len(body) % 4))
        except binascii.Error:
            return data
    return bytes(out) if len(out) > len(data) else data


#: Archives a return may come in that are not read (only .zip is).
_OTHER_ARCHIVES = (".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".arj", ".cab")


def _inner_message(part: Message) -> Message | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    data = part.get_payload(decode=True)
    if not data or len(data) > MAX_MESSAGE_BYTES:
        return None
    return email.message_from_bytes(data, policy=compat32)


def filename(part: Message) -> str:
    """The attachment's name, whatever way the sender's client encoded it; "" if none."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        raw = part.get(header)
        if isinstance(raw, email.header.Header):
            # compat32 keeps a header holding raw 8-bit bytes (GBK, say) as a Header of
            # "unknown-8bit" chunks; read its bytes as the sender's client meant them.
            text = "".join(
                _decode_bytes(c, "utf-8") if isinstance(c, bytes) else c
                for c, _ in email.header.decode_header(raw)
            )
            holder = Message()
            holder[header] = text
            value = holder.get_param(param, None, header=header)
        else:
            value = part.get_param(param, None, header=header)
        if value is None:
            continue
        if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded text as latin-1)
            charset = _charset(value[0] or "utf-8")
            raw = value[2].encode("raw-unicode-escape") if isinstance(value[2], str) else value[2]
            text = _decode_bytes(raw, charset)
        else:
            text = decode_words(email.utils.unquote(value))
        text = " ".join(text.replace("\\", "/").split("/")[-1].split())
        if text:
            return text
    return ""


def decode_words(value: object) -> str:
    """A header value with its RFC 2047 words decoded; raw 8-bit bytes read as UTF-8 or GB18030."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        chunks = email.header.decode_header(value)
    else:
        text = str(value)
        if any("\udc80" <= c <= "\udcff" for c in text):  # raw bytes the parser escaped
            text = _decode_bytes(text.encode("utf-8", "surrogateescape"), "utf-8")
        # decode_header wants encoded words separated by whitespace from their neighbours
        text = re.sub(r"\?=\s*\"?\s*=\?", "?= =?", text)
        try:
            chunks = email.header.decode_header(text)
        except (ValueError, LookupError):
            return text
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            out.append(_decode_bytes(chunk, _charset(charset or "utf-8")))
    return "".join(out).replace("\r", "").replace("\n", "")


def _decode_bytes(raw: bytes, charset: str) -> str:
    for candidate in dict.fromkeys((charset, "utf-8", "gb18030")):
        try:
            return raw.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return raw.decode("gb18030", "replace")


def _charset(label: str) -> str:
    label = label.strip().lower()
    return _CHARSET_ALIASES.get(label, label)


def _holds_workbooks(data: bytes) -> bool:
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return any(
                member_name(i).lower().endswith(WORKBOOK_SUFFIXES) for i in zf.infolist()[:2000]
            )
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return True  # a broken archive is still the sender's return: merge will say why


def _received(msg: Message) -> str:
    """When the receiving server took the message: the date of the topmost Received header,
    else the Date header."""
    for value in msg.get_all("Received", [])[:1] + [msg.get("Date", "")]:
        text = str(value).rpartition(";")[2] if ";" in str(value) else str(value)
        try:
            when = email.utils.parsedate_to_datetime(text.strip())
        except (TypeError, ValueError, IndexError):
            continue
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return when.isoformat(timespec="seconds")
    return ""


def _internaldate(head: bytes) -> str:
    m = re.search(rb'INTERNALDATE "([^"]+)"', head)
    if not m:
        return ""
    try:
        when = datetime.strptime(m.group(1).decode(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return ""
    return when.isoformat(timespec="seconds")


def _quote_mailbox(name: str) -> str:
    """The folder name as IMAP wants it: modified UTF-7 (RFC 3501 5.1.3), quoted, since a
    Chinese server's folders have Chinese names (已发送, 报送材料)."""
    encoded = imap_utf7(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_utf7(text: str) -> str:
    """``text`` in IMAP's modified UTF-7: printable ASCII as itself ("&" as "&-"), every other
    run as "&" + base64 of its UTF-16BE with "," for "/" and no padding + "-"."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            data = base64.b64encode("".join(run).encode("utf-16-be")).decode("ascii")
            out.append("&" + data.rstrip("=").replace("/", ",") + "-")
            run.clear()

    for char in text:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            run.append(char)
    flush()
    return "".join(out)


def _text(value: object) -> str:
    if isinstance(value, list):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())


# --- Saving ----------------------------------------------------------------------------------
def read_receipts(inbox: Path) -> dict[str, Receipt]:
    """What collect saved into ``inbox``: {file name: Receipt}; {} when nothing was collected or
    the record cannot be read."""
    path = Path(inbox) / RECEIPTS_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        fields = Receipt.__dataclass_fields__
        return {
            name: Receipt(**{k: v for k, v in entry.items() if k in fields})
            for name, entry in files.items()
            if isinstance(entry, dict)
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def receipt_for(receipts: dict[str, Receipt], source: str) -> Receipt | None:
    """The receipt of the file a return was read from: ``source`` is merge's inbox-relative
    path, "name.xlsx" or, for a member of a collected archive, "name.zip/member.xlsx"."""
    return receipts.get(source.split("/", 1)[0])


def deliveries(inbox: Path, sources: Iterable[str]) -> dict[str, Delivery]:
    """How each of ``sources`` (merge's inbox-relative names) came by mail, for those collect
    saved: {source: Delivery}."""
    receipts = read_receipts(inbox)
    out = {}
    for source in sources:
        receipt = receipt_for(receipts, source)
        if receipt is not None:
            sender = (
                f"{receipt.sender_name} <{receipt.sender}>"
                if receipt.sender_name
                else receipt.sender
            )
            out[source] = Delivery(receipt.received, sender, receipt.division)
    return out


def save_attachments(
    mails: Iterator[RawMail],
    inbox: Path,
    *,
    division_of: Callable[[str], str] = lambda address: "",
    year: int = 0,
    quarter: int = 0,
    own: str = "",
) -> CollectResult:
    """Save every workbook attachment of ``mails`` into ``inbox``; never overwrite, never save
    the same content twice (as a file there now: a saved file deleted since is saved again).

    ``own``: the coordinator's address. What it sent (a copy of the notice, the notice quoted
    in a division's reply) holds the blank templates, not returns, and is not saved."""
    inbox = Path(inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    receipts = read_receipts(inbox)
    known = _existing_hashes(inbox)
    saved, duplicates, skipped = [], [], []
    count = 0
    own = own.strip().lower()
    for mail in mails:
        count += 1
        try:
            found, why = attachments(mail)
        except Exception as exc:  # noqa: BLE001 - a message the parser cannot take is skipped
            found, why = [], [f"{mail.where}：邮件无法解析（{type(exc).__name__}），未读取"]
        skipped += why
        if own:
            mine = [f for f in found if own in (f.sender, f.forwarded_from)]
            skipped += [
                f"{f.where}：附件“{f.name}”在本局（{own}）发出的邮件中，是下发的模板，不是报送文件，未保存"
                for f in mine
            ]
            found = [f for f in found if f not in mine]
        if not found and not why and mail.data:
            # A division's mail without a workbook: a forgotten attachment, or a link instead.
            msg = email.message_from_bytes(mail.data, policy=compat32)
            name, address = sender_of(msg)
            division = division_of(address.lower())
            if division:
                skipped.append(
                    f"{mail.where}（{name or address}，“{decode_words(msg.get('Subject', ''))}”）："
                    f"{division}的邮件中没有工作簿附件（可能漏附，或只发了网盘链接），请核实"
                )
        for item in found:
            digest = hashlib.sha256(item.data).hexdigest()
            if digest in known:
                duplicates.append(f"{item.name or '（无名附件）'}（{item.where}）")
                continue
            path = _write_new(inbox, _target_name(item, division_of))
            division = division_of(item.sender) or (
                division_of(item.forwarded_from) if item.forwarded_from else ""
            )
            receipt = Receipt(
                file=path.name,
                sender=item.sender,
                sender_name=item.sender_name,
                division=division,
                received=item.received,
                message_id=item.message_id,
                subject=item.subject,
                sha256=digest,
                where=item.where,
                forwarded_from=item.forwarded_from,
                quarter=quarter,
                year=year,
            )
            known.add(digest)
            receipts[path.name] = receipt
            saved.append(receipt)
            _write_receipts(inbox, receipts)  # after each file: an interrupted run loses nothing
    return CollectResult(tuple(saved), tuple(duplicates), tuple(skipped), count)


def _target_name(item: Found, division_of: Callable[[str], str]) -> tuple[str, str, bytes]:
    name = item.name
    kind = sniff_bytes(item.data).kind
    stem, suffix = os.path.splitext(name)
    suffix = suffix.lower()
    if suffix not in WORKBOOK_SUFFIXES + ARCHIVE_SUFFIXES:
        stem, suffix = name, _KIND_SUFFIX.get(kind, ".xlsx")
    if not stem.strip():
        stem = f"{division_of(item.sender) or item.sender or '附件'}-回复"
    return stem, suffix, item.data


def _write_new(inbox: Path, target: tuple[str, str, bytes]) -> Path:
    """Write under a name no file in ``inbox`` has (``-2``, ``-3``…), never over one."""
    stem, suffix, data = target
    n = 1
    while True:
        tag = "" if n == 1 else f"-{n}"
        name = safe_filename(stem, suffix, max_len=120 - len(tag))
        name = name[: -len(suffix)] + tag + suffix
        path = inbox / name
        if is_ignored_name(name):
            path = inbox / ("_" + name)
        try:
            with open(path, "xb") as f:  # exclusive create: an existing file is never replaced
                try:
                    f.write(data)
                except BaseException:
                    f.close()
                    path.unlink(missing_ok=True)
                    raise
            return path
        except FileExistsError:
            n += 1
        except OSError as exc:
            from .errors import OutputError

            raise OutputError(
                f"无法在收件箱中保存附件（{exc.strerror or exc}）", file=str(path)
            ) from exc


def _existing_hashes(inbox: Path) -> set[str]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(inbox):
        dirnames[:] = [d for d in dirnames if not is_ignored_name(d)]
        for f in filenames:
            path = Path(dirpath) / f
            try:
                if is_ignored_name(f) or path.stat().st_size > MAX_FILE_SIZE:
                    continue
                out.add(hashlib.sha256(path.read_bytes()).hexdigest())
            except OSError:
                continue
    return out


def _write_receipts(inbox: Path, receipts: dict[str, Receipt]) -> None:
    data = {"version": 1, "files": {name: asdict(r) for name, r in sorted(receipts.items())}}
    text = json.dumps(data, ensure_ascii=False, indent=2)
    write_atomically(
        inbox / RECEIPTS_NAME, lambda tmp: tmp.write_text(text, encoding="utf-8"), what="收件记录"
    )
