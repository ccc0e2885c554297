"""send, remind and collect against real mail servers on 127.0.0.1 (aiosmtpd, pymap)."""

from __future__ import annotations

import email
import json
import re
import shutil
from email import policy
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from tests.builders import SHIPPED_MASTER, sample_fills, split_shipped
from tests.mailservers import (
    IMAP_PASSWORD,
    LOOPBACK,
    PASSWORD,
    USER,
    Handler,
    IMAPServer,
    SMTPServer,
    make_certs,
)
from workbook_tools.archive import Archive
from workbook_tools.cli import cli
from workbook_tools.demo import fill_template
from workbook_tools.inbox import collect
from workbook_tools.mailin import RECEIPTS_NAME, deliveries, read_receipts
from workbook_tools.mailout import late_divisions
from workbook_tools.master import read_master
from workbook_tools.merge import merge
from workbook_tools.model import DivisionStatus, Flag
from workbook_tools.summarise import to_json

pytest.importorskip("pymap")

MASTER = read_master(SHIPPED_MASTER)
DIVISIONS = MASTER.divisions
YEAR = MASTER.year


def address(i: int) -> str:
    return f"d{i:02d}@localhost"


def contacts_rows(skip=()) -> list[list[str]]:
    rows = [["处室（单位）", "联系人", "邮箱", "抄送"]]
    for i, d in enumerate(DIVISIONS, 1):
        if d not in skip:
            rows.append([d, f"联系人{i}", address(i), f"lead{i:02d}@localhost" if i == 1 else ""])
    return rows


def write_contacts(path: Path, skip=()) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "通讯录"
    for row in contacts_rows(skip):
        ws.append(row)
    wb.save(path)
    return path


def write_settings(
    folder: Path, smtp_port=1, smtp_tls="starttls", imap_port=1, ca="", imap_tls="none",
    folder_name="INBOX",
) -> Path:  # fmt: skip
    text = f"""
[mail]
sender = "{USER}"
sender_name = "市民政局办公室"
deadline = "2022年4月10日"
password_env = "TEST_MAIL_PASSWORD"

[smtp]
host = "{LOOPBACK}"
port = {smtp_port}
tls = "{smtp_tls}"
cafile = "{ca}"

[imap]
host = "{LOOPBACK}"
port = {imap_port}
tls = "{imap_tls}"
cafile = "{ca}"
folder = "{folder_name}"
"""
    path = folder / "workbook-tools.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def work(tmp_path):
    templates = split_shipped(tmp_path / "outbox")
    contacts = write_contacts(tmp_path / "通讯录.xlsx")
    return tmp_path, templates, contacts


def send_args(tmp_path, contacts, settings, *extra):
    return (
        "send", "--quarter", 1, "--master", SHIPPED_MASTER, "--contacts", contacts,
        "--outbox", tmp_path / "outbox", "--settings", settings, *extra,
    )  # fmt: skip


ENV = {"TEST_MAIL_PASSWORD": PASSWORD}


# --- settings and contacts -------------------------------------------------------------------
def test_no_settings_says_what_to_write(work):
    tmp_path, _, contacts = work
    result = run(*send_args(tmp_path, contacts, tmp_path / "workbook-tools.toml"))
    assert result.exit_code == 1
    assert "找不到邮件设置文件" in result.output
    for line in (
        "[smtp]",
        'host = "发信服务器地址"',
        "[imap]",
        "workbook-tools init",
        "WORKBOOK_TOOLS_PASSWORD",
    ):
        assert line in result.output


def test_init_writes_example_that_loads_and_points_at_loopback(tmp_path):
    from workbook_tools.settings import load_settings

    path = tmp_path / "workbook-tools.toml"
    result = run("init", "--settings", path)
    assert result.exit_code == 0, result.output
    settings = load_settings(path)
    assert settings.smtp.host == settings.imap.host == LOOPBACK
    assert "password" not in path.read_text(encoding="utf-8").replace("password_env", "")
    assert run("init", "--settings", path).exit_code == 1  # never over an existing file
    subject = settings.render(
        "send_subject", {"处室": "养老服务处", "年度": "2022", "季度": "第一季度"}
    )
    assert subject == "关于报送2022年第一季度工作目标完成情况的通知（养老服务处）"


def test_password_in_settings_is_refused(tmp_path):
    path = write_settings(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + 'password = "x"\n', encoding="utf-8")
    result = run("send", "-q", 1, "--settings", path, "--dry-run")
    assert result.exit_code == 1 and "设置文件中不能写密码" in result.output


def test_unknown_placeholder_is_named(tmp_path):
    path = write_settings(tmp_path)
    path.write_text(
        path.read_text(encoding="utf-8") + '[templates]\nsend_subject = "{处室.__class__}"\n',
        encoding="utf-8",
    )
    result = run("send", "-q", 1, "--settings", path, "--dry-run")
    assert result.exit_code == 1
    assert "[templates] send_subject 中的 {处室.__class__} 无法识别" in result.output


