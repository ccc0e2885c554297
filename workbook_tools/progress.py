"""A progress line for long runs on an interactive terminal; silent in pipes, files and CI."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

DELAY = 1.0  # seconds before anything is shown: short runs stay quiet
REFRESH = 0.1


class Progress:
    """Call with the number of items just finished; :meth:`close` clears the line."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.enabled = bool(isatty()) and not os.environ.get("CI")
        self.done = 0
        self.start = time.monotonic()
        self.last = 0.0
        self.width = 0

    def __call__(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < DELAY or (now - self.last < REFRESH and self.done != self.total):
            return
        self.last = now
        if self.total:
            filled = 30 * self.done // self.total
            text = f"{self.label} [{'#' * filled}{'-' * (30 - filled)}] {self.done}/{self.total}"
        else:
            text = f"{self.label} {self.done}"
        self.width = max(self.width, len(text) * 2)  # CJK cells are two columns wide
        self.stream.write("\r" + text)
        self.stream.flush()

    def close(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
