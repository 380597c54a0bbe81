"""What every LLM provider offers: a chat completion, sync and async, and one response type."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

Message = dict[str, Any]  # {"role": "system"|"user"|"assistant", "content": str}


class LLMResponse(BaseModel):
    text: str
    model: str
    usage: dict[str, int] = Field(default_factory=dict)
    latency_ms: float = 0.0
    finish_reason: str | None = None


@runtime_checkable
class LLM(Protocol):
    provider: str
    model: str
    is_offline: bool

    def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict | None = None,
        max_tokens: int | None = None,
        timeout: float | None = None,
    ) -> LLMResponse: ...

    async def acomplete(
        self,
        messages: list[Message],
        *,
        json_schema: dict | None = None,
        max_tokens: int | None = None,
        timeout: float | None = None,
    ) -> LLMResponse: ...
