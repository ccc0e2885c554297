"""`demo`: the whole cycle on the shipped master in a scratch folder, and the filler it uses.

:func:`fill_template` fills a template as a member of staff would (answer cells only unless told
otherwise); the tests and the benchmark use it too.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import layout
from .merge import task_number


@dataclass(frozen=True)
class Fill:
    """What one person types on one task row."""

    answer: str = ""
    status: str = ""
    plan: str = ""
    text: str | None = None  # a new 责任事项 text: someone edited the task (not allowed)


def fill_template(
    src: Path,
    dst: Path,
    fills: Mapping[str, Fill],
    *,
    filler: tuple[str, str, str] = ("", "", ""),
) -> Path:
    """Write a filled copy of template ``src`` to ``dst`` (``src`` is left as it is).

    ``fills`` maps a task number ("1", "17") to what is typed on its row. Every value is stored as
    text, even one that starts with "=", as Excel does for a cell formatted as text.
    """
    from openpyxl import load_workbook

    wb = load_workbook(src)
    ws = wb[layout.DATA_SHEET]

    def put(row: int, col: int, value: str) -> None:
        cell = ws.cell(row=row, column=col)
        cell.value = value
        cell.data_type = "s"

    cols = {name: i + 1 for i, name in enumerate(layout.HEADERS)}
    for col, value in zip((2, 4, 6), filler, strict=True):
        if value:
            put(layout.ROW_FILLER, col, value)
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


def run_demo(directory: Path, master_path: Path, echo: Callable[[str], None] = print) -> Path:
    """Split, fill with sample answers (with the usual mistakes), merge. Returns the summary path."""
    from .inbox import collect
    from .master import read_master
    from .merge import merge
    from .report import report_name, write_report
    from .summary import write_summary
    from .template import write_templates

    quarter = 1
    master = read_master(master_path)
    year = master.year or 2022
    outbox, inbox, work = directory / "outbox", directory / "inbox", directory / "work"
    for folder in (outbox, inbox, work):
        if folder.exists():
            shutil.rmtree(folder)
    inbox.mkdir(parents=True)
    echo(f"1. 拆分：{master_path} -> {outbox}/")
    infos = write_templates(master, year, quarter, outbox)

    silent = {infos[-1].division, infos[-2].division}  # these two never return
    lagging = ("养老服务处", "3")
    edited = ("基层政权建设和社区治理处", "11")
    empty = ("社会救助处", "15")
    renamed = "规划财务处"
    as_xls = "儿童福利处"
    echo("2. 模拟各处室填报（内容均标有“【示例】”）：")
    for info in infos:
        if info.division in silent:
            echo(f"   {info.division}：未报送")
            continue
        fills = {}
        for task in master.tasks_of(info.division):
            status, plan = "按序时推进", "【示例】下一步将继续按计划推进。"
            answer = f"【示例】{info.division}已按分工推进序号{task.label}事项，完成阶段目标。"
            text = None
            if (info.division, task.number) == lagging:
                status, plan = "滞后", "【示例】受场地审批影响进度滞后，下一步加快审批。"
            if (info.division, task.number) == edited:
                text = task.text + "（示例：此处被填报人改动）"
            if (info.division, task.number) == empty:
                answer = ""
            fills[task.number] = Fill(answer, status, plan, text)
        name = info.path.name
        if info.division == renamed:
            name = "新建 Microsoft Excel 工作表.xlsx"
        target = fill_template(
            info.path, work / name, fills, filler=("【示例】张三", "027-00000000", f"{year}-04-08")
        )
        if info.division == as_xls:
            xls = resave_with_libreoffice(target, "xls", inbox)
            if xls is not None:
                echo(f"   {info.division}：已填报，经 LibreOffice 另存为 {xls.name}")
                continue
        shutil.copy2(target, inbox / name)
        note = "（文件被改名）" if info.division == renamed else ""
        echo(f"   {info.division}：已填报 -> {name}{note}")
    shutil.rmtree(work)

    echo(f"3. 汇总：{inbox}/ -> {outbox}/")
    summary = merge(master, collect(inbox), year, quarter)
    target = outbox / f"{year}年第{layout.quarter_name(quarter)}季度工作目标完成情况汇总.xlsx"
    write_summary(summary, target)
    draft = write_report(summary, outbox / report_name(year, quarter))
    for verdict in summary.files:
        mark = "采用" if verdict.accepted else "未采用"
        echo(f"   {mark} {verdict.source}：{verdict.reason}")
    kinds: dict[str, int] = {}
    for f in summary.flags:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    echo("   问题：" + "，".join(f"{k} {n}" for k, n in kinds.items()))
    echo("")
    echo(f"模板：{outbox}/")
    echo(f"回收文件：{inbox}/")
    echo(f"汇总表：{target}")
    echo(f"通报草稿：{draft}")
    return target
