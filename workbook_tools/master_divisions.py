"""Division names in the master: the 牵头处室 / 责任处室 cells (a name broken over two lines, several
names in one cell, placeholders such as 无 or －) and the city's 牵头单位 / 责任单位 in the parenthesis
at the end of a 工作事项."""

from __future__ import annotations

import functools
import re

from .layout import nfkc, normalise_division

__all__ = ["split_divisions", "parse_city_units"]

_DIVISION_SEPARATORS = re.compile(r"[\r\n]+|[、，,；;/／]|[ \u3000\t\xa0]+")
_PLACEHOLDER = re.compile(r"[-－—–~～/／\\.。、，]*|无|暂无")
_UNIT_LABEL = re.compile(r"(牵头单位|责任单位|配合单位)\s*[:：]")
_UNIT_SEPARATORS = re.compile(r"[、，,；;]")


def split_divisions(text: str) -> tuple[str, ...]:
    """The divisions named in one 牵头处室 / 责任处室 cell, normalised, in order, without repeats.

    Blank lines, line breaks, 、，,；;/／ and runs of spaces separate names; a fragment that opens
    with a bracket belongs to the name before it, so "政策法规处\\n（局信息中心）" is one division.
    """
    return _split_divisions(str(text))


@functools.lru_cache(maxsize=4096)  # the same cells come back on many rows of a large plan
def _split_divisions(text: str) -> tuple[str, ...]:
    names: list[str] = []
    for part in _DIVISION_SEPARATORS.split(text):
        part = part.strip()
        if not part:
            continue
        if names and (part[0] in "（(" or _unclosed(names[-1])):
            names[-1] += part
        else:
            names.append(part)
    out: dict[str, None] = {}
    for name in names:
        name = normalise_division(name)
        if name and not _PLACEHOLDER.fullmatch(name):
            out.setdefault(name, None)
    return tuple(out)


_PARENS = re.compile(r"[()]")
_UNITS_OPEN = re.compile(r"\(\s*(?:牵头单位|责任单位|配合单位)\s*:")
_UNIT_WORDS = ("牵头单位", "责任单位", "配合单位")
_OPENING = ("(", "（", "﹙")  # what NFKC turns into "("


def _normalise_tail(text: str) -> str:
    """NFKC of ``text``, as far as parse_city_units looks: from the last opening parenthesis
    before the first 牵头单位/责任单位/配合单位 on (an earlier "(" cannot be followed by one), the
    whole text when there is no such parenthesis. Long task texts need only their end."""
    first = -1
    for word in _UNIT_WORDS:
        i = text.find(word)
        if i >= 0 and (first < 0 or i < first):
            first = i
    cut = -1
    if first > 0:
        for opening in _OPENING:
            cut = max(cut, text.rfind(opening, 0, first))
    if cut <= 0:
        return nfkc(text)
    return text[:cut] + nfkc(text[cut:])


def parse_city_units(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(牵头单位, 责任单位) from the parenthesis at the end of a 工作事项, or ((), ())."""
    n = _normalise_tail(str(text)).rstrip()
    start = -1
    for m in _UNITS_OPEN.finditer(n):
        start = m.start()
    if start < 0:
        return (), ()
    depth, end = 0, len(n)
    for m in _PARENS.finditer(n, start):
        depth += 1 if m.group() == "(" else -1
        if depth == 0:
            end = m.start()
            break
    inner = n[start + 1 : end]
    found: dict[str, list[str]] = {"牵头单位": [], "责任单位": []}
    pieces = _UNIT_LABEL.split(inner)  # ["", label, value, label, value, ...]
    for label, value in zip(pieces[1::2], pieces[2::2], strict=True):
        key = "牵头单位" if label == "牵头单位" else "责任单位"
        for unit in _UNIT_SEPARATORS.split(value):
            unit = normalise_division(unit)
            if unit and unit not in found[key]:
                found[key].append(unit)
    return tuple(found["牵头单位"]), tuple(found["责任单位"])


def _unclosed(name: str) -> bool:
    return name.count("（") + name.count("(") > name.count("）") + name.count(")")