def test_contacts_from_a_master_copy_report_missing_divisions(tmp_path):
    master = tmp_path / "分解方案.xlsx"
    shutil.copy(SHIPPED_MASTER, master)
    wb = load_workbook(master)
    ws = wb.create_sheet("通讯录")
    for row in contacts_rows(skip=("社会事务处", "市慈善服务中心")):
        ws.append(row)
    ws.append(["政策法规处\n(局信息中心)", "王五", "wang@localhost；bad address", ""])
    wb.save(master)
    result = run("contacts", "--master", master)
    assert result.exit_code == 1
    assert "通讯录中没有邮箱：社会事务处、市慈善服务中心" in result.output
    assert "有邮箱 10/12 个处室（单位）" in result.output
    assert "“bad”不是有效的邮箱地址" in result.output
    assert "wang@localhost" in result.output  # merged into 政策法规处（局信息中心）


def test_master_without_contacts_sheet_says_how(work):
    result = run("contacts", "--master", SHIPPED_MASTER)
    assert result.exit_code == 1
    assert "分解方案中没有“通讯录”工作表" in result.output and "--contacts" in result.output


# --- send ------------------------------------------------------------------------------------
def attachment_of(msg: EmailMessage):
    [att] = list(msg.iter_attachments())
    return att.get_filename(), att.get_content()


