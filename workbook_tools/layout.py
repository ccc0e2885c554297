"""The Annex 2 contract shared by the writer (template.py) and the reader (returns.py and
task_table.py).

Everything `merge` relies on to recognise a returned file lives here, so that the two sides
cannot drift apart.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

from .model import ROLE_ASSIST, ROLE_LEAD, Task, quarter_name

TEMPLATE_VERSION = "wbt-annex2-v2"
# Versions this reader knows: v1 had one filler line (填报人 / 联系电话 / 填报日期 in row 3) and
# its header in row 4. Returns of an earlier quarter's templates read the same; the reader
# finds the header and the filler labels by their text, wherever they are.
KNOWN_VERSIONS = ("wbt-annex2-v1", TEMPLATE_VERSION)

# Sheets of a template. The data sheet is first and active; the identity sheet is hidden
# (never veryHidden: LibreOffice turns that into hidden anyway).
DATA_SHEET = "完成情况"
GUIDE_SHEET = "填报说明"
IDENTITY_SHEET = "模板标识"

# Header of the data sheet, in column order (A..F).
COL_NUMBER = "序号"
COL_TEXT = "责任事项"
COL_ROLE = "本处室职责"
COL_ANSWER = "完成情况"
COL_STATUS = "进展状态"
COL_PLAN = "存在问题及下步打算"
HEADERS = (COL_NUMBER, COL_TEXT, COL_ROLE, COL_ANSWER, COL_STATUS, COL_PLAN)

# Columns right of F, only in templates of divisions with tasks that have quantitative targets
# (量化指标) or, from the second quarter on with an archive, last quarter's answers. For each
# target of the task with the most targets, a pair: G the target as the master states it
# (locked), H the cumulative figure (unlocked, a number >= 0); then, when there is one, the
# grey, locked 上季度完成情况. The reader finds them by their headers, in any column.
COL_TARGET = "量化指标"
COL_FIGURE = "截至本季度末累计完成"
COL_PREVIOUS = "上季度完成情况"

# Fixed rows of the data sheet (1-based).
ROW_ANNEX = 1  # "附件2"
ROW_TITLE = 2  # the title across the table
ROW_UNIT = 3  # 填报单位：<division> (A3:C3, locked) | 填报日期 E3, its answer F3
ROW_FILLER = 4  # 填报人 A4 | 审核人 C4 | 联系电话 E4; the answers to their right (B4, D4, F4)
ROW_HEADER = 5
ROW_FIRST_TASK = 6

# The header lines of the form, as a government office expects them.
LABEL_UNIT = "填报单位"
LABEL_FILLED_BY = "填报人"
LABEL_REVIEWER = "审核人"
LABEL_PHONE = "联系电话"
LABEL_DATE = "填报日期"
#: Labels above the header whose answer is the cell to their right (or after "：" in the same
#: cell). 负责人 is what many offices write instead of 审核人; it is read as the same line.
FILLER_LABELS = (LABEL_FILLED_BY, LABEL_REVIEWER, LABEL_PHONE, LABEL_DATE)
LABEL_ALIASES = {"负责人": LABEL_REVIEWER}
#: Where the template puts each label: (1-based row, 0-based column); the answer is one right.
FILLER_CELLS = {
    LABEL_DATE: (ROW_UNIT, 4),
    LABEL_FILLED_BY: (ROW_FILLER, 0),
    LABEL_REVIEWER: (ROW_FILLER, 2),
    LABEL_PHONE: (ROW_FILLER, 4),
}

# Identity sheet: key/value rows from A1, then a task table.
#   A1 IDENTITY_BANNER
#   A2 版本   B2 TEMPLATE_VERSION
#   A3 年度   B3 2022
#   A4 季度   B4 1
#   A5 处室   B5 养老服务处
#   A7 序号 | 行号 | 指纹     (header)
#   A8..    task number | data-sheet row | fingerprint(text)
IDENTITY_BANNER = "本工作表由 workbook-tools 生成，用于识别报送文件，请勿修改或删除。"
ID_VERSION = "版本"
ID_YEAR = "年度"
ID_QUARTER = "季度"
ID_DIVISION = "处室"
ID_TABLE_HEADER = ("序号", "行号", "指纹")

# Custom document properties (docProps/custom.xml; LibreOffice keeps them on re-save).
PROP_VERSION = "wbt_version"
PROP_YEAR = "wbt_year"
PROP_QUARTER = "wbt_quarter"
PROP_DIVISION = "wbt_division"

TITLE_RE = re.compile(
    r"(?P<year>\d{4})\s*年\s*(?:市民政局)?\s*(?P<division>.*?)\s*第\s*(?P<quarter>[一二三四1-4])\s*季度\s*工作目标完成情况"
)
_QUARTER_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def title(year: int, quarter: int, division: str) -> str:
    """2022年市民政局养老服务处第一季度工作目标完成情况"""
    return f"{year}年市民政局{division}第{quarter_name(quarter)}季度工作目标完成情况"


def parse_title(text: str) -> tuple[int, int, str] | None:
    """Inverse of :func:`title`: (year, quarter, division) or None. Division may be ""."""
    m = TITLE_RE.search(normalise_space(text))
    if not m:
        return None
    return int(m["year"]), _QUARTER_DIGITS[m["quarter"]], normalise_division(m["division"])


def parse_quarter(text: str) -> int | None:
    return _QUARTER_DIGITS.get(str(text).strip())


def quarter_folder(year: int, quarter: int) -> str:
    """The folder of one quarter's templates inside the outbox: 2022年第一季度"""
    return f"{year}年第{quarter_name(quarter)}季度"


