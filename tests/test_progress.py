"""The progress line shows on a terminal after a delay, and never in pipes or CI logs."""

from __future__ import annotations

import io

from builders import SHIPPED_MASTER, run_cli

from workbook_tools import progress as progress_module
from workbook_tools.progress import Progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_shows_on_a_terminal_after_the_delay_then_clears(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    clock = iter([0.0, 0.5, 2.0, 2.05, 3.0])
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    term = FakeTerminal()
    with Progress("读取文件", 4, stream=term) as p:
        p(1)  # 0.5 s: too early
        assert term.getvalue() == ""
        p(1)  # 2.0 s: shown
        assert term.getvalue().endswith("读取文件 [###############---------------] 2/4")
        p(1)  # 2.05 s: too soon after the last refresh
        assert term.getvalue().count("\r") == 1
        p(1)  # the last one is always shown
        assert term.getvalue().endswith("4/4")
    assert term.getvalue().endswith("\r")


def test_silent_in_pipes_and_ci(monkeypatch):
    monkeypatch.setattr(progress_module.time, "monotonic", iter([0.0, 5.0]).__next__)
    pipe = io.StringIO()
    p = Progress("x", 1, stream=pipe)
    p(1)
    p.close()
    assert pipe.getvalue() == ""
    monkeypatch.setenv("CI", "true")
    assert not Progress("x", 1, stream=FakeTerminal()).enabled


def test_cli_output_has_no_progress_line(tmp_path):
    result = run_cli("split", "-q", "1", "--master", SHIPPED_MASTER, "--outbox", tmp_path)
    assert "\r" not in result.output
