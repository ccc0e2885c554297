"""Builders shared by the end-to-end tests: real templates, filled as staff would, and readers
that turn the summary workbook back into rows keyed by header."""

from __future__ import annotations

import hashlib
from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook

from workbook_tools import layout
from workbook_tools.cli import cli
from workbook_tools.demo import Fill, fill_template
from workbook_tools.master import read_master

REPO = Path(__file__).resolve().parent.parent
SHIPPED_MASTER = REPO / "master" / "分解方案.xlsx"


def run_cli(*args: str):
    """Run the CLI in-process; the tool's own errors must not raise out of it."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def split_shipped(outbox: Path, quarter: int = 1) -> dict[str, Path]:
    """Split the shipped master; {division: template path}."""
    result = run_cli("split", "--quarter", quarter, "--master", SHIPPED_MASTER, "--outbox", outbox)
    assert result.exit_code == 0, result.output
    master = read_master(SHIPPED_MASTER)
    folder = outbox / layout.quarter_folder(master.year, int(quarter))
    by_name = {p.name: p for p in folder.glob("*.xlsx")}
    out = {}
    for division in master.divisions:
        [name] = [n for n in by_name if n.endswith(f"-{division}.xlsx")]
        out[division] = by_name[name]
    return out


def on_track_figures(task, division: str, quarter: int = 1) -> dict[str, float]:
    """What a lead division types in the 累计完成 cells of ``task``: 30 % of each target in the
    first quarter, as far ahead of 序时进度 (25 %) as counts as 达序时; nothing for a partner."""
    if division not in task.leads:
        return {}
    share = min(1.0, 0.25 * quarter + 0.05)
    return {t.name: round(t.amount * share) for t in task.targets}


def sample_fills(division: str, *, status: str = "按序时推进") -> dict[str, Fill]:
    """A distinct answer for every task of ``division`` on the shipped master, and the lead's
    figures on track (on_track_figures)."""
    master = read_master(SHIPPED_MASTER)
    return {
        t.number: Fill(
            f"{division}第{t.number}项：已完成季度目标。",
            status,
            f"{division}下一步计划{t.number}",
            figures=on_track_figures(t, division),
        )
        for t in master.tasks_of(division)
    }


def fill_all(
    templates: dict[str, Path], inbox: Path, skip=(), overrides=None
) -> dict[str, dict[str, Fill]]:
    """Fill every template except ``skip`` into ``inbox``; return what was typed."""
    inbox.mkdir(parents=True, exist_ok=True)
    typed = {}
    for division, path in templates.items():
        if division in skip:
            continue
        fills = sample_fills(division)
        fills.update((overrides or {}).get(division, {}))
        fill_template(
            path,
            inbox / path.name,
            fills,
            filler={"填报人": "张三", "联系电话": "027-12345678", "填报日期": "2022-04-08"},
        )
        typed[division] = fills
    return typed


def sheet_rows(path: Path, sheet: str, header_row: int) -> list[dict[str, object]]:
    """Rows below ``header_row`` as {header: cell}, cells as openpyxl Cell objects."""
    wb = load_workbook(path)
    ws = wb[sheet]
    headers = [c.value for c in ws[header_row]]
    rows = []
    for cells in ws.iter_rows(min_row=header_row + 1):
        if all(c.value in (None, "") for c in cells):
            continue
        rows.append({h: c for h, c in zip(headers, cells, strict=False) if h})
    return rows


def tree_digest(folder: Path) -> dict[str, tuple[str, float]]:
    """Hash and mtime of every file under ``folder``, to prove nothing was touched."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[p.relative_to(folder).as_posix()] = (
                hashlib.sha256(p.read_bytes()).hexdigest(),
                p.stat().st_mtime,
            )
    return out
