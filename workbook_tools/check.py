"""`check`: what merge would say about each file, without merging."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import ReturnReadError
from .files import display_name
from .identify import identify
from .inbox import Collected
from .merge import has_errors, merge
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
        detail = str(err)
        if Path(path).name.startswith(("~$", ".~lock.")):
            detail = (
                f"{shown} 是 Excel、WPS 或 LibreOffice 打开文件时留下的锁定文件，不是报送文件；"
                "请检查同一文件夹中去掉“~$”或“.~lock.”的那个文件"
            )
        flag = Flag("文件无法读取", detail, source=shown)
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
    found = tuple(flags) + checked.flags
    return FileReport(path, head, found + _judged(master, ret, year, quarter, found))


def _judged(
    master: Master, ret, year: int | None, quarter: int | None, found: tuple[Flag, ...]
) -> tuple[Flag, ...]:
    """What merge judges beyond the file's rows, for this file alone (答复过简, 未达序时, 进度
    滞后…): merge of this one file, its flags on this file that the rows' check did not raise.
    答复未更新 and 数据倒退 need last quarter's answers, which only merge has."""
    year, quarter = year or ret.year, quarter or ret.quarter
    if year is None or quarter not in (1, 2, 3, 4):
        return ()
    summary = merge(master, Collected((ret,), (), ()), year, quarter)
    seen = {(f.kind, f.task, f.detail) for f in found}
    return tuple(
        f
        for f in summary.flags
        if f.source == ret.source and (f.kind, f.task, f.detail) not in seen
    )


def check_files(
    master: Master, paths: Iterable[Path], year: int | None, quarter: int | None
) -> list[FileReport]:
    """One report per file, in the order given; an unreadable file never stops the others."""
    return [check_file(master, Path(p), year, quarter) for p in paths]
