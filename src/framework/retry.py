"""Retry with exponential backoff and jitter, built on tenacity.

One policy for every remote call: rate limits, timeouts, connection errors and 5xx are
retried; a server's Retry-After wins over our own backoff when it asks for longer; client
errors (400/401/403/404/422) and exhausted quotas are never retried.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from framework.errors import ProviderError

T = TypeVar("T")

_RETRYABLE_STATUS = {408, 409, 425, 429}
_NEVER_RETRY_STATUS = {400, 401, 403, 404, 422}


def _httpx():
    # httpx costs ~0.3 s to import (it pulls in its CLI); an error can only be an httpx one
    # if httpx was already imported by whoever raised it, so never import it here
    return sys.modules.get("httpx")


def default_is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, ProviderError):
        return exc.retryable
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True
    httpx = _httpx()
    if httpx is not None and isinstance(exc, (httpx.TimeoutException, httpx.TransportError)):
        return True
    status = _status_of(exc)
    if status is None:
        return False
    if status in _NEVER_RETRY_STATUS:
        return False
    return status in _RETRYABLE_STATUS or 500 <= status < 600


def _status_of(exc: BaseException) -> int | None:
    httpx = _httpx()
    if httpx is not None and isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code
    for attr in ("status_code", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    return None


def retry_after_of(exc: BaseException | None) -> float | None:
    """The wait a server asked for, when the error carries one."""
    if exc is None:
        return None
    value = getattr(exc, "retry_after", None)
    if isinstance(value, (int, float)):
        return float(value)
    httpx = _httpx()
    if httpx is not None and isinstance(exc, httpx.HTTPStatusError):
        from framework.errors import parse_retry_after

        return parse_retry_after(exc.response.headers)
    return None


class _ServerAwareWait:
    """Our exponential backoff, unless the server asked for a longer wait."""

    def __init__(self, initial_delay: float, max_delay: float, max_server_wait: float) -> None:
        self._backoff = wait_exponential_jitter(multiplier=initial_delay, max=max_delay, jitter=initial_delay)
        self._max_server_wait = max_server_wait

    def __call__(self, state: RetryCallState) -> float:
        ours = self._backoff(state)
        exc = state.outcome.exception() if state.outcome else None
        server = retry_after_of(exc)
        if server is None:
            return ours
        return min(max(server, 0.0), self._max_server_wait)


def _before_sleep(log: logging.Logger | None) -> Callable[[RetryCallState], None]:
    def hook(state: RetryCallState) -> None:
        if log is None or state.outcome is None:
            return
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "attempt %d failed (%s); retrying in %.2fs",
            state.attempt_number,
            state.outcome.exception(),
            wait,
        )

    return hook


def _retrying_kwargs(
    max_attempts: int,
    initial_delay: float,
    max_delay: float,
    is_retryable: Callable[[BaseException], bool] | None,
    log: logging.Logger | None,
    max_server_wait: float,
    sleep: Callable[[float], object] | None,
) -> dict:
    kwargs = dict(
        stop=stop_after_attempt(max(1, max_attempts)),
        wait=_ServerAwareWait(initial_delay, max_delay, max_server_wait),
        retry=retry_if_exception(is_retryable or default_is_retryable),
        before_sleep=_before_sleep(log),
        reraise=True,
    )
    if sleep is not None:
        kwargs["sleep"] = sleep
    return kwargs


def retry_with_backoff(
    fn: Callable[[], T],
    max_attempts: int = 3,
    initial_delay: float = 1.0,
    max_delay: float = 30.0,
    is_retryable: Callable[[BaseException], bool] | None = None,
    log: logging.Logger | None = None,
    *,
    max_server_wait: float = 300.0,
    sleep: Callable[[float], object] | None = None,
) -> T:
    """Call `fn()` until it succeeds or `max_attempts` calls have failed; re-raise the last
    error. `sleep` is injectable so tests can prove the waits without waiting."""
    retrying = Retrying(
        **_retrying_kwargs(max_attempts, initial_delay, max_delay, is_retryable, log, max_server_wait, sleep)
    )
    return retrying(fn)


async def async_retry_with_backoff(
    fn: Callable[[], Awaitable[T]],
    max_attempts: int = 3,
    initial_delay: float = 1.0,
    max_delay: float = 30.0,
    is_retryable: Callable[[BaseException], bool] | None = None,
    log: logging.Logger | None = None,
    *,
    max_server_wait: float = 300.0,
    sleep: Callable[[float], Awaitable[object]] | None = None,
) -> T:
    """The async twin of `retry_with_backoff`: `fn` returns a fresh awaitable per attempt."""
    retrying = AsyncRetrying(
        **_retrying_kwargs(max_attempts, initial_delay, max_delay, is_retryable, log, max_server_wait, sleep)
    )

    # tenacity only awaits coroutine *functions*; a lambda returning a coroutine would come
    # back un-awaited, so every `fn` is wrapped into one
    async def attempt() -> T:
        return await fn()

    return await retrying(attempt)
