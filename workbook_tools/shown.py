"""The text a person saw in an xlsx cell that holds a number: "85%", "12,000", "2022年4月8日".

python-calamine gives a cell's value (0.85, 12000.0, a datetime), not what its number format
showed. For the few formats an answer is typed in (percent, thousands, dates) this renders the
value as Excel shows it; any other format keeps the value as it is. Only the cells asked for are
looked up, so a return without numbers in its text columns costs nothing here.
"""

from __future__ import annotations

import datetime as dt
import io
import posixpath
import re
import zipfile
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from defusedxml.ElementTree import fromstring, iterparse

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"

# Excel's built-in formats of these kinds (ECMA-376 18.8.30; 31, 57, 58 as Chinese Excel shows).
BUILTIN = {
    1: "0",
    2: "0.00",
    3: "#,##0",
    4: "#,##0.00",
    9: "0%",
    10: "0.00%",
    14: "yyyy/m/d",
    15: "d-mmm-yy",
    16: "d-mmm",
    17: "mmm-yy",
    18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM",
    20: "h:mm",
    21: "h:mm:ss",
    22: "yyyy/m/d h:mm",
    31: 'yyyy"年"m"月"d"日"',
    57: 'yyyy"年"m"月"',
    58: 'm"月"d"日"',
}


