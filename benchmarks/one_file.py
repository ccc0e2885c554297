"""How long one return takes to read and check, whatever it holds (run by hand).

Each case is one filled return of 养老服务处 on the shipped master, changed as an office might
change it at its worst, read and merged beside nothing else; the time is the median of
``--repeat`` runs of read_return + merge (the summary is not written). Every case must stay
well under a second per file.

    python3 benchmarks/one_file.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from workbook_tools import layout  # noqa: E402
from workbook_tools.demo import Fill, fill_template  # noqa: E402
from workbook_tools.inbox import Collected  # noqa: E402
from workbook_tools.master import read_master  # noqa: E402
from workbook_tools.merge import merge  # noqa: E402
from workbook_tools.returns import read_return  # noqa: E402
from workbook_tools.template_files import write_templates  # noqa: E402

DIVISION = "养老服务处"


def cell(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def rezip(data: bytes, edit) -> bytes:
    """``data`` with its first worksheet's XML passed through ``edit``."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = edit(body)
            dst.writestr(info.filename, body)
    return out.getvalue()


def add_rows(data: bytes, rows: bytes) -> bytes:
    return rezip(data, lambda xml: xml.replace(b"</sheetData>", rows + b"</sheetData>"))


def renumbered(data: bytes, texts: list[str], pasted: int) -> bytes:
    """Task rows renumbered 1..n with titles cut to 12 characters, then ``pasted`` rows of bits
    of the plan's task texts under them (the costliest rows to place)."""

    def edit(xml: bytes) -> bytes:
        for text in texts:
            xml = xml.replace(text.encode(), text[:12].encode(), 1)
        return xml

    rows = b"".join(
        f'<row r="{r}">'.encode()
        + cell(f"A{r}", str(r))
        + cell(f"B{r}", texts[r % len(texts)][r % 20 : r % 20 + 25])
        + cell(f"D{r}", f"粘贴的第{r}行")
        + b"</row>"
        for r in range(20, 20 + pasted)
    )
    return add_rows(rezip(data, edit), rows)


def cases(filled: bytes, texts: list[str]) -> dict[str, bytes]:
    long_rows = b"".join(
        f'<row r="{r}">'.encode()
        + b"".join(cell(f"{c}{r}", f"粘贴{r}") for c in "ABCDEF")
        + b"</row>"
        for r in range(20, 100_001)
    )
    far_rows = b"".join(
        f'<row r="{r}">'.encode() + cell(f"A{r}", "x") + cell(f"AD{r}", "y") + b"</row>"
        for r in range(20, 100_001)
    )
    wide = (
        b'<row r="20">'
        + b"".join(cell(f"{layout_col(c)}20", f"列{c}") for c in range(1000))
        + b"</row>"
    )
    return {
        "as filled": filled,
        "2,000 pasted rows under renumbered, shortened tasks": renumbered(filled, texts, 2000),
        "5,000 pasted rows under renumbered, shortened tasks": renumbered(filled, texts, 5000),
        "100,000 pasted rows (A-F)": add_rows(filled, long_rows),
        "100,000 rows with cells in A and AD (too wide to read whole)": add_rows(filled, far_rows),
        "1,000 columns in one row": add_rows(filled, wide),
        "a note at XFD1048576": add_rows(
            filled, b'<row r="1048576">' + cell("XFD1048576", "远处") + b"</row>"
        ),
    }


def layout_col(index: int) -> str:
    from xlsxwriter.utility import xl_col_to_name

    return xl_col_to_name(index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    master = read_master(REPO / "master" / "分解方案.xlsx")
    year = master.year or 2022
    with tempfile.TemporaryDirectory() as tmp:
        infos = write_templates(master, year, 1, Path(tmp))
        template = next(i.path for i in infos if i.division == DIVISION)
        fills = {
            t.number: Fill(f"第{t.number}项完成情况", "按序时推进", "下步打算")
            for t in master.tasks_of(DIVISION)
        }
        filled = fill_template(template, Path(tmp) / "filled.xlsx", fills).read_bytes()
    texts = [t.text for t in master.tasks_of(DIVISION)]
    print(f"{'case':<56} {'MB':>6} {'median s':>9} {'answers':>8}")
    for name, data in cases(filled, texts).items():
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            ret = read_return(data, f"{layout.file_stem(year, 1, DIVISION)}.xlsx")
            summary = merge(master, Collected((ret,), (), ()), year, 1)
            times.append(time.perf_counter() - start)
        answered = sum(1 for a in summary.answers if a.answer.strip())
        print(f"{name:<56} {len(data) / 1e6:>6.2f} {statistics.median(times):>9.3f} {answered:>8}")


if __name__ == "__main__":
    main()