def file_stem(year: int, quarter: int, division: str) -> str:
    """File name without suffix, before sanitising: 2022年第一季度工作目标完成情况-养老服务处"""
    return f"{year}年第{quarter_name(quarter)}季度工作目标完成情况-{division}"


def nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, by a path that is fast on Chinese text.

    NFKC is the compatibility decomposition followed by the canonical composition, which is what
    NFC does to text already decomposed. CPython's NFC skips composing when its quick check
    passes, as it does for Chinese text; its NFKC composes character by character. A test
    checks that both agree.
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFKD", text))


@functools.lru_cache(maxsize=65536)  # task texts are compared again for every return
def normalise_space(text: str) -> str:
    """NFKC-fold full-width ASCII and collapse every run of whitespace to nothing."""
    return re.sub(r"\s+", "", nfkc(str(text)))


@functools.lru_cache(maxsize=65536)
def fingerprint(text: str) -> str:
    """A short, stable fingerprint of a task text that ignores width and whitespace."""
    return hashlib.sha256(normalise_space(text).encode("utf-8")).hexdigest()[:16]


def normalise_division(name: str) -> str:
    """Canonical form of a division name: no whitespace, full-width brackets, as in the seed.

    "政策法规处\n(局信息中心)" and "政策法规处（局信息中心）" are the same division.
    """
    text = normalise_space(name)
    return text.replace("(", "（").replace(")", "）")


# --- Reading a header by meaning ----------------------------------------------------------
# Offices rename the template's headers ("一季度完成情况", "完成情况（截至3月底）", "编号",
# "进展情况"); each column is recognised by what its label means, not by its exact words.
HEADER_WORDS = {
    COL_NUMBER: ("序号", "编号", "序", "项目编号", "任务编号", "事项编号", "NO", "NO.", "#"),
    COL_TEXT: (
        "责任事项",
        "工作事项",
        "事项",
        "工作任务",
        "任务",
        "重点任务",
        "重点工作",
        "工作内容",
        "目标任务",
        "任务内容",
        "责任任务",
        "工作目标",
    ),
    COL_ROLE: ("本处室职责", "职责", "本单位职责", "承担职责", "牵头/配合", "牵头或配合", "角色"),
    COL_ANSWER: (
        "完成情况",
        "工作完成情况",
        "目标完成情况",
        "工作目标完成情况",
        "任务完成情况",
        "落实情况",
        "推进情况",
        "工作进展",
        "进展及成效",
        "完成情况及成效",
    ),
    COL_STATUS: (
        "进展状态",
        "进展情况",
        "进度",
        "状态",
        "进度情况",
        "完成状态",
        "推进状态",
        "进展",
    ),
    COL_PLAN: (
        "存在问题及下步打算",
        "存在问题及下一步打算",
        "存在问题和下步打算",
        "存在问题和下一步打算",
        "存在的问题及下步打算",
        "问题及打算",
        "存在问题",
        "下步打算",
        "下一步打算",
        "下步工作打算",
    ),
}
# A period or a note around the label: "一季度", "第一季度", "截至3月底", "1-3月", "（必填）".
_HEADER_NOTE = re.compile(r"[（(【\[][^）)】\]]*[）)】\]]")
_HEADER_PERIOD = re.compile(
    r"^(?:截至|截止|至)?(?:\d{4}年)?(?:第?[一二三四1-4]季度(?:末|底)?|上半年|下半年|全年|前三季度"
    r"|本季度|本期|\d{1,2}[-—~～至]\d{1,2}月(?:份)?(?:底|末)?|\d{1,2}月(?:份)?(?:底|末)?)(?:的)?"
)
_HEADER_WORD_INDEX = {
    normalise_space(word).upper(): label for label, words in HEADER_WORDS.items() for word in words
}


