"""The identity a returned file carries: its hidden identity sheet and custom document properties.

The template writes its division, year, quarter and version twice, on the hidden 模板标识 sheet
(with each task's fingerprint and row) and in the custom document properties; this module reads
both as they are, the sheet trusted where they disagree, and notes a template version it does not
know. Whose return the file is, weighed against the master, is decided later by
:mod:`workbook_tools.identify`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import layout
from .cells import value_text
from .model import quarter_name
from .sheets import Sheet


@dataclass
class Identity:
    """What the identity sheet and the document properties say: ``values`` (division, year,
    quarter; the sheet's where both say one), the template version, each task's fingerprint, and
    the sentences for where the two disagree."""

    values: dict[str, Any]
    version: str
    fingerprints: tuple[tuple[str, str], ...]
    conflicts: list[str]
    rows: tuple[tuple[str, int], ...] = ()  # (task number, its row in the template)


FIELD_NAMES = {"division": "处室", "year": "年度", "quarter": "季度"}


def shown_value(field: str, value: Any) -> str:
    """An identity value as a conflict sentence quotes it: 第一季度, 2022, 养老服务处."""
    return f"第{quarter_name(value)}季度" if field == "quarter" else str(value)


def _parse_year(text: str) -> int | None:
    m = re.fullmatch(r"(\d{4})(?:年|\.0+)?", layout.normalise_space(text))
    return int(m.group(1)) if m else None


def _parse_quarter(text: str) -> int | None:
    norm = layout.normalise_space(text)
    m = re.fullmatch(r"第?([一二三四1-4])(?:季度)?(?:\.0+)?", norm)
    return layout.parse_quarter(m.group(1)) if m else None


def division_or_none(text: str) -> str | None:
    """The division named by ``text``; None for nothing or the template's XXX placeholder."""
    name = layout.normalise_division(text)
    return name if name and "XXX" not in name.upper() else None


def _identity_values(raw: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if (year := _parse_year(raw.get("year", ""))) is not None:
        out["year"] = year
    if (quarter := _parse_quarter(raw.get("quarter", ""))) is not None:
        out["quarter"] = quarter
    if division := division_or_none(raw.get("division", "")):
        out["division"] = division
    return out


def read_identity(sheets: list[Sheet], props: dict[str, str], notes: list[str]) -> Identity:
    """The identity of the file from its 模板标识 sheet and custom ``props``; a template version
    this tool does not know is added to ``notes``."""
    keys = {
        layout.ID_VERSION: "version",
        layout.ID_YEAR: "year",
        layout.ID_QUARTER: "quarter",
        layout.ID_DIVISION: "division",
    }
    from_sheet: dict[str, str] = {}
    prints: list[tuple[str, str]] = []
    rows: list[tuple[str, int]] = []
    sheet = next((s for s in sheets if s.name == layout.IDENTITY_SHEET), None)
    if sheet is not None:
        in_table = False
        for row in sheet.grid:
            a, b, c = [value_text(v).strip() for v in row[:3]] + [""] * (3 - len(row[:3]))
            if in_table:
                if a:
                    prints.append((a, c))
                    if b.isdigit():
                        rows.append((a, int(b)))
                continue
            if tuple(layout.normalise_space(x) for x in (a, b, c)) == layout.ID_TABLE_HEADER:
                in_table = True
            elif (key := keys.get(layout.normalise_space(a))) and key not in from_sheet:
                from_sheet[key] = b
    from_props = {
        "version": props.get(layout.PROP_VERSION, "").strip(),
        "year": props.get(layout.PROP_YEAR, ""),
        "quarter": props.get(layout.PROP_QUARTER, ""),
        "division": props.get(layout.PROP_DIVISION, ""),
    }
    sheet_vals, prop_vals = _identity_values(from_sheet), _identity_values(from_props)
    conflicts = []
    for name in ("division", "year", "quarter"):
        if name in sheet_vals and name in prop_vals and sheet_vals[name] != prop_vals[name]:
            conflicts.append(
                f"文档属性中的{FIELD_NAMES[name]}为“{shown_value(name, prop_vals[name])}”，"
                f"模板标识工作表为“{shown_value(name, sheet_vals[name])}”，以模板标识工作表为准"
            )
    version = from_sheet.get("version", "").strip() or from_props["version"]
    if version and version not in layout.KNOWN_VERSIONS:
        notes.append(f"模板版本为 {version}，当前版本为 {layout.TEMPLATE_VERSION}")
    return Identity({**prop_vals, **sheet_vals}, version, tuple(prints), conflicts, tuple(rows))
