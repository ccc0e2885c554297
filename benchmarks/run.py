"""Benchmark the split and merge commands against plain pandas scripts.

Run by hand, never as a timed test:

    python benchmarks/run.py                    # 2,000 tasks, 200 divisions
    python benchmarks/run.py --repeat 3         # each contender three times, taking turns
    python benchmarks/run.py --quick            # small smoke run, checks the filler too

Every contender is a whole process, timed from start to exit (wall time, CPU time and peak
memory from os.wait4): the `workbook-tools` command, and the pandas scripts below. The
contenders of a stage take turns, so that a shared machine's drift hits them alike. See
benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHIPPED_MASTER = REPO / "master" / "分解方案.xlsx"
YEAR, QUARTER = 2022, 1

# Targets, whole commands against the pandas script with calamine and xlsxwriter.
SPLIT_SPEEDUP = 2.0  # ours vs pandas, at least
MERGE_SPEEDUP = 1.5  # ours vs pandas, at least
PEAK_MB = 400.0  # below, for split and merge
HELP_SECONDS = 0.3  # below, best of 5
SHIPPED_SECONDS = 1.0  # below, CLI wall time, median of 3

# --------------------------------------------------------------------------------------------
# Child side: one contender per process. Imports happen before the clock starts.


class Clock:
    """Wall and CPU time (this process and its waited-for children) of the timed work."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self.extra: dict[str, object] = {}

    @staticmethod
    def _cpu() -> float:
        s = resource.getrusage(resource.RUSAGE_SELF)
        c = resource.getrusage(resource.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

    def start(self) -> None:
        self.rss_at_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.t0 = self.last = time.perf_counter()
        self.cpu0 = self._cpu()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = now - self.last
        self.last = now

    def stop(self) -> dict:
        return {
            "wall": time.perf_counter() - self.t0,
            "cpu": self._cpu() - self.cpu0,
            "rss_after_imports_mb": self.rss_at_start,
            "phases": self.phases,
            "extra": self.extra,
        }


def work_ours_split(job: dict, clock: Clock) -> None:
    from workbook_tools.master import read_master
    from workbook_tools.template_files import write_templates

    shutil.rmtree(job["outbox"], ignore_errors=True)  # a second run would only compare bytes
    clock.start()
    master = read_master(job["master"])
    clock.lap("read_master")
    infos = write_templates(master, YEAR, QUARTER, Path(job["outbox"]))
    clock.lap("write_templates")
    clock.extra.update(
        tasks=len(master.tasks),
        divisions=len(master.divisions),
        assignments=len(master.assignments),
        templates=len(infos),
    )


def work_ours_merge(job: dict, clock: Clock) -> None:
    from collections import Counter

    from workbook_tools.inbox import collect
    from workbook_tools.master import read_master
    from workbook_tools.merge import merge
    from workbook_tools.overview import overview
    from workbook_tools.report import write_report
    from workbook_tools.summary import write_summary

    master = read_master(job["master"])  # not timed: the pandas merge does not read it either
    clock.start()
    collected = collect(Path(job["inbox"]))
    clock.lap("collect")
    summary = merge(master, collected, YEAR, QUARTER)
    clock.lap("merge")
    ov = overview(summary)
    write_summary(summary, Path(job["out"]), ov)
    clock.lap("write_summary")
    # Here one after the other, to show its cost; the command writes it beside the summary.
    write_report(summary, Path(job["out"]).with_suffix(".docx"), ov)
    clock.lap("write_report")
    clock.extra.update(
        files=len(collected.returns),
        rejected=len(collected.rejected),
        submitted=sum(1 for d in summary.divisions if d.submitted),
        divisions=len(summary.divisions),
        answers=len(summary.answers),
        assignments=len(master.assignments),
        flags=dict(Counter(f.kind for f in summary.flags)),
    )


def work_pandas_split(job: dict, clock: Clock) -> None:
    """The plain script: read the master, one unformatted workbook per division, no checks."""
    import pandas as pd

    read_engine, write_engine = job["engines"]

    def names(cell: object) -> list[str]:
        # Blank lines separate divisions; a name may be broken over two lines inside one.
        if not isinstance(cell, str):
            return []
        return [re.sub(r"\s+", "", p) for p in re.split(r"\n\s*\n", cell) if p.strip()]

    clock.start()
    df = pd.read_excel(job["master"], header=2, engine=read_engine)
    df.columns = ["序号", "工作事项", "分管领导", "牵头处室", "责任处室"]
    df = df[df["工作事项"].notna()]
    df["处室"] = [names(a) + names(b) for a, b in zip(df["牵头处室"], df["责任处室"], strict=True)]
    long = df.explode("处室")
    clock.lap("read")
    outbox = Path(job["outbox"])
    outbox.mkdir(parents=True, exist_ok=True)
    divisions = list(dict.fromkeys(long["处室"].dropna()))
    for division in divisions:
        rows = long[long["处室"] == division]
        out = rows[["序号", "工作事项"]].assign(完成情况="", 进展状态="", 存在问题及下步打算="")
        out.to_excel(outbox / f"{division}.xlsx", index=False, engine=write_engine)
    clock.lap("write")
    clock.extra.update(divisions=len(divisions), rows=int(long["处室"].notna().sum()))


def work_pandas_merge(job: dict, clock: Clock) -> None:
    """The plain script: read every return, concatenate, write one sheet, no checks."""
    import pandas as pd

    read_engine, write_engine = job["engines"]
    files = sorted(Path(job["inbox"]).glob("*.xlsx"))
    clock.start()
    frames = []
    for path in files:
        df = pd.read_excel(path, sheet_name="完成情况", header=3, engine=read_engine)
        df["文件"] = path.name
        frames.append(df)
    clock.lap("read")
    merged = pd.concat(frames, ignore_index=True)
    merged.to_excel(job["out"], index=False, engine=write_engine)
    clock.lap("write")
    clock.extra.update(files=len(files), rows=len(merged))


def work_summary_floor(job: dict, clock: Clock) -> None:
    """A lower bound for any merge that writes our summary through xlsxwriter's public API:
    the finished summary's cells (read back before the clock starts) written again, with one
    format, no row heights, no reading of returns, no merging, no draft."""
    import xlsxwriter
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(job["summary"])
    sheets = [(name, book.get_sheet_by_name(name).to_python()) for name in book.sheet_names]
    clock.start()
    options = {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
    workbook = xlsxwriter.Workbook(job["out"], {**options, "strings_to_urls": False})
    cell = workbook.add_format({"text_wrap": True, "border": 1, "valign": "vcenter"})
    cells = 0
    for name, rows in sheets:
        ws = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, str) and value:
                    ws.write_string(r, c, value, cell)
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    ws.write_number(r, c, value, cell)
                else:
                    continue
                cells += 1
    clock.lap("write")
    workbook.close()
    clock.lap("close")
    clock.extra.update(cells=cells)


CALAMINE = ("calamine", "xlsxwriter")  # the peer: pandas' fastest plain engines
OPENPYXL = ("openpyxl", "openpyxl")

WORKERS = {
    "ours-split": work_ours_split,
    "ours-merge": work_ours_merge,
    "pandas-split": work_pandas_split,
    "pandas-merge": work_pandas_merge,
    "summary-floor": work_summary_floor,
}


def worker_main(name: str, job_path: str) -> int:
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    clock = Clock()
    WORKERS[name](job, clock)
    result = clock.stop()
    Path(job["result"]).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0


# --------------------------------------------------------------------------------------------
# Parent side


@dataclass
class Run:
    """One child process: its own timing (if it is a worker) and what wait4 reported."""

    label: str
    process_wall: float
    process_cpu: float
    peak_mb: float
    wall: float | None = None  # work only, measured inside the child
    cpu: float | None = None
    phases: dict[str, float] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def child_env() -> dict[str, str]:
    """The children's environment: the repository importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def spawn(label: str, argv: list[str], cwd: Path, logs: Path) -> tuple[float, float, float]:
    """Run argv; return (wall, CPU of the child and its waited-for children, peak RSS MB)."""
    logs.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^\w.-]", "_", label)
    with open(logs / f"{stem}.out", "wb") as out, open(logs / f"{stem}.err", "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=child_env(), stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = (logs / f"{stem}.err").read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{label} failed with status {proc.returncode}:\n{tail}")
    # Linux: ru_maxrss is in KiB and is the largest of the child and its waited-for children.
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def run_turns(contenders: list[tuple[str, object]], work: Path, repeat: int = 1) -> list[Run]:
    """The fastest of ``repeat`` runs of each contender (by the whole process's wall time),
    taking turns (a, b, c, a, b, c...). A contender is a worker name with its job (a dict),
    the argv of a command (a list), or a function of the turn (0, 1...) giving that argv.

    A shared machine's speed drifts over seconds: runs that take turns meet the same
    conditions, so their ratio drifts less.
    """
    runs: dict[str, list[Run]] = {label: [] for label, _ in contenders}
    for turn in range(repeat):
        for label, what in contenders:
            if isinstance(what, dict):
                runs[label].append(_run_worker_once(label, what, work))
            elif callable(what):
                runs[label].append(run_command(label, what(turn), work))
            else:
                runs[label].append(run_command(label, what, work))
    return [min(found, key=lambda r: r.process_wall) for found in runs.values()]


def _run_worker_once(label: str, job: dict, work: Path) -> Run:
    name = job["worker"]
    stem = re.sub(r"[^\w.-]", "_", label)
    job = {**job, "result": str(work / f"result-{stem}.json")}
    job_path = work / f"job-{stem}.json"
    job_path.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
    argv = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--job", str(job_path)]
    wall, cpu, peak = spawn(label, argv, work, work / "logs")
    result = json.loads(Path(job["result"]).read_text(encoding="utf-8"))
    return Run(
        label, wall, cpu, peak, result["wall"], result["cpu"], result["phases"], result["extra"]
    )


def run_command(label: str, argv: list[str], work: Path) -> Run:
    wall, cpu, peak = spawn(label, argv, work, work / "logs")
    return Run(label, wall, cpu, peak)


def console_script(work: Path) -> tuple[list[str], str]:
    """The installed `workbook-tools`, or the script pip would generate for it."""
    found = shutil.which("workbook-tools")
    if found:
        return [found], "installed"
    shim = work / "bin" / "workbook-tools"
    shim.parent.mkdir(parents=True, exist_ok=True)
    # Exactly what pip writes for [project.scripts] workbook-tools = "workbook_tools.cli:main".
    shim.write_text(
        f"#!{sys.executable}\n"
        "# -*- coding: utf-8 -*-\n"
        "import re\n"
        "import sys\n"
        "from workbook_tools.cli import main\n"
        "if __name__ == '__main__':\n"
        "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
        "    sys.exit(main())\n",
        encoding="utf-8",
    )
    shim.chmod(0o755)
    return [str(shim)], "not installed: pip-style script on PYTHONPATH"


# --------------------------------------------------------------------------------------------
# Filling the templates as staff would (not timed against the targets)

ANSWER_CLAUSES = (
    "已召开专题推进会{n}次",
    "制定印发工作方案",
    "明确责任分工和时间节点",
    "完成年度目标的{p}%",
    "新增服务对象{n}人",
    "累计投入资金{n}万元",
    "开展督导检查{n}次",
    "发现并整改问题{n}个",
    "组织业务培训{n}人次",
    "与相关部门建立联席会议制度",
    "完成摸底调查",
    "项目已进入招标阶段",
    "已完成选址和规划设计",
    "印发实施细则",
    "指导各地结合实际抓好落实",
    "工作台账逐月更新",
    "典型经验在全省推广",
    "建立季度调度机制",
)
PLAN_CLAUSES = (
    "部分地区资金到位较慢",
    "基层人员力量不足",
    "项目审批周期较长",
    "下一步将加强督导调度",
    "下一步将协调财政部门加快资金拨付",
    "确保按期完成年度目标",
    "将进一步压实各地责任",
)
STATUS_WEIGHTS = (("按序时推进", 55), ("已完成", 30), ("滞后", 10), ("未启动", 5))
FILLER = {
    "填报人": "张三",
    "审核人": "李四",
    "联系电话": "027-00000000",
    "填报日期": f"{YEAR}-04-08",
}


def _prose(rng: random.Random, clauses: tuple[str, ...], low: int, high: int) -> str:
    target = rng.randint(low, high)
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < target:
        parts.append(rng.choice(clauses).format(n=rng.randint(2, 900), p=rng.randint(10, 100)))
    return "，".join(parts) + "。"


def fills_for(division: str, count: int, seed: int) -> list[tuple[str, str, str]]:
    """(完成情况, 进展状态, 存在问题及下步打算) for the division's task rows, in template order."""
    rng = random.Random(f"{seed}:{division}")
    statuses = [s for s, _ in STATUS_WEIGHTS]
    weights = [w for _, w in STATUS_WEIGHTS]
    out = []
    for _ in range(count):
        status = rng.choices(statuses, weights)[0]
        answer = _prose(rng, ANSWER_CLAUSES, 60, 300)
        plan = ""
        if status in ("滞后", "未启动") or rng.random() < 0.4:
            plan = _prose(rng, PLAN_CLAUSES, 30, 120)
        out.append((answer, status, plan))
    return out


_BLANK_CELL = re.compile(r'<c r="([A-Z]+)(\d+)" s="(\d+)"/>')
_ANSWER_COLUMNS = {"D": 0, "E": 1, "F": 2}


def fill_fast(src: Path, dst: Path, division: str, seed: int) -> int:
    """Fill a template by editing its XML, as Excel would save it: every answer a shared string.

    Fills 完成情况, 进展状态 and 存在问题及下步打算 on every task row and the 填报人 lines.
    Returns the number of task rows filled. Equivalent to demo.fill_template for what merge reads
    (checked by --quick), and much cheaper: it edits XML instead of loading the workbook.
    """
    from xlsxwriter.utility import xl_rowcol_to_cell

    from workbook_tools import layout

    filler_cells = {  # the cell right of each label above the table, e.g. "B4": "填报人"
        xl_rowcol_to_cell(row - 1, col + 1): label
        for label, (row, col) in layout.FILLER_CELLS.items()
    }
    with zipfile.ZipFile(src) as zin:
        parts = {i.filename: zin.read(i) for i in zin.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode("utf-8")
    strings = parts["xl/sharedStrings.xml"].decode("utf-8")
    unique = int(re.search(r'uniqueCount="(\d+)"', strings).group(1))
    count = int(re.search(r' count="(\d+)"', strings).group(1))
    rows = sorted(
        {
            int(r)
            for c, r, _ in _BLANK_CELL.findall(sheet)
            if c == "D" and int(r) >= layout.ROW_FIRST_TASK
        }
    )
    fills = dict(zip(rows, fills_for(division, len(rows), seed), strict=True))
    new: list[str] = []

    def put(m: re.Match) -> str:
        col, row, style = m.group(1), int(m.group(2)), m.group(3)
        if row in fills and col in _ANSWER_COLUMNS:
            text = fills[row][_ANSWER_COLUMNS[col]]
        elif f"{col}{row}" in filler_cells:
            text = FILLER[filler_cells[f"{col}{row}"]]
        else:
            return m.group(0)
        if not text:
            return m.group(0)
        new.append(text)
        return f'<c r="{col}{row}" s="{style}" t="s"><v>{unique + len(new) - 1}</v></c>'

    sheet = _BLANK_CELL.sub(put, sheet)
    items = "".join(f"<si><t>{escape(t)}</t></si>" for t in new)
    strings = re.sub(r'uniqueCount="\d+"', f'uniqueCount="{unique + len(new)}"', strings, count=1)
    strings = re.sub(r' count="\d+"', f' count="{count + len(new)}"', strings, count=1)
    strings = strings.replace("</sst>", items + "</sst>")
    core = parts["docProps/core.xml"].decode("utf-8")
    core = re.sub(r"(<dcterms:modified[^>]*>)[^<]*", rf"\g<1>{YEAR}-04-08T09:30:00Z", core, count=1)
    parts.update(
        {
            "xl/worksheets/sheet1.xml": sheet.encode("utf-8"),
            "xl/sharedStrings.xml": strings.encode("utf-8"),
            "docProps/core.xml": core.encode("utf-8"),
        }
    )
    dst.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts.items():
            zout.writestr(name, data)
    return len(rows)


def fill_with_demo(src: Path, dst: Path, division: str, seed: int, master) -> int:
    """The same answers through demo.fill_template (openpyxl load and save)."""
    from workbook_tools.demo import Fill, fill_template

    tasks = master.tasks_of(division)
    fills = {
        t.number: Fill(a, s, p)
        for t, (a, s, p) in zip(tasks, fills_for(division, len(tasks), seed), strict=True)
    }
    fill_template(src, dst, fills, filler=FILLER)
    return len(tasks)


def template_division(path: Path) -> str:
    """The division a template was written for, from its custom properties."""
    with zipfile.ZipFile(path) as zf:
        custom = zf.read("docProps/custom.xml").decode("utf-8")
    m = re.search(r'name="wbt_division"[^>]*>\s*<vt:lpwstr>([^<]*)</vt:lpwstr>', custom)
    if not m:
        raise SystemExit(f"{path}: no wbt_division property; cannot fill it")
    return m.group(1).replace("&amp;", "&")


def fill_all(
    outbox: Path, inbox: Path, seed: int, how: str, master_path: Path, returns: int | None = None
) -> tuple[int, int]:
    """Fill the templates of ``outbox`` into ``inbox``: all of them, or ``returns`` of them
    (a fixed sample, as when only some divisions have answered); (files, rows)."""
    master = None
    if how == "demo":
        from workbook_tools.master import read_master

        master = read_master(master_path)
    inbox.mkdir(parents=True, exist_ok=True)
    files = rows = 0
    templates = sorted(outbox.glob("*.xlsx"))
    if returns is not None and returns < len(templates):
        templates = sorted(random.Random(seed).sample(templates, returns))
    for src in templates:
        division = template_division(src)
        if how == "demo":
            rows += fill_with_demo(src, inbox / src.name, division, seed, master)
        else:
            rows += fill_fast(src, inbox / src.name, division, seed)
        files += 1
    return files, rows


def check_filler(outbox: Path, master_path: Path, seed: int, work: Path, sample: int = 3) -> str:
    """Fill a few templates both ways; what returns.read_return sees must be identical."""
    from workbook_tools.master import read_master
    from workbook_tools.returns import read_return

    master = read_master(master_path)
    for src in sorted(outbox.glob("*.xlsx"))[:sample]:
        division = template_division(src)
        fast = fill_fast(src, work / "fast" / src.name, division, seed)
        slow = fill_with_demo(src, work / "demo" / src.name, division, seed, master)
        a = read_return((work / "fast" / src.name).read_bytes(), src.name)
        b = read_return((work / "demo" / src.name).read_bytes(), src.name)
        view = lambda r: (  # noqa: E731
            r.division,
            r.year,
            r.quarter,
            r.filled_by,
            r.phone,
            r.fill_date,
            [(x.number, x.text, x.answer, x.status, x.plan) for x in r.rows],
        )
        if fast != slow or view(a) != view(b):
            raise SystemExit(f"fast filler differs from demo.fill_template on {src.name}")
    return f"fast filler = demo.fill_template on {sample} templates"


# --------------------------------------------------------------------------------------------
# The run


def quarter_templates(outbox: Path) -> Path:
    """The folder inside ``outbox`` where split writes the period's templates."""
    from workbook_tools.layout import quarter_folder

    return outbox / quarter_folder(YEAR, QUARTER)


def timed_best(label: str, argv: list[str], work: Path, times: int) -> list[float]:
    return [run_command(f"{label}-{i}", argv, work).process_wall for i in range(times)]


def shipped_cycle(cli: list[str], work: Path, seed: int, repeats: int) -> dict[str, list[float]]:
    """CLI split and merge on the shipped master: wall times of each of ``repeats`` runs."""
    base = work / "shipped"
    out: dict[str, list[float]] = {"split": [], "merge": []}
    for i in range(repeats):
        outbox, inbox = base / f"outbox{i}", base / f"inbox{i}"
        out["split"].append(
            run_command(
                f"shipped-split-{i}",
                [*cli, "split", "-q", str(QUARTER), "--master", str(SHIPPED_MASTER)]
                + ["--outbox", str(outbox)],
                work,
            ).process_wall
        )
        fill_all(quarter_templates(outbox), inbox, seed, "fast", SHIPPED_MASTER)
        out["merge"].append(
            run_command(
                f"shipped-merge-{i}",
                [*cli, "merge", "-q", str(QUARTER), "--master", str(SHIPPED_MASTER)]
                + ["--inbox", str(inbox), "--out", str(base / f"summary{i}.xlsx")],
                work,
            ).process_wall
        )
    return out


def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:8.2f}"


def print_runs(runs: list[Run]) -> None:
    head = f"{'contender':<26}{'work s':>9}{'CPU s':>9}{'process s':>11}{'proc CPU s':>12}{'peak MB':>9}"
    print(head)
    print("-" * len(head))
    for r in runs:
        print(
            f"{r.label:<26}{fmt_s(r.wall):>9}{fmt_s(r.cpu):>9}{r.process_wall:>11.2f}"
            f"{r.process_cpu:>12.2f}{r.peak_mb:>9.0f}"
        )
        for phase, seconds in r.phases.items():
            if len(r.phases) > 1:
                print(f"{'  · ' + phase:<26}{seconds:>9.2f}")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark the workbook-tools split and merge commands against pandas scripts."
    )
    parser.add_argument("--tasks", type=int, help="tasks in the master; default 10 x divisions")
    parser.add_argument("--divisions", type=int, help="divisions or units; default 200")
    parser.add_argument("--quick", action="store_true", help="small smoke run (100 tasks, 10)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument(
        "--fill",
        choices=("fast", "demo"),
        default="fast",
        help="fill templates by editing their XML (fast) or with demo.fill_template (openpyxl)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each contender N times (taking turns), keep the fastest",
    )
    parser.add_argument(
        "--returns",
        type=int,
        help="fill only this many templates, as when the other divisions have not answered yet; "
        "default all",
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.job)

    if args.quick:
        divisions = args.divisions or 10
        tasks = args.tasks or 10 * divisions
    else:
        divisions = args.divisions or (args.tasks // 10 if args.tasks else 200)
        tasks = args.tasks or 10 * divisions
    help_runs, shipped_runs = (2, 1) if args.quick else (5, 3)

    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(REPO))
    from make_province_master import make_master

    work = Path(tempfile.mkdtemp(prefix="wbt-bench-"))
    try:
        master = make_master(tasks, divisions, work / "province_master.xlsx", args.seed)
        load_before = os.getloadavg()[0]
        print(f"workbook-tools benchmark: {tasks} tasks, {divisions} divisions, in {work}")
        print(f"{os.cpu_count()} CPUs, load average {load_before:.2f} before the run")
        from workbook_tools.master_file import MAX_ROWS

        if tasks > MAX_ROWS - 4:  # 附件1, title, header and footnote rows
            raise SystemExit(
                f"{tasks} tasks: read_master refuses a master longer than {MAX_ROWS} rows; "
                f"use --tasks {MAX_ROWS - 4} or fewer"
            )
        runs: list[Run] = []
        cli, cli_how = console_script(work)
        # One CPU: the commands see one CPU (sched_getaffinity) and do everything in one process.
        one_cpu = ["taskset", "-c", "0"] if shutil.which("taskset") else None

        def pandas(worker: str, job: dict, engines: tuple[str, str]) -> dict:
            return {**job, "worker": worker, "engines": engines}

        split_job = {"master": str(master)}
        split_cli = [*cli, "split", "-q", str(QUARTER), "--master", str(master), "--outbox"]
        split_turns = [
            # A fresh outbox each turn: into a full one, split only compares the bytes.
            ("ours-split", lambda turn: [*split_cli, str(work / f"outbox{turn}")]),
            (
                "pandas-split",
                pandas("pandas-split", {**split_job, "outbox": str(work / "o-pd")}, CALAMINE),
            ),
            (
                "pandas-split openpyxl",
                pandas("pandas-split", {**split_job, "outbox": str(work / "o-pdo")}, OPENPYXL),
            ),
            ("ours-split work", {**split_job, "worker": "ours-split", "outbox": str(work / "o-w")}),
        ]
        if one_cpu:
            split_turns.append(
                ("ours-split 1 CPU", lambda turn: [*one_cpu, *split_cli, str(work / f"o-1-{turn}")])
            )
        runs += run_turns(split_turns, work, args.repeat)
        ex = next(r for r in runs if r.label == "ours-split work").extra
        print(
            f"master read: {ex['tasks']} tasks, {ex['divisions']} divisions, "
            f"{ex['assignments']} assignments -> {ex['templates']} templates"
        )

        t0 = time.perf_counter()
        files, rows = fill_all(
            quarter_templates(work / "outbox0"),
            work / "inbox",
            args.seed,
            args.fill,
            master,
            args.returns,
        )
        print(
            f"filled {files} templates, {rows} task rows ({args.fill}, {time.perf_counter() - t0:.1f} s)"
        )
        if args.quick:
            print(
                check_filler(
                    quarter_templates(work / "outbox0"), master, args.seed, work / "fillcheck"
                )
            )

        merge_job = {"master": str(master), "inbox": str(work / "inbox")}
        merge_cli = [*cli, "merge", "-q", str(QUARTER), "--master", str(master)]
        merge_cli += ["--inbox", str(work / "inbox"), "--out"]
        merge_turns = [
            ("ours-merge", [*merge_cli, str(work / "summary.xlsx")]),
            ("ours-merge --no-report", [*merge_cli, str(work / "nr.xlsx"), "--no-report"]),
            (
                "pandas-merge",
                pandas("pandas-merge", {**merge_job, "out": str(work / "pd.xlsx")}, CALAMINE),
            ),
            (
                "pandas-merge openpyxl",
                pandas("pandas-merge", {**merge_job, "out": str(work / "pdo.xlsx")}, OPENPYXL),
            ),
            ("ours-merge work", {**merge_job, "worker": "ours-merge", "out": str(work / "w.xlsx")}),
        ]
        if one_cpu:
            merge_turns.append(("ours-merge 1 CPU", [*one_cpu, *merge_cli, str(work / "s1.xlsx")]))
        runs += run_turns(merge_turns, work, args.repeat)
        floor_job = {"summary": str(work / "summary.xlsx"), "out": str(work / "floor.xlsx")}
        runs += run_turns(
            [("summary floor", {**floor_job, "worker": "summary-floor"})], work, args.repeat
        )

        help_m = timed_best(
            "help-m", [sys.executable, "-m", "workbook_tools", "--help"], work, help_runs
        )
        help_s = timed_best("help-script", [*cli, "--help"], work, help_runs)
        shipped = shipped_cycle(cli, work, args.seed, shipped_runs)

        by = {r.label: r for r in runs}
        me = by["ours-merge work"].extra
        print(
            f"merge: {me['files']} files read, {me['rejected']} rejected, "
            f"{me['submitted']}/{me['divisions']} divisions submitted, "
            f"{me['answers']}/{me['assignments']} answers; flags {me['flags']}"
        )
        print()
        print_runs(runs)
        print(f"console script: {cli[0]} ({cli_how})")
        print()

        split_x = by["pandas-split"].process_wall / by["ours-split"].process_wall
        merge_x = by["pandas-merge"].process_wall / by["ours-merge"].process_wall
        split_cpu_x = by["pandas-split"].process_cpu / by["ours-split"].process_cpu
        merge_cpu_x = by["pandas-merge"].process_cpu / by["ours-merge"].process_cpu
        peak = max(by["ours-split"].peak_mb, by["ours-merge"].peak_mb)
        shipped_split = statistics.median(shipped["split"])
        shipped_merge = statistics.median(shipped["merge"])
        checks = [
            ("split vs pandas (whole process)", f"{split_x:.2f}x (by CPU time {split_cpu_x:.2f}x)", f">= {SPLIT_SPEEDUP:g}x", split_x >= SPLIT_SPEEDUP),
            ("merge vs pandas (whole process)", f"{merge_x:.2f}x (by CPU time {merge_cpu_x:.2f}x)", f">= {MERGE_SPEEDUP:g}x", merge_x >= MERGE_SPEEDUP),
            ("peak memory, split and merge", f"{peak:.0f} MB", f"< {PEAK_MB:g} MB", peak < PEAK_MB),
            ("--help, python -m", f"{min(help_m):.3f} s", f"< {HELP_SECONDS} s", min(help_m) < HELP_SECONDS),
            ("--help, console script", f"{min(help_s):.3f} s", f"< {HELP_SECONDS} s", min(help_s) < HELP_SECONDS),
            ("split, shipped master (CLI)", f"{shipped_split:.3f} s", f"< {SHIPPED_SECONDS:g} s", shipped_split < SHIPPED_SECONDS),
            ("merge, shipped master (CLI)", f"{shipped_merge:.3f} s", f"< {SHIPPED_SECONDS:g} s", shipped_merge < SHIPPED_SECONDS),
        ]  # fmt: skip
        head = f"{'target':<34}{'measured':<40}{'goal':<11}result"
        print(head)
        print("-" * len(head))
        for name, measured, goal, ok in checks:
            print(f"{name:<34}{measured:<40}{goal:<11}{verdict(ok)}")
        print()
        floor = by["summary floor"]
        allowed = by["pandas-merge"].process_wall / MERGE_SPEEDUP
        print(
            f"  summary floor: writing the summary's {floor.extra['cells']:,} cells again with "
            f"xlsxwriter, nothing else, takes {floor.wall:.2f} s of work, "
            f"{floor.process_wall:.2f} s as a whole process;\n"
            f"  the merge target allows the whole merge command {allowed:.2f} s "
            f"(pandas-merge / {MERGE_SPEEDUP:g})"
        )
        for ours, theirs in (
            ("ours-split", "pandas-split openpyxl"),
            ("ours-merge", "pandas-merge openpyxl"),
            ("ours-split 1 CPU", "pandas-split"),
            ("ours-merge 1 CPU", "pandas-merge"),
            ("ours-merge --no-report", "pandas-merge"),
        ):
            if ours in by:
                a, b = by[ours].process_wall, by[theirs].process_wall
                print(f"  {theirs} / {ours}: {b:.2f} / {a:.2f} s = {b / a:.2f}x")
        load_after = os.getloadavg()[0]
        # A contender that runs in one process and waits for no I/O has wall ≈ CPU; much more
        # wall than CPU means other processes took the CPUs.
        starved = [r.label for r in runs if r.process_wall > 1.15 * r.process_cpu]
        if starved:
            print(
                f"NOTE: {', '.join(starved)}: wall time well above CPU time; other processes "
                f"competed for the CPUs (load average {load_before:.2f} before, {load_after:.2f} "
                "after). Compare CPU times, or rerun with --repeat 3 on a quiet machine."
            )
        if me["answers"] != rows or me["submitted"] != files:
            print("WARNING: merge did not take every answer; the figures above are not comparable")
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "tasks": tasks,
                        "divisions": divisions,
                        "runs": [r.__dict__ for r in runs],
                        "help_m": help_m,
                        "help_script": help_s,
                        "shipped": shipped,
                        "checks": [
                            {"target": n, "measured": m, "goal": g, "pass": ok}
                            for n, m, g, ok in checks
                        ],
                    },
                    ensure_ascii=False,
                    indent=2,
                ),
                encoding="utf-8",
            )
        return 0 if all(ok for *_, ok in checks) else 1
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
