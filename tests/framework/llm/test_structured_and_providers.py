"""complete_json re-asks on invalid replies (bounded); get_llm picks the provider; the
offline provider refuses to invent text."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from framework.config import Settings
from framework.errors import ConfigurationError, ProviderError
from framework.llm import OfflineLLM, OpenAICompatibleLLM, StructuredOutputError, acomplete_json, complete_json, get_llm
from framework.llm.structured import extract_json
from tests.support.fake_openai import FakeOpenAIServer, Reply

MESSAGES = [{"role": "user", "content": "Extract the total."}]


class Total(BaseModel):
    amount: float
    currency: str


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


@pytest.fixture()
def srv():
    with FakeOpenAIServer(chat_content='{"amount": 12.5, "currency": "INR"}') as server:
        yield server


def llm_for(srv) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM(model="m", base_url=srv.base_url, max_retries=0, timeout_s=5)


def test_complete_json_validates_first_good_reply(srv):
    assert complete_json(llm_for(srv), MESSAGES, Total) == Total(amount=12.5, currency="INR")
    sent = srv.requests[0].json
    assert sent["response_format"]["json_schema"]["schema"]["title"] == "Total"


def test_complete_json_reasks_with_the_problem_then_succeeds(srv):
    srv.script(Reply(content="Sure! The total is twelve."), Reply(content='```json\n{"amount": "x"}\n```'))
    assert complete_json(llm_for(srv), MESSAGES, Total, retries=2).currency == "INR"
    assert len(srv.requests) == 3
    second = srv.requests[1].json["messages"]
    assert second[-2] == {"role": "assistant", "content": "Sure! The total is twelve."}
    assert "not valid" in second[-1]["content"]
    third = srv.requests[2].json["messages"]
    assert "amount" in third[-1]["content"] and len(third) == len(second)  # earlier failures are not piled up


def test_complete_json_gives_up_with_a_clear_error(srv):
    srv.script(*[Reply(content="no json here")] * 3)
    with pytest.raises(StructuredOutputError) as info:
        complete_json(llm_for(srv), MESSAGES, Total, retries=1)
    assert info.value.attempts == 2 and "Total" in str(info.value)
    assert len(srv.requests) == 2


def test_acomplete_json(srv):
    srv.script(Reply(content="{}"))
    assert asyncio.run(acomplete_json(llm_for(srv), MESSAGES, Total)).amount == 12.5


def test_provider_errors_pass_through_complete_json(srv):
    srv.script(Reply.quota())
    with pytest.raises(ProviderError) as info:
        complete_json(llm_for(srv), MESSAGES, Total)
    assert info.value.kind == "quota"


def test_extract_json_tolerates_prose_and_fences():
    assert extract_json('Here: {"a": 1} done') == {"a": 1}
    assert extract_json('```json\n{"a": [1]}\n```') == {"a": [1]}
    with pytest.raises(ValueError):
        extract_json("nothing")


def test_get_llm_is_offline_by_default():
    llm = get_llm(settings())
    assert isinstance(llm, OfflineLLM)
    assert (llm.provider, llm.model, llm.is_offline) == ("offline", "offline-rules", True)
    with pytest.raises(ProviderError) as info:
        llm.complete(MESSAGES)
    assert info.value.kind == "bad_request" and "extractive answerer" in info.value.message
    with pytest.raises(ProviderError):
        asyncio.run(llm.acomplete(MESSAGES))


def test_get_llm_openai_compatible_from_settings(srv):
    llm = get_llm(settings(LLM_PROVIDER="openai", LLM_BASE_URL=srv.base_url, LLM_MODEL="llama3", LLM_TIMEOUT_S=7, LLM_MAX_RETRIES=1))
    assert isinstance(llm, OpenAICompatibleLLM) and not llm.is_offline
    assert (llm.model, llm.timeout_s, llm.max_retries) == ("llama3", 7, 1)
    assert llm.complete(MESSAGES).text  # a local server needs no key
    assert "Authorization" not in srv.requests[0].headers


def test_get_llm_openai_without_key_or_url_is_a_configuration_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        get_llm(settings(LLM_PROVIDER="openai"))
