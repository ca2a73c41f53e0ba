"""The registry: first the two test cases of the plan (iteration 4), kept as
written there; then routing models to providers, and `list_all` surviving
broken providers."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace

import pytest

from llmhub import (
    BaseProvider,
    ChatRequest,
    HubSettings,
    ModelNotFoundError,
    NotConfiguredError,
    ProviderRegistry,
    ProviderTimeoutError,
    ProviderUnavailableError,
    Reply,
    StreamChunk,
    UnknownProviderError,
    generate_reply,
    hookimpl,
)
from llmhub.testing import ScriptedProvider, plugin_offering
from llmhub_dipseek import DipseekProvider
from llmhub_gemini import GeminiProvider
from llmhub_mistral import MistralProvider


async def test_list_models_aggregates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Case 1: `list_all` returns the union of the three providers' models."""

    async def gemini(self: GeminiProvider) -> list[str]:
        return ["gemini-pro"]

    async def mistral(self: MistralProvider) -> list[str]:
        return ["mistral-8x7b"]

    async def dipseek(self: DipseekProvider) -> list[str]:
        return ["dipseek-latest"]

    monkeypatch.setattr(GeminiProvider, "list_models", gemini)
    monkeypatch.setattr(MistralProvider, "list_models", mistral)
    monkeypatch.setattr(DipseekProvider, "list_models", dipseek)

    registry = ProviderRegistry()
    catalog = await registry.list_all()

    assert set(catalog) == {"gemini-pro", "mistral-8x7b", "dipseek-latest"}
    assert dict(catalog.by_provider) == {
        "dipseek": ("dipseek-latest",),
        "gemini": ("gemini-pro",),
        "mistral": ("mistral-8x7b",),
    }
    assert catalog.errors == {}