def shown_texts(data: bytes, sheet: str, cells: dict[str, object]) -> dict[str, str]:
    """{cell reference: text shown} for the ``cells`` (reference -> value read) of ``sheet`` whose
    number format is a percent, thousands or date format. Anything unreadable gives {}."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        path = _sheet_path(zf, sheet)
        styles = _styles(zf)
        out = {}
        for ref, style in _cell_styles(zf, path, set(cells)):
            code = styles.get(style)
            if code is not None and (text := render(cells[ref], code)) is not None:
                out[ref] = text
        return out
    except Exception:  # hostile or odd files: keep the values as read
        return {}


def _sheet_path(zf: zipfile.ZipFile, sheet: str) -> str:
    book = fromstring(zf.read("xl/workbook.xml"))
    rid = next(s.get(f"{_REL}id") for s in book.iter(f"{_MAIN}sheet") if s.get("name") == sheet)
    rels = fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    target = next(
        r.get("Target") for r in rels.iter(f"{_PKG_REL}Relationship") if r.get("Id") == rid
    )
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")


def _styles(zf: zipfile.ZipFile) -> dict[int, str]:
    """Cell style index -> number format code, for styles with a format we render."""
    root = fromstring(zf.read("xl/styles.xml"))
    codes = dict(BUILTIN)
    for fmt in root.iter(f"{_MAIN}numFmt"):
        codes[int(fmt.get("numFmtId", "-1"))] = fmt.get("formatCode", "")
    xfs = root.find(f"{_MAIN}cellXfs")
    out = {}
    for i, xf in enumerate(xfs if xfs is not None else ()):
        code = codes.get(int(xf.get("numFmtId", "0")))
        if code:
            out[i] = code
    return out


def _cell_styles(zf: zipfile.ZipFile, path: str, refs: set[str]) -> Iterable[tuple[str, int]]:
    with zf.open(path) as f:
        for _, elem in iterparse(f):
            if elem.tag == f"{_MAIN}c":
                ref = elem.get("r")
                if ref in refs and elem.get("s"):
                    yield ref, int(elem.get("s"))
                elem.clear()
            elif elem.tag == f"{_MAIN}row":
                elem.clear()


_SECTION = re.compile(r'(?:"[^"]*"|\\.|[^;])*')
_NOISE = re.compile(r"\[[^\]]*\]|_.|\*.")
_DATE_TOKEN = re.compile(
    r'"[^"]*"|\\.|AM/PM|A/P|上午/下午|yyyy|yy|m{1,5}|d{1,4}|a{3,4}|hh|h|ss|s|.', re.IGNORECASE
)
_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_CHINESE_DAYS = "一二三四五六日"
_PART = re.compile(r"y+|m+|d+|h+|s+", re.IGNORECASE)


def render(value: object, code: str) -> str | None:
    """``value`` as the format ``code`` shows it, for percent, thousands and date formats."""
    section = _NOISE.sub("", _SECTION.match(code)[0])  # the positive section, no colours
    bare = re.sub(r'"[^"]*"|\\.', "", section)
    if isinstance(value, dt.date | dt.time):
        return _render_date(value, section) if re.search(r"[ymdhs]", bare, re.I) else None
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if re.search(r"[ymdhs]", bare, re.I) and not re.search(r"[0#%]", bare):
        # A date format on a number (some readers leave the serial day as it is stored):
        # Excel's day count, 1900 system.
        try:
            return _render_date(_EPOCH + dt.timedelta(days=float(value)), section)
        except (OverflowError, ValueError):
            return None
    decimals = len(m[1]) if (m := re.search(r"\.([0#?]+)", bare)) else 0
    if "%" in bare:
        return f"{_rounded(value * 100, decimals)}%"
    if "," in bare and re.search(r"[0#]", bare):
        return f"{_rounded(value, decimals):,}"
    if _PLAIN_NUMBER.fullmatch(bare.strip()):
        return str(_rounded(value, decimals))
    return None


def _rounded(value: float, decimals: int) -> Decimal:
    """``value`` rounded as Excel shows it: to its 15 significant digits, then halves away from
    zero (0.125 as "0%" is 13%, 2.5 as "0" is 3), not to the nearest even binary fraction."""
    exact = Decimal(format(value, ".15g"))
    return exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


_EPOCH = dt.datetime(1899, 12, 30)  # day 0 of Excel's 1900 date system, as serial days count
_PLAIN_NUMBER = re.compile(r"[0#?]+(?:\.[0#?]+)?")


def _render_date(value: dt.date | dt.time, section: str) -> str:
    if isinstance(value, dt.time):
        value = dt.datetime.combine(dt.date(1900, 1, 1), value)
    elif not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    tokens = _DATE_TOKEN.findall(section)
    twelve = any(t.upper() in ("AM/PM", "A/P", "上午/下午") for t in tokens)
    out = []
    for i, tok in enumerate(tokens):
        low = tok.lower()
        if low in ("am/pm", "a/p", "上午/下午"):
            morning = value.hour < 12
            out.append(
                {"am/pm": ("AM", "PM"), "a/p": ("A", "P"), "上午/下午": ("上午", "下午")}[low][
                    0 if morning else 1
                ]
            )
        elif low in ("mmm", "mmmm", "mmmmm"):
            name = _MONTHS[value.month - 1]
            out.append({3: name[:3], 4: name, 5: name[:1]}[len(low)])
        elif low in ("ddd", "dddd"):
            name = _DAYS[value.weekday()]
            out.append(name[:3] if low == "ddd" else name)
        elif low in ("aaa", "aaaa"):  # Chinese Excel's day of the week
            day = _CHINESE_DAYS[value.weekday()]
            out.append(day if low == "aaa" else f"星期{day}")
        elif tok.startswith('"'):
            out.append(tok[1:-1])
        elif tok.startswith("\\"):
            out.append(tok[1:])
        elif low in ("yyyy", "yy"):
            out.append(f"{value.year:04d}" if low == "yyyy" else f"{value.year % 100:02d}")
        elif low in ("m", "mm"):
            # Minutes right after an hour or before a second, whatever is written between.
            before = [t.lower()[0] for t in tokens[:i] if _PART.fullmatch(t)]
            after = [t.lower()[0] for t in tokens[i + 1 :] if _PART.fullmatch(t)]
            minutes = before[-1:] == ["h"] or after[:1] == ["s"]
            n = value.minute if minutes else value.month
            out.append(f"{n:02d}" if low == "mm" else str(n))
        elif low in ("d", "dd"):
            out.append(f"{value.day:02d}" if low == "dd" else str(value.day))
        elif low in ("h", "hh"):
            hour = (value.hour % 12 or 12) if twelve else value.hour
            out.append(f"{hour:02d}" if low == "hh" else str(hour))
        elif low in ("s", "ss"):
            out.append(f"{value.second:02d}" if low == "ss" else str(value.second))
        else:
            out.append(tok)
    return "".join(out)
