"""Real mail servers for the tests, on 127.0.0.1 only: aiosmtpd (plain, STARTTLS or SSL, with
login, refusing chosen recipients, delivering the coordinator's mail into IMAP) and pymap's
in-memory IMAP server in a child process. Certificates are made here with `cryptography`."""

from __future__ import annotations

import datetime
import imaplib
import ipaddress
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

LOOPBACK = "127.0.0.1"
USER = "coordinator@localhost"
PASSWORD = "测试口令-secret"
IMAP_PASSWORD = "imap-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Certs:
    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


def make_certs(folder: Path) -> Certs:
    """A CA and a server certificate for 127.0.0.1 and localhost, signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "workbook-tools 测试 CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOOPBACK)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(LOOPBACK)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "server.pem").write_bytes(cert.public_bytes(pem))
    (folder / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Certs(folder / "ca.pem", folder / "server.pem", folder / "server.key")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class Handler:
    """Accepts mail, refusing the addresses in ``refuse``; mail to ``deliver_to`` is appended
    to the IMAP server (as a delivery agent would), everything else is kept in ``messages``."""

    refuse: set[str] = field(default_factory=set)
    deliver_to: str = ""
    imap: IMAPServer | None = None
    messages: list[Received] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 用户不存在 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        if self.imap is not None and self.deliver_to in [r.lower() for r in envelope.rcpt_tos]:
            self.imap.append(data)
        else:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), data))
        return "250 Message accepted"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
    )
    return AuthResult(success=ok, handled=False)  # handled=True would leave the client unanswered


class SMTPServer:
    """aiosmtpd on 127.0.0.1. ``tls``: "starttls" (required before login), "ssl" or "none"."""

    def __init__(self, handler: Handler, tls: str, certs: Certs | None, login: bool = True):
        self.handler = handler
        self.port = free_port()
        kwargs: dict = {}
        if tls == "starttls":
            kwargs.update(tls_context=certs.server_context(), require_starttls=True)
        elif tls == "ssl":
            kwargs.update(ssl_context=certs.server_context())
        if login:
            kwargs.update(authenticator=_authenticator, auth_required=True)
            # aiosmtpd counts only STARTTLS as TLS; an implicit-TLS connection is encrypted too.
            kwargs["auth_require_tls"] = tls == "starttls"
        self.controller = Controller(
            handler, hostname=LOOPBACK, port=self.port, server_hostname=LOOPBACK, **kwargs
        )

    def __enter__(self) -> SMTPServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


class IMAPServer:
    """pymap's in-memory backend in a child process on 127.0.0.1: plain IMAP, or with
    ``certs`` STARTTLS (which the helpers here then use too)."""

    def __init__(
        self, user: str = USER, password: str = IMAP_PASSWORD, certs: Certs | None = None
    ) -> None:
        self.user, self.password, self.certs = user, password, certs
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> IMAPServer:
        code = "import sys; from pymap.main import main; sys.exit(main())"
        args = [sys.executable, "-c", code, "--host", LOOPBACK, "--port", str(self.port)]
        if self.certs is not None:
            args += ["--cert", str(self.certs.cert), "--key", str(self.certs.key)]
        args += ["dict", "--demo-user", self.user, "--demo-password", self.password]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=1):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    err = (
                        self.process.stderr.read().decode(errors="replace")
                        if self.process.stderr
                        else ""
                    )
                    self.__exit__()
                    raise RuntimeError(f"pymap did not start: {err}") from None
                time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if self.process.stderr:
                self.process.stderr.close()

    def connect(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4(LOOPBACK, self.port, timeout=30)
        if self.certs is not None:
            imap.starttls(ssl_context=self.certs.client_context())
        imap.login(self.user, self.password)
        return imap

    def append(self, data: bytes) -> None:
        imap = self.connect()
        try:
            status, reply = imap.append("INBOX", None, None, data)
            assert status == "OK", reply
        finally:
            imap.logout()

    def state(self) -> list[tuple[str, bytes]]:
        """(flags, sha256 of the message) of every message in INBOX, read without touching."""
        import hashlib
        import re

        imap = self.connect()
        try:
            imap.select("INBOX", readonly=True)
            status, reply = imap.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
            out = []
            for item in reply:
                if isinstance(item, tuple):
                    flags = re.search(rb"FLAGS \(([^)]*)\)", item[0])
                    out.append(
                        (
                            flags.group(1).decode() if flags else "",
                            hashlib.sha256(item[1]).hexdigest(),
                        )
                    )
                elif item and b"FLAGS" in item:
                    # FLAGS may come after the literal
                    flags = re.search(rb"FLAGS \(([^)]*)\)", item)
                    if out and flags:
                        out[-1] = (flags.group(1).decode(), out[-1][1])
            return out
        finally:
            imap.logout()
