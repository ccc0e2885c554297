"""Text that an xlsx cell can hold, and how much room it takes.

Shared by the writers: remove characters the file format cannot store (PITFALLS 8), respect
Excel's 32,767-character cell limit, and estimate row heights for wrapped Chinese text, because
Excel and LibreOffice do not auto-fit them (PITFALLS 10). No I/O here.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Sequence
from itertools import repeat

CELL_LIMIT = 32767  # Excel's limit, in UTF-16 code units (an emoji counts twice)
TRUNCATION_MARKER = "……（内容过长，已截断）"
MAX_ROW_HEIGHT = 409.0  # points; Excel's maximum
LINE_HEIGHT = 14.5  # points per line of 11 pt 宋体
CELL_PADDING = 4.0  # points above and below the text
_LINE_CAP = math.ceil(MAX_ROW_HEIGHT / LINE_HEIGHT)  # lines worth counting: more are cut anyway

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
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def fit_cell(text: str, marker: str = TRUNCATION_MARKER) -> tuple[str, bool]:
    """Shorten ``text`` to Excel's cell limit, ending it with ``marker``; return (text, cut)."""
    if len(text) <= CELL_LIMIT // 2 or utf16_len(text) <= CELL_LIMIT:
        return text, False
    budget = CELL_LIMIT - utf16_len(marker)
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > budget:
            return text[:i] + marker, True
    return text, False  # unreachable: the text was over the limit


#: Characters measured one by one before the table of wide characters is built: building it
#: (~30 ms) costs about as much as measuring this many, so a short run never pays for it.
TABLE_AFTER = 100_000
_measured = 0

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
    """Width in Excel column units: a CJK (or ambiguous-width, e.g. “”) character is about 2."""
    global _measured
    if text.isascii():
        return len(text)
    if _COMMON.fullmatch(text):  # ASCII and common wide characters: the usual case
        return 2 * len(text) - len(text.encode("ascii", "ignore"))
    if _measured < TABLE_AFTER:
        _measured += len(text)
    elif _wide_only().fullmatch(text):  # ASCII and wide BMP characters only
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


@functools.cache
def _wide_only() -> re.Pattern[str]:
    """Matches text made only of ASCII and of BMP characters that _display_width_slow counts 2.

    Built from unicodedata when first needed (never at import), so it always agrees with the
    slow path of the running Python.
    """
    ranges: list[list[int]] = []
    for cp in range(0x300, 0x10000):
        ch = chr(cp)
        if unicodedata.combining(ch) or unicodedata.east_asian_width(ch) not in "WFA":
            continue
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    wide = "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )
    return re.compile(f"[\\x00-\\x7f{wide}]*")


def _line_count(text: str, width: float, cap: int = 1000) -> int:
    """Lines ``text`` takes when wrapped in a column ``width`` units wide (stops counting at cap)."""
    usable = max(width - 1.5, 1.0)  # cell padding, and slack for words that wrap early
    lines = 0
    for paragraph in text.split("\n"):
        if 2 * len(paragraph) <= usable:  # at most 2 units a character: one line, unmeasured
            lines += 1
        else:
            lines += max(1, math.ceil(display_width(paragraph) / usable))
        if lines >= cap:
            return cap
    return lines


#: line_count, remembered: task texts repeat on every answer row of 明细.
line_count = functools.lru_cache(maxsize=16384)(_line_count)


def row_height(
    values: Sequence[object], widths: Sequence[float], *, minimum: float = 20.0
) -> float:
    """Height in points for a wrapped row (Excel and LibreOffice do not auto-fit, PITFALLS 10)."""
    lines = 1  # line_count is at least 1
    for value, width in zip(values, widths, strict=False):
        # A character is at most 2 units wide: shorter text fits on one line, unless broken.
        if isinstance(value, str) and (2 * len(value) > width - 1.5 or "\n" in value):
            lines = max(lines, line_count(value, width, _LINE_CAP))
    return min(MAX_ROW_HEIGHT, max(minimum, lines * LINE_HEIGHT + 2 * CELL_PADDING))


def row_heights(
    rows: Sequence[Sequence[object]], widths: Sequence[float], *, minimum: float = 20.0
) -> list[float]:
    """``[row_height(row, widths, minimum=minimum) for row in rows]``, column by column.

    A column is measured once per distinct value (task texts, division and file names repeat
    on many rows), and not at all when every value fits on one line. For the summary's
    thousands of rows this takes about a third less time than measuring them one by one.
    """
    if any(len(row) != len(widths) for row in rows):
        return [row_height(row, widths, minimum=minimum) for row in rows]
    lines: list[int] | None = None
    for column, width in zip(zip(*rows, strict=True), widths, strict=False):  # no rows: none
        limit = width - 1.5
        counted: dict[str, int] = {}
        try:
            distinct, hashable = dict.fromkeys(column), True
        except TypeError:  # an unhashable value: not text, so it takes one line
            distinct, hashable = dict.fromkeys(v for v in column if isinstance(v, str)), False
        for value in distinct:
            if isinstance(value, str) and (2 * len(value) > limit or "\n" in value):
                n = _line_count(value, width, _LINE_CAP)
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
        heights[n] = min(MAX_ROW_HEIGHT, max(minimum, n * LINE_HEIGHT + 2 * CELL_PADDING))
    return [heights[1]] * len(rows) if lines is None else [heights[n] for n in lines]
