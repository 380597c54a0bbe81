"""Errors raised by remote providers (LLM, embeddings), classified once so every caller
decides the same way whether to retry, slow down or stop.

`kind` is the contract: retry logic, the queries job's error rows and the exit codes all
read it. HTTP details stay here, so no caller parses status codes or bodies again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ProviderErrorKind = Literal[
    "rate_limit",  # 429 that will pass: wait (Retry-After) and try again
    "quota",  # 429 insufficient_quota / billing: retrying cannot help, stop the run
    "server_error",  # 5xx, including HTML error pages from proxies
    "timeout",
    "connection",
    "bad_request",  # 400 / 422
    "context_length",
    "content_filter",
    "auth",  # 401 / 403
    "not_found",  # 404 (wrong model or base URL)
    "malformed_response",  # 2xx whose body is not what the API promises
]

RETRYABLE_KINDS: frozenset[str] = frozenset(
    {"rate_limit", "server_error", "timeout", "connection"}
)
#: Kinds after which no further request can succeed in this run: stop instead of burning
#: through the remaining items.
FATAL_KINDS: frozenset[str] = frozenset({"quota", "auth", "not_found"})


@dataclass
class ProviderError(Exception):
    kind: ProviderErrorKind
    message: str
    status_code: int | None = None
    retry_after: float | None = None  # seconds, from Retry-After / retry-after-ms

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        status = f" (HTTP {self.status_code})" if self.status_code else ""
        return f"{self.kind}{status}: {self.message}"

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS

    @property
    def fatal(self) -> bool:
        return self.kind in FATAL_KINDS


def parse_retry_after(headers: object) -> float | None:
    """Seconds to wait from `retry-after-ms` (OpenAI, Azure) or `Retry-After` (seconds or an
    HTTP date). `headers` is any mapping with case-insensitive `get` (httpx.Headers)."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    raw_ms = get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime
    from datetime import datetime, timezone

    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class ConfigurationError(Exception):
    """The run cannot start with these settings or inputs (a wrong embedder for a store, an
    invalid collection name, ...). Jobs report it in one line and exit 1, before any work."""
