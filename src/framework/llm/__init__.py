"""LLM providers behind one protocol: `get_llm(settings)` returns the offline provider by
default, or an OpenAI-compatible client when `LLM_PROVIDER=openai`."""

from __future__ import annotations

from framework.config import Settings, get_settings
from framework.llm.base import LLM, LLMResponse, Message
from framework.llm.offline import OfflineLLM
from framework.llm.openai_compat import OpenAICompatibleLLM
from framework.llm.structured import StructuredOutputError, acomplete_json, complete_json

__all__ = [
    "LLM",
    "LLMResponse",
    "Message",
    "OfflineLLM",
    "OpenAICompatibleLLM",
    "StructuredOutputError",
    "acomplete_json",
    "complete_json",
    "get_llm",
]


def get_llm(settings: Settings | None = None) -> LLM:
    settings = settings or get_settings()
    if settings.llm_provider == "offline":
        return OfflineLLM()
    return OpenAICompatibleLLM.from_settings(settings)
