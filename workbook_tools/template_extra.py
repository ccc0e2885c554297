"""The columns right of the six on an Annex 2 data sheet: each quantitative target (量化指标)
beside a number cell for its cumulative figure (截至本季度末累计完成), and what the division
reported last quarter (上季度完成情况, grey and locked), with the guide's lines about them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import layout
from .cells import fit_cell, lines_height, text_lines, truncation_marker
from .model import Target, Task
from .template_book import (
    ANSWER_MIN_LINES,
    CHARSET_GB2312,
    FONT_BODY,
    R_FIRST,
    R_HEADER,
    SIZE_BODY,
    Book,
    put,
)

TARGET_WIDTH = 22.0
FIGURE_WIDTH = 14.0
PREVIOUS_WIDTH = 40.0
PREVIOUS_FILL = "#E7E6E6"
NO_TARGET_FILL = "#F2F2F2"
FIGURE_MESSAGE = "请填写截至本季度末的累计完成数（只填数字，不小于0），计量单位见左侧“量化指标”。"


@dataclass(frozen=True)
class Previous:
    """What a division reported on a task last quarter, shown for reference."""

    answer: str = ""
    status: str = ""
    figures: tuple[tuple[str, float | None], ...] = ()  # (target name, cumulative figure)


def target_text(target: Target) -> str:
    """The 量化指标 cell: ``名称：数量单位`` as in the master (parse_targets reads it back)."""
    from .targets import format_target

    return format_target(target)


def previous_text(previous: Previous, targets: tuple[Target, ...]) -> str:
    """The 上季度完成情况 cell: the answer, the status chosen and the figures reported."""
    from .targets import amount_text

    units = {t.name: t.unit for t in targets}
    lines = [previous.answer.strip() or "（未填写）"]
    if previous.status:
        lines.append(f"进展状态：{previous.status}")
    for name, value in previous.figures:
        if name in units:
            shown = "未填报" if value is None else f"{amount_text(value)}{units[name]}"
            lines.append(f"{name}累计完成：{shown}")
    text, _ = fit_cell("\n".join(lines), truncation_marker("上季度汇总表"))
    return text


@dataclass(frozen=True)
class ExtraColumns:
    """The target pairs (as many as the division's task with the most targets) and the
    上季度完成情况 column of one template; none at all without targets or previous answers."""

    pairs: int = 0
    previous: Mapping[str, Previous] | None = None

    @classmethod
    def of(cls, tasks: tuple[Task, ...], previous: Mapping[str, Previous]) -> ExtraColumns:
        numbers = {t.number for t in tasks}
        shown = {k: v for k, v in previous.items() if k in numbers}
        return cls(max((len(t.targets) for t in tasks), default=0), shown or None)

    @property
    def count(self) -> int:
        return 2 * self.pairs + (1 if self.previous else 0)

    def guide_rows(self) -> list[tuple[str, str, str]]:
        rows = []
        if self.pairs:
            rows.append(
                (
                    "item",
                    layout.COL_FIGURE,
                    "有量化指标的事项必填。填写截至本季度末的累计完成数（全年累计，不是本季度新增），"
                    "只填数字，计量单位见左侧“量化指标”。",
                )
            )
        if self.previous:
            rows.append(
                (
                    "item",
                    layout.COL_PREVIOUS,
                    "上季度报送的内容，仅供参考，不能修改；本季度的完成情况请重新填写。",
                )
            )
        return rows

    def write(self, book: Book, ws, tasks: tuple[Task, ...], first: int, base_lines) -> None:
        """Headers, cells, widths and validations of the extra columns from column ``first``."""
        if not self.count:
            return
        wb = book.wb
        body = {"font_name": FONT_BODY, "font_size": SIZE_BODY, "font_charset": CHARSET_GB2312}
        cell = {**body, "border": 1, "text_wrap": True, "valign": "vcenter"}
        target_fmt = wb.add_format({**cell, "align": "left"})
        figure_fmt = wb.add_format({**cell, "locked": False, "align": "right"})
        none_fmt = wb.add_format({**cell, "bg_color": NO_TARGET_FILL})
        previous_fmt = wb.add_format(
            {
                **cell,
                "align": "left",
                "valign": "top",
                "bg_color": PREVIOUS_FILL,
                "font_color": "#595959",
            }
        )
        columns = []
        for _ in range(self.pairs):
            columns += [(layout.COL_TARGET, TARGET_WIDTH), (layout.COL_FIGURE, FIGURE_WIDTH)]
        if self.previous:
            columns.append((layout.COL_PREVIOUS, PREVIOUS_WIDTH))
        for c, (label, width) in enumerate(columns, first):
            ws.set_column(c, c, width)
            put(ws, R_HEADER, c, label, book.header)
        previous = self.previous or {}
        for i, task in enumerate(tasks):
            r = R_FIRST + i
            lines = [ANSWER_MIN_LINES, base_lines[i]]
            for k in range(self.pairs):
                col = first + 2 * k
                if k < len(task.targets):
                    text = target_text(task.targets[k])
                    put(ws, r, col, text, target_fmt)
                    ws.write_blank(r, col + 1, None, figure_fmt)
                    ws.data_validation(
                        r,
                        col + 1,
                        r,
                        col + 1,
                        {
                            "validate": "decimal",
                            "criteria": ">=",
                            "value": 0,
                            "ignore_blank": True,
                            "input_title": layout.COL_FIGURE,
                            "input_message": FIGURE_MESSAGE,
                            "error_type": "stop",
                            "error_title": f"{layout.COL_FIGURE}填写有误",
                            "error_message": "累计完成数只能填写不小于0的数字（如 20 或 1200），"
                            "不要填写单位或文字。",
                        },
                    )
                    lines.append(text_lines(text, TARGET_WIDTH))
                else:
                    ws.write_blank(r, col, None, none_fmt)
                    ws.write_blank(r, col + 1, None, none_fmt)
            if self.previous:
                col = first + 2 * self.pairs
                before = previous.get(task.number)
                text = previous_text(before, task.targets) if before else "（上季度未报送）"
                put(ws, r, col, text, previous_fmt)
                lines.append(text_lines(text, PREVIOUS_WIDTH))
            if max(lines) > max(lines[:2]):
                ws.set_row(r, lines_height(max(lines)))
