"""The send log: what went to whom and when, so that a second run sends nothing twice.

Kept in the archive (工作目标档案.sqlite) when there is one, else as ``发送记录.csv`` (UTF-8 with
BOM, so Excel opens it) beside the outbox: :func:`open_send_log` chooses. Both offer the three
methods send and remind use (entries, sent_to, append).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .errors import InputError
from .files import write_atomically

LOG_NAME = "发送记录.csv"
KIND_SEND = "报送通知"
KIND_REMIND = "催报"
RESULT_SENT = "已发送"
RESULT_FAILED = "未发送"

_HEADERS = {
    "time": "时间",
    "kind": "类型",
    "year": "年度",
    "quarter": "季度",
    "division": "处室（单位）",
    "to": "收件人",
    "cc": "抄送",
    "attachment": "附件",
    "sha256": "附件SHA256",
    "result": "结果",
    "detail": "说明",
    "message_id": "Message-ID",
}


@dataclass(frozen=True)
class LogEntry:
    time: str  # ISO 8601 with offset
    kind: str  # KIND_SEND / KIND_REMIND
    year: int
    quarter: int
    division: str
    to: str  # addresses joined by "; "
    cc: str
    attachment: str
    sha256: str
    result: str  # RESULT_SENT / RESULT_FAILED
    detail: str
    message_id: str


class SendLog:
    """A CSV file of :class:`LogEntry` rows, rewritten atomically on each append."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def beside(cls, outbox: Path) -> SendLog:
        return cls(Path(outbox) / LOG_NAME)

    def entries(self) -> list[LogEntry]:
        if not self.path.exists():
            return []
        try:
            text = self.path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                f"无法读取发送记录（{exc}）",
                file=str(self.path),
                hint="请关闭正在打开它的程序；如文件已损坏，可改名后重新运行（将重新发送全部邮件）",
            ) from exc
        out = []
        names = {v: k for k, v in _HEADERS.items()}
        for row in csv.DictReader(io.StringIO(text)):
            values = {names[k]: (v or "") for k, v in row.items() if k in names}
            try:
                values["year"] = int(values.get("year", 0))
                values["quarter"] = int(values.get("quarter", 0))
            except ValueError:
                continue
            out.append(LogEntry(**{f.name: values.get(f.name, "") for f in fields(LogEntry)}))
        return out

    def sent_to(self, kind: str, year: int, quarter: int) -> set[str]:
        """Divisions that ``kind`` of message for the period was sent to successfully."""
        return _sent_to(self.entries(), kind, year, quarter)

    def append(self, new: Iterable[LogEntry]) -> None:
        new = list(new)
        if not new:
            return
        rows = self.entries() + new
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(_HEADERS.values()), lineterminator="\r\n")
        writer.writeheader()
        for entry in rows:
            writer.writerow({_HEADERS[k]: v for k, v in asdict(entry).items()})
        data = buf.getvalue()
        write_atomically(
            self.path, lambda tmp: tmp.write_text(data, encoding="utf-8-sig"), what="发送记录"
        )


def _sent_to(entries: Iterable[LogEntry], kind: str, year: int, quarter: int) -> set[str]:
    return {
        e.division
        for e in entries
        if e.kind == kind and e.year == year and e.quarter == quarter and e.result == RESULT_SENT
    }


class ArchiveSendLog:
    """The send log in the archive's send_log table."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def entries(self) -> list[LogEntry]:
        from .archive import Archive

        with Archive(self.path) as archive:
            return [LogEntry(*row) for row in archive.sends()]

    def sent_to(self, kind: str, year: int, quarter: int) -> set[str]:
        """Divisions that ``kind`` of message for the period was sent to successfully."""
        return _sent_to(self.entries(), kind, year, quarter)

    def append(self, new: Iterable[LogEntry]) -> None:
        from .archive import Archive

        rows = [tuple(getattr(e, f.name) for f in fields(LogEntry)) for e in new]
        if rows:
            with Archive(self.path) as archive:
                archive.add_sends(rows)


def open_send_log(outbox: Path, archive: Path | None) -> SendLog | ArchiveSendLog:
    """The archive's send log when ``archive`` exists (merge made it), else 发送记录.csv."""
    if archive is not None and Path(archive).is_file():
        return ArchiveSendLog(archive)
    return SendLog.beside(outbox)
