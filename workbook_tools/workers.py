"""Worker processes, for the stages that do the same work for many items: the templates of
split (template.write_templates) and the returns of merge (inbox.collect).

Both use concurrent.futures.ProcessPoolExecutor with the platform's default start method. A
worker may be a fresh interpreter (spawned, as on Windows and macOS) that imports the package
and gets its work by pickling, so what runs there is a module-level function with picklable
arguments. Starting workers costs time, most where they are spawned: each caller works in this
process below a measured amount of work (benchmarks/README.md).
"""

from __future__ import annotations

import os


def cpus() -> int:
    """How many CPUs this process may run on: the most workers worth starting."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
