"""A fake OpenAI-compatible API on 127.0.0.1 for tests and benchmarks.

A real HTTP server (stdlib `ThreadingHTTPServer`, port 0, background thread) so the client code
under test exercises its whole stack: connection pooling, timeouts, status codes and headers.
Error bodies copy what OpenAI (and the proxies in front of it) really send, because that is
what the client's error classification has to survive.

    with FakeOpenAIServer(latency=0.05, rpm_limit=600) as srv:
        srv.script(Reply.rate_limit(retry_after=1), Reply.server_error(502))
        ... point LLM_BASE_URL at srv.base_url ...
        srv.requests  # what arrived, when, and what it got back
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeOpenAIServer", "RecordedRequest", "Reply", "fake_embedding"]

_BAD_GATEWAY_HTML = (
    b"<!DOCTYPE html><html><head><title>api.openai.com | 502: Bad gateway</title></head>"
    b"<body><h1>Bad gateway</h1><p>The web server reported a bad gateway error.</p></body></html>"
)


def _error_body(message: str, etype: str | None, code: str | None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": etype, "param": param, "code": code}}


@dataclass
class Reply:
    """One scripted answer. `content` replaces the chat message of a 200; `json`/`body`
    replace the whole body; `delay` is slept first; `drop` closes the socket unanswered."""

    status: int = 200
    json: dict | None = None
    body: bytes | None = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    content: str | None = None
    finish_reason: str | None = None
    drop: bool = False
    null_content: bool = False  # a 200 whose message content is null (filtered output)

    @classmethod
    def rate_limit(cls, retry_after: float = 1) -> "Reply":
        shown = f"{retry_after:g}"
        return cls(
            status=429,
            json=_error_body(
                f"Rate limit reached for requests. Please try again in {shown}s.",
                "requests",
                "rate_limit_exceeded",
            ),
            headers={"Retry-After": shown, "x-ratelimit-reset-requests": f"{shown}s"},
        )

    @classmethod
    def quota(cls) -> "Reply":
        # no Retry-After: waiting does not bring credit back
        return cls(
            status=429,
            json=_error_body(
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                "insufficient_quota",
            ),
        )

    @classmethod
    def server_error(cls, status: int = 502, html: bool = True) -> "Reply":
        if html:
            return cls(status=status, body=_BAD_GATEWAY_HTML, headers={"Content-Type": "text/html; charset=UTF-8"})
        return cls(
            status=status,
            json=_error_body("The server had an error while processing your request. Sorry about that!", "server_error", None),
        )

    @classmethod
    def hang(cls, seconds: float = 300.0) -> "Reply":
        return cls(delay=seconds, drop=True)

    @classmethod
    def malformed(cls) -> "Reply":
        # a 200 that a proxy truncated: the client must not crash on it
        return cls(status=200, body=b'{"id": "chatcmpl-broken", "choices": [{"index": 0, "mess', headers={"Content-Type": "application/json"})

    @classmethod
    def context_length(cls) -> "Reply":
        return cls(
            status=400,
            json=_error_body(
                "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
                "invalid_request_error",
                "context_length_exceeded",
                "messages",
            ),
        )

    @classmethod
    def content_filter(cls, style: str = "400") -> "Reply":
        """style "400": Azure's error; style "finish": a 200 with finish_reason content_filter."""
        if style == "finish":
            return cls(finish_reason="content_filter", null_content=True)
        return cls(
            status=400,
            json={
                "error": {
                    "message": "The response was filtered due to the prompt triggering the content management policy. "
                    "Please modify your prompt and retry.",
                    "type": None,
                    "param": "prompt",
                    "code": "content_filter",
                    "status": 400,
                }
            },
        )


@dataclass
class RecordedRequest:
    t: float  # time.monotonic() at arrival
    path: str
    json: Any
    status: int  # 0 when the connection was dropped unanswered
    method: str = "POST"
    headers: dict = field(default_factory=dict)


