"""The README states what the code does: its limits, its quotes, its layout."""

from __future__ import annotations

import re
from pathlib import Path

from workbook_tools import limits, master_file

README = Path(__file__).resolve().parent.parent / "README.md"


def _limits_table() -> dict[str, tuple[str, str]]:
    """限制 -> (数值, 超出时), from the table after the line 限制（超出时的提示）."""
    text = README.read_text(encoding="utf-8")
    after = text[text.index("限制（超出时的提示）") :]
    rows = {}
    for line in after.splitlines()[1:]:
        if not line.strip():
            if rows:
                break
            continue
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("限制",) or set(cells[0]) <= {"-"}:
            continue
        rows[cells[0]] = (cells[1], cells[2])
    return rows


def _numbers(text: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", text)]


MB = 1024 * 1024


def test_readme_limits_are_the_code_constants():
    rows = _limits_table()
    expected = {
        "单个文件大小": [limits.MAX_FILE_SIZE // MB],
        "解压后总大小": [limits.MAX_UNCOMPRESSED // MB, limits.MAX_RATIO],
        "压缩包条目数": [limits.MAX_ZIP_ENTRIES],
        "读取行数": [limits.MAX_ROWS],
        "读取列数": [limits.MAX_COLS],
        "单个工作表的内容范围": [limits.MAX_SHEET_CELLS],
        "分解方案行数": [master_file.MAX_ROWS],
    }
    assert set(rows) == set(expected)  # every row of the table is checked here
    for name, numbers in expected.items():
        assert _numbers(rows[name][0]) == numbers, name


def test_readme_limit_messages_quote_the_same_numbers():
    rows = _limits_table()
    assert f"上限 {limits.MAX_FILE_SIZE // MB} MB" in rows["单个文件大小"][1]
    n = limits.MAX_ROWS
    assert f"超过 {n} 行，只读取了前 {n} 行" in rows["读取行数"][1]


def test_readme_says_how_much_of_an_answer_the_tasks_sheet_quotes():
    from workbook_tools.summary_rows import SUMMARY_EXCERPT, SUMMARY_EXCERPT_MIN, SUMMARY_LINES

    text = README.read_text(encoding="utf-8")
    assert f"最多引用约 {SUMMARY_EXCERPT} 字，更长的截取前 {SUMMARY_EXCERPT} 字" in text
    assert f"最少 {SUMMARY_EXCERPT_MIN} 字），\n使每格不超过 {SUMMARY_LINES} 行" in text


def test_readme_layout_names_every_module():
    """The layout table names each module of the package, and no module that is gone."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("Layout: `workbook_tools/`") :]
    table = table[: table.index("Workbooks are written through")]
    package = README.parent / "workbook_tools"
    modules = {p.name for p in package.glob("*.py")} - {"__init__.py", "__main__.py"}
    named = set(re.findall(r"`(\w+\.py)`", table))
    assert modules - named == set(), "modules the README layout does not name"
    assert named - modules == set(), "modules the README layout names that do not exist"
