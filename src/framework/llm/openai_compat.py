"""Chat completions against any OpenAI-compatible server: OpenAI, Azure OpenAI, Ollama, vLLM,
llama.cpp's server, LM Studio... They all speak `POST {base_url}/chat/completions`.

One pooled httpx client per instance (and one async client per event loop), explicit
timeouts so a hung server fails after `llm_timeout_s`, and `max_retries` retries of the
retryable kinds through the shared backoff policy. A caller that runs its own retry loop
(the queries job, which also slows its whole pool on a 429) sets `max_retries=0`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

import httpx

from framework.config import Settings
from framework.errors import ConfigurationError, ProviderError
from framework.llm import openai_http as wire
from framework.llm.base import LLMResponse, Message
from framework.retry import async_retry_with_backoff, retry_with_backoff

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4o-mini"
_SCHEMA_NAME = re.compile(r"[^A-Za-z0-9_-]")


def response_format_for(json_schema: dict) -> dict:
    """`response_format` for a JSON schema; accepts a bare schema or OpenAI's
    `{"name", "schema", "strict"}` wrapper."""
    if "schema" in json_schema and "name" in json_schema:
        wrapped = dict(json_schema)
    else:
        name = _SCHEMA_NAME.sub("_", str(json_schema.get("title") or "response"))[:64] or "response"
        # strict mode rejects ordinary pydantic schemas (optional fields, defaults); replies
        # are validated on our side anyway (complete_json)
        wrapped = {"name": name, "schema": json_schema, "strict": False}
    return {"type": "json_schema", "json_schema": wrapped}


def parse_chat_response(response: httpx.Response, fallback_model: str, started: float) -> LLMResponse:
    body = wire.json_body(response)
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ProviderError("malformed_response", "the answer has no choices", response.status_code)
    choice = choices[0]
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    finish_reason = choice.get("finish_reason")
    content = message.get("content")
    if isinstance(content, list):  # some servers send content parts
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    if finish_reason == "content_filter" or content is None:
        reason = message.get("refusal") or "the provider's content filter withheld the answer"
        raise ProviderError("content_filter", str(reason)[:300], response.status_code)
    if not isinstance(content, str):
        raise ProviderError("malformed_response", f"message content is {type(content).__name__}, not text", response.status_code)
    return LLMResponse(
        text=content,
        model=str(body.get("model") or fallback_model),
        usage=wire.int_usage(body),
        latency_ms=round((time.monotonic() - started) * 1000.0, 1),
        finish_reason=finish_reason,
    )


class OpenAICompatibleLLM:
    provider = "openai"
    is_offline = False

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        temperature: float = 0.0,
        max_connections: int = 16,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.model = model or DEFAULT_MODEL
        self.base_url = (base_url or wire.OPENAI_BASE_URL).rstrip("/")
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.temperature = temperature
        self._api_key = api_key
        self._url = wire.endpoint(self.base_url, "chat/completions")
        self._client_kwargs: dict[str, Any] = {
            "headers": wire.auth_headers(self.base_url, api_key),
            "timeout": wire.make_timeout(timeout_s),
            "limits": wire.make_limits(max_connections),
        }
        self._client = httpx.Client(transport=transport, **self._client_kwargs)
        self._async_transport = async_transport
        self._aclient: httpx.AsyncClient | None = None
        self._aclient_loop: asyncio.AbstractEventLoop | None = None
        self._json_schema_unsupported = False

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> "OpenAICompatibleLLM":
        base_url = settings.llm_base_url or wire.OPENAI_BASE_URL
        if not settings.api_key and base_url.rstrip("/") == wire.OPENAI_BASE_URL:
            raise ConfigurationError(
                "LLM_PROVIDER=openai needs OPENAI_API_KEY, or LLM_BASE_URL pointing at a local "
                "OpenAI-compatible server (Ollama, vLLM, llama.cpp)"
            )
        kwargs: dict[str, Any] = dict(
            model=settings.llm_model or DEFAULT_MODEL,
            base_url=base_url,
            api_key=settings.api_key,
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            temperature=settings.llm_temperature,
        )
        kwargs.update(overrides)
        return cls(**kwargs)

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAICompatibleLLM(model={self.model!r}, base_url={self.base_url!r})"

    # -- requests ----------------------------------------------------------------------
    def _payload(self, messages: list[Message], json_schema: dict | None, max_tokens: int | None) -> dict:
        payload: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": self.temperature}
        if max_tokens is not None:
            payload["max_tokens"] = max_tokens
        if json_schema is not None:
            payload["response_format"] = (
                {"type": "json_object"} if self._json_schema_unsupported else response_format_for(json_schema)
            )
        return payload

    def _schema_rejected(self, error: ProviderError, payload: dict) -> bool:
        """Older local servers refuse `json_schema`; remember that and fall back to JSON mode."""
        fmt = payload.get("response_format") or {}
        if error.kind != "bad_request" or fmt.get("type") != "json_schema":
            return False
        if "response_format" not in error.message and "json_schema" not in error.message:
            return False
        log.warning("%s does not accept json_schema response formats; using JSON mode instead", self.base_url)
        self._json_schema_unsupported = True
        payload["response_format"] = {"type": "json_object"}
        return True

    def _timeout(self, timeout: float | None) -> httpx.Timeout | None:
        return wire.make_timeout(timeout) if timeout else None

    def _handle(self, response: httpx.Response, started: float) -> LLMResponse:
        if response.status_code >= 300:
            raise wire.error_from_response(response, self._api_key)
        return parse_chat_response(response, self.model, started)

    def _send(self, payload: dict, timeout: float | None) -> LLMResponse:
        started = time.monotonic()
        try:
            kwargs = {"timeout": self._timeout(timeout)} if timeout else {}
            response = self._client.post(self._url, json=payload, **kwargs)
        except httpx.HTTPError as exc:
            raise wire.error_from_exception(exc, self.base_url, timeout or self.timeout_s) from None
        try:
            return self._handle(response, started)
        except ProviderError as error:
            if self._schema_rejected(error, payload):
                return self._send(payload, timeout)
            raise

    async def _asend(self, payload: dict, timeout: float | None) -> LLMResponse:
        started = time.monotonic()
        try:
            kwargs = {"timeout": self._timeout(timeout)} if timeout else {}
            response = await self._async_client().post(self._url, json=payload, **kwargs)
        except httpx.HTTPError as exc:
            raise wire.error_from_exception(exc, self.base_url, timeout or self.timeout_s) from None
        try:
            return self._handle(response, started)
        except ProviderError as error:
            if self._schema_rejected(error, payload):
                return await self._asend(payload, timeout)
            raise

    def _async_client(self) -> httpx.AsyncClient:
        # an AsyncClient's connections belong to the loop that opened them
        loop = asyncio.get_running_loop()
        if self._aclient is None or self._aclient_loop is not loop:
            self._aclient = httpx.AsyncClient(transport=self._async_transport, **self._client_kwargs)
            self._aclient_loop = loop
        return self._aclient

    # -- the LLM protocol ------------------------------------------------------------------
    def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict | None = None,
        max_tokens: int | None = None,
        timeout: float | None = None,
    ) -> LLMResponse:
        payload = self._payload(messages, json_schema, max_tokens)
        return retry_with_backoff(lambda: self._send(payload, timeout), max_attempts=self.max_retries + 1, log=log)

    async def acomplete(
        self,
        messages: list[Message],
        *,
        json_schema: dict | None = None,
        max_tokens: int | None = None,
        timeout: float | None = None,
    ) -> LLMResponse:
        payload = self._payload(messages, json_schema, max_tokens)
        return await async_retry_with_backoff(
            lambda: self._asend(payload, timeout), max_attempts=self.max_retries + 1, log=log
        )

    def close(self) -> None:
        self._client.close()

    async def aclose(self) -> None:
        if self._aclient is not None:
            await self._aclient.aclose()
            self._aclient = None
            self._aclient_loop = None