def fake_embedding(text: str, dim: int) -> list[float]:
    """A unit vector that depends only on the text: equal texts, equal vectors."""
    values: list[float] = []
    block = 0
    while len(values) < dim:
        digest = hashlib.sha256(f"{block}:{text}".encode("utf-8")).digest()
        values.extend((b - 127.5) / 127.5 for b in digest)
        block += 1
    values = values[:dim]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [round(v / norm, 6) for v in values]


def _schema_example(schema: Any, defs: dict | None = None, depth: int = 0) -> Any:
    """A value that satisfies a simple JSON schema, so structured-output calls get valid JSON."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return _schema_example(defs.get(schema["$ref"].split("/")[-1], {}), defs, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return _schema_example(schema[key][0], defs, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: _schema_example(sub, defs, depth + 1) for name, sub in props.items()}
    if kind == "array":
        return []
    if kind == "string":
        return "fake"
    if kind == "integer":
        return 0
    if kind == "number":
        return 0.0
    if kind == "boolean":
        return False
    return None


class _SlidingWindow:
    """At most `limit` accepted requests in any `window` seconds, as OpenAI's RPM limit."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def admit(self, now: float) -> float | None:
        """None if admitted, else the seconds until a slot frees."""
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        if len(self._times) < self.limit:
            self._times.append(now)
            return None
        return max(0.001, self._times[0] + self.window - now)


