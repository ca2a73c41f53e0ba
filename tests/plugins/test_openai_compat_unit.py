"""The shared OpenAI-style client at the HTTP layer, mocked with respx (whole replies,
listings, errors; streams read aiohttp directly and are tested against the local fake
server in test_openai_compat_server.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TypeVar

import httpx
import pytest
import respx

from llmhub import (
    Attachment,
    AuthenticationError,
    BadRequestError,
    ChatRequest,
    GenerationOptions,
    InsufficientBalanceError,
    Message,
    ModelNotFoundError,
    NotConfiguredError,
    ProviderUnavailableError,
    RateLimitError,
    RetryPolicy,
    UnsupportedInputError,
)
from llmhub_dipseek import DipseekProvider
from llmhub_mistral import MistralProvider

KEY = "sk-unit-test-key-0123456789abcdef"
MISTRAL = "https://api.mistral.ai/v1/chat/completions"
DEEPSEEK = "https://api.deepseek.com/chat/completions"
sleeps: list[float] = []

pytestmark = pytest.mark.respx(using="httpx")


async def _no_sleep(seconds: float) -> None:
    sleeps.append(seconds)


def _policy(attempts: int = 3) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, base_delay=0.0, max_delay=0.0, sleep=_no_sleep)


P = TypeVar("P", MistralProvider, DipseekProvider)


async def _provider(cls: type[P]) -> AsyncIterator[P]:
    """A provider with the test key and retries that never sleep."""
    sleeps.clear()
    provider = cls({cls.api_key_var: KEY})
    provider.retry_policy = _policy()
    yield provider
    await provider.aclose()


@pytest.fixture
async def mistral() -> AsyncIterator[MistralProvider]:
    async for provider in _provider(MistralProvider):
        yield provider


@pytest.fixture
async def dipseek() -> AsyncIterator[DipseekProvider]:
    async for provider in _provider(DipseekProvider):
        yield provider


def _req(text: str = "hi", model: str = "mistral-small-latest", **options: object) -> ChatRequest:
    return ChatRequest(model, (Message("user", text),), GenerationOptions(**options))  # type: ignore[arg-type]


def _ok(text: str = "hello", **extra: object) -> httpx.Response:
    body = {
        "model": "mistral-small-latest",
        "choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5},
        **extra,
    }
    return httpx.Response(200, json=body)


async def test_generate_sends_mistrals_payload_and_parses_the_reply(
    respx_mock: respx.MockRouter,
    mistral: MistralProvider,
) -> None:
    route = respx_mock.post(MISTRAL).mock(return_value=_ok())
    request = _req(temperature=0.3, top_p=0.9, max_tokens=50, stop=("END",), seed=7, json_mode=True)

    reply = await mistral.generate(request)

    assert (reply.text, reply.finish_reason, reply.usage.total_tokens) == ("hello", "stop", 5)
    sent = json.loads(route.calls.last.request.content)
    assert sent == {
        "model": "mistral-small-latest",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.3,
        "top_p": 0.9,
        "max_tokens": 50,
        "stop": ["END"],
        "random_seed": 7,
        "response_format": {"type": "json_object"},
    }
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


async def test_deepseek_gets_no_seed_and_reports_cache_and_reasoning(
    respx_mock: respx.MockRouter,
    dipseek: DipseekProvider,
) -> None:
    usage = {
        "prompt_tokens": 10,
        "completion_tokens": 20,
        "total_tokens": 30,
        "prompt_cache_hit_tokens": 8,
        "completion_tokens_details": {"reasoning_tokens": 12},
    }
    body = {
        "choices": [
            {
                "message": {"content": "42", "reasoning_content": "think think"},
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
    }
    route = respx_mock.post(DEEPSEEK).mock(return_value=httpx.Response(200, json=body))

    reply = await dipseek.generate(_req(model="deepseek-reasoner", seed=1))

    assert "seed" not in json.loads(route.calls.last.request.content)
    assert reply.text == "42"
    assert reply.reasoning == "think think"
    assert (reply.usage.cached_tokens, reply.usage.reasoning_tokens) == (8, 12)


async def test_images_go_as_data_urls(
    respx_mock: respx.MockRouter, mistral: MistralProvider
) -> None:
    route = respx_mock.post(MISTRAL).mock(return_value=_ok())
    message = Message("user", "what is it?", (Attachment(b"\x89PNG", "image/png"),))

    await mistral.generate(ChatRequest("pixtral-large-latest", (message,)))

    content = json.loads(route.calls.last.request.content)["messages"][0]["content"]
    assert content == [
        {"type": "text", "text": "what is it?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}},
    ]


async def test_deepseek_refuses_files_before_sending(dipseek: DipseekProvider) -> None:
    message = Message("user", "x", (Attachment(b"x", "image/png"),))
    with pytest.raises(UnsupportedInputError, match="takes no files"):
        await dipseek.generate(ChatRequest("deepseek-chat", (message,)))


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (400, {"error": {"message": "bad temperature"}}, BadRequestError, "bad temperature"),
        (
            422,
            {"detail": [{"loc": ["body"], "msg": "extra fields"}]},
            BadRequestError,
            "extra fields",
        ),
        (401, {"message": "Unauthorized"}, AuthenticationError, "Unauthorized"),
        (403, {"error": "forbidden"}, AuthenticationError, "forbidden"),
        (402, {"error": {"message": "Insufficient Balance"}}, InsufficientBalanceError, "Balance"),
        (404, {"message": "Invalid model: nope"}, ModelNotFoundError, "Invalid model"),
        (500, "upstream exploded", ProviderUnavailableError, "upstream exploded"),
        (503, {"detail": "Service unavailable"}, ProviderUnavailableError, "unavailable"),
    ],
)
async def test_error_statuses_map_to_the_hierarchy(
    respx_mock: respx.MockRouter,
    mistral: MistralProvider,
    status: int,
    body: object,
    error: type[Exception],
    text: str,
) -> None:
    response = (
        httpx.Response(status, text=body)
        if isinstance(body, str)
        else httpx.Response(status, json=body)
    )
    respx_mock.post(MISTRAL).mock(return_value=response)
    with pytest.raises(error, match=text) as info:
        await mistral.generate(_req())
    assert info.value.status_code == status  # type: ignore[attr-defined]


async def test_429_carries_retry_after_and_is_retried_after_it(
    respx_mock: respx.MockRouter, mistral: MistralProvider
) -> None:
    limited = httpx.Response(429, json={"message": "slow down"}, headers={"Retry-After": "3"})
    route = respx_mock.post(MISTRAL).mock(side_effect=[limited, _ok("after wait")])

    reply = await mistral.generate(_req())

    assert reply.text == "after wait"
    assert route.call_count == 2
    assert sleeps == [3.0]


async def test_a_long_retry_after_is_raised_at_once(
    respx_mock: respx.MockRouter, mistral: MistralProvider
) -> None:
    limited = httpx.Response(429, json={"message": "quota"}, headers={"Retry-After": "3600"})
    route = respx_mock.post(MISTRAL).mock(return_value=limited)
    with pytest.raises(RateLimitError) as info:
        await mistral.generate(_req())
    assert info.value.retry_after == 3600
    assert route.call_count == 1


async def test_a_500_then_a_200_succeeds_with_two_calls(
    respx_mock: respx.MockRouter, mistral: MistralProvider
) -> None:
    route = respx_mock.post(MISTRAL).mock(
        side_effect=[httpx.Response(500, text="oops"), _ok("fine")]
    )
    assert (await mistral.generate(_req())).text == "fine"
    assert route.call_count == 2


async def test_a_401_makes_exactly_one_call(
    respx_mock: respx.MockRouter, mistral: MistralProvider
) -> None:
    route = respx_mock.post(MISTRAL).mock(return_value=httpx.Response(401, json={"message": "no"}))
    with pytest.raises(AuthenticationError):
        await mistral.generate(_req())
    assert route.call_count == 1


async def test_connection_errors_are_retried_then_reported(
    respx_mock: respx.MockRouter, mistral: MistralProvider
) -> None:
    route = respx_mock.post(MISTRAL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ProviderUnavailableError, match="cannot connect"):
        await mistral.generate(_req())
    assert route.call_count == 3


async def test_list_models_returns_ids_once_each(
    respx_mock: respx.MockRouter, mistral: MistralProvider
) -> None:
    data = [{"id": "a"}, {"id": "b"}, {"id": "a"}, {"object": "no id"}]
    respx_mock.get("https://api.mistral.ai/v1/models").mock(
        return_value=httpx.Response(200, json={"data": data})
    )
    assert await mistral.list_models() == ["a", "b"]


async def test_deepseek_lists_models_at_the_bare_path(
    respx_mock: respx.MockRouter, dipseek: DipseekProvider
) -> None:
    route = respx_mock.get("https://api.deepseek.com/models").mock(
        return_value=httpx.Response(200, json={"data": [{"id": "deepseek-chat"}]})
    )
    assert await dipseek.list_models() == ["deepseek-chat"]
    assert route.called


async def test_no_key_means_not_configured_naming_the_variable() -> None:
    provider = MistralProvider({})
    with pytest.raises(NotConfiguredError, match="MISTRAL_API_KEY"):
        await provider.generate(_req())


async def test_every_client_in_the_process_shares_one_tls_context(
    mistral: MistralProvider, dipseek: DipseekProvider
) -> None:
    """A TLS context loads the CA bundle as it is made (some 20 ms of CPU): one per
    process, not one per provider each time a hub opens."""
    contexts = {id(getattr(p._http(), "_transport").ssl_context) for p in (mistral, dipseek)}  # noqa: B009
    assert len(contexts) == 1
