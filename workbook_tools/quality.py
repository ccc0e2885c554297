"""Answer quality: 答复未更新, 答复雷同 and 答复过简 (model.FLAG_TYPES), as flags that never block a file.

Pure functions over answers (model.Answer, or anything with ``task_number``, ``division``,
``answer``, ``source`` and ``cell``). Texts are compared after :func:`normalise_answer`: width
folded (NFKC), and spaces, punctuation and symbols removed, so that a re-typed full stop or a
line break does not make an old answer look new.

The placeholders an answer may not consist of are :data:`DEFAULT_PLACEHOLDERS`; a coordinator
extends them with :func:`placeholders` (e.g. from a settings list or a sheet of the master).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Protocol

from .model import Flag

__all__ = [
    "DEFAULT_PLACEHOLDERS",
    "MIN_CHARS",
    "MIN_DUPLICATE_CHARS",
    "normalise_answer",
    "placeholders",
    "is_placeholder",
    "stale_answers",
    "duplicate_answers",
    "terse_answers",
    "quality_flags",
]

# Answers that say nothing on their own. Compared after normalisation and after dropping the
# fillers around them (目前…中), so 正在推进中 and 目前按计划推进 match too.
DEFAULT_PLACEHOLDERS = (
    "无",
    "暂无",
    "没有",
    "略",
    "同上",
    "同前",
    "同上季度",
    "见上",
    "正在推进",
    "按计划推进",
    "按序时推进",
    "有序推进",
    "稳步推进",
    "持续推进",
    "积极推进",
    "正常推进",
    "推进",
    "进行",
    "正在进行",
    "正在办理",
    "正在落实",
    "已完成",
    "完成",
    "已落实",
    "未开展",
    "未启动",
    "不涉及",
)
# Fewer characters of substance than this (after normalisation) is 过简 whatever they say.
MIN_CHARS = 5
# Shorter texts are too common to call two of them 雷同 (they are 过简 instead).
MIN_DUPLICATE_CHARS = 10

_FILLER_BEFORE = re.compile(
    r"^(?:目前|当前|现在|现|本季度|该项工作|此项工作|相关工作|各项工作|工作)+"
)
_FILLER_AFTER = re.compile(r"(?:之中|中|了|当中)+$")


class AnswerLike(Protocol):
    task_number: str
    division: str
    answer: str
    source: str
    cell: str


def normalise_answer(text: object) -> str:
    """``text`` without spaces, punctuation and symbols, width folded and lower case."""
    folded = unicodedata.normalize("NFKC", "" if text is None else str(text)).lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def _core(normalised: str) -> str:
    return _FILLER_AFTER.sub("", _FILLER_BEFORE.sub("", normalised))


def placeholders(extra: Iterable[str] = (), *, base: Iterable[str] = DEFAULT_PLACEHOLDERS):
    """The placeholder list: ``base`` (the defaults) plus ``extra`` (blank items ignored), as a
    frozenset of normalised texts for :func:`is_placeholder`."""
    out = set()
    for text in (*base, *extra):
        n = normalise_answer(text)
        if n:
            out.add(n)
            out.add(_core(n) or n)
    return frozenset(out)


_DEFAULT_SET = placeholders()


def is_placeholder(text: str, known: frozenset[str] = _DEFAULT_SET) -> bool:
    """Whether ``text`` is only a placeholder (one of ``known``, with fillers around it)."""
    n = normalise_answer(text)
    return bool(n) and (n in known or _core(n) in known)


def _where(a: AnswerLike) -> str:
    return f"第{a.task_number}项完成情况" + (f"（{a.cell}）" if a.cell else "")


def _quote(text: str, limit: int = 30) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return f"“{text[:limit]}…”" if len(text) > limit else f"“{text}”"


def stale_answers(
    answers: Iterable[AnswerLike], previous: Mapping[tuple[str, str], str | tuple[str, ...]]
) -> list[Flag]:
    """答复未更新: an answer equal (normalised) to the same division's answer to the same task in
    the previous quarter. ``previous`` maps (division, task number) to that answer, or to the
    texts that count as it (the answer, and the template's cell showing it)."""
    flags = []
    for a in answers:
        n = normalise_answer(a.answer)
        before = previous.get((a.division, a.task_number))
        texts = (before,) if isinstance(before, str) else before or ()
        if n and any(normalise_answer(t) == n for t in texts):
            flags.append(
                Flag(
                    "答复未更新",
                    f"{_where(a)}与上季度报送的内容相同：{_quote(a.answer)}",
                    a.division,
                    a.task_number,
                    a.source,
                )
            )
    return flags


def duplicate_answers(
    answers: Iterable[AnswerLike],
    known: frozenset[str] = _DEFAULT_SET,
    *,
    min_chars: int = MIN_DUPLICATE_CHARS,
) -> list[Flag]:
    """答复雷同: one text (normalised) given for different tasks, or by different divisions. Every
    answer of such a group gets a flag naming the others. Placeholders and texts shorter than
    ``min_chars`` are left to :func:`terse_answers`."""
    groups: dict[str, list[AnswerLike]] = {}
    for a in answers:
        n = normalise_answer(a.answer)
        if len(n) >= min_chars and not is_placeholder(a.answer, known):
            groups.setdefault(n, []).append(a)
    flags = []
    for group in groups.values():
        if len({(a.division, a.task_number) for a in group}) < 2:
            continue  # the same answer read twice (a repeated row) is another flag's business
        for a in group:
            others = [
                o for o in group if (o.division, o.task_number) != (a.division, a.task_number)
            ]
            named = "、".join(
                f"第{o.task_number}项"
                if o.division == a.division
                else f"{o.division}第{o.task_number}项"
                for o in others[:3]
            )
            more = f"等{len(others)}处" if len(others) > 3 else ""
            flags.append(
                Flag(
                    "答复雷同",
                    f"{_where(a)}与{named}{more}的答复相同：{_quote(a.answer)}",
                    a.division,
                    a.task_number,
                    a.source,
                )
            )
    return flags


def terse_answers(
    answers: Iterable[AnswerLike],
    known: frozenset[str] = _DEFAULT_SET,
    *,
    min_chars: int = MIN_CHARS,
) -> list[Flag]:
    """答复过简: an answer that is only a placeholder, or has fewer than ``min_chars`` letters
    and digits. Empty answers are not flagged here (they are 未填写)."""
    flags = []
    for a in answers:
        if not a.answer.strip():
            continue
        n = normalise_answer(a.answer)
        if is_placeholder(a.answer, known):
            why = "仅为套话"
        elif len(n) < min_chars:
            why = f"不足{min_chars}个字" if n else "没有文字内容"
        else:
            continue
        flags.append(
            Flag(
                "答复过简",
                f"{_where(a)}{why}：{_quote(a.answer)}；请写明本季度具体做了什么、完成多少",
                a.division,
                a.task_number,
                a.source,
            )
        )
    return flags


def quality_flags(
    answers: Iterable[AnswerLike],
    previous: Mapping[tuple[str, str], str | tuple[str, ...]] | None = None,
    known: frozenset[str] = _DEFAULT_SET,
) -> list[Flag]:
    """All three checks: 答复过简, 答复雷同, then 答复未更新 (when ``previous`` is given)."""
    answers = list(answers)
    flags = terse_answers(answers, known) + duplicate_answers(answers, known)
    if previous:
        flags += stale_answers(answers, previous)
    return flags
