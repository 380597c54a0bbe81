"""The offline provider: no model at all, by design.

Jobs that can work offline check `llm.is_offline` and use their rule-based extractors or
the extractive answerer instead of calling `complete`; a call that still arrives here is a
programming error, reported as a non-retryable `bad_request` rather than a made-up answer.
"""

from __future__ import annotations

from framework.errors import ProviderError
from framework.llm.base import LLMResponse, Message

_MESSAGE = (
    "the offline LLM provider cannot generate text: it only backs the rule-based extractors and "
    "the extractive answerer (check `llm.is_offline` first), or set LLM_PROVIDER=openai with "
    "LLM_BASE_URL / OPENAI_API_KEY to use a model"
)


class OfflineLLM:
    provider = "offline"
    model = "offline-rules"
    is_offline = True

    def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict | None = None,
        max_tokens: int | None = None,
        timeout: float | None = None,
    ) -> LLMResponse:
        raise ProviderError("bad_request", _MESSAGE)

    async def acomplete(
        self,
        messages: list[Message],
        *,
        json_schema: dict | None = None,
        max_tokens: int | None = None,
        timeout: float | None = None,
    ) -> LLMResponse:
        raise ProviderError("bad_request", _MESSAGE)

    def __repr__(self) -> str:
        return "OfflineLLM()"
