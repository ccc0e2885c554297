"""How much of a returned file is read at all, and the refusal of a file that goes past it.

A return comes from outside: a file name, an announced size or a stored dimension may lie, and
a small file may inflate to gigabytes or reach cells far enough to exhaust memory in the
parser. These limits are checked before any parser sees the bytes (containers.py for zips and
what a file is, xlsfile.py for xls, reach.py for how far the cells reach). Those a user can
meet are stated in the README's limits table, which tests/test_readme.py holds to these values.

A module of its own because containers.py, xlsfile.py and reach.py all check these numbers and
raise UnsafeFile, and containers.py imports the other two: kept there, they would make an import
cycle. returns.py, inbox.py and mailin.py check MAX_FILE_SIZE before anything else.
"""

from __future__ import annotations

#: Largest file (or archive member) read at all. A filled Annex 2 is about 10-50 KB.
MAX_FILE_SIZE = 20 * 1024 * 1024
#: Most members a zip (workbook or archive of returns) may list.
MAX_ZIP_ENTRIES = 2_000
#: Most bytes all members of one zip may inflate to, as announced and as really read.
MAX_UNCOMPRESSED = 200 * 1024 * 1024
#: Highest compression ratio of one member. Only checked for members over
#: RATIO_MIN_SIZE: tiny parts of repeated markup legitimately compress very well.
MAX_RATIO = 100
RATIO_MIN_SIZE = 1024 * 1024
#: Rows and columns of a sheet read; content beyond is reported, not read.
MAX_ROWS = 5_000
MAX_COLS = 50
#: Most cells one sheet may span (first to last non-empty cell), see reach.py.
MAX_SHEET_CELLS = 2_000_000
#: Least XML a sheet's rows past MAX_ROWS + 1 must take for calamine to be handed a copy
#: without them (see reach.RowCut).
MIN_ROWS_CUT = 256 * 1024
#: Largest small XML part (properties, content types) parsed into memory.
MAX_SMALL_PART = 1024 * 1024


class UnsafeFile(Exception):
    """A container is refused before parsing. ``message`` and ``hint`` are Chinese."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