def test_send_over_starttls_with_login_and_no_second_send(work, certs):
    tmp_path, templates, contacts = work
    handler = Handler()
    with SMTPServer(handler, "starttls", certs) as smtp:
        settings = write_settings(tmp_path, smtp.port, "starttls", ca=certs.ca)
        result = run(*send_args(tmp_path, contacts, settings), env=ENV)
        assert result.exit_code == 0, result.output
        assert "报送通知：已发送 12 封" in result.output
        assert len(handler.messages) == 12
        by_rcpt = {m.rcpt_tos[0]: m for m in handler.messages}
        for i, division in enumerate(DIVISIONS, 1):
            got = by_rcpt[address(i)]
            assert got.mail_from == USER
            msg = parse(got.data)
            # What a Chinese mail client shows: subject, body and attachment name in Chinese.
            assert msg["subject"] == f"关于报送{YEAR}年第一季度工作目标完成情况的通知（{division}）"
            assert f"联系人{i}同志" in msg.get_body().get_content()
            assert "2022年4月10日" in msg.get_body().get_content()
            name, data = attachment_of(msg)
            assert name == templates[division].name
            assert data == templates[division].read_bytes()
            # Every line is 7-bit and folded (the xlsx media type alone is 80 wide): no server
            # needs SMTPUTF8 or 8BITMIME.
            assert got.data.isascii() and max(map(len, got.data.split(b"\r\n"))) <= 80
            # The old-style readers (compat32) get the same name from Content-Type and -Disposition.
            old = email.message_from_bytes(got.data)
            [part] = [p for p in old.walk() if p.get_content_maintype() == "application"]
            assert (
                str(email.header.make_header(email.header.decode_header(part.get_param("name"))))
                == name
            )
        assert parse(by_rcpt[address(1)].data)["cc"] == "lead01@localhost"
        assert "lead01@localhost" in by_rcpt[address(1)].rcpt_tos

        again = run(*send_args(tmp_path, contacts, settings), env=ENV)
        assert again.exit_code == 0 and "已发送过，跳过 12 个" in again.output
        assert len(handler.messages) == 12
        one = run(*send_args(tmp_path, contacts, settings, "--resend", "养老服务处"), env=ENV)
        assert one.exit_code == 0 and "报送通知：已发送 1 封" in one.output
        assert len(handler.messages) == 13
    log = (tmp_path / "outbox" / "发送记录.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(log) == 14 and all("已发送" in line for line in log[1:])


def test_the_send_log_goes_into_the_archive_once_merge_has_made_one(work, certs, monkeypatch):
    tmp_path, _, contacts = work
    archive = tmp_path / "档案.sqlite"
    Archive(archive).close()  # as merge leaves it
    monkeypatch.setenv("WORKBOOK_TOOLS_ARCHIVE", str(archive))
    handler = Handler()
    with SMTPServer(handler, "starttls", certs) as smtp:
        settings = write_settings(tmp_path, smtp.port, "starttls", ca=certs.ca)
        first = run(*send_args(tmp_path, contacts, settings), env=ENV)
        assert first.exit_code == 0, first.output
        again = run(*send_args(tmp_path, contacts, settings), env=ENV)
        assert again.exit_code == 0 and "已发送过，跳过 12 个" in again.output
    assert len(handler.messages) == 12
    assert not (tmp_path / "outbox" / "发送记录.csv").exists()
    with Archive(archive) as a:
        sends = a.sends()
    assert len(sends) == 12 and {row[4] for row in sends} == set(DIVISIONS)
    assert all(row[1] == "报送通知" and row[9] == "已发送" for row in sends)


def test_refused_address_does_not_stop_the_others_over_ssl(work, certs):
    tmp_path, _, contacts = work
    handler = Handler(refuse={address(5)})
    with SMTPServer(handler, "ssl", certs) as smtp:
        settings = write_settings(tmp_path, smtp.port, "ssl", ca=certs.ca)
        result = run(*send_args(tmp_path, contacts, settings), env=ENV)
        assert result.exit_code == 1
        assert len(handler.messages) == 11
        last = result.output.strip().splitlines()[-1]
        assert last.startswith(f"未发送 1 个：{DIVISIONS[4]}（{address(5)} 被拒收（550")
        # The next run sends only what failed.
        handler.refuse.clear()
        retry = run(*send_args(tmp_path, contacts, settings), env=ENV)
        assert retry.exit_code == 0 and "报送通知：已发送 1 封" in retry.output
        assert handler.messages[-1].rcpt_tos == [address(5)]


def test_wrong_password_and_untrusted_certificate_are_clear(work, certs):
    tmp_path, _, contacts = work
    with SMTPServer(Handler(), "starttls", certs) as smtp:
        settings = write_settings(tmp_path, smtp.port, "starttls", ca=certs.ca)
        bad = run(*send_args(tmp_path, contacts, settings), env={"TEST_MAIL_PASSWORD": "wrong"})
        assert bad.exit_code == 1 and "拒绝登录" in bad.output
        untrusted = write_settings(tmp_path, smtp.port, "starttls")  # no cafile
        result = run(*send_args(tmp_path, contacts, untrusted), env=ENV)
        assert result.exit_code == 1 and "建立加密连接失败" in result.output


def test_dry_run_writes_eml_and_sends_nothing(work):
    tmp_path, templates, contacts = work
    settings = write_settings(tmp_path)  # port 1: nothing listens, nothing is contacted
    preview = tmp_path / "预览"
    result = run(*send_args(tmp_path, contacts, settings, "--dry-run", "--preview-dir", preview))
    assert result.exit_code == 0, result.output
    files = sorted(preview.glob("*.eml"))
    assert len(files) == 12
    msg = parse((preview / "养老服务处.eml").read_bytes())
    assert attachment_of(msg)[0] == templates["养老服务处"].name
    assert not (tmp_path / "outbox" / "发送记录.csv").exists()


def test_missing_address_is_reported_and_others_go(tmp_path, certs):
    templates = split_shipped(tmp_path / "outbox")
    contacts = write_contacts(tmp_path / "c.xlsx", skip=("区划地名处",))
    settings = write_settings(tmp_path)
    result = run(*send_args(tmp_path, contacts, settings, "--dry-run"))
    assert result.exit_code == 1
    assert "未发送 1 个：区划地名处（通讯录中没有邮箱）" in result.output
    assert len(list((tmp_path / "outbox" / "邮件预览").glob("*.eml"))) == 11
    assert templates


# --- the round trip --------------------------------------------------------------------------
def reply(original: bytes, filled: Path, sender: str, style: str) -> bytes:
    """What a division sends back: the filled workbook attached, in a few client styles."""
    orig = parse(original)
    msg = EmailMessage()
    msg["From"] = f"某处室 <{sender}>"
    msg["To"] = USER
    msg["Subject"] = "回复：" + orig["subject"]
    msg.set_content("已填好，请查收。")
    data = filled.read_bytes()
    if style == "forward":  # the return forwarded by a colleague, as message/rfc822
        inner = EmailMessage()
        inner["From"] = sender
        inner["Subject"] = "填好的表"
        inner.set_content("见附件")
        inner.add_attachment(data, "application", "octet-stream", filename=filled.name)
        msg.replace_header("From", "同事 <colleague@localhost>")
        msg.add_attachment(inner)
    else:
        msg.add_attachment(data, "application", "octet-stream", filename=filled.name)
    return msg.as_bytes(policy=policy.SMTP)


def test_round_trip_through_real_mail_equals_copying_files(work, certs):
    import base64
    import smtplib

    tmp_path, templates, contacts = work
    handler = Handler(deliver_to=USER)
    late = {"社会事务处", "市慈善服务中心"}
    with IMAPServer() as imap, SMTPServer(handler, "starttls", certs) as smtp:
        handler.imap = imap
        settings = write_settings(tmp_path, smtp.port, "starttls", imap.port, ca=certs.ca)
        assert run(*send_args(tmp_path, contacts, settings), env=ENV).exit_code == 0
        assert len(handler.messages) == 12

        # Each division opens its mail, fills the attachment and replies through the server.
        direct = tmp_path / "direct"
        direct.mkdir()
        context = certs.client_context()
        with smtplib.SMTP(LOOPBACK, smtp.port) as client:
            client.starttls(context=context)
            client.ehlo()
            # smtplib cannot encode a non-ASCII password; AUTH PLAIN carries UTF-8 (RFC 4616).
            token = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
            assert client.docmd("AUTH", f"PLAIN {token}")[0] == 235
            for n, got in enumerate(handler.messages):
                division = next(d for i, d in enumerate(DIVISIONS, 1) if address(i) in got.rcpt_tos)
                if division in late:
                    continue
                name, data = attachment_of(parse(got.data))
                received = tmp_path / "received" / name
                received.parent.mkdir(exist_ok=True)
                received.write_bytes(data)
                fills = sample_fills(division)
                filled = fill_template(
                    received,
                    direct / name,
                    fills,
                    filler={"填报人": "张三", "联系电话": "1", "填报日期": "2022-04-08"},
                )
                style = "forward" if n == 3 else "plain"
                client.sendmail(
                    got.rcpt_tos[0], [USER], reply(got.data, filled, got.rcpt_tos[0], style)
                )
        before = imap.state()
        assert len(before) == 10

        inbox = tmp_path / "inbox"
        env = {"TEST_MAIL_PASSWORD": IMAP_PASSWORD}
        args = ("collect", "-q", 1, "--inbox", inbox, "--settings", settings, "--contacts", contacts,
                "--master", SHIPPED_MASTER)  # fmt: skip
        result = run(*args, env=env)
        assert result.exit_code == 0, result.output
        assert "保存 10 个附件" in result.output
        assert imap.state() == before  # nothing marked read, moved or deleted

        again = run(*args, env=env)
        assert again.exit_code == 0 and "保存 0 个附件，已有 10 个" in again.output

    saved = {p.name: p.read_bytes() for p in inbox.iterdir() if not p.name.startswith(".")}
    assert saved == {p.name: p.read_bytes() for p in direct.iterdir()}
    receipts = read_receipts(inbox)
    assert set(receipts) == set(saved)
    for name, r in receipts.items():
        division = name.rsplit("-", 1)[1].removesuffix(".xlsx")
        assert r.division == division
        assert r.received and r.sha256 and r.year == YEAR and r.quarter == 1
    forwarded = [r for r in receipts.values() if r.forwarded_from]
    assert len(forwarded) == 1 and forwarded[0].sender == "colleague@localhost"

    by_mail = to_json(merge(MASTER, collect(inbox), YEAR, 1))
    by_copy = to_json(merge(MASTER, collect(direct), YEAR, 1))
    assert by_mail == by_copy
    assert sorted(d["division"] for d in by_mail["divisions"] if not d["submitted"]) == sorted(late)

    # With what collect recorded, the time received is each division's 报送时间 and the
    # verdict names the sender.
    collected = collect(inbox)
    told = merge(
        MASTER, collected, YEAR, 1, deliveries(inbox, (r.source for r in collected.returns))
    )
    for status in told.divisions:
        if status.submitted:
            assert status.fill_time == receipts[status.source].received
    for verdict in told.files:
        assert verdict.accepted and "（邮件：" in verdict.reason
        assert receipts[verdict.source].sender in verdict.reason


# --- remind ----------------------------------------------------------------------------------
def test_remind_lists_each_divisions_problems(work, certs):
    tmp_path, templates, contacts = work
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for division, path in templates.items():
        if division in ("社会事务处", "市慈善服务中心"):
            continue
        fills = sample_fills(division)
        if division == "社会救助处":
            fills.pop(next(iter(fills)))  # one task left empty: an error
        fill_template(
            path,
            inbox / path.name,
            fills,
            filler={"填报人": "张三", "联系电话": "1", "填报日期": "2022-04-08"},
        )
    handler = Handler()
    with SMTPServer(handler, "starttls", certs) as smtp:
        settings = write_settings(tmp_path, smtp.port, "starttls", ca=certs.ca)
        args = ("remind", "-q", 1, "--inbox", inbox, "--master", SHIPPED_MASTER, "--contacts",
                contacts, "--outbox", tmp_path / "outbox", "--settings", settings)  # fmt: skip
        result = run(*args, env=ENV)
    assert result.exit_code == 0, result.output
    assert "需催报 3 个" in result.output
    got = {parse(m.data)["subject"]: parse(m.data) for m in handler.messages}
    assert set(got) == {
        f"【催报】{YEAR}年第一季度工作目标完成情况（{d}）"
        for d in ("社会救助处", "社会事务处", "市慈善服务中心")
    }
    body = got[f"【催报】{YEAR}年第一季度工作目标完成情况（社会救助处）"].get_body().get_content()
    assert "1. 【未填写】" in body and "完成情况为空" in body
    late = got[f"【催报】{YEAR}年第一季度工作目标完成情况（社会事务处）"]
    assert "【未报送】" in late.get_body().get_content()
    assert attachment_of(late)[1] == templates["社会事务处"].read_bytes()
    log = (tmp_path / "outbox" / "发送记录.csv").read_text(encoding="utf-8-sig")
    assert log.count("催报") == 3


def test_remind_writes_to_the_silent_and_the_wrong_with_all_but_notes():
    def status(division, submitted):
        return DivisionStatus(division, submitted, "", "", 1, 1, ())

    flags = (
        Flag("进度滞后", "第1项", division="养老服务处"),  # a warning alone: no reminder
        Flag("未填写", "第2项", division="社会救助处"),
        Flag("答复雷同", "第3项", division="社会救助处"),  # a note: not in the mail
        Flag("未报送", "没有收到文件", division="社会事务处"),
    )
    summary = SimpleNamespace(  # late_divisions reads only the divisions and the flags
        divisions=(
            status("养老服务处", True),
            status("社会救助处", True),
            status("社会事务处", False),
        ),
        flags=flags,
    )
    assert late_divisions(summary) == {"社会救助处": [flags[1]], "社会事务处": [flags[3]]}


# --- hostile mail in a folder of .eml --------------------------------------------------------
def raw_mail(headers: str, body: bytes) -> bytes:
    return headers.replace("\n", "\r\n").encode("latin-1") + b"\r\n" + body


def test_collect_eml_folder_with_odd_encodings(tmp_path, work):
    import base64
    import io
    import zipfile

    _, templates, _ = work
    workbook = templates["养老服务处"].read_bytes()
    b64 = base64.encodebytes(workbook)
    gbk_name = "养老服务处-一季度.xlsx".encode("gbk")
    folder = tmp_path / "导出"
    folder.mkdir()
    boundary = "XYZ"

    def multipart(part_headers: bytes, payload: bytes, sender="a@localhost") -> bytes:
        return (
            (
                f"From: {sender}\r\nTo: {USER}\r\nSubject: =?gb2312?b?"
                + base64.b64encode("回复".encode("gb2312")).decode()
                + f"?=\r\nDate: Fri, 08 Apr 2022 10:20:30 +0800\r\nMIME-Version: 1.0\r\n"
                f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n--{boundary}\r\n'
            ).encode()
            + part_headers
            + b"\r\n\r\n"
            + payload
            + f"\r\n--{boundary}--\r\n".encode()
        )

    # 1. raw GBK bytes in the file name, as some old clients send
    (folder / "1.eml").write_bytes(multipart(
        b'Content-Type: application/octet-stream; name="' + gbk_name + b'"\r\n'
        b"Content-Transfer-Encoding: base64", b64))  # fmt: skip
    # 2. RFC 2231 continuations in GBK, base64 with its padding cut and junk in it
    quoted = "".join(f"%{b:02X}" for b in "社会救助处的表.xlsx".encode("gbk"))
    other = templates["社会救助处"].read_bytes()
    broken = base64.encodebytes(other).rstrip(b"=\n") + b"\r\n!!"
    (folder / "2.eml").write_bytes(multipart(
        ("Content-Type: application/vnd.ms-excel\r\nContent-Disposition: attachment;\r\n"
         f" filename*0*=gbk''{quoted[:30]};\r\n filename*1*={quoted[30:]}\r\n"
         "Content-Transfer-Encoding: base64").encode(), broken))  # fmt: skip
    # 3. a zip of workbooks with a gb2312-labelled encoded word holding a GBK-only character
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("儿童福利处.xlsx", templates["儿童福利处"].read_bytes())
    label = base64.b64encode("打包（镕）.zip".encode("gbk")).decode()
    (folder / "3.eml").write_bytes(multipart(
        f'Content-Type: application/zip; name="=?gb2312?B?{label}?="\r\n'
        "Content-Transfer-Encoding: base64".encode(), base64.encodebytes(buf.getvalue())))  # fmt: skip
    # 4. a picture and a pdf are not returns; 5. the same workbook again is not saved twice
    (folder / "4.eml").write_bytes(multipart(
        b'Content-Type: application/pdf; name="a.pdf"\r\nContent-Transfer-Encoding: base64',
        base64.encodebytes(b"%PDF-1.4 junk")))  # fmt: skip
    (folder / "5.eml").write_bytes((folder / "1.eml").read_bytes())
    # 6. not a message at all
    (folder / "6.eml").write_bytes(b"\x00\xff" * 100)

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    existing = inbox / "养老服务处-一季度.xlsx"
    existing.write_bytes(b"the coordinator's own file")
    result = run("collect", "-q", 1, "--inbox", inbox, "--eml", folder, "--master", SHIPPED_MASTER)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in inbox.iterdir() if not p.name.startswith("."))
    assert names == sorted([
        "养老服务处-一季度.xlsx", "养老服务处-一季度-2.xlsx", "社会救助处的表.xlsx", "打包（镕）.zip",
    ])  # fmt: skip
    assert existing.read_bytes() == b"the coordinator's own file"  # never overwritten
    assert (inbox / "养老服务处-一季度-2.xlsx").read_bytes() == workbook
    assert (inbox / "社会救助处的表.xlsx").read_bytes() == other  # repaired base64
    assert "“a.pdf”不是工作簿" in result.output
    assert "已有 1 个" in result.output
    receipts = read_receipts(inbox)
    assert receipts["养老服务处-一季度-2.xlsx"].received == "2022-04-08T10:20:30+08:00"
    assert receipts["社会救助处的表.xlsx"].subject == "回复"
    assert json.loads((inbox / RECEIPTS_NAME).read_text(encoding="utf-8"))["version"] == 1
    # merge reads the collected files (the zip as its members) and skips the record.
    summary = merge(MASTER, collect(inbox), YEAR, 1)
    submitted = {d.division for d in summary.divisions if d.submitted}
    assert {"养老服务处", "社会救助处", "儿童福利处"} <= submitted


