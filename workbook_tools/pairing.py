"""Which row of a return is which task: pure functions, no I/O.

Offices renumber rows, shorten task texts to a title, duplicate a row, or write on in the row
below. The evidence, strongest first: the task text (the same, or recognisably the same), the
序号, the row the template put the task in (its identity sheet records it), and the order of the
rows. Every pairing records which evidence decided it, so that merge can say so; rows no
evidence places are left over, never guessed.

Text comparison is bounded: a cheap character-set filter runs before difflib, so a return with
thousands of pasted rows is checked in a fraction of a second.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .layout import fingerprint, normalise_space
from .model import ReturnRow, Task

#: A text at least this similar to a task's is that task's.
TEXT_MATCH_RATIO = 0.6
#: Below this, a row's text contradicts the task its 序号 names.
TEXT_CONTRADICTS = 0.3
#: A shortened text (a title) must have at least this many characters to count as part of a task.
MIN_TITLE = 4
#: Rows compared by similarity, beyond exact texts: a pasted list of thousands of rows is placed
#: by exact text, 序号 and position only past this many.
FUZZY_ROWS = 200

BY_TEXT = "内容"
BY_NUMBER = "序号"
BY_POSITION = "模板中的行位置"
BY_ORDER = "行的先后顺序"

_STAR = re.compile(r"^[\s*＊]+")
_WHOLE_NUMBER = re.compile(r"\d+(\.0+)?")


def task_number(cell: str) -> str:
    """'*1', '＊1', ' 1 ', '1.0' -> '1'. Anything else is returned stripped."""
    text = _STAR.sub("", str(cell)).strip()
    if _WHOLE_NUMBER.fullmatch(text):
        return str(int(float(text)))
    return text


def same_text(a: str, b: str) -> bool:
    """Equal but for width and whitespace."""
    return a == b or normalise_space(a) == normalise_space(b)


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, normalise_space(a), normalise_space(b)).ratio()


@functools.lru_cache(maxsize=65536)
def grams(text: str) -> frozenset[str]:
    """The pairs of neighbouring characters of ``text`` (width and whitespace folded)."""
    t = normalise_space(text)
    return frozenset(t[i : i + 2] for i in range(len(t) - 1)) or frozenset(t and [t])


def text_score(text: str, task_text: str) -> float:
    """How surely ``text`` is ``task_text``: 1.0 when the same; the similarity ratio; for a text
    shortened to a title, how much of it stands in the task text in runs of 3 or more.

    Texts sharing under TEXT_CONTRADICTS of their character pairs score 0 without difflib."""
    a, b = normalise_space(text), normalise_space(task_text)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if len(a) >= MIN_TITLE and a in b:
        return 0.95
    ga = grams(a)
    if len(ga & grams(b)) < TEXT_CONTRADICTS * len(ga):
        return 0.0
    matcher = _matcher(b)
    matcher.set_seq1(a)
    ratio = matcher.ratio()
    if len(a) >= 2 * MIN_TITLE and len(a) < len(b):
        runs = sum(block.size for block in matcher.get_matching_blocks() if block.size >= 3)
        ratio = max(ratio, 0.9 * runs / len(a))
    return ratio


@functools.lru_cache(maxsize=4096)
def _matcher(task_text: str) -> difflib.SequenceMatcher:
    """A matcher with ``task_text`` as its second sequence: difflib indexes that one, once."""
    return difflib.SequenceMatcher(None, "", task_text, autojunk=False)


class TaskIndex:
    """Finds the tasks a text may be, among many, by the character pairs they share (pairs
    found in more than COMMON tasks say nothing and are not indexed)."""

    COMMON = 50

    def __init__(self, tasks: Sequence[Task]) -> None:
        self.tasks = tuple(tasks)
        self.by_print = {}
        for task in reversed(self.tasks):
            self.by_print[fingerprint(task.text)] = task
        index: dict[str, list[int]] = {}
        for i, task in enumerate(self.tasks):
            for gram in grams(task.text):
                index.setdefault(gram, []).append(i)
        self.index = {g: ids for g, ids in index.items() if len(ids) <= self.COMMON}

    def find(self, text: str) -> Task | None:
        """The task ``text`` is: the same text, else the best one scoring TEXT_MATCH_RATIO."""
        task = self.by_print.get(fingerprint(text))
        if task is not None or not text.strip():
            return task
        counts: dict[int, int] = {}
        for gram in grams(text):
            for i in self.index.get(gram, ()):
                counts[i] = counts.get(i, 0) + 1
        best = sorted(counts, key=lambda i: (-counts[i], i))[:3]
        score, earliest = max(
            ((text_score(text, self.tasks[i].text), -i) for i in best), default=(0, 0)
        )
        return self.tasks[-earliest] if score >= TEXT_MATCH_RATIO else None


@dataclass
class Pairing:
    """Rows of one table placed on the tasks of one division."""

    rows: dict[str, list[ReturnRow]] = field(default_factory=dict)  # task -> its rows, main first
    how: dict[str, str] = field(default_factory=dict)  # task -> BY_* of its main row
    follow: dict[int, str] = field(default_factory=dict)  # row -> "续行" / "重复"
    left: list[ReturnRow] = field(default_factory=list)  # rows no evidence places


def is_continuation(row: ReturnRow) -> bool:
    """A row with neither 序号 nor 责任事项: what was written on below the task above."""
    return not row.number.strip() and not row.text.strip()


def pair_rows(
    tasks: Sequence[Task], rows: Sequence[ReturnRow], template_rows: Mapping[str, int] = {}
) -> Pairing:
    """Place ``rows`` on ``tasks``. ``template_rows`` maps a task number to the row the template
    put it in, when the file's identity sheet says so."""
    out = Pairing()
    by_number = {t.number: t for t in tasks}
    by_print = {}
    for t in tasks:
        by_print.setdefault(fingerprint(t.text), t)
    owner: dict[int, str] = {}  # row -> task it was placed on

    def place(row: ReturnRow, task: Task, how: str) -> None:
        out.rows[task.number] = [row]
        out.how[task.number] = how
        owner[row.row] = task.number

    heads = [r for r in rows if not is_continuation(r)]
    loose: list[ReturnRow] = []
    # 1. The task text itself (a row repeating a placed task's text is a duplicate of it).
    for row in heads:
        task = by_print.get(fingerprint(row.text)) if row.text.strip() else None
        if task is None:
            loose.append(row)
        elif task.number in out.rows:
            out.rows[task.number].append(row)
            out.follow[row.row] = "重复"
            owner[row.row] = task.number
        else:
            place(row, task, BY_TEXT)
    # 2. A text recognisably the task's (edited, or shortened to a title), best pairs first.
    open_tasks = [t for t in tasks if t.number not in out.rows]
    scored = []
    for row in [r for r in loose if r.text.strip()][:FUZZY_ROWS]:
        for task in open_tasks:
            score = text_score(row.text, task.text)
            if score >= TEXT_MATCH_RATIO:
                scored.append((score, row.row, task.number, row))
    scored.sort(key=lambda s: (-s[0], s[1]))
    for _, _, number, row in scored:
        if number not in out.rows and row.row not in owner:
            place(row, by_number[number], BY_TEXT)
    loose = [r for r in loose if r.row not in owner]
    # 3. As many rows left as tasks: their 序号 when these name the open tasks one each (rows
    # sorted or reversed keep their 序号; a text shortened past recognition does not undo
    # that), else the master's order (rows renumbered 1, 2, 3…) for rows whose text does not
    # say otherwise.
    open_tasks = [t for t in tasks if t.number not in out.rows]
    if loose and len(loose) == len(open_tasks):
        numbers = [task_number(r.number) for r in loose]
        named = {t.number: t for t in open_tasks}
        if sorted(numbers) == sorted(named):
            pairs, how = [(r, named[n]) for r, n in zip(loose, numbers, strict=True)], BY_NUMBER
        else:
            pairs, how = list(zip(loose, open_tasks, strict=True)), BY_ORDER
        for row, task in pairs:
            if (
                how == BY_NUMBER
                or not row.text.strip()
                or text_score(row.text, task.text) >= TEXT_CONTRADICTS
            ):
                place(row, task, how)
        loose = [r for r in loose if r.row not in owner]
    # 4. Otherwise the 序号, where the text is empty or fits that task best of those left; then
    # the row the template put the task in.
    for row in list(loose):
        task = by_number.get(task_number(row.number))
        if task is None or task.number in out.rows:
            continue
        # A text that is part of the task its 序号 names (a short title such as 同城化) agrees.
        if row.text.strip() and normalise_space(row.text) not in normalise_space(task.text):
            open_tasks = [t for t in tasks if t.number not in out.rows]
            scores = {t.number: text_score(row.text, t.text) for t in open_tasks}
            if scores[task.number] < max(scores.values()) or scores[task.number] < TEXT_CONTRADICTS:
                continue
        place(row, task, BY_NUMBER)
    loose = [r for r in loose if r.row not in owner]
    at_row = {r: n for n, r in template_rows.items() if n in by_number}
    for row in loose:
        number = at_row.get(row.row)
        if number is not None and number not in out.rows and not row.text.strip():
            place(row, by_number[number], BY_POSITION)
    # Rows written on right below a placed row (no empty row between) belong to its task.
    last: str | None = None
    previous = 0
    for row in rows:
        if row.row in owner:
            last = owner[row.row]
        elif is_continuation(row) and last is not None and row.row == previous + 1:
            out.rows[last].append(row)
            out.follow[row.row] = "续行"
        else:
            last = None
            out.left.append(row)
        previous = row.row
    return out