_TARGET_WORDS = {"量化指标", "指标", "目标", "年度目标", "目标任务数", "量化目标", "任务指标"}


def extra_label(text: str) -> str | None:
    """COL_TARGET, COL_FIGURE or COL_PREVIOUS for a header of a column right of the table's
    six, or None. Checked before :func:`header_label` (上季度完成情况 is not the answer)."""
    norm = _HEADER_NOTE.sub("", normalise_space(text).upper().rstrip("：:*＊"))
    if not norm or len(norm) > 30:
        return None
    if norm.startswith(("上季度", "上一季度", "上期", "上季")):
        return COL_PREVIOUS
    if "累计完成" in norm or norm in ("完成数", "完成数量", "累计数", "累计完成数"):
        return COL_FIGURE
    if norm in _TARGET_WORDS or norm.startswith("量化指标"):
        return COL_TARGET
    return None


def extra_columns(labels: list[str]) -> tuple[list[tuple[int | None, int]], int | None]:
    """The target column pairs (target column or None, figure column) and the 上季度完成情况
    column of a header row. As the template has them, each target column is followed by its
    figure column, and pairs are taken so. Columns moved out of that order (two target columns
    side by side, a figure column before its target) cannot say which figure is whose target:
    then no figure column has a target column, and figures go by their order."""
    pairs: list[tuple[int | None, int]] = []
    previous = None
    kinds: list[tuple[str, int]] = []
    for i, text in enumerate(labels):
        label = extra_label(text)
        if label in (COL_TARGET, COL_FIGURE):
            kinds.append((label, i))
        elif label == COL_PREVIOUS and previous is None:
            previous = i
    alternating = all(
        label == (COL_TARGET if n % 2 == 0 else COL_FIGURE) for n, (label, _) in enumerate(kinds)
    )
    for n, (label, i) in enumerate(kinds):
        if label == COL_FIGURE:
            pairs.append((kinds[n - 1][1] if alternating else None, i))
    return pairs, previous


def header_label(text: str) -> str | None:
    """The template column a header cell means (one of HEADERS), or None.

    Exact words first; then the label without a bracketed note or a leading period; then a
    label that ends with, or contains, one of the words of a wide column (完成情况, 问题, 打算).
    """
    norm = normalise_space(text).upper().rstrip("：:*＊")
    if not norm or len(norm) > 30:
        return None
    for candidate in (norm, _HEADER_NOTE.sub("", norm)):
        candidate = _HEADER_PERIOD.sub("", candidate) or candidate
        if candidate in _HEADER_WORD_INDEX:
            return _HEADER_WORD_INDEX[candidate]
        if candidate.endswith(("完成情况", "落实情况", "推进情况")):
            return COL_ANSWER
        if "问题" in candidate or "打算" in candidate:
            return COL_PLAN
        if candidate.endswith("状态"):
            return COL_STATUS
    return None


def header_columns(labels: list[str]) -> dict[str, int]:
    """Template column -> index, for a row of header cells; the first cell of each meaning wins.

    进展情况 means the status column beside a 完成情况 column, and the answers where there is no
    other answer column.
    """
    found: dict[str, int] = {}
    ambiguous: int | None = None
    for i, text in enumerate(labels):
        label = None if extra_label(text) else header_label(text)
        if label is None:
            continue
        if label == COL_STATUS and normalise_space(text) == "进展情况" and ambiguous is None:
            ambiguous = i
        found.setdefault(label, i)
    if COL_ANSWER not in found and ambiguous is not None:
        found[COL_ANSWER] = ambiguous
        if found.get(COL_STATUS) == ambiguous:
            del found[COL_STATUS]
    return found


def role_text(task: Task, division: str) -> str:
    """What the 本处室职责 cell says: the division's role, then who else is on the task.

    牵头 / 牵头\\n配合：A、B / 配合\\n牵头：C / 牵头\\n共同牵头：D / 配合\\n牵头：C\\n其他配合：E
    """
    role = task.role_of(division)
    if role is None:
        raise ValueError(f"{division} has no role in task {task.number}")
    leads = [d for d in task.leads if d != division]
    partners = [d for d in task.partners if d != division and d not in task.leads]
    lines = [role]
    if role == ROLE_LEAD:
        if leads:
            lines.append(f"共同{ROLE_LEAD}：" + "、".join(leads))
        if partners:
            lines.append(f"{ROLE_ASSIST}：" + "、".join(partners))
    else:
        if leads:
            lines.append(f"{ROLE_LEAD}：" + "、".join(leads))
        if partners:
            lines.append(f"其他{ROLE_ASSIST}：" + "、".join(partners))
    return "\n".join(lines)
