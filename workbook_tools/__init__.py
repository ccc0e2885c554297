"""workbook-tools: quarterly progress returns of the 市民政局, split and merged through Excel."""

from .errors import (
    InputError,
    MasterLayoutError,
    OutputError,
    ReturnReadError,
    WorkbookToolsError,
)

__version__ = "0.1.0"

__all__ = [
    "InputError",
    "MasterLayoutError",
    "OutputError",
    "ReturnReadError",
    "WorkbookToolsError",
    "__version__",
]
