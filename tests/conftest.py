"""Shared fixtures. Builders that make real files live in the test modules that use them,
or in tests/builders.py when several modules need them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from workbook_tools import workers

REPO = Path(__file__).resolve().parent.parent
SHIPPED_MASTER = REPO / "master" / "分解方案.xlsx"


@pytest.fixture(scope="session", autouse=True)
def _session_archive_outside_the_repo(tmp_path_factory):
    """As below, for the session's and modules' fixtures that merge before any test runs."""
    patch = pytest.MonkeyPatch()
    patch.setenv("WORKBOOK_TOOLS_ARCHIVE", str(tmp_path_factory.mktemp("archive") / "档案.sqlite"))
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def _archive_outside_the_repo(tmp_path_factory, monkeypatch):
    """merge keeps its archive beside the master by default; the shipped master is in the repo,
    so every test gets an archive of its own (the CLI reads WORKBOOK_TOOLS_ARCHIVE). A test of
    the default location deletes the variable."""
    monkeypatch.setenv(
        "WORKBOOK_TOOLS_ARCHIVE", str(tmp_path_factory.mktemp("archive") / "档案.sqlite")
    )


def find_soffice() -> str | None:
    for name in ("soffice", "libreoffice"):
        path = shutil.which(name)
        if path:
            return path
    return None


class LibreOffice:
    """Runs LibreOffice headless with a private profile, so tests never share state."""

    def __init__(self, exe: str, profile: Path) -> None:
        self.exe = exe
        self.profile = profile

    def convert(self, src: Path, fmt: str, outdir: Path, *, filter_name: str | None = None) -> Path:
        """Convert ``src`` to ``fmt`` (xlsx, xls, ods, pdf) into ``outdir``; return the new path."""
        return self.convert_many([src], fmt, outdir, filter_name=filter_name)[0]

    def convert_many(
        self, sources: list[Path], fmt: str, outdir: Path, *, filter_name: str | None = None
    ) -> list[Path]:
        """Convert every file of ``sources`` with one LibreOffice start (starting it is the slow part).

        Returns the new paths in the order of ``sources``; their stems must differ.
        """
        sources = [Path(s) for s in sources]
        outs = [outdir / f"{src.stem}.{fmt}" for src in sources]
        assert len(set(outs)) == len(outs), "sources with the same stem would overwrite each other"
        outdir.mkdir(parents=True, exist_ok=True)
        target = f"{fmt}:{filter_name}" if filter_name else fmt
        cmd = [
            self.exe,
            f"-env:UserInstallation={self.profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            target,
            "--outdir",
            str(outdir),
            *map(str, sources),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120 + 30 * len(sources))
        missing = [src for src, out in zip(sources, outs, strict=True) if not out.exists()]
        if proc.returncode != 0 or missing:
            raise AssertionError(
                f"LibreOffice could not convert {missing or sources} to {fmt}: "
                f"rc={proc.returncode}\nstdout={proc.stdout}\nstderr={proc.stderr}"
            )
        return outs


@pytest.fixture(scope="session")
def soffice(tmp_path_factory) -> LibreOffice:
    """LibreOffice headless. Missing LibreOffice fails the test under CI and skips it elsewhere."""
    exe = find_soffice()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail(
                "LibreOffice (soffice) is required when CI is set; install libreoffice-calc-nogui"
            )
        pytest.skip("LibreOffice (soffice) is not installed")
    return LibreOffice(exe, tmp_path_factory.mktemp("lo-profile"))


class Gnumeric:
    """Gnumeric's ssconvert, the other office suite whose files come back."""

    EXPORTERS = {
        "xlsx": "Gnumeric_Excel:xlsx2",
        "xls": "Gnumeric_Excel:excel_biff8",
        "ods": "Gnumeric_OpenCalc:odf",
    }

    def __init__(self, exe: str) -> None:
        self.exe = exe

    def convert(self, src: Path, fmt: str, outdir: Path) -> Path:
        """Re-save ``src`` as ``fmt`` (xlsx, xls, ods) into ``outdir``; return the new path."""
        return self.convert_many([src], fmt, outdir)[0]

    def convert_many(self, sources: list[Path], fmt: str, outdir: Path) -> list[Path]:
        """Re-save every file of ``sources`` (one ssconvert each; it starts in a fraction of a
        second). Returns the new paths in the order of ``sources``; their stems must differ."""
        outs = [outdir / f"{Path(src).stem}.{fmt}" for src in sources]
        assert len(set(outs)) == len(outs), "sources with the same stem would overwrite each other"
        outdir.mkdir(parents=True, exist_ok=True)
        for src, out in zip(sources, outs, strict=True):
            cmd = [self.exe, "-T", self.EXPORTERS[fmt], str(src), str(out)]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            if proc.returncode != 0 or not out.exists():
                raise AssertionError(
                    f"Gnumeric could not convert {src} to {fmt}: rc={proc.returncode}\n"
                    f"stdout={proc.stdout}\nstderr={proc.stderr}"
                )
        return outs


@pytest.fixture(scope="session")
def gnumeric() -> Gnumeric:
    """Gnumeric's ssconvert. Missing fails the test under CI and skips it elsewhere."""
    exe = shutil.which("ssconvert")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("Gnumeric (ssconvert) is required when CI is set; install gnumeric")
        pytest.skip("Gnumeric (ssconvert) is not installed")
    return Gnumeric(exe)


class Poppler:
    """pdftotext and pdfinfo (poppler-utils)."""

    def __init__(self, pdftotext: str, pdfinfo: str) -> None:
        self.pdftotext_exe = pdftotext
        self.pdfinfo_exe = pdfinfo

    def pages(self, pdf: Path, *, layout: bool = True) -> list[str]:
        """The text of every page (pdftotext separates pages with a form feed)."""
        args = [
            self.pdftotext_exe,
            *(["-layout"] if layout else []),
            "-enc",
            "UTF-8",
            str(pdf),
            "-",
        ]
        text = subprocess.run(args, capture_output=True, check=True, timeout=120).stdout
        pages = text.decode("utf-8").split("\f")
        return pages[:-1] if pages and not pages[-1].strip() else pages

    def page_sizes(self, pdf: Path) -> list[tuple[float, float]]:
        """(width, height) in points of every page."""
        args = [self.pdfinfo_exe, "-f", "1", "-l", "100000", str(pdf)]
        out = subprocess.run(args, capture_output=True, check=True, timeout=60).stdout.decode()
        sizes = re.findall(r"^Page\s+\d+\s+size:\s+([\d.]+) x ([\d.]+) pts", out, re.M)
        return [(float(w), float(h)) for w, h in sizes]


@pytest.fixture(scope="session")
def poppler() -> Poppler:
    """poppler-utils. Missing fails the test under CI and skips it elsewhere."""
    tools = [shutil.which(name) for name in ("pdftotext", "pdfinfo")]
    if None in tools:
        if os.environ.get("CI"):
            pytest.fail("pdftotext/pdfinfo are required when CI is set; install poppler-utils")
        pytest.skip("poppler-utils (pdftotext, pdfinfo) is not installed")
    return Poppler(*tools)


#: Whether the stages start worker processes here at all (two CPUs or more).
POOL_OK = workers.cpus() >= 2
