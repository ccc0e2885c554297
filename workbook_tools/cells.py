"""Text that an xlsx cell holds, and how much room it takes.

Shared by the readers: a read cell value as the text a person sees (:func:`value_text`).
Shared by the writers: remove characters the file format cannot store, respect Excel's
32,767-character cell limit, and estimate row heights for wrapped Chinese text, because Excel and
LibreOffice do not size rows to wrapped text in a file they open. No I/O here.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from collections.abc import Sequence
from itertools import repeat

CELL_LIMIT = 32767  # Excel's limit, in UTF-16 code units (an emoji counts twice)
MAX_ROW_HEIGHT = 409.0  # points; Excel's maximum
BODY_SIZE = 11  # points: the body text of every sheet the tools write

_VT_ESCAPE = re.compile("_x000b_", re.IGNORECASE)
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Either of the above: most text has neither, and is returned as it is after one search.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def clean_text(s: str) -> tuple[str, bool]:
    """Remove characters an xlsx file cannot hold; return the text and whether any were removed.

    A vertical tab, Word's manual line break, becomes a line feed. Removed: control characters
    other than tab, line feed and carriage return, the
    non-characters U+FFFE/U+FFFF, and lone surrogates. Well-formed surrogate pairs (as left by
    ``surrogatepass`` decoding) are joined into the character they encode, not removed.
    """
    text = "" if s is None else str(s)
    if "_x000" in text or "_X000" in text:
        # A vertical tab as Excel escapes it in the file; Gnumeric re-saves the escape as text.
        text = _VT_ESCAPE.sub("\x0b", text)
    if not _UNSTORABLE.search(text):
        return text, False
    text = text.replace("\x0b", "\n")  # Word's line break (Shift+Enter), pasted into a cell
    if not _UNSTORABLE.search(text):
        return text, False
    removed = 0
    if _SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
        text, removed = _SURROGATE.subn("", text)
    text, n = _ILLEGAL.subn("", text)
    return text, bool(removed + n)


def utf16_len(text: str) -> int:
    """Length as Excel counts it: characters outside the BMP count twice."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def truncation_marker(where: str) -> str:
    """What ends a text cut to fit a cell: says so, and where the whole text is."""
    return f"……（全文见{where}）"


def fit_cell(text: str, marker: str, limit: int = CELL_LIMIT) -> tuple[str, bool]:
    """Shorten ``text`` to ``limit`` UTF-16 code units (Excel's cell limit unless told), the
    ``marker`` that ends a cut text included; return (text, cut). Text within the limit is
    returned whole, so cutting never makes a text longer. A cut falls between characters."""
    if len(text) <= limit // 2 or utf16_len(text) <= limit:
        return text, False
    budget = max(0, limit - utf16_len(marker))
    units = text.encode("utf-16-le", "surrogatepass")[: 2 * budget]
    if units and 0xD8 <= units[-1] <= 0xDB:  # the first half of a pair: not split, left out
        units = units[:-2]
    return units.decode("utf-16-le", "surrogatepass") + marker, True


