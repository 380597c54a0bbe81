"""HTTP plumbing shared by the OpenAI-compatible chat and embeddings clients.

Every failure of a request is turned into one `ProviderError` here, and only here: the status
code, the body (OpenAI's JSON, Ollama's and vLLM's variants, a proxy's HTML page) and the
transport exception are read once, so callers decide on `kind` alone. Messages are built
from what the server said, truncated, with the API key cut out.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import httpx

from framework.errors import ProviderError, parse_retry_after

OPENAI_BASE_URL = "https://api.openai.com/v1"
USER_AGENT = "gen-ai-framework/0.1"

_AZURE_HOST_SUFFIXES = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")
_QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached", "billing_not_active", "access_terminated"})
# phrases only: a bare "quota" also names per-minute limits (e.g. "Quota exceeded for metric
# requests per minute"), which pass
_QUOTA_PHRASES = ("exceeded your current quota", "billing", "insufficient_quota", "credit balance", "out of credits")
_CONTEXT_MARKERS = ("context_length_exceeded", "maximum context length", "context length", "too many tokens", "string_above_max_length")
_FILTER_MARKERS = ("content_filter", "content management policy", "content_policy_violation")
_KEY_PATTERN = re.compile(r"(sk-[A-Za-z0-9_\-]{3})[A-Za-z0-9_\-*]{6,}")
_TRY_AGAIN = re.compile(
    r"(?:try again|retry after)(?: in)? (\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?)\b", re.IGNORECASE
)
_MAX_MESSAGE = 300


def redact(text: str, secret: str | None) -> str:
    # a short key ("x" for a local server) is no secret worth mangling every word for
    if secret and len(secret) >= 8:
        text = text.replace(secret, "***")
    return _KEY_PATTERN.sub(lambda m: m.group(1) + "***", text)


def is_azure(base_url: str) -> bool:
    host = httpx.URL(base_url).host or ""
    return host.endswith(_AZURE_HOST_SUFFIXES)


def auth_headers(base_url: str, api_key: str | None) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT}
    if api_key:
        # Azure OpenAI authenticates keys with its own header; Bearer is for everyone else
        if is_azure(base_url):
            headers["api-key"] = api_key
        else:
            headers["Authorization"] = f"Bearer {api_key}"
    return headers


def endpoint(base_url: str, path: str) -> httpx.URL:
    """`base_url` + `/path`, keeping a query such as Azure's `?api-version=...`."""
    url = httpx.URL(base_url)
    return url.copy_with(path=url.path.rstrip("/") + "/" + path.lstrip("/"))


def make_timeout(seconds: float) -> httpx.Timeout:
    # a read timeout bounds a hung server; connecting should never take long on a live host
    return httpx.Timeout(seconds, connect=min(seconds, 10.0))


def make_limits(max_connections: int) -> httpx.Limits:
    return httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)


def _one_line(text: str, limit: int = _MAX_MESSAGE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_fields(response: httpx.Response) -> tuple[str, str, str]:
    """(message, code, type) from any of the error shapes servers send; HTML and plain text
    bodies become a short description instead of a decode error."""
    raw = response.content.decode("utf-8", errors="replace")
    try:
        body: Any = json.loads(raw) if raw.strip() else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, str):
            return _one_line(err), "", ""
        if isinstance(err, dict):
            message = err.get("message") or body.get("detail") or body.get("message") or ""
            if not isinstance(message, str):
                message = json.dumps(message)
            return _one_line(message), str(err.get("code") or ""), str(err.get("type") or "")
    content_type = response.headers.get("content-type", "")
    if "html" in content_type or raw.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
        title = re.search(r"<title[^>]*>(.*?)</title>", raw, re.IGNORECASE | re.DOTALL)
        what = f": {html.unescape(title.group(1)).strip()}" if title else ""
        return _one_line(f"the server answered with an HTML error page{what}"), "", ""
    return _one_line(raw) if raw.strip() else f"empty body (HTTP {response.status_code})", "", ""


def _retry_after_from_text(message: str) -> float | None:
    match = _TRY_AGAIN.search(message)
    if not match:
        return None
    value = float(match.group(1))
    return value / 1000.0 if match.group(2).lower().startswith("m") else value


def error_from_response(response: httpx.Response, secret: str | None = None) -> ProviderError:
    """Classify a non-2xx answer."""
    status = response.status_code
    message, code, etype = _error_fields(response)
    message = redact(message, secret)
    haystack = f"{code} {etype} {message}".lower()

    if status == 429:
        header_wait = parse_retry_after(response.headers)
        by_code = code in _QUOTA_CODES or etype in _QUOTA_CODES
        by_phrase = header_wait is None and any(phrase in haystack for phrase in _QUOTA_PHRASES)
        if by_code or by_phrase:
            return ProviderError(
                "quota",
                f"API quota or billing exhausted ({message}); waiting cannot fix this: add credit or use another key",
                status,
            )
        retry_after = header_wait if header_wait is not None else _retry_after_from_text(message)
        return ProviderError("rate_limit", message or "rate limited", status, retry_after)
    if status >= 500:
        return ProviderError("server_error", message, status, parse_retry_after(response.headers))
    if status in (401, 403):
        return ProviderError("auth", f"{message} (check OPENAI_API_KEY and LLM_BASE_URL)", status)
    if status == 404:
        return ProviderError("not_found", f"{message} (check the model name and the base URL)", status)
    if status == 408:
        return ProviderError("timeout", message or "request timeout", status)
    if status in (409, 425):
        return ProviderError("server_error", message or "conflict, try again", status)
    if any(marker in haystack for marker in _CONTEXT_MARKERS) or status == 413:
        return ProviderError("context_length", message, status)
    if any(marker in haystack for marker in _FILTER_MARKERS):
        return ProviderError("content_filter", message, status)
    return ProviderError("bad_request", message, status)


def error_from_exception(exc: Exception, base_url: str, timeout: float | None = None) -> ProviderError:
    """Classify a transport failure (nothing, or no complete answer, came back)."""
    where = redact(str(base_url), None)
    if isinstance(exc, httpx.TimeoutException):
        limit = f" within {timeout:g}s" if timeout else ""
        phase = "connecting to" if isinstance(exc, httpx.ConnectTimeout) else "waiting for"
        return ProviderError("timeout", f"no answer{limit} ({phase} {where})")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ProviderError("bad_request", f"unsupported URL {where}: {exc}")
    if isinstance(exc, httpx.ConnectError):
        return ProviderError("connection", f"cannot connect to {where}: {_one_line(str(exc)) or type(exc).__name__}")
    if isinstance(exc, httpx.RemoteProtocolError):
        return ProviderError("connection", f"{where} closed the connection without a complete answer")
    return ProviderError("connection", f"{type(exc).__name__} talking to {where}: {_one_line(str(exc))}")


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a 2xx answer, or a `malformed_response` error."""
    try:
        body = response.json()
    except ValueError:
        snippet = _one_line(response.content.decode("utf-8", errors="replace"), 120)
        raise ProviderError(
            "malformed_response", f"the answer is not valid JSON ({len(response.content)} bytes: {snippet!r})", response.status_code
        ) from None
    if not isinstance(body, dict):
        raise ProviderError("malformed_response", f"expected a JSON object, got {type(body).__name__}", response.status_code)
    return body


def int_usage(body: dict[str, Any]) -> dict[str, int]:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return {}
    return {k: v for k, v in usage.items() if isinstance(v, int) and not isinstance(v, bool)}
