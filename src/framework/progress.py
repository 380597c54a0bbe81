"""Progress bars that only appear for a person watching a terminal.

Unattended runs (cron, CI, a redirected stderr) get log lines and the final summary instead
of thousands of carriage-return updates in their log files.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def progress_enabled() -> bool:
    return sys.stderr.isatty()


def progress_bar(total: int | None = None, desc: str = "", unit: str = "item", **kwargs: Any) -> tqdm:
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=not progress_enabled(),
        dynamic_ncols=True,
        leave=False,
        **kwargs,
    )
