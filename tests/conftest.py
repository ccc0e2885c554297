"""Shared fixtures. Builders that make real files live in the test modules that use them,
or in tests/builders.py when several modules need them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHIPPED_MASTER = REPO / "master" / "分解方案.xlsx"


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
            str(src),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        out = outdir / f"{src.stem}.{fmt}"
        if proc.returncode != 0 or not out.exists():
            raise AssertionError(
                f"LibreOffice could not convert {src} to {fmt}: rc={proc.returncode}\n"
                f"stdout={proc.stdout}\nstderr={proc.stderr}"
            )
        return out


@pytest.fixture(scope="session")
def soffice(tmp_path_factory) -> LibreOffice:
    """LibreOffice headless. Missing LibreOffice fails the test under CI and skips it elsewhere."""
    exe = find_soffice()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is required when CI is set; install libreoffice-calc-nogui")
        pytest.skip("LibreOffice (soffice) is not installed")
    return LibreOffice(exe, tmp_path_factory.mktemp("lo-profile"))
