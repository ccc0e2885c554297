"""The archive (工作目标档案): every merge's accepted answers, kept in one SQLite file.

It is the system of record for the year: a lost summary can be written again from it, and the
next quarter's checks (答复未更新, 数据倒退) read the previous quarter from it. The file lives
beside the master (:func:`default_path`) and needs nothing but the standard library's sqlite3.

Recording a quarter replaces that quarter's rows in one transaction: an exception or a killed
process leaves the archive as it was (SQLite's rollback journal is undone on the next open).
Recording the same rows again changes nothing, not even the times they were first recorded.

The schema carries its version (table ``schema_version``); :data:`MIGRATIONS` are applied in
order, each in its own transaction, when an older file is opened. A file written by a newer
version of the tool is refused rather than guessed at.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path

from .errors import InputError, OutputError

__all__ = [
    "ARCHIVE_NAME",
    "SCHEMA_VERSION",
    "Archive",
    "ArchiveRow",
    "default_path",
    "rows_from_summary",
]

ARCHIVE_NAME = "工作目标档案.sqlite"

# Each migration takes the schema from the version before it to its own; never edit a released
# one, append a new one.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE answers (
                year INTEGER NOT NULL,
                quarter INTEGER NOT NULL CHECK (quarter BETWEEN 1 AND 4),
                division TEXT NOT NULL,
                task TEXT NOT NULL,
                role TEXT NOT NULL,
                answer TEXT NOT NULL,
                status TEXT NOT NULL,
                plan TEXT NOT NULL,
                numbers TEXT NOT NULL,
                source TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                recorded TEXT NOT NULL,
                PRIMARY KEY (year, quarter, division, task)
            )""",
            # One row per recorded quarter, so that a quarter with no accepted answer is known
            # to have been merged.
            """CREATE TABLE merges (
                year INTEGER NOT NULL,
                quarter INTEGER NOT NULL CHECK (quarter BETWEEN 1 AND 4),
                answers INTEGER NOT NULL,
                recorded TEXT NOT NULL,
                PRIMARY KEY (year, quarter)
            )""",
        ),
    ),
    (
        2,
        (
            # Templates sent by mail, for a later command that sends them.
            """CREATE TABLE sends (
                id INTEGER PRIMARY KEY,
                year INTEGER NOT NULL,
                quarter INTEGER NOT NULL,
                division TEXT NOT NULL,
                address TEXT NOT NULL,
                file TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                sent TEXT NOT NULL,
                result TEXT NOT NULL
            )""",
        ),
    ),
    (
        3,
        (
            # The send log of send and remind (sendlog.LogEntry's fields, in order).
            """CREATE TABLE send_log (
                id INTEGER PRIMARY KEY,
                time TEXT NOT NULL,
                kind TEXT NOT NULL,
                year INTEGER NOT NULL,
                quarter INTEGER NOT NULL,
                division TEXT NOT NULL,
                to_address TEXT NOT NULL,
                cc TEXT NOT NULL,
                attachment TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                result TEXT NOT NULL,
                detail TEXT NOT NULL,
                message_id TEXT NOT NULL
            )""",
            "DROP TABLE sends",  # made ahead of the mail commands, never written; send_log is
        ),
    ),
    (
        4,
        (
            # The task's text as the master had it when the answer was given: a later master
            # may number its tasks otherwise, and an answer must stay with its task.
            "ALTER TABLE answers ADD COLUMN task_text TEXT NOT NULL DEFAULT ''",
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


@dataclass(frozen=True)
class ArchiveRow:
    """One accepted answer of one division on one task in one quarter."""

    year: int
    quarter: int
    division: str
    task: str  # 序号 without the star
    role: str  # 牵头 / 配合
    answer: str  # 完成情况
    status: str  # 进展状态 (one of model.STATUSES or "")
    plan: str  # 存在问题及下步打算
    numbers: str  # JSON object {target name: cumulative figure or null}, keys sorted
    source: str  # the file it came from (inbox-relative)
    sha256: str  # of that file
    recorded: str  # ISO time it was first recorded
    task_text: str = ""  # 工作事项 as the master had it then ("" in rows recorded before it was)

    @property
    def figures(self) -> dict[str, float | None]:
        """``numbers`` decoded."""
        return json.loads(self.numbers) if self.numbers else {}

    def content(self) -> tuple:
        """Everything but the time recorded: what makes two recordings the same."""
        return tuple(getattr(self, name) for name in _CONTENT)


_COLUMNS = tuple(f.name for f in fields(ArchiveRow))
_CONTENT = tuple(name for name in _COLUMNS if name != "recorded")


def numbers_json(figures: Mapping[str, float | None] | None) -> str:
    """Figures as ArchiveRow.numbers: a JSON object with sorted keys (the same figures always
    give the same text)."""
    return json.dumps(dict(figures or {}), ensure_ascii=False, sort_keys=True)


def default_path(master_path: str | Path) -> Path:
    """The archive beside the master: master/工作目标档案.sqlite."""
    return Path(master_path).parent / ARCHIVE_NAME


def rows_from_summary(
    summary,
    hashes: Mapping[str, str],
    numbers: Mapping[tuple[str, str], Mapping[str, float | None]] | None = None,
    *,
    recorded: str | None = None,
) -> tuple[ArchiveRow, ...]:
    """The rows to record for a merge result (model.Summary): one per answer it accepted.

    ``hashes`` maps a source (as in Answer.source) to its file's SHA-256 (ReturnFile.sha256);
    ``numbers`` maps (division, task number) to the cumulative figures read for its targets.
    """
    when = recorded or now()
    rows = []
    for a in summary.answers:
        rows.append(
            ArchiveRow(
                year=summary.year,
                quarter=summary.quarter,
                division=a.division,
                task=a.task_number,
                role=a.role,
                answer=a.answer,
                status=a.status,
                plan=a.plan,
                numbers=numbers_json((numbers or {}).get((a.division, a.task_number))),
                source=a.source,
                sha256=hashes.get(a.source, ""),
                recorded=when,
                task_text=task.text if (task := summary.master.task_or_none(a.task_number)) else "",
            )
        )
    return tuple(rows)


def now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


class Archive:
    """The archive file at ``path``, created (with its folder) on first use.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.exists() and not _looks_like_sqlite(self.path):
            raise InputError(
                "不是工作目标档案（SQLite 数据库）",
                file=str(self.path),
                hint="请指定正确的档案文件，或移走该文件后重新汇总",
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions are begun and ended here, explicitly.
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            if hasattr(self, "_db"):
                self._db.close()
            raise InputError(
                f"档案无法打开（{exc}）",
                file=str(self.path),
                hint="文件可能已损坏；请从备份恢复，或移走该文件后重新汇总各季度",
            ) from exc
        except OSError as exc:
            raise OutputError(
                f"无法创建档案（{exc.strerror or exc}）", file=str(self.path)
            ) from exc

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def version(self) -> int:
        row = self._db.execute("SELECT version FROM schema_version").fetchone()
        return row[0] if row else 0

    def _migrate(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            if self._db.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 0:
                self._db.execute("INSERT INTO schema_version VALUES (0)")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        current = self.version
        if current > SCHEMA_VERSION:
            self._db.close()
            raise InputError(
                f"档案版本为 {current}，本工具只认识到版本 {SCHEMA_VERSION}",
                file=str(self.path),
                hint="请使用更新版本的 workbook-tools",
            )
        for version, statements in MIGRATIONS:
            if version <= current:
                continue
            self._db.execute("BEGIN IMMEDIATE")
            try:
                # Read again under the write lock: another merge starting at the same moment
                # may have applied this step since the version was read above.
                if self.version < version:
                    for sql in statements:
                        self._db.execute(sql)
                    self._db.execute("UPDATE schema_version SET version = ?", (version,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # ------------------------------------------------------------------ writing

    def record_quarter(
        self, year: int, quarter: int, rows: Iterable[ArchiveRow], *, recorded: str | None = None
    ) -> int:
        """Replace everything recorded for (``year``, ``quarter``) with ``rows``, in one
        transaction; return the number of rows. A row whose content is already recorded keeps
        its first recorded time, so recording the same merge again changes nothing."""
        when = recorded or now()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            kept = {
                row.content(): row.recorded for row in self._select(year, quarter)
            }  # read inside the transaction: nobody changes it meanwhile
            self._db.execute("DELETE FROM answers WHERE year = ? AND quarter = ?", (year, quarter))
            count, contents = 0, set()
            for row in rows:
                if (row.year, row.quarter) != (year, quarter):
                    raise ValueError(
                        f"row of {row.year} Q{row.quarter} given to record {year} Q{quarter}"
                    )
                row_time = kept.get(row.content(), row.recorded or when)
                self._db.execute(
                    f"INSERT INTO answers ({', '.join(_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                    tuple(row_time if c == "recorded" else getattr(row, c) for c in _COLUMNS),
                )
                count += 1
                contents.add(row.content())
            previous = self._db.execute(
                "SELECT answers, recorded FROM merges WHERE year = ? AND quarter = ?",
                (year, quarter),
            ).fetchone()
            unchanged = previous is not None and previous[0] == count and contents == set(kept)
            self._db.execute(
                "INSERT OR REPLACE INTO merges VALUES (?, ?, ?, ?)",
                (year, quarter, count, previous[1] if unchanged else when),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return count

    def add_sends(self, rows: Iterable[tuple]) -> None:
        """Append rows to the send log (sendlog.LogEntry's fields, in order), in one transaction."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT INTO send_log (time, kind, year, quarter, division, to_address, cc, "
                "attachment, sha256, result, detail, message_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------------ reading

    def sends(self) -> list[tuple]:
        """The send log, oldest first (sendlog.LogEntry's fields, in order)."""
        return self._db.execute(
            "SELECT time, kind, year, quarter, division, to_address, cc, attachment, sha256, "
            "result, detail, message_id FROM send_log ORDER BY id"
        ).fetchall()

    def _select(self, year: int, quarter: int) -> list[ArchiveRow]:
        rows = self._db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM answers WHERE year = ? AND quarter = ? "
            "ORDER BY division, CAST(task AS INTEGER), task",
            (year, quarter),
        ).fetchall()
        return [ArchiveRow(*r) for r in rows]

    def answers(self, year: int, quarter: int) -> list[ArchiveRow]:
        """The rows recorded for a quarter, by division and task."""
        return self._select(year, quarter)

    def quarters(self, year: int | None = None) -> list[tuple[int, int]]:
        """The (year, quarter) pairs recorded, in order."""
        sql = "SELECT year, quarter FROM merges"
        args: tuple = ()
        if year is not None:
            sql, args = sql + " WHERE year = ?", (year,)
        return [tuple(r) for r in self._db.execute(sql + " ORDER BY year, quarter", args)]

    def previous_quarter(self, year: int, quarter: int) -> int | None:
        """The latest quarter of ``year`` before ``quarter`` that was recorded, or None."""
        earlier = [q for y, q in self.quarters(year) if q < quarter]
        return earlier[-1] if earlier else None

    def previous_answers(self, year: int, quarter: int) -> dict[tuple[str, str], ArchiveRow]:
        """(division, task) -> that division's row in the previous recorded quarter of the same
        year (none for the first quarter: next year's master numbers other tasks)."""
        before = self.previous_quarter(year, quarter)
        if before is None:
            return {}
        return {(r.division, r.task): r for r in self._select(year, before)}

    def history(self, year: int) -> list[ArchiveRow]:
        """Every row of ``year``, by quarter, division and task (for a 全年进展 sheet)."""
        out: list[ArchiveRow] = []
        for _, quarter in self.quarters(year):
            out += self._select(year, quarter)
        return out


def _looks_like_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    return head == b"SQLite format 3\x00" or head == b""  # an empty file becomes a new archive
