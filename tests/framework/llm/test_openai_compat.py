"""The OpenAI-compatible chat client against a real loopback server: every failure becomes
exactly one ProviderError kind, retried or not as that kind says."""

from __future__ import annotations

import asyncio
import time

import pytest

from framework.errors import ProviderError
from framework.llm.openai_compat import OpenAICompatibleLLM
from framework.llm.openai_http import auth_headers, endpoint
from tests.support.fake_openai import FakeOpenAIServer, Reply

MESSAGES = [{"role": "user", "content": "What is the hotel limit?"}]
KEY = "sk-testsecretkey1234567890"


@pytest.fixture()
def srv():
    with FakeOpenAIServer() as server:
        yield server


def make(srv, **kwargs) -> OpenAICompatibleLLM:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout_s", 5.0)
    return OpenAICompatibleLLM(model="fake-chat", base_url=srv.base_url, api_key=KEY, **kwargs)


def error_of(llm, **kwargs) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        llm.complete(MESSAGES, **kwargs)
    return info.value


def test_success_returns_text_model_usage_and_sends_bearer_key(srv):
    reply = make(srv).complete(MESSAGES, max_tokens=50)
    assert reply.text.startswith("FAKE ANSWER")
    assert reply.model == "fake-chat" and reply.finish_reason == "stop"
    assert reply.usage["total_tokens"] > 0 and reply.latency_ms >= 0
    sent = srv.requests[0]
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.json["max_tokens"] == 50 and sent.json["temperature"] == 0.0


def test_json_schema_is_sent_as_response_format(srv):
    schema = {"title": "Answer", "type": "object", "properties": {"a": {"type": "string"}}}
    reply = make(srv).complete(MESSAGES, json_schema=schema)
    fmt = srv.requests[0].json["response_format"]
    assert fmt == {"type": "json_schema", "json_schema": {"name": "Answer", "schema": schema, "strict": False}}
    assert reply.text == '{"a": "fake"}'


def test_server_without_json_schema_support_falls_back_to_json_mode(srv):
    srv.script(Reply(status=400, json={"error": {"message": "response_format type json_schema is not supported", "type": "invalid_request_error", "code": None}}))
    llm = make(srv)
    llm.complete(MESSAGES, json_schema={"type": "object"})
    llm.complete(MESSAGES, json_schema={"type": "object"})
    assert [r.json["response_format"]["type"] for r in srv.requests] == ["json_schema", "json_object", "json_object"]


@pytest.mark.parametrize(
    "reply, kind, status",
    [
        (Reply.quota(), "quota", 429),
        (Reply.rate_limit(retry_after=7), "rate_limit", 429),
        (Reply.server_error(502, html=True), "server_error", 502),
        (Reply.server_error(503, html=False), "server_error", 503),
        (Reply.context_length(), "context_length", 400),
        (Reply.content_filter("400"), "content_filter", 400),
        (Reply.content_filter("finish"), "content_filter", 200),
        (Reply(status=400, json={"error": {"message": "bad temperature", "type": "invalid_request_error", "code": None}}), "bad_request", 400),
        (Reply(status=401, json={"error": {"message": "Incorrect API key provided: sk-tests*****7890.", "type": "invalid_request_error", "code": "invalid_api_key"}}), "auth", 401),
        (Reply(status=404, json={"error": {"message": "The model `nope` does not exist", "type": "invalid_request_error", "code": "model_not_found"}}), "not_found", 404),
        (Reply(status=404, json={"error": "model 'llama9' not found, try pulling it first"}), "not_found", 404),  # Ollama
        (Reply.malformed(), "malformed_response", 200),
        (Reply(json={"id": "x", "object": "chat.completion", "choices": []}), "malformed_response", 200),
        (Reply(status=200, body=b"<html>captive portal</html>", headers={"Content-Type": "text/html"}), "malformed_response", 200),
    ],
)
def test_each_failure_is_classified_once(srv, reply, kind, status):
    srv.script(reply)
    error = error_of(make(srv))
    assert (error.kind, error.status_code) == (kind, status)
    assert "Traceback" not in str(error) and "JSONDecodeError" not in str(error)


@pytest.mark.parametrize("reply", [Reply.context_length(), Reply.content_filter("finish"), Reply.malformed(), Reply(status=403)])
def test_final_errors_are_asked_once(srv, reply):
    srv.script(reply, reply)
    assert not error_of(make(srv, max_retries=3)).retryable
    assert len(srv.requests) == 1