class FakeOpenAIServer:
    """Context manager running the fake API; see the module docstring."""

    def __init__(
        self,
        *,
        embedding_dim: int = 16,
        latency: float = 0.0,
        rpm_limit: int | None = None,
        chat_content: str | Callable[[dict], str] | None = None,
        rpm_window: float = 60.0,
    ) -> None:
        self.embedding_dim = embedding_dim
        self.latency = latency
        self.chat_content = chat_content
        self.requests: list[RecordedRequest] = []
        self._limiter = _SlidingWindow(rpm_limit, rpm_window) if rpm_limit else None
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._counter = 0

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> "FakeOpenAIServer":
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()  # wakes handlers sleeping in a hang or a delay
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeOpenAIServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- behaviour -----------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def statuses(self, path_suffix: str = "") -> list[int]:
        with self._lock:
            return [r.status for r in self.requests if r.path.endswith(path_suffix)]

    def _next_scripted(self) -> Reply | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def _admit(self, now: float) -> float | None:
        if self._limiter is None:
            return None
        with self._lock:
            return self._limiter.admit(now)

    def _record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server is closing; True when the sleep ran its course."""
        return not self._closing.wait(seconds) if seconds > 0 else True

    def _next_id(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def chat_reply(self, request: dict, reply: Reply | None) -> dict:
        n = self._next_id()
        model = request.get("model") or "fake-chat"
        finish = (reply.finish_reason if reply else None) or "stop"
        if reply is not None and reply.null_content:
            content: str | None = None
        elif reply is not None and reply.content is not None:
            content = reply.content
        else:
            content = self._default_content(request)
        prompt = " ".join(str(m.get("content", "")) for m in request.get("messages") or [] if isinstance(m, dict))
        answer_len = len(content or "")
        return {
            "id": f"chatcmpl-fake-{n}",
            "object": "chat.completion",
            "created": 1700000000,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": len(prompt) // 4,
                "completion_tokens": answer_len // 4,
                "total_tokens": (len(prompt) + answer_len) // 4,
            },
        }

    def _default_content(self, request: dict) -> str:
        if callable(self.chat_content):
            return self.chat_content(request)
        if isinstance(self.chat_content, str):
            return self.chat_content
        response_format = request.get("response_format") or {}
        if response_format.get("type") == "json_schema":
            schema = (response_format.get("json_schema") or {}).get("schema", {})
            return json.dumps(_schema_example(schema))
        last_user = ""
        for message in request.get("messages") or []:
            if isinstance(message, dict) and message.get("role") == "user" and isinstance(message.get("content"), str):
                last_user = message["content"]
        digest = hashlib.sha256(last_user.encode("utf-8")).hexdigest()[:8]
        if response_format.get("type") == "json_object":
            return json.dumps({"answer": f"FAKE ANSWER ({digest})"})
        return f"FAKE ANSWER ({digest}): {last_user[:60]} [1]"

    def embeddings_reply(self, request: dict) -> dict:
        raw = request.get("input", [])
        inputs = [raw] if isinstance(raw, str) else list(raw)
        dim = int(request.get("dimensions") or self.embedding_dim)
        chars = sum(len(str(x)) for x in inputs)
        return {
            "object": "list",
            "model": request.get("model") or "fake-embed",
            "data": [{"object": "embedding", "index": i, "embedding": fake_embedding(str(x), dim)} for i, x in enumerate(inputs)],
            "usage": {"prompt_tokens": chars // 4, "total_tokens": chars // 4},
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client's connection pool is exercised
    fake: FakeOpenAIServer

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _send(self, status: int, payload: dict | bytes, headers: dict | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        headers = dict(headers or {})
        content_type = headers.pop("Content-Type", "application/json")
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, str(value))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout) before we answered

    def do_GET(self) -> None:
        arrived = time.monotonic()
        if self.path.rstrip("/").endswith("/models"):
            status, body = 200, {"object": "list", "data": [{"id": "fake-chat", "object": "model"}, {"id": "fake-embed", "object": "model"}]}
        else:
            status, body = 404, _error_body(f"Unknown request URL: GET {self.path}.", "invalid_request_error", "unknown_url")
        self.fake._record(RecordedRequest(arrived, self.path, None, status, "GET", dict(self.headers)))
        self._send(status, body)

    def do_POST(self) -> None:
        fake = self.fake
        arrived = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            request = json.loads(raw or b"{}")
        except ValueError:
            request = None
        path = self.path.split("?", 1)[0].rstrip("/")
        headers = dict(self.headers)

        def finish(status: int, payload: dict | bytes, extra: dict | None = None) -> None:
            # recorded before answering, so a client holding its answer sees the record
            fake._record(RecordedRequest(arrived, self.path, request, status, "POST", headers))
            self._send(status, payload, extra)

        is_chat = path.endswith("/chat/completions")
        is_embeddings = path.endswith("/embeddings")
        if not (is_chat or is_embeddings):
            finish(404, _error_body(f"Unknown request URL: POST {self.path}.", "invalid_request_error", "unknown_url"))
            return
        if not isinstance(request, dict):
            finish(400, _error_body("We could not parse the JSON body of your request.", "invalid_request_error", None))
            return

        wait = fake._admit(arrived)
        if wait is not None:
            seconds = math.ceil(wait)
            finish(
                429,
                _error_body(
                    f"Rate limit reached for fake-chat on requests per min (RPM): Limit {fake._limiter.limit}. "
                    f"Please try again in {wait:.3f}s.",
                    "requests",
                    "rate_limit_exceeded",
                ),
                {"Retry-After": str(seconds), "retry-after-ms": str(int(wait * 1000) + 1)},
            )
            return

        reply = fake._next_scripted()
        if reply is not None and reply.drop:
            # recorded at once: a test counting requests must not wait for the hang to end
            fake._record(RecordedRequest(arrived, self.path, request, 0, "POST", headers))
            fake._sleep(reply.delay)
            self.close_connection = True
            return
        if not fake._sleep(fake.latency + (reply.delay if reply else 0.0)):
            self.close_connection = True
            return
        if reply is not None and (reply.status != 200 or reply.body is not None or reply.json is not None):
            finish(reply.status, reply.body if reply.body is not None else (reply.json or {}), reply.headers)
            return
        extra = dict(reply.headers) if reply else None
        body = fake.chat_reply(request, reply) if is_chat else fake.embeddings_reply(request)
        finish(200, body, extra)
