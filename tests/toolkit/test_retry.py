"""retry_with_backoff: which errors are retried, and that a server's Retry-After is obeyed."""

from __future__ import annotations

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from framework.errors import ProviderError, parse_retry_after
from framework.retry import async_retry_with_backoff, default_is_retryable, retry_with_backoff


class _Flaky:
    def __init__(self, errors, result="ok"):
        self.errors = list(errors)
        self.calls = 0
        self.result = result

    def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


def test_retries_rate_limit_then_succeeds_waiting_what_the_server_asked():
    waits: list[float] = []
    fn = _Flaky([ProviderError("rate_limit", "slow down", 429, retry_after=7.0)] * 2)
    assert retry_with_backoff(fn, max_attempts=3, initial_delay=0.1, sleep=waits.append) == "ok"
    assert fn.calls == 3
    assert waits == [7.0, 7.0]


def test_backoff_grows_when_server_gives_no_hint():
    waits: list[float] = []
    fn = _Flaky([ProviderError("server_error", "bad gateway", 502)] * 3)
    retry_with_backoff(fn, max_attempts=4, initial_delay=1.0, max_delay=60, sleep=waits.append)
    assert len(waits) == 3
    # exponential (1, 2, 4) plus up to 1 s of jitter each
    assert 1.0 <= waits[0] <= 2.0 and 2.0 <= waits[1] <= 3.0 and 4.0 <= waits[2] <= 5.0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_never_retried(status):
    request = httpx.Request("POST", "http://x/v1/chat/completions")
    error = httpx.HTTPStatusError("no", request=request, response=httpx.Response(status, request=request))
    fn = _Flaky([error])
    with pytest.raises(httpx.HTTPStatusError):
        retry_with_backoff(fn, max_attempts=5, sleep=lambda s: None)
    assert fn.calls == 1


def test_quota_is_not_a_rate_limit():
    fn = _Flaky([ProviderError("quota", "insufficient_quota", 429)])
    with pytest.raises(ProviderError):
        retry_with_backoff(fn, max_attempts=5, sleep=lambda s: None)
    assert fn.calls == 1


def test_gives_up_after_max_attempts_and_reraises_last_error():
    fn = _Flaky([ProviderError("timeout", f"t{i}") for i in range(5)])
    with pytest.raises(ProviderError, match="t2"):
        retry_with_backoff(fn, max_attempts=3, sleep=lambda s: None)
    assert fn.calls == 3


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("refused"), True),
        (httpx.ReadTimeout("slow"), True),
        (TimeoutError(), True),
        (ValueError("bug"), False),
        (ProviderError("context_length", "too long", 400), False),
    ],
)
def test_default_is_retryable(exc, expected):
    assert default_is_retryable(exc) is expected


def test_parse_retry_after_variants():
    assert parse_retry_after(httpx.Headers({"Retry-After": "3"})) == 3.0
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "1500", "Retry-After": "9"})) == 1.5
    assert parse_retry_after(httpx.Headers({})) is None
    assert parse_retry_after(httpx.Headers({"Retry-After": "soon"})) is None
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= parse_retry_after(httpx.Headers({"Retry-After": future})) <= 31


def test_async_twin_honours_retry_after():
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    calls = {"n": 0}

    async def fn():
        calls["n"] += 1
        if calls["n"] == 1:
            raise ProviderError("rate_limit", "slow", 429, retry_after=4.0)
        return 42

    assert asyncio.run(async_retry_with_backoff(fn, sleep=fake_sleep)) == 42
    assert waits == [4.0]


class _RateLimitedHandler(BaseHTTPRequestHandler):
    hits: list[float] = []

    def do_GET(self):  # noqa: N802 - http.server API
        type(self).hits.append(time.monotonic())
        if len(type(self).hits) == 1:
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"fine"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_real_server_retry_after_is_waited_for():
    """A real HTTP server answers 429 with Retry-After: 1; the retry comes >= 1 s later."""
    _RateLimitedHandler.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RateLimitedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with httpx.Client() as client:

            def call():
                response = client.get(url)
                response.raise_for_status()
                return response.text

            assert retry_with_backoff(call, max_attempts=3, initial_delay=0.05) == "fine"
    finally:
        server.shutdown()
    hits = _RateLimitedHandler.hits
    assert len(hits) == 2
    assert hits[1] - hits[0] >= 1.0