async def test_generate_reply_logs_request_and_response(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Case 2: `generate_reply` writes a `requests` row and its `responses` pair."""
    db = tmp_path / "schema-test.db"
    monkeypatch.setenv("LLMHUB_DATABASE_URL", f"sqlite:///{db}")

    async def stub(self: GeminiProvider, request: ChatRequest) -> Reply:
        return Reply(text="stub", model=request.model, provider="gemini")

    monkeypatch.setattr(GeminiProvider, "generate", stub)

    text = await generate_reply(chat_id=1, prompt="Hello", model="gemini-pro")

    assert text == "stub"
    with closing(sqlite3.connect(db)) as conn, conn:
        requests = conn.execute("SELECT id, model, prompt FROM requests").fetchall()
        responses = conn.execute("SELECT request_id, status, text FROM responses").fetchall()
    assert len(requests) == 1
    request_id, model, prompt = requests[0]
    assert (model, prompt) == ("gemini-pro", "Hello")
    assert responses == [(request_id, "ok", "stub")]


# -- beyond the plan ------------------------------------------------------------


class _Base(BaseProvider):
    async def generate(self, request: ChatRequest) -> Reply:
        raise NotImplementedError

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        raise NotImplementedError
        yield StreamChunk()


class Raising(_Base):
    name = "raising"

    async def list_models(self) -> list[str]:
        raise RuntimeError("boom")


class Hanging(_Base):
    name = "hanging"

    async def list_models(self) -> list[str]:
        await asyncio.Event().wait()
        return []


def test_unknown_provider_names_the_installed_ones() -> None:
    registry = ProviderRegistry()
    with pytest.raises(UnknownProviderError, match="installed: dipseek, gemini, mistral"):
        registry.get("openai")


def test_resolve_explicit_prefix_and_unknown() -> None:
    registry = ProviderRegistry()
    provider, model = registry.resolve("mistral/mistral-large-latest")
    assert (provider.name, model) == ("mistral", "mistral-large-latest")
    assert registry.resolve("gemini-2.5-flash")[0].name == "gemini"
    assert registry.resolve("deepseek-chat")[0].name == "dipseek"
    assert registry.resolve("codestral-latest")[0].name == "mistral"
    with pytest.raises(ModelNotFoundError, match="provider/model"):
        registry.resolve("gpt-4o")


async def test_models_seen_in_a_listing_route_to_their_provider() -> None:
    registry = ProviderRegistry({}, plugins=[plugin_offering(ScriptedProvider)])
    with pytest.raises(ModelNotFoundError):
        registry.resolve("odd-name")
    ScriptedProvider.models = ["odd-name"]
    try:
        await registry.list_all()
    finally:
        ScriptedProvider.models = ["fake-small", "fake-large"]
    assert registry.resolve("odd-name")[0].name == "fake"


async def test_a_listing_never_moves_a_name_its_naming_rule_claims() -> None:
    """Two providers list one id (a proxy lists another's models): a bare name still
    goes where its naming rule says, whether or not a listing ran before."""

    class Proxy(ScriptedProvider):
        name = "aggregator"
        model_prefixes = ()

    registry = ProviderRegistry({}, plugins=[plugin_offering(Proxy, ScriptedProvider)])
    assert registry.resolve("fake-small")[0].name == "fake"
    await registry.list_all()  # the proxy, listed first, lists fake-small too
    assert registry.resolve("fake-small")[0].name == "fake"


async def test_list_all_reports_raising_and_hanging_providers_beside_the_result() -> None:
    registry = ProviderRegistry(
        {},
        plugins=[plugin_offering(ScriptedProvider, Raising, Hanging)],
        settings=HubSettings(list_models_timeout=0.05),
    )

    catalog = await registry.list_all()

    assert set(catalog) == {"fake-small", "fake-large"}
    assert isinstance(catalog.errors["raising"], ProviderUnavailableError)
    assert "boom" in str(catalog.errors["raising"])
    assert isinstance(catalog.errors["hanging"], ProviderTimeoutError)


async def test_unconfigured_providers_are_listed_as_errors_not_raised() -> None:
    registry = ProviderRegistry({})
    catalog = await registry.list_all()
    assert list(catalog) == []
    assert isinstance(catalog.errors["mistral"], NotConfiguredError)
    assert "MISTRAL_API_KEY" in str(catalog.errors["mistral"])
    assert "GEMINI_PROJECT" in str(catalog.errors["gemini"])


def test_bad_plugins_are_reported_and_the_rest_kept() -> None:
    @hookimpl
    def raising_hook() -> list[type[BaseProvider]]:
        raise ValueError("plugin bug")

    broken = SimpleNamespace(llmhub_providers=raising_hook, __name__="broken")
    not_a_provider = plugin_offering(dict)  # type: ignore[arg-type]
    not_a_provider.__name__ = "wrong"
    duplicate = plugin_offering(ScriptedProvider)
    duplicate.__name__ = "duplicate"

    registry = ProviderRegistry(
        {}, plugins=[plugin_offering(ScriptedProvider), broken, not_a_provider, duplicate]
    )

    assert registry.names() == ["fake"]
    assert "plugin bug" in str(registry.failures["broken"])
    assert "not a BaseProvider" in str(registry.failures["wrong"])
    assert "already offered" in str(registry.failures["duplicate"])


def test_provider_repr_and_missing_env_hide_nothing_secret() -> None:
    registry = ProviderRegistry({"MISTRAL_API_KEY": "sk-very-secret-value-123"})
    provider = registry.get("mistral")
    assert provider.configured
    assert "sk-very-secret" not in repr(provider)
    assert "sk-very-secret" not in repr(provider.secret("MISTRAL_API_KEY"))
    info = {i.name: i for i in registry.info()}
    assert info["mistral"].configured
    assert not info["dipseek"].configured
    assert info["dipseek"].missing_env == ("DIPSEEK_API_KEY",)


def test_a_peer_name_is_read_when_ours_is_unset_and_ours_wins_when_both_are() -> None:
    from llmhub_dipseek import DipseekProvider

    alias_only = DipseekProvider({"DEEPSEEK_API_KEY": "sk-theirs"})
    assert alias_only.configured
    assert alias_only.secret("DIPSEEK_API_KEY").reveal() == "sk-theirs"  # type: ignore[union-attr]
    both = DipseekProvider({"DEEPSEEK_API_KEY": "sk-theirs", "DIPSEEK_API_KEY": "sk-ours"})
    assert both.secret("DIPSEEK_API_KEY").reveal() == "sk-ours"  # type: ignore[union-attr]
    assert DipseekProvider.read_from_aliases({"DIPSEEK_API_KEY": "sk-ours"}) == {}
