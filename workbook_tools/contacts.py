"""The address book: sheet 通讯录 of the master, or of a separate workbook given with --contacts.

Columns (found by header, in any order, on the first rows of the sheet): 处室（单位）, 联系人, 邮箱,
抄送. A cell may hold several addresses separated by ；;，,、 spaces or line breaks. Division names
are normalised as the master's are, so "政策法规处\\n(局信息中心)" finds 政策法规处（局信息中心）.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .layout import normalise_division, normalise_space

CONTACTS_SHEET = "通讯录"
COL_DIVISION = "处室（单位）"
COL_PERSON = "联系人"
COL_TO = "邮箱"
COL_CC = "抄送"
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 2_000
MAX_COLS = 30
_HEADER_ALIASES = {
    COL_DIVISION: ("处室（单位）", "处室", "单位", "处室/单位", "处室单位"),
    COL_PERSON: ("联系人", "姓名"),
    COL_TO: ("邮箱", "电子邮箱", "邮件地址", "收件人", "email", "e-mail"),
    COL_CC: ("抄送", "抄送邮箱", "cc"),
}
_SPLIT = re.compile(r"[;；,，、\s]+")
# Deliberately plain: one @, no spaces, quotes, angle brackets or control characters (a header
# injection needs a line break), a dot in the domain or a literal address / localhost.
_ADDRESS = re.compile(
    r"^[^@\s<>\"(),;:\\\x00-\x1f\x7f]+@([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9.]+\])$"
)


class ContactsError(InputError):
    """The address book cannot be read."""


@dataclass(frozen=True)
class Contact:
    division: str
    person: str  # 联系人, "" when not given
    to: tuple[str, ...]
    cc: tuple[str, ...]
    row: int  # 1-based sheet row, for messages


@dataclass(frozen=True)
class AddressBook:
    source: str
    sheet: str
    contacts: tuple[Contact, ...]
    problems: tuple[str, ...] = ()  # rows that could not be used, each with its cell

    def of(self, division: str) -> Contact | None:
        key = normalise_division(division)
        for contact in self.contacts:
            if contact.division == key:
                return contact
        return None

    def division_of(self, address: str) -> str:
        """The division whose 邮箱 or 抄送 holds ``address`` ("" if none, or more than one)."""
        address = address.strip().lower()
        found = {c.division for c in self.contacts if address in (*c.to, *c.cc)}
        found_to = {c.division for c in self.contacts if address in c.to}
        if len(found_to) == 1:
            return found_to.pop()
        return found.pop() if len(found) == 1 else ""


@dataclass(frozen=True)
class Coverage:
    """How the address book covers the plan's divisions."""

    missing: tuple[str, ...]  # divisions of the plan with no 邮箱
    unknown: tuple[str, ...]  # divisions in the book that are not in the plan


def is_address(text: str) -> bool:
    return bool(_ADDRESS.match(text))