# --- IMAP over STARTTLS, limits and refusals -------------------------------------------------
def one_return(template: Path, sender: str, size: int = 0) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = USER
    msg["Subject"] = "报送"
    msg["Date"] = "Fri, 08 Apr 2022 10:20:30 +0800"  # the sender's clock, not when it arrived
    msg.set_content("见附件")
    msg.add_attachment(template.read_bytes(), "application", "octet-stream", filename=template.name)
    if size:
        msg.add_attachment(b"x" * size, "application", "octet-stream", filename="大文件.xlsx")
    return msg.as_bytes(policy=policy.SMTP)


def test_collect_over_imap_starttls_is_read_only_and_bounded(work, certs, monkeypatch):
    from workbook_tools import mailin

    tmp_path, templates, contacts = work
    monkeypatch.setattr(mailin, "MAX_MESSAGE_BYTES", 1024 * 1024)
    with IMAPServer(certs=certs) as imap:
        imap.append(one_return(templates["儿童福利处"], address(7)))
        imap.append(one_return(templates["养老服务处"], address(4), size=1024 * 1024 + 1))
        before = imap.state()
        env = {"TEST_MAIL_PASSWORD": IMAP_PASSWORD}
        inbox = tmp_path / "inbox"

        def collect_with(**kw):
            settings = write_settings(tmp_path, imap_port=imap.port, imap_tls="starttls", **kw)
            args = ("collect", "-q", 1, "--inbox", inbox, "--settings", settings, "--contacts",
                    contacts, "--master", SHIPPED_MASTER)  # fmt: skip
            return run(*args, env=env)

        untrusted = collect_with()  # no cafile: the test CA is not trusted
        assert untrusted.exit_code == 1 and "无法连接收信服务器" in untrusted.output
        missing = collect_with(ca=certs.ca, folder_name="已删除邮件")
        assert missing.exit_code == 1 and "收信服务器上没有文件夹“已删除邮件”" in missing.output
        result = collect_with(ca=certs.ca)
        assert result.exit_code == 0, result.output
        assert "保存 1 个附件" in result.output and "邮件超过 1MB，未读取" in result.output
        assert f"[儿童福利处] {address(7)}" in result.output
        assert imap.state() == before
        [receipt] = read_receipts(inbox).values()
        assert receipt.received and not receipt.received.startswith("2022-04-08")  # INTERNALDATE
        bad = run("collect", "-q", 1, "--inbox", inbox, "--settings",
                  write_settings(tmp_path, imap_port=imap.port, imap_tls="starttls", ca=certs.ca),
                  env={"TEST_MAIL_PASSWORD": "wrong"})  # fmt: skip
        assert bad.exit_code == 1 and "拒绝登录" in bad.output
    assert [p.name for p in inbox.iterdir() if not p.name.startswith(".")] == [
        templates["儿童福利处"].name
    ]


