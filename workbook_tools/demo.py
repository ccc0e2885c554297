"""`demo`: the whole cycle on the shipped master in a folder of its own, and the filler it uses.

:func:`fill_template` fills a template as a member of staff would (answer cells only unless told
otherwise); the tests and the benchmark use it too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import layout
from .errors import OutputError
from .files import display_name, write_atomically
from .pairing import task_number


@dataclass(frozen=True)
class Fill:
    """What one person types on one task row."""

    answer: str = ""
    status: str = ""
    plan: str = ""
    text: str | None = None  # a new 责任事项 text: someone edited the task (not allowed)
    # 截至本季度末累计完成 by target name: a number typed as a number, a str typed as text
    figures: Mapping[str, float | str] = field(default_factory=dict)


def fill_template(
    src: Path,
    dst: Path,
    fills: Mapping[str, Fill],
    *,
    filler: Mapping[str, str] | None = None,
) -> Path:
    """Write a filled copy of template ``src`` to ``dst`` (``src`` is left as it is).

    ``fills`` maps a task number ("1", "17") to what is typed on its row; ``filler`` maps a
    label above the table (layout.FILLER_LABELS: 填报人, 审核人…) to what is typed beside it.
    Every value is stored as text, even one that starts with "=", as Excel does for a cell
    formatted as text.
    """
    from openpyxl import load_workbook

    wb = load_workbook(src)
    ws = wb[layout.DATA_SHEET]

    def put(row: int, col: int, value: str) -> None:
        cell = ws.cell(row=row, column=col)
        cell.value = value
        cell.data_type = "s"

    cols = {name: i + 1 for i, name in enumerate(layout.HEADERS)}
    header = [str(c.value or "") for c in ws[layout.ROW_HEADER]]
    pairs, _ = layout.extra_columns(header)
    for label, value in (filler or {}).items():
        row, col = layout.FILLER_CELLS[label]
        if value:
            put(row, col + 2, value)  # the cell right of the label; openpyxl counts from 1
    for row in range(layout.ROW_FIRST_TASK, ws.max_row + 1):
        number = task_number(ws.cell(row=row, column=cols[layout.COL_NUMBER]).value or "")
        fill = fills.get(number)
        if fill is None:
            continue
        put(row, cols[layout.COL_ANSWER], fill.answer)
        put(row, cols[layout.COL_STATUS], fill.status)
        put(row, cols[layout.COL_PLAN], fill.plan)
        if fill.text is not None:
            put(row, cols[layout.COL_TEXT], fill.text)
        for target_col, figure_col in pairs:
            shown = str(ws.cell(row=row, column=(target_col or 0) + 1).value or "")
            name = re.split(r"[：:]", shown, maxsplit=1)[0]
            if target_col is not None and name in fill.figures:
                value = fill.figures[name]
                if isinstance(value, str):
                    put(row, figure_col + 1, value)
                else:
                    ws.cell(row=row, column=figure_col + 1).value = value
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)
    return dst


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def resave_with_libreoffice(src: Path, fmt: str, outdir: Path) -> Path | None:
    """Re-save ``src`` as ``fmt`` through LibreOffice headless; None if it is not installed."""
    exe = _soffice()
    if exe is None:
        return None
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                exe,
                f"-env:UserInstallation={Path(profile).as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                fmt,
                "--outdir",
                str(outdir),
                str(src),
            ],
            capture_output=True,
            timeout=180,
            check=False,
        )
    out = outdir / f"{src.stem}.{fmt}"
    return out if out.exists() else None


#: The demo's record of what it wrote in its folder, in that folder.
MARKER = ".workbook-tools-demo"
_MARKER_NOTE = (
    "本文件由 workbook-tools demo 生成，记录演示在本文件夹中写入的文件及其内容摘要（SHA-256）。"
    "再次运行 demo 时，只删除、覆盖这里列出且未被改动的文件；文件夹中有其他文件时 demo 不会运行。"
)

_MARKER_TEMP = re.compile(rf"\.{re.escape(MARKER)}\.tmp-\d+")  # write_atomically's


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _key(rel: str) -> str:
    # macOS may hand back a name decomposed (NFD) that was written composed.
    return unicodedata.normalize("NFC", rel)


class _Ledger:
    """The files the demo wrote in ``root``, kept in the marker as each one is written.

    A file is entered with an empty digest before it is written and with its digest after, so
    a run cut short leaves nothing the next run would take for someone else's file.
    """

    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.root = root
        self.files = dict(files)

    def save(self) -> None:
        text = json.dumps({"说明": _MARKER_NOTE, "files": self.files}, ensure_ascii=False, indent=1)
        write_atomically(
            self.root / MARKER, lambda tmp: tmp.write_text(text, encoding="utf-8"), what="演示记录"
        )

    def put(self, rel: str, data: bytes) -> Path:
        path = self.root / rel
        self.files[_key(rel)] = ""
        self.save()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as exc:
            raise OutputError(
                f"无法写入演示文件：{exc.strerror or exc}", file=str(path), hint="请检查写入权限"
            ) from exc
        self.files[_key(rel)] = hashlib.sha256(data).hexdigest()
        self.save()
        return path


def _read_marker(root: Path) -> dict[str, str] | None:
    """What the marker in ``root`` records ({posix path: digest}); None when there is none."""
    marker = root / MARKER
    if not os.path.lexists(marker):
        return None
    bad = OutputError(
        f"演示记录 {MARKER} 无法识别，不能确定哪些文件是演示写入的",
        file=str(marker),
        hint="演示不会改动这个文件夹；请换一个空文件夹，或确认其中的文件都不需要后自行删除",
    )
    if marker.is_symlink() or not marker.is_file():
        raise bad
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        files = data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise bad from None
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise bad
    return {_key(k): v for k, v in files.items()}


#: How many files not its own the demo names when it refuses a folder.
_NAMED = 5


def _scan(root: Path, recorded: dict[str, str]) -> tuple[list[Path], list[str], list[str]]:
    """Files under ``root``: the demo's own unchanged ones, others, and its own changed since.

    Stops at the first few problems: ``demo .`` in a big folder must refuse at once.
    """
    ours: list[Path] = []
    foreign: list[str] = []
    changed: list[str] = []

    def unreadable(exc: OSError) -> None:
        foreign.append(Path(os.path.relpath(exc.filename or root, root)).as_posix())

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        dirnames[:] = sorted(set(dirnames) - set(links))
        for name in sorted([*filenames, *links]):
            path = Path(dirpath) / name
            rel = _key(path.relative_to(root).as_posix())
            if rel == MARKER:
                continue
            digest = recorded.get(rel)
            if _MARKER_TEMP.fullmatch(rel):  # an update of the marker cut short
                ours.append(path)
            elif digest is None or path.is_symlink():
                foreign.append(rel)
            elif digest and digest != _digest(path):  # "": being written when a run stopped
                changed.append(rel)
            else:
                ours.append(path)
        if len(foreign) + len(changed) >= _NAMED:
            break
    return ours, foreign, changed


def _claim(root: Path) -> _Ledger:
    """Make ``root`` the demo's folder: refuse if it holds anything the demo did not write
    (or wrote and someone changed since), else delete what an earlier demo wrote there."""
    if root.exists() and not root.is_dir():
        raise OutputError("演示位置不是文件夹", file=str(root), hint="请指定一个文件夹")
    ours: list[Path] = []
    if root.is_dir():
        ours, foreign, changed = _scan(root, _read_marker(root) or {})
        if foreign or changed:
            named = [f"{display_name(r)}（不是演示写入的）" for r in foreign]
            named += [f"{display_name(r)}（演示写入后被改动过）" for r in changed]
            raise OutputError(
                f"文件夹 {display_name(str(root))} 中有演示以外的文件，"
                f"演示不会在这里运行，也不会删除或覆盖它们。例如：{'、'.join(named[:_NAMED])}",
                hint="请换一个空文件夹或新文件夹，例如 workbook-tools demo 演示；"
                "默认的 demo/ 文件夹只用于演示，请不要把真实的报送文件放在那里",
            )
    try:
        for path in ours:
            path.unlink()
        for path in sorted({p.parent for p in ours}, key=lambda p: len(p.parts), reverse=True):
            while path != root and path.is_dir() and not any(path.iterdir()):
                path.rmdir()  # a folder the demo's files left empty
                path = path.parent
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"无法清理或创建演示文件夹：{exc.strerror or exc}",
            file=str(exc.filename or root),
            hint="请检查写入权限",
        ) from exc
    ledger = _Ledger(root, {})
    ledger.save()
    return ledger


def run_demo(directory: Path, master_path: Path, echo: Callable[[str], None] = print) -> Path:
    """Two quarters: split, fill with sample answers (with the usual mistakes), merge, record in
    the archive; then split the second quarter (last quarter's answers beside each task), fill
    (one task behind 序时进度, one figure lower than before, one answer unchanged, one a mere
    placeholder), merge and show 全年进展. Returns the first quarter's summary path.

    Everything is written in ``directory`` (created if need be), which must be empty or hold
    only what an earlier demo wrote there, unchanged; the demo records what it writes in
    :data:`MARKER` and deletes only that. Anything else there makes it refuse (OutputError)
    before it touches a file.
    """
    from .archive import ARCHIVE_NAME, Archive
    from .master import read_master

    master = read_master(master_path)
    year = master.year or 2022
    directory = Path(directory)
    ledger = _claim(directory)
    show = lambda path: display_name(str(path))  # noqa: E731

    with tempfile.TemporaryDirectory(prefix="workbook-tools-demo-") as scratch:
        work = Path(scratch)
        with Archive(work / ARCHIVE_NAME) as archive:
            first = _demo_quarter(
                master, master_path, year, 1, directory, work, ledger, archive, echo
            )
            echo("")
            _demo_quarter(master, master_path, year, 2, directory, work, ledger, archive, echo)
        ledger.put(ARCHIVE_NAME, (work / ARCHIVE_NAME).read_bytes())
    echo("")
    echo(f"工作目标档案：{show(directory / ARCHIVE_NAME)}")
    return first


#: Share of each target reported by the end of each quarter in the demo, by task.
_DEMO_SHARES = {
    1: {"3": 0.2, "4": 0.3, "6": 0.3, "17": 0.4},
    2: {"3": 0.55, "4": 0.28, "6": 0.65, "17": 1.0},
}


def _demo_figures(task, quarter: int) -> dict[str, float]:
    share = _DEMO_SHARES[quarter].get(task.number)
    if share is None:
        return {}
    return {t.name: round(t.amount * share) for t in task.targets}


def _demo_quarter(master, master_path, year, quarter, directory, work, ledger, archive, echo):
    from . import summary_year
    from .inbox import collect
    from .merge import merge
    from .model import quarter_name
    from .report import report_name, write_report
    from .summary import write_summary
    from .template_files import write_templates
    from .yearly import archive_rows, previous_for_merge, previous_for_split, year_history

    show = lambda path: display_name(str(path))  # noqa: E731
    folder = layout.quarter_folder(year, quarter)
    summary_name = f"{folder}工作目标完成情况汇总.xlsx"
    outbox = directory / "outbox"
    inbox_rel = "inbox" if quarter == 1 else f"inbox-第{quarter_name(quarter)}季度"
    inbox = directory / inbox_rel
    step = 3 * (quarter - 1)

    previous = previous_for_split(archive, year, quarter, master)
    echo(f"{step + 1}. 拆分：{show(master_path)} -> {show(outbox / folder)}/")
    if previous:
        echo("   模板中每项事项旁列出上季度完成情况（灰色，只读），来自工作目标档案")
    infos = write_templates(master, year, quarter, work / "outbox" / folder, previous=previous)
    for info in infos:
        ledger.put(f"outbox/{folder}/{info.path.name}", info.path.read_bytes())

    silent = {infos[-1].division, infos[-2].division} if quarter == 1 else {infos[-1].division}
    lagging = ("养老服务处", "3") if quarter == 1 else ("养老服务处", "4")
    edited = ("基层政权建设和社区治理处", "11")
    empty = ("社会救助处", "15")
    unchanged = ("社会救助处", "16")
    terse = ("规划财务处", "8")
    renamed = "规划财务处"
    as_xls = "儿童福利处"
    echo(f"{step + 2}. 模拟各处室填报（内容均标有“【示例】”）：")
    inbox.mkdir(parents=True, exist_ok=True)
    last = {(r.division, r.task): r.answer for r in archive.answers(year, quarter - 1)}
    for info in infos:
        if info.division in silent:
            echo(f"   {info.division}：未报送")
            continue
        fills = {}
        for task in master.tasks_of(info.division):
            status, plan = "按序时推进", "【示例】下一步将继续按计划推进。"
            answer = (
                f"【示例】{info.division}第{quarter_name(quarter)}季度已按分工推进序号{task.label}事项，"
                "完成阶段目标。"
            )
            text = None
            key = (info.division, task.number)
            figures = _demo_figures(task, quarter) if info.division in task.leads else {}
            if key == lagging:
                status, plan = "滞后", "【示例】受场地审批影响进度滞后，下一步加快审批。"
            if figures and all(figures[t.name] >= t.amount for t in task.targets):
                status = "已完成"
            if key == edited and quarter == 1:
                text = task.text + "（示例：此处被填报人改动）"
            if key == empty and quarter == 1:
                answer = ""
            if quarter > 1 and key == unchanged and key in last:
                answer = last[key]  # copied from last quarter
            if quarter > 1 and key == terse:
                answer = "正在推进"
            fills[task.number] = Fill(answer, status, plan, text, figures)
        name = info.path.name
        if info.division == renamed and quarter == 1:
            name = "新建 Microsoft Excel 工作表.xlsx"
        month = 3 * quarter + 1
        filler = {
            layout.LABEL_FILLED_BY: "【示例】张三",
            layout.LABEL_REVIEWER: "【示例】李四",
            layout.LABEL_PHONE: "027-00000000",
            layout.LABEL_DATE: f"{year}-{month:02d}-08",
        }
        target = fill_template(info.path, work / f"filled{quarter}" / name, fills, filler=filler)
        if info.division == as_xls and quarter == 1:
            (work / "resaved").mkdir(exist_ok=True)
            xls = resave_with_libreoffice(target, "xls", work / "resaved")
            if xls is not None:
                ledger.put(f"{inbox_rel}/{xls.name}", xls.read_bytes())
                echo(f"   {info.division}：已填报，经 LibreOffice 另存为 {xls.name}")
                continue
        ledger.put(f"{inbox_rel}/{name}", target.read_bytes())
        note = "（文件被改名）" if name != info.path.name else ""
        echo(f"   {info.division}：已填报 -> {name}{note}")

    echo(f"{step + 3}. 汇总：{show(inbox)}/ -> {show(outbox)}/")
    collected = collect(inbox)
    before = previous_for_merge(archive, year, quarter, master)
    summary = merge(master, collected, year, quarter, previous=before)
    rows = archive_rows(summary, {r.source: r.sha256 for r in collected.returns})
    history = year_history(archive, year, quarter, rows, master)  # 全年进展 from the 2nd quarter
    built = write_summary(summary, work / summary_name, history=history)
    target = ledger.put(f"outbox/{summary_name}", built.read_bytes())
    report = write_report(summary, work / report_name(year, quarter))
    draft = ledger.put(f"outbox/{report.name}", report.read_bytes())
    archive.record_quarter(year, quarter, rows)
    for verdict in summary.files:
        mark = "采用" if verdict.accepted else "未采用"
        echo(f"   {mark} {verdict.source}：{verdict.reason}")
    kinds: dict[str, int] = {}
    for f in summary.flags:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    echo("   问题：" + "，".join(f"{k} {n}" for k, n in kinds.items()))
    buckets = summary_year.bucket_counts(summary)
    echo("   序时进度：" + "，".join(f"{k} {n}" for k, n in buckets.items()))
    if quarter > 1:
        echo("   全年进展（牵头处室所报，第一季度 -> 第二季度）：")
        for row in summary_year.year_data_rows(master, history):
            label, _, _, _, *cells = row.values
            task = master.task(task_number(str(label)))
            if not task.targets:
                continue
            q1, q2 = cells[1].split("\n"), cells[3].split("\n")
            echo(f"   序号{label}（{cells[0]} -> {cells[2]}）")
            for a, b in zip(q1, q2, strict=False):
                echo(f"     {a} -> {b.split('：', 1)[-1]}")
    echo("")
    echo(f"模板：{show(outbox / folder)}/")
    echo(f"回收文件：{show(inbox)}/")
    echo(f"汇总表：{show(target)}")
    echo(f"通报草稿：{show(draft)}")
    return target