def read_contacts(path: Path, *, required: bool = True) -> AddressBook | None:
    """The address book in ``path`` (its 通讯录 sheet, or its only/first sheet when ``path`` is a
    separate contacts workbook without one). ``required=False`` returns None when a workbook
    (the master) has no 通讯录 sheet."""
    from python_calamine import CalamineWorkbook

    from .containers import inspect_workbook_zip, sniff_bytes
    from .limits import UnsafeFile
    from .xlsfile import inspect_xls

    source = str(path)
    data = _read(Path(path))
    kind = sniff_bytes(data).kind
    if kind not in ("xlsx", "xlsm", "xls", "ods"):
        raise ContactsError("不是 Excel 工作簿", file=source, hint="请另存为 .xlsx")
    try:
        if kind == "xls":
            inspect_xls(data)
        else:
            inspect_workbook_zip(data, "xlsx" if kind == "xlsm" else kind)
    except UnsafeFile as exc:
        raise ContactsError(exc.message, file=source, hint=exc.hint or None) from None
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(wb.sheet_names)
        wanted = [n for n in names if normalise_space(n) == CONTACTS_SHEET]
        if not wanted:
            if not required:
                return None
            wanted = names[:1]
        if not wanted:
            raise ContactsError("工作簿中没有工作表", file=source)
        sheet = wanted[0]
        rows = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False, nrows=MAX_ROWS)
    except (ContactsError, KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:  # calamine's errors, and its Rust panics (BaseException)
        raise ContactsError(f"无法读取工作簿（{exc}）", file=source) from exc
    return parse_rows([list(r[:MAX_COLS]) for r in rows], source, sheet)


def parse_rows(rows: Sequence[Sequence[object]], source: str, sheet: str) -> AddressBook:
    """Rows of a 通讯录 sheet (as read) -> AddressBook; bad rows become ``problems``."""
    header_row, columns = _find_header(rows)
    if header_row is None:
        raise ContactsError(
            f"找不到表头（应有“{COL_DIVISION}”和“{COL_TO}”两列，可另有“{COL_PERSON}”“{COL_CC}”）",
            file=source,
            sheet=sheet,
        )
    contacts: dict[str, Contact] = {}
    problems = []
    for r in range(header_row + 1, len(rows)):
        row = rows[r]

        def cell(col: str, row=row) -> str:
            c = columns.get(col)
            return "" if c is None or c >= len(row) or row[c] is None else str(row[c]).strip()

        name = normalise_division(cell(COL_DIVISION))
        if not name:
            continue
        to, bad_to = _addresses(cell(COL_TO))
        cc, bad_cc = _addresses(cell(COL_CC))
        for bad in (*bad_to, *bad_cc):
            problems.append(f"第 {r + 1} 行（{name}）：“{bad}”不是有效的邮箱地址，已忽略")
        if name in contacts:
            old = contacts[name]
            problems.append(f"第 {r + 1} 行：{name} 已在第 {old.row} 行出现，邮箱合并")
            person = "、".join(p for p in (old.person, cell(COL_PERSON)) if p)
            contacts[name] = Contact(
                name, person, _unique(old.to + to), _unique(old.cc + cc), old.row
            )
        else:
            contacts[name] = Contact(name, cell(COL_PERSON), to, cc, r + 1)
    return AddressBook(source, sheet, tuple(contacts.values()), tuple(problems))


def coverage(book: AddressBook | None, divisions: Iterable[str]) -> Coverage:
    """Which divisions of the plan have no address, and which entries match no division."""
    divisions = list(divisions)
    have = {c.division for c in book.contacts if c.to} if book else set()
    missing = tuple(d for d in divisions if d not in have)
    known = set(divisions)
    unknown = tuple(c.division for c in (book.contacts if book else ()) if c.division not in known)
    return Coverage(missing, unknown)


def find_address_book(master_path: Path, contacts_path: Path | None) -> AddressBook:
    """The book given with --contacts, else the master's 通讯录 sheet; a clear error if neither."""
    if contacts_path is not None:
        return read_contacts(contacts_path)
    book = read_contacts(master_path, required=False)
    if book is None:
        raise ContactsError(
            f"分解方案中没有“{CONTACTS_SHEET}”工作表",
            file=str(master_path),
            hint=f"请在分解方案中增加工作表“{CONTACTS_SHEET}”（列：{COL_DIVISION}、{COL_PERSON}、"
            f"{COL_TO}、{COL_CC}），或用 --contacts 指定通讯录工作簿",
        )
    return book


def _read(path: Path) -> bytes:
    source = str(path)
    if not path.is_file():
        raise ContactsError("找不到通讯录文件", file=source, hint="请检查路径")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ContactsError("文件过大，不像是通讯录", file=source)
        return path.read_bytes()
    except OSError as exc:
        raise ContactsError(f"无法读取文件（{exc.strerror or exc}）", file=source) from exc


def _find_header(rows: Sequence[Sequence[object]]) -> tuple[int | None, dict[str, int]]:
    for r, row in enumerate(rows[:20]):
        columns: dict[str, int] = {}
        for c, value in enumerate(row):
            text = normalise_division(str(value or "")).lower()
            for col, aliases in _HEADER_ALIASES.items():
                if col not in columns and text in {normalise_division(a).lower() for a in aliases}:
                    columns[col] = c
        if COL_DIVISION in columns and COL_TO in columns:
            return r, columns
    return None, {}


def _addresses(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    good, bad = [], []
    for part in _SPLIT.split(text):
        part = part.strip().strip("<>").lower()
        if part:
            (good if is_address(part) else bad).append(part)
    return _unique(good), tuple(bad)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
