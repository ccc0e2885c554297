"""Whose return a file is, and which parts of it are whose. Pure functions, no I/O.

The names a file carries (its identity sheet and properties, the title above the table, the file
name) say whose it is when they agree. When they disagree, or name no expected division, the
task rows decide: each division's set of tasks is almost always its own. A file can also hold a
second division's rows or sheet; each becomes a :class:`Part` for that division, ranked below a
file of the division's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .identity_sheet import FIELD_NAMES
from .layout import fingerprint, normalise_division
from .model import (
    SEVERITY_WARNING,
    Flag,
    Master,
    ReturnFile,
    ReturnRow,
    Task,
    quarter_name,
)
from .pairing import FUZZY_ROWS


def match_division(name: str | None, divisions: Sequence[str]) -> str | None:
    """The expected division a file names, allowing extra words around it (养老服务处（已填）)."""
    if not name:
        return None
    name = normalise_division(name)
    if name in divisions:
        return name
    inside = [d for d in divisions if d in name]
    if inside:
        return max(inside, key=len)
    around = [d for d in divisions if len(name) >= 3 and name in d]
    return around[0] if len(around) == 1 else None


@dataclass(frozen=True)
class Part:
    """The rows of one file that one division's answers are read from.

    A file is usually one part. It is several when it also holds another division's task rows
    or sheet; those parts rank below a file of that division's own (``rank`` 1), as does a file
    whose names disagree with each other.
    """

    ret: ReturnFile
    division: str
    rows: tuple[ReturnRow, ...]
    sheet: str
    rank: int = 0  # 0: the division's own file, agreeing with itself; 1: doubtful or borrowed
    main: bool = True  # the file's main table (its stray texts are reported with it)
    note: str = ""


@dataclass(frozen=True)
class Identified:
    """Whose return a file is, what was noticed on the way, and why it cannot be used."""

    division: str | None
    flags: tuple[Flag, ...] = ()
    rejection: str = ""
    doubtful: bool = False  # its names disagree, or its rows are not its named division's
    named: tuple[str, ...] = ()  # every expected division its names (identity, title, file) name
    #: row_tasks of the file's rows, as identify found them; _parts uses them again.
    found: dict[int, Task] | None = field(default=None, compare=False, repr=False)


def row_tasks(master: Master, rows: Sequence[ReturnRow]) -> dict[int, Task]:
    """Row -> the task of the master its text is (the same, or recognisably the same)."""
    index = master.text_index
    found: dict[int, Task] = {}
    fuzzy = 0
    for row in rows:
        if not row.text.strip():
            continue
        task = index.by_print.get(fingerprint(row.text))
        if task is None and fuzzy < FUZZY_ROWS:  # a pasted list: exact texts only past this
            fuzzy += 1
            task = index.find(row.text)
        if task is not None:
            found[row.row] = task
    return found


def owner_of(master: Master, tasks: Iterable[Task]) -> str | None:
    """The one division whose tasks these are: all of them its tasks, and no other division's
    task set fits as well (its exact set first)."""
    numbers = {t.number for t in tasks}
    if not numbers:
        return None
    fits: set[str] | None = None
    for number in numbers:
        task = master.task(number)
        owners = set(task.leads) | set(task.partners)
        fits = owners if fits is None else fits & owners
    fits_list = sorted(fits or (), key=master.divisions.index)
    exact = [d for d in fits_list if {t.number for t in master.tasks_of(d)} == numbers]
    if len(exact) == 1:
        return exact[0]
    return fits_list[0] if len(fits_list) == 1 else None


BY_IDENTITY, BY_TITLE, BY_FILE_NAME = "模板标识", "标题", "文件名"


def identify(master: Master, ret: ReturnFile, year: int | None, quarter: int | None) -> Identified:
    """Whose return ``ret`` is. The names it carries (identity, title, file name) say it when
    they agree; when they disagree, or name no expected division, its task rows decide.

    ``year``/``quarter`` of None accept any period (``check`` without --quarter).
    """
    divisions = master.divisions
    named = {
        by: d
        for by, raw in (
            (BY_IDENTITY, ret.identity_division),
            (BY_TITLE, ret.title_division),
            (BY_FILE_NAME, ret.file_division),
        )
        if (d := match_division(raw, divisions))
    }
    if not named and (d := match_division(ret.division, divisions)):
        named[ret.identified_by or BY_IDENTITY] = d  # a ReturnFile built by hand
    said = list(dict.fromkeys(named.values()))
    claimed = said[0] if said else None
    if (year is not None and ret.year is not None and ret.year != year) or (
        quarter is not None and ret.quarter is not None and ret.quarter != quarter
    ):
        got = f"{ret.year or '?'}年第{quarter_name(ret.quarter) if ret.quarter in (1, 2, 3, 4) else '?'}季度"
        want = (
            f"{year or ''}{'年' if year else ''}第{quarter_name(quarter)}季度"
            if quarter
            else f"{year}年"
        )
        detail, severity = f"该文件属于{got}，本期为{want}，未采用", ""
        # The title or file name saying another period than the identity: most likely last
        # quarter's file, retitled and filled in for this one. Its answers must not go unseen.
        markers = tuple(f"{FIELD_NAMES[f]}为" for f in ("year", "quarter"))  # as returns words it
        said = [c for c in ret.conflicts if any(m in c for m in markers)]
        if said:
            detail += (
                f"。但{'；'.join(said)}：可能是沿用其他季度的文件填写了本期内容，请核实；"
                "如是，请该处室把内容填入本期模板重新报送"
            )
            severity = SEVERITY_WARNING
        flag = Flag("非本期文件", detail, claimed or "", "", ret.source, severity)
        return Identified(claimed, (flag,), f"非本期文件（{got}）")
    found = row_tasks(master, ret.rows)
    owner = owner_of(master, found.values())
    conflicts = [
        Flag("无法识别处室", c, claimed or "", "", ret.source, SEVERITY_WARNING)
        for c in ret.conflicts
    ]
    names = "，".join(f"{by}为{d}" for by, d in named.items())
    if not said:
        if owner is None:
            seen = (
                f"“{ret.division}”"
                if ret.division
                else "（模板标识、标题和文件名中都没有处室名称）"
            )
            why = "，事项内容也不能对应到唯一的处室" if ret.rows else ""
            flag = Flag(
                "无法识别处室",
                f"文件中的处室{seen}不在分解方案的处室名单中{why}；应为：{'、'.join(divisions)}",
                "",
                "",
                ret.source,
            )
            return Identified(None, (flag,), f"无法识别处室{seen}")
        named_as = (
            f"文件标明的处室“{ret.division}”不在名单中" if ret.division else "文件中没有处室名称"
        )
        flag = Flag(
            "无法识别处室",
            f"{named_as}，按事项内容（{len(found)} 行事项与{owner}的事项一致）识别为{owner}；请核实",
            owner,
            "",
            ret.source,
            SEVERITY_WARNING,
        )
        return Identified(owner, (flag, *conflicts), doubtful=True, found=found)
    mine = set(found.values()) & set(master.tasks_of(claimed)) if claimed else set()
    if len(said) == 1 and (owner is None or owner == claimed or mine):
        return Identified(claimed, tuple(conflicts), found=found)
    # The names disagree, or the rows are another division's: the rows decide.
    division = owner if owner is not None and (owner in said or not mine) else claimed
    others = [d for d in dict.fromkeys([*said, *([owner] if owner else [])]) if d != division]
    inside = [d for by, d in named.items() if by != BY_FILE_NAME]
    if set(inside) == {division} and owner in (None, division):
        # Only the file name says otherwise: a file saved under another name.
        flag = Flag(
            "无法识别处室",
            f"文件名中的处室为{named[BY_FILE_NAME]}，文件内容（{names}）是{division}的，按{division}汇总",
            division,
            "",
            ret.source,
            SEVERITY_WARNING,
        )
        # Doubtful all the same: a file the division saved under its own name, with its own
        # names inside, is surer to be its return than one that arrived under another name.
        return Identified(division, (flag, *conflicts), doubtful=True, found=found)
    detail = (
        f"文件中的处室名称不一致（{names}）" if len(said) > 1 else f"文件标明为{claimed}（{names}）"
    )
    evidence = f"，其中的事项是{owner}的事项" if owner else "，其中的事项不能对应到唯一的处室"
    flag = Flag(
        "无法识别处室",
        f"{detail}{evidence}，按{division}汇总；如果这是{'、'.join(others)}的报送文件，"
        f"请{'、'.join(others)}使用本处室的模板重新填报。{division}另有报送文件时，"
        f"以{division}自己的文件为准",
        division,
        "",
        ret.source,
    )
    return Identified(division, (flag, *conflicts), doubtful=True, named=tuple(said), found=found)


def parts_of(master: Master, ret: ReturnFile, ident: Identified) -> list[Part]:
    """The file's main table for its division, and the rows or sheets of other divisions."""
    division = ident.division
    assert division is not None
    rank = 1 if ident.doubtful else 0
    parts = []
    mine = {t.number for t in master.tasks_of(division)}
    found = ident.found if ident.found is not None else row_tasks(master, ret.rows)
    foreign = [r for r in ret.rows if r.row in found and found[r.row].number not in mine]
    owner = owner_of(master, [found[r.row] for r in foreign])
    main_rows = ret.rows
    if foreign and owner is not None and owner != division:
        # Another division's task rows: they and the rows written on below them are its part.
        taken, inside = set(), False
        for r in ret.rows:
            if r.row in found:
                inside = found[r.row].number not in mine
            elif r.number.strip() or r.text.strip():
                inside = False
            if inside:
                taken.add(r.row)
        main_rows = tuple(r for r in ret.rows if r.row not in taken)
        theirs = tuple(r for r in ret.rows if r.row in taken)
        parts.append(
            Part(ret, owner, theirs, ret.sheet, 1, False, f"与{division}的报送在同一工作表中")
        )
    parts.insert(0, Part(ret, division, main_rows, ret.sheet, rank))
    for other in ident.named if ident.doubtful else ():
        # A file whose title or name says another division: what it wrote on that division's
        # own tasks may be its return (a forwarded template, filled by the other division).
        theirs = {t.number for t in master.tasks_of(other)}
        rows = tuple(r for r in main_rows if r.row in found and found[r.row].number in theirs)
        if other != division and rows:
            note = f"{ret.source}（文件标明为{other}）"
            parts.append(Part(ret, other, rows, ret.sheet, 1, False, note))
    for table in ret.tables:
        named = match_division(table.division, master.divisions)
        t_found = row_tasks(master, table.rows)
        # Unnamed rows that are all tasks of the file's own division stay its: a division that
        # moved some of its rows to a sheet of their own is not another division reporting.
        ours = bool(t_found) and all(t.number in mine for t in t_found.values())
        who = named or (division if ours else owner_of(master, t_found.values())) or division
        note = f"{ret.source} 的工作表 {table.sheet}"
        parts.append(Part(ret, who, table.rows, table.sheet, 1, False, note))
    return parts
