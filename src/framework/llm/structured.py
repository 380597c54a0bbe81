"""Typed answers from an LLM: ask with a JSON schema, validate with pydantic, re-ask briefly.

Models sometimes wrap JSON in prose or code fences, or miss a field; showing them the exact
validation error once or twice fixes most of it. After that the failure is reported, never
silently replaced by a default object.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from framework.llm.base import LLM, Message

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL | re.IGNORECASE)


class StructuredOutputError(ValueError):
    """The model never produced JSON that validates against the requested model."""

    def __init__(self, model_cls: type[BaseModel], attempts: int, last_error: str, last_reply: str) -> None:
        self.attempts = attempts
        self.last_error = last_error
        self.last_reply = last_reply
        super().__init__(
            f"the LLM's reply did not validate as {model_cls.__name__} after {attempts} attempt(s): {last_error}"
        )


def extract_json(text: str) -> Any:
    """The JSON value in a reply, tolerating code fences and prose around one object."""
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1)
    try:
        return json.loads(stripped)
    except ValueError:
        start, end = stripped.find("{"), stripped.rfind("}")
        if 0 <= start < end:
            return json.loads(stripped[start : end + 1])
        raise


def _validate(text: str, model_cls: type[T]) -> T:
    return model_cls.model_validate(extract_json(text))


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()[:5]]
        return "; ".join(parts)
    return f"not valid JSON ({exc})"[:300]


def _reask(messages: list[Message], reply: str, problem: str) -> list[Message]:
    return [
        *messages,
        {"role": "assistant", "content": reply},
        {
            "role": "user",
            "content": f"That reply was not valid: {problem}. Reply again with only one JSON object that matches the schema.",
        },
    ]


def complete_json(llm: LLM, messages: list[Message], model_cls: type[T], retries: int = 2, **kwargs: Any) -> T:
    """Ask `llm` for a `model_cls`; re-ask at most `retries` times when the reply does not
    validate; raise `StructuredOutputError` then. Provider errors propagate unchanged."""
    schema = model_cls.model_json_schema()
    attempt_messages = list(messages)
    for attempt in range(1, retries + 2):
        reply = llm.complete(attempt_messages, json_schema=schema, **kwargs).text
        try:
            return _validate(reply, model_cls)
        except (ValueError, ValidationError) as exc:
            problem = _describe(exc)
            if attempt > retries:
                raise StructuredOutputError(model_cls, attempt, problem, reply) from exc
            attempt_messages = _reask(messages, reply, problem)
    raise AssertionError("unreachable")


async def acomplete_json(llm: LLM, messages: list[Message], model_cls: type[T], retries: int = 2, **kwargs: Any) -> T:
    """The async twin of `complete_json`."""
    schema = model_cls.model_json_schema()
    attempt_messages = list(messages)
    for attempt in range(1, retries + 2):
        reply = (await llm.acomplete(attempt_messages, json_schema=schema, **kwargs)).text
        try:
            return _validate(reply, model_cls)
        except (ValueError, ValidationError) as exc:
            problem = _describe(exc)
            if attempt > retries:
                raise StructuredOutputError(model_cls, attempt, problem, reply) from exc
            attempt_messages = _reask(messages, reply, problem)
    raise AssertionError("unreachable")
