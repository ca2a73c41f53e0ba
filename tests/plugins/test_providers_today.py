"""Providers as they are today: values outside an API's range refused before sending,
cached tokens and prices from the maintained source, new models, newer enum
values, and `llmhub models --check`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from google.cloud import aiplatform_v1 as v1

from llmhub import (
    BadRequestError,
    GenerationOptions,
    Hub,
    Price,
    UnsupportedOptionError,
    Usage,
    cli,
)
from llmhub.testing.openai_server import Behaviour, FakeOpenAIServer
from llmhub_dipseek import DipseekProvider
from llmhub_gemini import GeminiProvider
from llmhub_mistral import MistralProvider
from tests.fakes.gemini_server import FakePredictionService, Step

KEY = "sk-today-11aa22bb"
NEW = Path(__file__).parents[1] / "realwire" / "fixtures-new"


def _gemini_env(fake: FakePredictionService, tmp_path: Path) -> dict[str, str]:
    return {
        "GEMINI_PROJECT": "p",
        "GEMINI_ENDPOINT": fake.target,
        "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}",
    }


@pytest.fixture
async def llm(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(api_key=KEY) as fake:
        for prefix in ("MISTRAL", "DIPSEEK"):
            monkeypatch.setenv(f"{prefix}_API_KEY", KEY)
            monkeypatch.setenv(f"{prefix}_ENDPOINT", fake.url)
        yield fake


@pytest.mark.parametrize(
    ("model", "options", "says"),
    [
        (
            "mistral-small-latest",
            GenerationOptions(temperature=1.6),
            "temperature=1.6: mistral takes 0.0 to 1.5",
        ),
        ("mistral-small-latest", GenerationOptions(seed=-1), "seed=-1: mistral takes 0"),
        (
            "deepseek-chat",
            GenerationOptions(temperature=2.5),
            "temperature=2.5: dipseek takes 0.0 to 2.0",
        ),
        ("deepseek-chat", GenerationOptions(top_p=1.5), "top_p=1.5"),
        ("mistral-small-latest", GenerationOptions(max_tokens=0), "max_tokens=0: at least 1"),
    ],
)
async def test_a_value_outside_the_apis_range_is_refused_before_sending(
    llm: FakeOpenAIServer, model: str, options: GenerationOptions, says: str
) -> None:
    async with await Hub.open() as hub:
        with pytest.raises(UnsupportedOptionError, match=says) as caught:
            await hub.reply(1, "hi", model, options=options)
    assert isinstance(caught.value, BadRequestError)  # what the provider would have said
    assert llm.requests == []


async def test_a_gemini_seed_beyond_int32_is_refused_not_an_outage(tmp_path: Path) -> None:
    async with FakePredictionService() as fake:
        env = {
            "GEMINI_PROJECT": "p",
            "GEMINI_ENDPOINT": fake.target,
            "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}",
        }
        async with await Hub.open(env) as hub:
            with pytest.raises(UnsupportedOptionError, match="seed=2147483648"):
                await hub.reply(1, "hi", "gemini-2.5-flash", options=GenerationOptions(seed=2**31))
            assert hub.breaker.allow("gemini")  # no failure counted against the provider
            ok = await hub.reply(
                2, "hi", "gemini-2.5-flash", options=GenerationOptions(seed=2**31 - 1)
            )
        assert fake.requests[0].generation_config.seed == 2**31 - 1
    assert ok.text == "echo: hi"


async def test_a_prompt_blocked_for_a_reason_newer_than_the_sdk_says_so(tmp_path: Path) -> None:
    raw = v1.GenerateContentResponse.pb(v1.GenerateContentResponse())
    raw.prompt_feedback.block_reason = 9  # a reason the locked SDK's enum does not know
    async with FakePredictionService() as fake:
        fake.then(Step(response=v1.GenerateContentResponse.wrap(raw)))
        env = {
            "GEMINI_PROJECT": "p",
            "GEMINI_ENDPOINT": fake.target,
            "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}",
        }
        async with await Hub.open(env) as hub:
            with pytest.raises(Exception, match=r"the prompt was blocked \(REASON_9\)") as caught:
                await hub.reply(1, "hi", "gemini-2.5-flash")
    assert type(caught.value).__name__ == "ContentBlockedError"


async def test_mistral_cached_tokens_cost_a_tenth(llm: FakeOpenAIServer) -> None:
    body = (NEW / "mistral" / "medium-num-cached-976-completion.json").read_text(encoding="utf-8")
    llm.then(Behaviour(body=body))
    async with await Hub.open() as hub:
        reply = await hub.reply(1, "hi", "mistral-medium-latest")
    usage = reply.usage
    assert (usage.prompt_tokens, usage.cached_tokens) == (997, 976)
    # Mistral Medium 3.5: $1.5 in, $7.5 out, cached prompt tokens at $0.15.
    expected = ((997 - 976) * 1.5 + 976 * 0.15 + usage.completion_tokens * 7.5) / 1e6  # type: ignore[operator]
    assert reply.cost == pytest.approx(expected)


def test_where_the_maintained_data_has_no_entry_the_plugin_table_prices_it() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=100, cached_tokens=800)
    # A plugin table's Mistral price: cached prompt tokens at 10% of the input price.
    assert MistralProvider.model_info("mistral-large-latest").price == Price(0.5, 1.5, 0.05)
    # codestral-embed is in no maintained data set here: the table's $0.15 applies.
    embed = MistralProvider.cost("codestral-embed", Usage(prompt_tokens=1000, completion_tokens=0))
    assert embed == pytest.approx(1000 * 0.15 / 1e6)
    assert DipseekProvider.cost("deepseek-not-yet-released", usage) is None  # no guess


@pytest.mark.parametrize("model", ["mistral-large-4", "gemini-3.7-flash", "gemini-3.1-pro-preview"])
def test_models_seen_in_real_traffic_have_a_price_from_the_maintained_data(model: str) -> None:
    provider = MistralProvider if model.startswith("mistral") else GeminiProvider
    assert provider.model_info(model).known  # in the plugin's table: capabilities, not guessed
    now = provider.price(model)
    assert now.source == "genai-prices"
    assert now.price is not None
    assert now.price.input > 0
    assert now.price.output > 0
    # 100,000 tokens each way: under every long-prompt tier (Gemini Pro's is 200,000).
    cost = provider.cost(model, Usage(prompt_tokens=100_000, completion_tokens=100_000))
    assert cost == pytest.approx((now.price.input + now.price.output) / 10)


async def test_models_show_prices_their_source_and_date_and_check_the_listing(
    llm: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    llm.models = ["mistral-large-4", "mistral-small-latest", "mistral-xl-2612", "deepseek-flash"]
    assert await asyncio.to_thread(cli.main, ["models", "--check"]) == 0
    out = capsys.readouterr().out
    rows = {
        line.split()[0]: line.split()
        for line in out.splitlines()
        if line.startswith(("mistral/", "dipseek/"))
    }
    large4 = MistralProvider.price("mistral-large-4").price
    assert large4 is not None
    assert rows["mistral/mistral-large-4"][-3:] == [
        f"{large4.input:g}",
        f"{large4.cached_input if large4.cached_input is not None else large4.input:g}",
        f"{large4.output:g}",
    ]
    assert rows["dipseek/deepseek-flash"][0] == "dipseek/deepseek-flash"
    assert "(guessed)" in " ".join(rows["mistral/mistral-xl-2612"])
    assert "USD per million tokens in force at 20" in out
    assert "from genai-prices " in out
    mistral = out.split("mistral: ", 1)[1].splitlines()
    assert mistral[1].startswith("  not in the table (capabilities guessed): ")
    assert "mistral-xl-2612" in mistral[1]
    assert "mistral-large-4" not in mistral[1]  # listed, and in the table now
    assert mistral[2].startswith("  in the table, not listed (retired, or not offered here): ")
    assert "codestral-latest" in mistral[2]
    assert await asyncio.to_thread(cli.main, ["models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["prices"]["source"].startswith("genai-prices ")
    [large4] = [m for m in listed["models"]["mistral"] if m["id"] == "mistral-large-4"]
    assert large4["price_now"]["source"] == "genai-prices"
