"""The fake OpenAI server answers like the real API, so other tests can trust it."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.support.fake_openai import FakeOpenAIServer, Reply, fake_embedding

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture()
def srv():
    with FakeOpenAIServer(embedding_dim=8) as server:
        yield server


def test_chat_embeddings_and_models(srv):
    with httpx.Client(base_url=srv.base_url, timeout=5) as client:
        chat = client.post("/chat/completions", json=CHAT).json()
        assert chat["choices"][0]["message"]["content"].startswith("FAKE ANSWER")
        assert chat["choices"][0]["finish_reason"] == "stop"
        again = client.post("/chat/completions", json=CHAT).json()
        assert again["choices"][0]["message"]["content"] == chat["choices"][0]["message"]["content"]

        emb = client.post("/embeddings", json={"model": "e", "input": ["a", "b"]}).json()
        assert [d["index"] for d in emb["data"]] == [0, 1]
        assert emb["data"][0]["embedding"] == fake_embedding("a", 8)
        assert len(emb["data"][1]["embedding"]) == 8

        assert client.get("/models").json()["data"][0]["id"] == "fake-chat"
    assert [r.status for r in srv.requests] == [200, 200, 200, 200]
    assert srv.requests[0].json == CHAT


def test_json_schema_response_format_returns_valid_json(srv):
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "n": {"type": "integer"}, "tags": {"type": "array"}},
        "required": ["answer", "n"],
    }
    body = dict(CHAT, response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}})
    reply = httpx.post(f"{srv.base_url}/chat/completions", json=body, timeout=5).json()
    assert json.loads(reply["choices"][0]["message"]["content"]) == {"answer": "fake", "n": 0, "tags": []}


def test_scripted_errors_look_like_openai(srv):
    srv.script(Reply.rate_limit(retry_after=2), Reply.quota(), Reply.server_error(502), Reply.malformed(), Reply(content="hi"))
    url = f"{srv.base_url}/chat/completions"
    limited = httpx.post(url, json=CHAT, timeout=5)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"

    quota = httpx.post(url, json=CHAT, timeout=5)
    assert quota.status_code == 429 and "retry-after" not in quota.headers
    assert quota.json()["error"]["code"] == "insufficient_quota"

    gateway = httpx.post(url, json=CHAT, timeout=5)
    assert gateway.status_code == 502 and gateway.text.startswith("<!DOCTYPE html>")

    broken = httpx.post(url, json=CHAT, timeout=5)
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.text)

    assert httpx.post(url, json=CHAT, timeout=5).json()["choices"][0]["message"]["content"] == "hi"
    assert httpx.post(url, json=CHAT, timeout=5).json()["choices"][0]["message"]["content"].startswith("FAKE")
    assert srv.statuses() == [429, 429, 502, 200, 200, 200]


def test_hang_is_cut_by_client_timeout_and_server_stops_promptly():
    with FakeOpenAIServer() as srv:
        srv.script(Reply.hang(300))
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{srv.base_url}/chat/completions", json=CHAT, timeout=0.3)
        assert time.monotonic() - started < 2
    assert [r.status for r in srv.requests] == [0]  # a dropped connection


def test_rpm_limit_answers_429_with_retry_after():
    with FakeOpenAIServer(rpm_limit=3, rpm_window=1.0) as srv:
        url = f"{srv.base_url}/chat/completions"
        codes = [httpx.post(url, json=CHAT, timeout=5) for _ in range(4)]
        assert [c.status_code for c in codes] == [200, 200, 200, 429]
        assert float(codes[3].headers["retry-after"]) >= 1
        assert 0 < int(codes[3].headers["retry-after-ms"]) <= 1001
        time.sleep(1.05)
        assert httpx.post(url, json=CHAT, timeout=5).status_code == 200


def test_latency_and_content_callable():
    with FakeOpenAIServer(latency=0.2, chat_content=lambda req: req["model"].upper()) as srv:
        started = time.monotonic()
        reply = httpx.post(f"{srv.base_url}/chat/completions", json=CHAT, timeout=5).json()
        assert time.monotonic() - started >= 0.2
        assert reply["choices"][0]["message"]["content"] == "M"