def value_text(value: object) -> str:
    """A read cell value (python-calamine or openpyxl) as the text a person sees in the cell:
    3.0 -> "3" (LibreOffice and WPS save whole numbers as floats), dates as ISO (without a
    midnight time), TRUE/FALSE as Excel shows them, None -> "", strings untouched."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def cell_text(value: object) -> str:
    """A value as the text of a written cell: cleaned (:func:`clean_text`), line breaks as \\n."""
    text, _ = clean_text("" if value is None else str(value))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


#: The wide characters of ordinary Chinese text: CJK ideographs, CJK and full-width punctuation,
#: “” ‘’ — … ① Ⅰ ℃ №. _display_width_slow counts each 2 (a test checks every one against
#: the running Python's unicodedata), so text made of these and ASCII is measured without the
#: table. (Not in it: U+302A-302F, combining tone marks; · × ° ±, below U+0300, count 1.)
COMMON_WIDE = (
    "\u2014\u2018\u2019\u201c\u201d\u2026\u2103\u2116\u2160-\u216b"
    "\u2460-\u2473\u3000-\u3029\u3030-\u303e\u4e00-\u9fff\uff01-\uff60\uffe0-\uffe6"
)
_COMMON = re.compile(f"[\\x00-\\x7f{COMMON_WIDE}]*")


def display_width(text: str) -> int:
    """Width in terminal columns: a CJK (or ambiguous-width, e.g. “”) character takes 2."""
    if text.isascii():
        return len(text)
    if _COMMON.fullmatch(text):  # ASCII and common wide characters: the usual case
        return 2 * len(text) - len(text.encode("ascii", "ignore"))
    return _display_width_slow(text)


def ascii_and_wide(text: str) -> tuple[int, int] | None:
    """(ASCII characters, wide characters) of ``text`` when it holds only ASCII and
    :data:`COMMON_WIDE` characters (as most Chinese text does), else None. No table needed.

    "Wide" is what :func:`display_width` counts 2.
    """
    if _COMMON.fullmatch(text):
        ascii_count = len(text.encode("ascii", "ignore"))
        return ascii_count, len(text) - ascii_count
    return None


def _display_width_slow(text: str) -> int:
    width = 0
    for ch in text:
        if ch < "\u0300":  # fast path for ASCII and Latin-1
            width += 1
        elif unicodedata.combining(ch):
            continue
        elif unicodedata.east_asian_width(ch) in "WFA":
            width += 2
        else:
            width += 1
    return width


def text_units(text: str) -> float:
    """Width of one line of 11 pt text in Excel column units: CJK and full width 2, others 1.1.

    East-Asian 'ambiguous' characters (“ ” ‘ ’ · ①) are drawn full width by Chinese fonts.
    """
    if (counts := ascii_and_wide(text)) is not None:
        ascii_count, wide = counts  # the characters the loop below finds 1.1 and 2.0 wide
        return 2.0 * wide + 1.1 * ascii_count
    wide = sum(1 for c in text if unicodedata.east_asian_width(c) in "WFA")
    return 2.0 * wide + 1.1 * (len(text) - wide)  # computed as above: the same float


def _text_lines(text: str, width: float, size: float = BODY_SIZE) -> int:
    """How many lines ``text`` wraps to in a column ``width`` units wide, in ``size`` pt."""
    # 0.9: LibreOffice substitutes a wider CJK face where 宋体 is missing; better a little air
    # than clipped text.
    usable = max(1.0, (width - 1.5) * 0.9 * BODY_SIZE / size)
    if "\n" not in text:  # one paragraph, as most are
        return max(1, math.ceil(text_units(text) / usable))
    return sum(max(1, math.ceil(text_units(part) / usable)) for part in text.split("\n"))


#: Task texts are measured again for every division and every answer row that shows them.
text_lines = functools.lru_cache(maxsize=16384)(_text_lines)


def lines_height(lines: int, size: float = BODY_SIZE) -> float:
    """Row height in points for ``lines`` lines of ``size`` pt text (CJK fonts: ~1.45 em)."""
    return min(MAX_ROW_HEIGHT, round(lines * size * 1.45 + 6, 1))


def _fits_one_line(text: str, width: float) -> bool:
    """Whether ``text`` surely takes one line at 11 pt: no break, and short enough even if every
    character were 2 units wide."""
    return "\n" not in text and 2 * len(text) <= (width - 1.5) * 0.9


def row_height(
    values: Sequence[object], widths: Sequence[float], *, minimum: float = 20.0
) -> float:
    """Height in points for a row of wrapped 11 pt text cells, at least ``minimum``."""
    lines = 1
    for value, width in zip(values, widths, strict=False):
        if isinstance(value, str) and not _fits_one_line(value, width):
            lines = max(lines, text_lines(value, width))
    return min(MAX_ROW_HEIGHT, max(minimum, lines_height(lines)))


def row_heights(
    rows: Sequence[Sequence[object]], widths: Sequence[float], *, minimum: float = 20.0
) -> list[float]:
    """``[row_height(row, widths, minimum=minimum) for row in rows]``, column by column.

    A column is measured once per distinct value (task texts, division and file names repeat
    on many rows), and not at all when every value fits on one line.
    """
    if any(len(row) != len(widths) for row in rows):
        return [row_height(row, widths, minimum=minimum) for row in rows]
    lines: list[int] | None = None
    for column, width in zip(zip(*rows, strict=True), widths, strict=False):  # no rows: none
        counted: dict[str, int] = {}
        try:
            distinct, hashable = dict.fromkeys(column), True
        except TypeError:  # an unhashable value: not text, so it takes one line
            distinct, hashable = dict.fromkeys(v for v in column if isinstance(v, str)), False
        for value in distinct:
            if isinstance(value, str) and not _fits_one_line(value, width):
                n = _text_lines(value, width)
                if n > 1:  # only what takes more than a line can make a row taller
                    counted[value] = n
        if not counted:
            continue
        get = counted.get  # only text is counted: any other value gets 1
        if hashable:
            found = list(map(get, column, repeat(1, len(column))))
        else:
            found = [get(v, 1) if isinstance(v, str) else 1 for v in column]
        lines = found if lines is None else list(map(max, lines, found))
    heights: dict[int, float] = {}
    for n in {1} if lines is None else set(lines):
        heights[n] = min(MAX_ROW_HEIGHT, max(minimum, lines_height(n)))
    return [heights[1]] * len(rows) if lines is None else [heights[n] for n in lines]
