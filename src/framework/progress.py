"""Progress bars that only appear for a person watching a terminal.

Unattended runs (cron, CI, a redirected stderr) get log lines and the final summary instead
of thousands of carriage-return updates in their log files.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from tqdm import tqdm


def progress_enabled() -> bool:
    return sys.stderr.isatty()


def _size_known() -> bool:
    """Whether the terminal reports a real size. Some (a fresh `docker exec -t`, IDE consoles,
    pseudo-terminals) report 0 rows or columns, and tqdm's dynamic sizing then treats every bar
    as scrolled off screen and draws nothing."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return size.columns > 0 and size.lines > 0


def progress_bar(total: int | None = None, desc: str = "", unit: str = "item", **kwargs: Any) -> tqdm:
    enabled = progress_enabled()
    sizing: dict[str, Any] = {"dynamic_ncols": True}
    if enabled and not _size_known():
        fallback = shutil.get_terminal_size((80, 24))
        sizing = {"dynamic_ncols": False, "ncols": fallback.columns or 80, "nrows": fallback.lines or 24}
    sizing.update(kwargs)
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=not enabled,
        leave=False,
        **sizing,
    )
