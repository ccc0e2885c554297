"""Fill Annex 2 templates inside LibreOffice itself, through UNO, as a person would.

Run with the system Python that has the UNO bridge (Debian: python3-uno), not the project venv:

    /usr/bin/python3 tests/uno_fill.py jobs.json

``jobs.json`` is ``{"jobs": [job, ...], "timeout": seconds}``, each job::

    {"src": "/abs/template.xlsx", "dst": "/abs/filled.xls", "filter": "MS Excel 97",
     "cells": [{"sheet": "完成情况", "cell": "D5", "value": "…", "how": "string"}]}

``how`` says how the text lands in the cell:

``string``
    ``XCell.setString``: the text as it is, like pasting plain text.
``typed``
    ``XCell.FormulaLocal``: the text goes through the input-line path (ScDocFunc::SetCellText
    with the document's own number formatter), exactly as when it is typed and Enter is pressed:
    the cell's number format is honoured, so "0027", "50%" or "=1+1" typed into the template's
    text-formatted ("@") answer cells stay text.

Not offered, on purpose: ``XCell.setFormula`` ignores the cell's format (it turns "0027" into 27,
"50%" into 0.5 and "=…" into a formula, which nobody typing into the template would get); and the
dispatcher's ``.uno:EnterString`` on a selected cell, the literal keyboard path, makes
LibreOffice 7.4 headless abort ("Unspecified Application Error", SIGABRT in a timer) soon after,
as does loading any workbook without Hidden=True: with no display the view is not usable.

The script starts its own soffice with a private profile and a unique pipe, fills and stores every
job (on a private copy of the template: no ``.~lock`` file is left beside it), closes the
documents, terminates soffice, and always kills its process group on the way out, also when a
watchdog fires after ``timeout`` seconds or the caller sends SIGTERM. It prints one JSON object on
stdout: for every job and cell, the cell's content type and text as LibreOffice holds them after
the entry, so the caller can tell a cell that became a number or a formula. Exit status 0 when
every job was stored; otherwise 1, with the reason (and soffice's own output) on stderr.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from pathlib import Path

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException

SOFFICE_CANDIDATES = ("soffice", "libreoffice")
CONNECT_TIMEOUT = 60.0


def prop(name: str, value) -> PropertyValue:
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


class Office:
    """One private soffice process, reachable over a named pipe; killed whatever happens."""

    def __init__(self) -> None:
        exe = next((p for p in map(shutil.which, SOFFICE_CANDIDATES) if p), None)
        if exe is None:
            raise RuntimeError("soffice is not installed")
        self.pipe = f"wbt_uno_{os.getpid()}_{uuid.uuid4().hex[:12]}"
        self.root = Path(tempfile.mkdtemp(prefix="wbt-uno-"))
        self.profile = self.root / "profile"
        self.log = self.root / "soffice.log"
        self.desktop = None
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    exe,
                    "--headless",
                    "--invisible",
                    "--nologo",
                    "--norestore",
                    "--nodefault",
                    "--nolockcheck",
                    f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext",
                    f"-env:UserInstallation={self.profile.as_uri()}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: soffice.bin dies with the wrapper
            )

    def connect(self, timeout: float) -> None:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local
        )
        url = f"uno:pipe,name={self.pipe};urp;StarOffice.ComponentContext"
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"soffice exited early with status {self.proc.returncode}")
            try:
                ctx = resolver.resolve(url)
                break
            except NoConnectException:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"no UNO connection to soffice after {timeout:.0f} s"
                    ) from None
                time.sleep(0.2)
        self.desktop = ctx.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.Desktop", ctx
        )

    def close(self) -> None:
        """Ask soffice to quit, then kill whatever is left and remove the profile."""
        try:
            if self.proc.poll() is None and self.desktop is not None:
                try:
                    self.desktop.terminate()
                except Exception:  # the bridge may already be gone
                    pass
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            self.kill()
            shutil.rmtree(self.root, ignore_errors=True)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def output(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return ""


def fill(office: Office, job: dict) -> list[dict]:
    src = office.root / f"{uuid.uuid4().hex}{Path(job['src']).suffix}"
    shutil.copyfile(job["src"], src)
    doc = office.desktop.loadComponentFromURL(src.as_uri(), "_blank", 0, (prop("Hidden", True),))
    if doc is None:
        raise RuntimeError(f"LibreOffice could not open {job['src']}")
    try:
        seen = []
        for spec in job["cells"]:
            cell = doc.Sheets.getByName(spec["sheet"]).getCellRangeByName(spec["cell"])
            how = spec.get("how", "string")
            if how == "string":
                cell.setString(spec["value"])
            elif how == "typed":
                cell.FormulaLocal = spec["value"]
            else:
                raise ValueError(f"unknown way of filling a cell: {how!r}")
            seen.append(
                {
                    "sheet": spec["sheet"],
                    "cell": spec["cell"],
                    "type": cell.getType().value.lower(),  # empty / value / text / formula
                    "string": cell.getString(),
                }
            )
        dst = Path(job["dst"]).resolve()
        dst.parent.mkdir(parents=True, exist_ok=True)
        doc.storeToURL(dst.as_uri(), (prop("FilterName", job["filter"]), prop("Overwrite", True)))
        return seen
    finally:
        doc.close(True)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    timeout = float(spec.get("timeout", 300))
    office = None
    fired, done = threading.Event(), threading.Event()

    def watchdog() -> None:
        fired.set()
        if office is not None:
            office.kill()  # every pending UNO call then fails with DisposedException
        if not done.wait(15):  # the main thread did not come back: leave without it
            if office is not None:
                shutil.rmtree(office.root, ignore_errors=True)
            os._exit(3)

    def terminated(signum, frame) -> None:
        raise SystemExit(f"uno_fill: stopped by signal {signum}")

    signal.signal(signal.SIGTERM, terminated)  # the caller's timeout: clean up in `finally`
    timer = threading.Timer(timeout, watchdog)
    timer.daemon = True
    timer.start()
    results = []
    try:
        office = Office()
        office.connect(min(CONNECT_TIMEOUT, timeout))
        for job in spec["jobs"]:
            results.append({"dst": job["dst"], "cells": fill(office, job)})
    except Exception as exc:  # report, never hang: the caller shows stderr
        why = f"watchdog fired after {timeout:.0f} s" if fired.is_set() else repr(exc)
        print(f"uno_fill: {why}", file=sys.stderr)
        traceback.print_exc()
        if office is not None:
            print(f"soffice output:\n{office.output()}", file=sys.stderr)
        return 1
    finally:
        timer.cancel()
        if office is not None:
            office.close()
        done.set()
    json.dump({"jobs": results}, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