def test_collect_without_imap_settings_says_what_to_write(tmp_path):
    path = tmp_path / "workbook-tools.toml"
    path.write_text('[mail]\nsender = "a@localhost"\n', encoding="utf-8")
    result = run("collect", "-q", 1, "--inbox", tmp_path / "inbox", "--settings", path)
    assert result.exit_code == 1
    assert "没有 [imap] 设置" in result.output and 'folder = "INBOX"' in result.output


def test_login_needed_without_password_says_where_to_put_it(work, certs):
    tmp_path, _, contacts = work
    with SMTPServer(Handler(), "starttls", certs) as smtp:
        settings = write_settings(tmp_path, smtp.port, "starttls", ca=certs.ca)
        result = run(*send_args(tmp_path, contacts, settings), env={"TEST_MAIL_PASSWORD": ""})
    assert result.exit_code == 1
    assert (
        "需要 coordinator@localhost 的邮箱密码；请设置环境变量 TEST_MAIL_PASSWORD" in result.output
    )


def test_nested_forwards_and_part_floods_are_bounded(tmp_path, work):
    _, templates, _ = work
    inner = EmailMessage()
    inner["From"] = "deep@localhost"
    inner.set_content("x")
    inner.add_attachment(templates["区划地名处"].read_bytes(), "application", "octet-stream",
                         filename="深.xlsx")  # fmt: skip
    for _ in range(8):  # forwarded eight times over
        outer = EmailMessage()
        outer["From"] = "fw@localhost"
        outer.set_content("转发")
        outer.add_attachment(inner)
        inner = outer
    flood = EmailMessage()
    flood["From"] = "flood@localhost"
    flood.set_content("x")
    for i in range(300):
        flood.add_attachment(b"PK", "application", "octet-stream", filename=f"{i}.txt")
    folder = tmp_path / "eml"
    folder.mkdir()
    (folder / "deep.eml").write_bytes(inner.as_bytes(policy=policy.SMTP))
    (folder / "flood.eml").write_bytes(flood.as_bytes(policy=policy.SMTP))
    inbox = tmp_path / "inbox"
    result = run("collect", "-q", 1, "--inbox", inbox, "--eml", folder, "--master", SHIPPED_MASTER)
    assert result.exit_code == 0, result.output
    # Each named as a mail client shows it: sender, subject, time.
    assert re.search(
        r"deep\.eml（fw@localhost，“[^”]*”，[^）]+）：转发层数过多，未展开", result.output
    )
    assert re.search(
        r"flood\.eml（flood@localhost，“”，[^）]+）：邮件部分超过 200 个", result.output
    )


