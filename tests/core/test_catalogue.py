"""Each plugin's model table: complete, sourced, priced; costs computed and logged."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from llmhub import (
    Attachment,
    BaseProvider,
    Hub,
    Price,
    ProviderRegistry,
    UnsupportedInputError,
    Usage,
)
from llmhub._settings import HubSettings
from llmhub.store import SCHEMA_VERSION, store_from_url
from llmhub.testing import ScriptedProvider, plugin_offering, scripted_hub
from llmhub_dipseek import DipseekProvider
from llmhub_gemini import GeminiProvider
from llmhub_mistral import MistralProvider

PLUGINS: list[type[BaseProvider]] = [MistralProvider, DipseekProvider, GeminiProvider]


@pytest.mark.parametrize("provider", PLUGINS, ids=lambda p: p.name)
def test_every_listed_model_is_complete_and_its_figures_have_a_source(
    provider: type[BaseProvider],
) -> None:
    table = provider.catalogue
    assert table.models, f"{provider.name} lists no models"
    for info in table.models:
        assert info.known
        assert info.context_window > 0
        assert "text" in info.inputs, info.id
        if info.embeds:  # no output; a price per token, or a note saying why there is none
            assert info.max_output_tokens == 0, info.id
            assert not info.tools
            assert not info.structured_output
            assert not info.reasoning_levels
            assert (info.price is not None and info.price.input > 0) or "billed" in info.note
            assert provider.claims_model(info.id), f"{info.id} would not route to {provider.name}"
            continue
        assert 0 < info.max_output_tokens <= info.context_window
        assert info.price is not None, f"{info.id} has no price"
        assert min(info.price.input, info.price.output) > 0, info.id
        assert info.price.cached_input is None or info.price.cached_input <= info.price.input
        assert info.tools, f"{info.id}: every listed chat model calls tools"
        assert not info.reasoning or info.reasoning_levels, f"{info.id} reasons: say how"
        assert provider.claims_model(info.id), f"{info.id} would not route to {provider.name}"
    assert len({info.id for info in table.models}) == len(table.models)
    assert table.sources
    for source in table.sources:
        assert re.fullmatch(r"https://\S+ \(read \d{4}-\d{2}-\d{2}\)", source), source


@pytest.mark.parametrize(
    ("provider", "model", "reads", "cannot"),
    [
        (MistralProvider, "mistral-small-2609", "image", "audio"),
        (MistralProvider, "voxtral-mini-2611", "audio", "image"),
        (MistralProvider, "magistral-medium-2612", "text", "pdf"),
        (DipseekProvider, "deepseek-v5-flash", "text", "image"),
        (GeminiProvider, "gemini-4.0-ultra", "video", None),
    ],
)
def test_an_unlisted_model_is_guessed_from_its_family_and_left_unpriced(
    provider: type[BaseProvider], model: str, reads: str, cannot: str | None
) -> None:
    info = provider.model_info(model)
    assert (info.id, info.known, info.price) == (model, False, None)
    assert info.reads(reads)  # type: ignore[arg-type]
    if cannot is not None:
        assert not info.reads(cannot)  # type: ignore[arg-type]
    assert info.cost(Usage(1000, 1000, 2000)) is None
    assert "guessed" in info.note


def test_a_model_no_family_matches_reads_text_only() -> None:
    info = MistralProvider.model_info("something-new")
    assert info.inputs == {"text"}
    assert info.price is None
    assert not info.known


@pytest.mark.parametrize(
    ("price", "usage", "expected"),
    [
        # 1,000 in, 500 out at $1/$2 per million.
        (Price(1.0, 2.0), Usage(1000, 500, 1500), 0.002),
        # 800 of 1,000 prompt tokens from the cache at $0.1.
        (Price(1.0, 2.0, cached_input=0.1), Usage(1000, 500, 1500, cached_tokens=800), 0.00128),
        # No cache price published: cached tokens cost the input price.
        (Price(1.0, 2.0), Usage(1000, 500, 1500, cached_tokens=800), 0.002),
        # Over the long-context threshold, the long prices apply to the whole call.
        (
            Price(1.25, 10.0, 0.125, long_above=200_000, long=Price(2.5, 15.0, 0.25)),
            Usage(250_000, 1_000, 251_000),
            0.64,
        ),
        (
            Price(1.25, 10.0, 0.125, long_above=200_000, long=Price(2.5, 15.0, 0.25)),
            Usage(200_000, 1_000, 201_000),
            0.26,
        ),
    ],
)
def test_cost_follows_the_price_and_the_usage(price: Price, usage: Usage, expected: float) -> None:
    assert price.cost(usage) == pytest.approx(expected)


def test_no_token_counts_means_no_cost() -> None:
    assert Price(1.0, 2.0).cost(Usage()) is None
    assert Price(1.0, 2.0).cost(Usage(prompt_tokens=10)) is None


def test_deepseek_cache_hits_are_priced_from_the_usage_it_reports() -> None:
    # deepseek-chat: $0.14 a miss, $0.0028 a hit, $0.28 out (as the plugin notes).
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000, cached_tokens=500_000)
    assert DipseekProvider.model_info("deepseek-chat").cost(usage) == pytest.approx(
        0.5 * 0.14 + 0.5 * 0.0028 + 0.28
    )


async def _costs(url: str) -> list[tuple[str, float | None]]:
    async with store_from_url(url) as store:
        rows = await store.fetch(
            "SELECT q.model, r.cost_usd FROM requests q JOIN responses r ON r.request_id = q.id"
            " ORDER BY q.created_at"
        )
    return [(row["model"], row["cost_usd"]) for row in rows]


async def test_a_reply_carries_its_cost_and_the_log_keeps_it(database_url: str) -> None:
    async with scripted_hub(database_url) as (hub, _provider):
        # fake-small: 3 prompt and 2 completion tokens at $1/$2 per million.
        reply = await hub.reply(1, "hello")
        assert reply.cost == pytest.approx(7e-6)
        async with hub.stream_reply(2, "hello", "fake-large") as stream:
            assert "".join([piece async for piece in stream]) == "echo: hello"
        assert stream.reply is not None
        # Streamed usage: 1 prompt and 2 completion tokens at $10/$20 per million.
        assert stream.reply.cost == pytest.approx(5e-5)
        unlisted = await hub.reply(3, "hello", "fake-next")
        assert unlisted.text == "echo: hello"
        assert unlisted.cost is None
    costs = await _costs(database_url)
    assert [model for model, _ in costs] == ["fake-small", "fake-large", "fake-next"]
    assert costs[0][1] == pytest.approx(7e-6)
    assert costs[1][1] == pytest.approx(5e-5)
    assert costs[2][1] is None


async def test_a_file_the_model_cannot_read_names_the_models_that_can(tmp_path: Path) -> None:
    registry = ProviderRegistry(
        {"MISTRAL_API_KEY": "k"}, plugins=[plugin_offering(ScriptedProvider, MistralProvider)]
    )
    settings = HubSettings(default_model="fake-small")
    async with Hub(registry, store_from_url(f"sqlite:///{tmp_path / 'f.db'}"), settings) as hub:
        await hub.store.open()
        with pytest.raises(UnsupportedInputError) as caught:
            await hub.generate_reply(1, "hear it", attachments=[Attachment(b"OggS", "audio/ogg")])
        fake = registry.get("fake")
        assert isinstance(fake, ScriptedProvider)
        assert fake.requests == []
        assert await hub.store.recent_exchanges() == []
    error = caught.value
    assert error.input_kind == "audio"
    assert error.capable_models == ["mistral/voxtral-small-latest", "mistral/voxtral-mini-latest"]
    assert str(error) == (
        "fake: files of type audio/ogg are not accepted; models that do:"
        " mistral/voxtral-small-latest, mistral/voxtral-mini-latest"
    )


async def test_capable_models_come_from_every_configured_provider(tmp_path: Path) -> None:
    registry = ProviderRegistry({"MISTRAL_API_KEY": "k", "DIPSEEK_API_KEY": "k"})
    pdf_readers = registry.models_reading("pdf")
    assert "mistral/mistral-medium-latest" in pdf_readers
    assert not any(m.startswith("dipseek/") for m in pdf_readers)
    assert not any(m.startswith("gemini/") for m in pdf_readers)  # not configured
    assert registry.models_reading("audio") == [
        "mistral/voxtral-small-latest",
        "mistral/voxtral-mini-latest",
    ]


def test_the_log_column_exists_after_migrating_a_version_2_database(tmp_path: Path) -> None:
    from llmhub.store._migrations import MIGRATIONS

    db = tmp_path / "v2.db"
    with closing(sqlite3.connect(db)) as conn, conn:
        for migration in MIGRATIONS[:2]:
            for statement in migration.statements("sqlite"):
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 2")
        conn.execute(
            "INSERT INTO requests (id, chat_id, provider, model, prompt, created_at)"
            " VALUES ('old', '1', 'fake', 'fake-small', 'kept', 1.0)"
        )
        conn.execute(
            "INSERT INTO responses (request_id, status, text, created_at)"
            " VALUES ('old', 'ok', 'kept too', 2.0)"
        )

    async def upgrade() -> list[dict[str, object]]:
        async with store_from_url(f"sqlite:///{db}") as store:
            assert await store.schema_version() == SCHEMA_VERSION
            return await store.fetch(
                "SELECT q.prompt, q.first_request_id, r.text, r.cost_usd FROM requests q"
                " JOIN responses r ON r.request_id = q.id"
            )

    import asyncio

    assert asyncio.run(upgrade()) == [
        {"prompt": "kept", "first_request_id": None, "text": "kept too", "cost_usd": None}
    ]


@pytest.mark.parametrize(
    ("provider", "model", "takes", "refuses"),
    [
        (MistralProvider, "magistral-medium-latest", ["off", "high"], ["low", 1024]),
        (MistralProvider, "mistral-small-latest", ["off", "high"], ["medium"]),
        (MistralProvider, "codestral-latest", [], ["off", "high"]),
        (DipseekProvider, "deepseek-v4-flash", ["off", "low", "medium", "high"], [2048]),
        (DipseekProvider, "deepseek-chat", ["off"], ["high"]),
        (GeminiProvider, "gemini-2.5-flash", ["off", "low", "high", 1024], []),
        (GeminiProvider, "gemini-2.5-pro", ["low", "high", 4096], ["off"]),
        (GeminiProvider, "gemini-2.0-flash", [], ["off", "low", 1024]),
    ],
)
def test_the_catalogue_says_which_reasoning_values_each_model_takes(
    provider: type[BaseProvider], model: str, takes: list[str | int], refuses: list[str | int]
) -> None:
    info = provider.model_info(model)
    for value in takes:
        assert info.takes_reasoning(value), (model, value)
    for value in refuses:
        assert not info.takes_reasoning(value), (model, value)
    assert not info.takes_reasoning(True)  # a bool is no budget


def test_the_catalogue_says_which_models_embed_and_which_follow_a_schema() -> None:
    assert MistralProvider.catalogue.embedding_models() == ["mistral-embed", "codestral-embed"]
    assert "gemini-embedding-001" in GeminiProvider.catalogue.embedding_models()
    assert DipseekProvider.catalogue.embedding_models() == []
    assert "mistral-embed" not in MistralProvider.catalogue.reading("text")
    assert MistralProvider.model_info("mistral-large-latest").structured_output
    assert not DipseekProvider.model_info("deepseek-v4-pro").structured_output
    shown = MistralProvider.model_info("mistral-embed").as_dict()
    assert shown["embeds"] is True
    assert shown["tools"] is False
