"""`check`: what merge would say about each file, without merging."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import ReturnReadError
from .files import display_name
from .identify import identify
from .merge import has_errors
from .model import Flag, Master, quarter_name
from .validate import check_return


@dataclass(frozen=True)
class FileReport:
    path: Path
    headline: str
    flags: tuple[Flag, ...]

    @property
    def has_errors(self) -> bool:
        return has_errors(self.flags)


def check_file(master: Master, path: Path, year: int | None, quarter: int | None) -> FileReport:
    from .inbox import read_path

    shown = display_name(str(path))
    try:
        ret = read_path(path, shown)
    except ReturnReadError as err:
        flag = Flag("文件无法读取", str(err), source=shown)
        return FileReport(path, f"{shown}：无法读取", (flag,))
    ident = identify(master, ret, year, quarter)
    division, flags, rejection = ident.division, ident.flags, ident.rejection
    period = f"{ret.year or '?'}年第{quarter_name(ret.quarter) if ret.quarter else '?'}季度"
    if division is None:
        return FileReport(path, f"{shown}：{rejection}", tuple(flags))
    checked = check_return(master, ret, division)
    answered = sum(1 for a in checked.answers if a.answer.strip())
    head = f"{shown}：{division}，{period}，已填 {answered}/{checked.expected} 项（识别依据：{ret.identified_by or '无'}）"
    for extra in (rejection, *ret.notes):
        if extra:
            head += f"；{extra}"
    return FileReport(path, head, tuple(flags) + checked.flags)


def check_files(
    master: Master, paths: Iterable[Path], year: int | None, quarter: int | None
) -> list[FileReport]:
    """One report per file, in the order given; an unreadable file never stops the others."""
    return [check_file(master, Path(p), year, quarter) for p in paths]