def test_imap_folder_names_in_modified_utf7():
    from workbook_tools.mailin import imap_utf7

    assert imap_utf7("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"  # RFC 3501
    assert imap_utf7("INBOX") == "INBOX" and imap_utf7("A&B") == "A&-B"


def test_attachment_names_cannot_leave_or_hide_in_the_inbox(tmp_path, work):
    from workbook_tools.mailin import receipt_for

    _, templates, _ = work
    folder = tmp_path / "eml"
    folder.mkdir()
    for i, (name, division) in enumerate(
        [("..\\..\\逃逸.xlsx", "区划地名处"), ("~$锁.xlsx", "社会事务处"), ("", "规划财务处")]
    ):
        msg = EmailMessage()
        msg["From"] = f"x{i}@localhost"
        msg.set_content("x")
        msg.add_attachment(templates[division].read_bytes(), "application", "octet-stream")
        if name:
            [part] = list(msg.iter_attachments())
            part.set_param("filename", name, header="Content-Disposition")
        (folder / f"{i}.eml").write_bytes(msg.as_bytes(policy=policy.SMTP))
    inbox = tmp_path / "a" / "inbox"
    result = run("collect", "-q", 1, "--inbox", inbox, "--eml", folder, "--master", SHIPPED_MASTER)
    assert result.exit_code == 0, result.output
    outside = {p for p in tmp_path.rglob("*") if p.is_file()} - set(inbox.rglob("*"))
    assert not [p for p in outside if "逃逸" in p.name]
    assert sorted(p.name for p in inbox.rglob("*")) == [
        ".收件记录.json", "_~$锁.xlsx", "x2@localhost-回复.xlsx", "逃逸.xlsx",
    ]  # fmt: skip
    receipts = read_receipts(inbox)
    assert receipt_for(receipts, "逃逸.xlsx").sender == "x0@localhost"
    summary = merge(MASTER, collect(inbox), YEAR, 1)
    assert {"区划地名处", "社会事务处", "规划财务处"} <= {
        d.division for d in summary.divisions if d.submitted
    }


def test_collect_names_what_it_leaves_and_never_takes_the_notice_for_a_return(
    work, certs, monkeypatch
):
    from email.headerregistry import Address

    from workbook_tools import mailin

    tmp_path, templates, contacts = work
    monkeypatch.setattr(mailin, "MAX_MESSAGES", 6)
    old = EmailMessage()
    old["From"], old["Subject"] = "someone@localhost", "去年的邮件"
    old.set_content("很早以前")
    # The coordinator's own copy of a notice, with the blank template.
    notice = one_return(templates["养老服务处"], USER)
    # A display name with a comma once decoded: the address must survive it.
    comma = EmailMessage()
    comma["From"] = Address(
        "张三, 社会救助处", addr_spec=address(DIVISIONS.index("社会救助处") + 1)
    )
    comma["Subject"] = "报送"
    comma.set_content("见附件")
    comma.add_attachment(templates["社会救助处"].read_bytes(), "application", "octet-stream",
                         filename=templates["社会救助处"].name)  # fmt: skip
    # Outlook's RTF wrapping and a .rar: the return may be inside; a reply without a file.
    wrapped = EmailMessage()
    wrapped["From"], wrapped["Subject"] = address(1), "报送（RTF）"
    wrapped.set_content("见附件")
    wrapped.add_attachment(b"\x78\x9f\x3e\x22", "application", "ms-tnef", filename="winmail.dat")
    wrapped.add_attachment(b"Rar!\x1a\x07\x00", "application", "octet-stream", filename="表.rar")
    forgot = EmailMessage()
    forgot["From"], forgot["Subject"] = address(2), "见附件"
    forgot.set_content("报表见附件（忘了附）")
    with IMAPServer(certs=certs) as imap:
        imap.append(old.as_bytes(policy=policy.SMTP))  # the oldest: beyond the newest 6
        imap.append(old.as_bytes(policy=policy.SMTP))
        for m in (notice, comma.as_bytes(policy=policy.SMTP), wrapped.as_bytes(policy=policy.SMTP),
                  forgot.as_bytes(policy=policy.SMTP)):  # fmt: skip
            imap.append(m)
        imap.append(one_return(templates["儿童福利处"], address(DIVISIONS.index("儿童福利处") + 1)))
        imap.append(one_return(templates["区划地名处"], address(DIVISIONS.index("区划地名处") + 1)))
        env = {"TEST_MAIL_PASSWORD": IMAP_PASSWORD}
        inbox = tmp_path / "inbox"
        settings = write_settings(tmp_path, imap_port=imap.port, imap_tls="starttls", ca=certs.ca)
        args = ("collect", "-q", 1, "--inbox", inbox, "--settings", settings, "--contacts",
                contacts, "--master", SHIPPED_MASTER)  # fmt: skip
        first = run(*args, env=env)
        assert first.exit_code == 0, first.output
        out = first.output
        assert "只读取了最新的 6 封，较早的 2 封未读取" in out
        assert "是下发的模板，不是报送文件，未保存" in out
        assert "winmail.dat”是 Outlook 以 RTF 格式发信时的封装" in out
        assert "“表.rar”是 .rar 压缩包，无法读取" in out
        assert f"（{address(2)}，“见附件”）：{DIVISIONS[1]}的邮件中没有工作簿附件" in out
        receipts = read_receipts(inbox)
        assert templates["养老服务处"].name not in receipts
        comma_receipt = receipts[templates["社会救助处"].name]
        assert (comma_receipt.sender_name, comma_receipt.division) == (
            "张三, 社会救助处",
            "社会救助处",
        )
        # A saved file deleted from the inbox is saved again, not called 已有.
        (inbox / templates["儿童福利处"].name).unlink()
        again = run(*args, env=env)
        assert f"保存  {templates['儿童福利处'].name}" in again.output
        assert f"已有  {templates['儿童福利处'].name}" not in again.output
        assert (inbox / templates["儿童福利处"].name).exists()


def test_a_mailed_correction_wins_by_when_it_arrived_whatever_its_clock(tmp_path):
    from workbook_tools.model import Delivery, ReturnFile, ReturnRow

    division = "儿童福利处"
    [task] = MASTER.tasks_of(division)

    def ret(source, answer, modified):
        row = ReturnRow(6, task.label, task.text, answer, "按序时推进", "", {"完成情况": "D"})
        return ReturnFile(source=source, sha256=source, format="xlsx", sheet="完成情况",
                          division=division, year=YEAR, quarter=1, identified_by="模板标识",
                          rows=(row,), modified=modified)  # fmt: skip

    draft = ret("儿童福利处.xlsx", "初稿", "2022-04-08T01:00:00Z")
    fixed = ret("儿童福利处-2.xlsx", "更正", "2009-01-01T00:00:00Z")  # a PC clock reset
    mailed = {
        draft.source: Delivery("2022-04-08T10:00:00+08:00", address(7)),
        fixed.source: Delivery("2022-04-09T16:00:00+08:00", address(7)),
    }
    from workbook_tools.inbox import Collected

    summary = merge(MASTER, Collected((draft, fixed), (), ()), YEAR, 1, mailed)
    [used] = [a for a in summary.answers if a.division == division]
    assert used.answer == "更正"


def test_base64_written_piece_by_piece_is_saved_whole(tmp_path, work):
    import base64

    _, templates, _ = work
    workbook = templates["养老服务处"].read_bytes()
    pieces = b"\r\n".join(
        base64.b64encode(workbook[i : i + 1000]) for i in range(0, len(workbook), 1000)
    )
    folder = tmp_path / "eml"
    folder.mkdir()
    (folder / "1.eml").write_bytes(
        b"From: d04@localhost\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
        b'Content-Type: application/octet-stream; name="a.xlsx"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + pieces + b"\r\n--B--\r\n"
    )
    inbox = tmp_path / "inbox"
    result = run("collect", "-q", 1, "--inbox", inbox, "--eml", folder, "--master", SHIPPED_MASTER)
    assert result.exit_code == 0, result.output
    assert (inbox / "a.xlsx").read_bytes() == workbook


def test_pictures_in_a_mail_body_are_not_listed_but_attached_ones_are(tmp_path):
    folder = tmp_path / "eml"
    folder.mkdir()
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "colleague@localhost", "会议通知"
    msg.set_content("请参会")
    msg.add_related(b"\x89PNG\r\n\x1a\n", "image", "png", cid="<logo>", filename="image001.png")
    msg.add_attachment(b"\x89PNG\r\n\x1a\n", "image", "png", filename="照片.png")
    (folder / "1.eml").write_bytes(msg.as_bytes(policy=policy.SMTP))
    result = run("collect", "-q", 1, "--inbox", tmp_path / "inbox", "--eml", folder,
                 "--master", SHIPPED_MASTER)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "image001.png" not in result.output
    assert "附件“照片.png”不是工作簿，未保存" in result.output
