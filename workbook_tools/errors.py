"""One exception tree for the whole tool.

Every message says what is wrong, where (file, sheet, cell) and what would be valid, in Chinese,
because coordinators read it. The CLI catches :class:`WorkbookToolsError` in one place.
"""

from __future__ import annotations


class WorkbookToolsError(Exception):
    """Root of every error this tool raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        sheet: str | None = None,
        cell: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.sheet = sheet
        self.cell = cell
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file:
            from .files import display_name  # files.py raises these errors

            where.append(f"文件 {display_name(self.file)}")
        if self.sheet:
            where.append(f"工作表 {self.sheet}")
        if self.cell:
            where.append(f"单元格 {self.cell}")
        text = "，".join(where)
        text = f"{text}：{self.message}" if text else self.message
        if self.hint:
            text = f"{text}；{self.hint}"
        return text


class InputError(WorkbookToolsError):
    """Something the tool was given cannot be used."""


class MasterLayoutError(InputError):
    """The master workbook (分解方案) cannot be read as a breakdown plan."""


class ReturnReadError(InputError):
    """A returned file cannot be read as a workbook (corrupt, encrypted, unsupported, too large)."""


class OutputError(WorkbookToolsError):
    """A file the tool writes cannot be written (folder missing, file open in another program)."""