def test_rate_limit_carries_retry_after_and_html_5xx_is_described(srv):
    srv.script(Reply.rate_limit(retry_after=7), Reply.server_error(502, html=True))
    llm = make(srv)
    assert error_of(llm).retry_after == 7.0
    gateway = error_of(llm)
    assert "HTML error page" in gateway.message and "502: Bad gateway" in gateway.message
    assert "<" not in gateway.message


def test_quota_is_not_retried_and_says_so(srv):
    srv.script(Reply.quota(), Reply.quota(), Reply.quota())
    error = error_of(make(srv, max_retries=3))
    assert error.kind == "quota" and error.fatal and not error.retryable
    assert "quota" in error.message and "billing" in error.message
    assert len(srv.requests) == 1


def test_retryable_errors_are_retried_until_success(srv):
    srv.script(Reply.server_error(502), Reply.rate_limit(retry_after=0.2))
    started = time.monotonic()
    reply = make(srv, max_retries=3).complete(MESSAGES)
    assert reply.text.startswith("FAKE")
    assert srv.statuses() == [502, 429, 200]
    gap = srv.requests[2].t - srv.requests[1].t
    assert gap >= 0.2  # waited what the server asked
    assert time.monotonic() - started < 10


def test_hung_server_times_out_after_the_configured_timeout(srv):
    srv.script(Reply.hang(300))
    started = time.monotonic()
    error = error_of(make(srv, timeout_s=0.5))
    assert error.kind == "timeout" and "0.5s" in error.message
    assert time.monotonic() - started < 3


def test_per_call_timeout_overrides_the_default(srv):
    srv.script(Reply(delay=1.0))
    started = time.monotonic()
    assert error_of(make(srv, timeout_s=30), timeout=0.3).kind == "timeout"
    assert time.monotonic() - started < 2


def test_connection_refused_is_a_connection_error():
    with FakeOpenAIServer() as dead:
        url = dead.base_url
    llm = OpenAICompatibleLLM(model="m", base_url=url, max_retries=0, timeout_s=2)
    error = error_of(llm)
    assert error.kind == "connection" and error.retryable


def test_api_key_never_appears_in_errors(srv):
    srv.script(Reply(status=401, json={"error": {"message": f"Incorrect API key provided: {KEY}", "type": "invalid_request_error", "code": "invalid_api_key"}}))
    llm = make(srv)
    error = error_of(llm)
    assert error.kind == "auth"
    assert KEY not in str(error) and KEY[8:] not in str(error)
    assert KEY not in repr(llm)


def test_async_complete_across_event_loops(srv):
    llm = make(srv)

    async def ask_many():
        replies = await asyncio.gather(*(llm.acomplete(MESSAGES) for _ in range(5)))
        return [r.text for r in replies]

    assert len(asyncio.run(ask_many())) == 5
    assert len(asyncio.run(ask_many())) == 5  # a second loop gets its own connection pool
    srv.script(Reply.quota())
    with pytest.raises(ProviderError) as info:
        asyncio.run(llm.acomplete(MESSAGES))
    assert info.value.kind == "quota"


def test_async_hang_times_out(srv):
    srv.script(Reply.hang(300))
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        asyncio.run(make(srv, timeout_s=0.5).acomplete(MESSAGES))
    assert info.value.kind == "timeout"
    assert time.monotonic() - started < 3


def test_azure_gets_api_key_header_and_keeps_api_version():
    azure = "https://myres.openai.azure.com/openai/deployments/gpt4o?api-version=2024-10-21"
    assert auth_headers(azure, "k") == {"User-Agent": "gen-ai-framework/0.1", "api-key": "k"}
    assert "Authorization" in auth_headers("http://localhost:11434/v1", "k")
    assert "Authorization" not in auth_headers("http://localhost:11434/v1", None)
    url = endpoint(azure, "chat/completions")
    assert str(url) == "https://myres.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21"


@pytest.mark.parametrize(
    "body, headers, kind",
    [
        ({"error": {"message": "You exceeded your current quota, please check your plan and billing details.", "type": "insufficient_quota", "code": "insufficient_quota"}}, {}, "quota"),
        ({"error": {"message": "Your credit balance is too low", "type": "invalid_request_error", "code": None}}, {}, "quota"),
        ({"error": {"message": "Quota exceeded for metric 'requests per minute'. Try again in 20s.", "type": None, "code": 429}}, {}, "rate_limit"),
        ({"error": {"message": "Requests have exceeded the call rate limit. Please retry after 3 seconds.", "code": "429"}}, {}, "rate_limit"),
    ],
)
def test_quota_and_rate_limit_are_told_apart(srv, body, headers, kind):
    srv.script(Reply(status=429, json=body, headers=headers))
    error = error_of(make(srv))
    assert error.kind == kind
    if kind == "rate_limit":
        assert error.retry_after in (20.0, 3.0)
