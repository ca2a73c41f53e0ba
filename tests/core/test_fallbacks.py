"""Fallbacks: another model answers when a provider is unavailable, each attempt
logged and linked to the first; and the circuit breaker that skips a failing provider."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from llmhub import (
    Attachment,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ContentBlockedError,
    Hub,
    LLMHubError,
    ModelTable,
    Price,
    ProviderRegistry,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
    StreamInterruptedError,
    model_entry,
)
from llmhub._breaker import CircuitBreaker
from llmhub._settings import HubSettings
from llmhub.store import store_from_url
from llmhub.testing import ScriptedProvider, plugin_offering


class SpareProvider(ScriptedProvider):
    """A second scripted provider: text only, its own models."""

    name = "spare"
    model_prefixes = ("spare-",)
    catalogue = ModelTable(
        models=(
            model_entry("spare-1", context=4096, output=512, inputs=("text",), price=Price(1, 1)),
        ),
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def two_providers(
    url: str, **settings: Any
) -> AsyncIterator[tuple[Hub, ScriptedProvider, ScriptedProvider]]:
    config = HubSettings(**{"default_model": "fake-small", "database_url": url, **settings})
    registry = ProviderRegistry(
        {}, plugins=[plugin_offering(ScriptedProvider, SpareProvider)], settings=config
    )
    store = store_from_url(url)
    await store.open()
    async with Hub(registry, store, config) as hub:
        fake, spare = registry.get("fake"), registry.get("spare")
        assert isinstance(fake, ScriptedProvider)
        assert isinstance(spare, SpareProvider)
        yield hub, fake, spare


async def _rows(hub: Hub) -> list[dict[str, Any]]:
    return await hub.store.fetch(
        "SELECT q.id, q.provider, q.model, q.first_request_id, r.status, r.text, r.error_type"
        " FROM requests q LEFT JOIN responses r ON r.request_id = q.id ORDER BY q.id"
    )


async def test_an_unavailable_provider_falls_back_and_every_attempt_is_logged(
    database_url: str,
) -> None:
    async with two_providers(database_url) as (hub, fake, spare):
        fake.error = ProviderUnavailableError("503 Service Unavailable", provider="fake")
        reply = await hub.reply(1, "hello", fallbacks=["spare-1"])
        rows = await _rows(hub)
    assert (reply.text, reply.provider, reply.model) == ("echo: hello", "spare", "spare-1")
    assert reply.fell_back
    [attempt] = reply.attempts
    assert (attempt.provider, attempt.model, attempt.outcome) == (
        "fake",
        "fake-small",
        "unavailable",
    )
    assert "503 Service Unavailable" in attempt.error
    assert not attempt.skipped
    assert len(fake.requests) == 1
    assert len(spare.requests) == 1
    first, second = rows
    assert attempt.request_id == first["id"]
    assert (first["provider"], first["status"], first["first_request_id"]) == (
        "fake",
        "error",
        None,
    )
    assert first["error_type"] == "ProviderUnavailableError"
    assert second["id"] == f"{first['id']}.1"
    assert (second["provider"], second["status"], second["text"]) == ("spare", "ok", "echo: hello")
    assert second["first_request_id"] == first["id"]


@pytest.mark.parametrize(
    "error",
    [
        ProviderTimeoutError("no answer in 600 s"),
        RateLimitError("429 Too Many Requests", retry_after=120),
        ProviderUnavailableError("connection refused"),
    ],
    ids=["timeout", "rate-limited", "refused"],
)
async def test_each_kind_of_unavailability_falls_back(tmp_path: Path, error: LLMHubError) -> None:
    async with two_providers(f"sqlite:///{tmp_path / 'u.db'}") as (hub, fake, _spare):
        fake.error = error
        reply = await hub.reply(1, "hello", fallbacks=["spare-1"])
    assert reply.provider == "spare"
    assert reply.attempts[0].outcome in ("timeout", "rate_limited", "unavailable")


@pytest.mark.parametrize(
    "error",
    [
        BadRequestError("400: messages: field required"),
        AuthenticationError("401: invalid key"),
        ContentBlockedError("withheld: SAFETY"),
    ],
    ids=["bad-request", "authentication", "blocked"],
)
async def test_errors_the_caller_must_see_do_not_fall_back(
    tmp_path: Path, error: LLMHubError
) -> None:
    async with two_providers(f"sqlite:///{tmp_path / 'n.db'}") as (hub, fake, spare):
        fake.error = error
        with pytest.raises(type(error)):
            await hub.reply(1, "hello", fallbacks=["spare-1"])
        assert spare.requests == []
        assert len(await _rows(hub)) == 1


async def test_when_every_model_fails_the_last_error_is_raised_naming_the_others(
    tmp_path: Path,
) -> None:
    async with two_providers(f"sqlite:///{tmp_path / 'a.db'}") as (hub, fake, spare):
        fake.error = ProviderUnavailableError("fake is down")
        spare.error = ProviderTimeoutError("spare is slow")
        with pytest.raises(ProviderTimeoutError) as caught:
            await hub.reply(1, "hello", fallbacks=["spare-1"])
        rows = await _rows(hub)
    assert [(a.provider, a.outcome) for a in caught.value.attempts] == [("fake", "unavailable")]
    assert caught.value.request_id == rows[1]["id"]
    assert [row["status"] for row in rows] == ["error", "error"]


async def test_the_configured_chain_applies_unless_the_call_names_its_own(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    async with two_providers(url, fallbacks="spare-1, fake-large") as (hub, fake, spare):
        fake.error = ProviderUnavailableError("down")
        assert (await hub.reply(1, "one")).provider == "spare"
        spare.error = ProviderUnavailableError("down too")
        with pytest.raises(ProviderUnavailableError):  # fake-large is the same provider
            await hub.reply(1, "two")
        assert [r.model for r in fake.requests] == ["fake-small", "fake-small", "fake-large"]
        with pytest.raises(ProviderUnavailableError):
            await hub.reply(1, "three", fallbacks=[])
        assert len(spare.requests) == 2


async def test_a_fallback_naming_no_model_is_a_clear_error(tmp_path: Path) -> None:
    async with two_providers(f"sqlite:///{tmp_path / 'x.db'}") as (hub, fake, _spare):
        with pytest.raises(ConfigurationError, match="fallback model 'gpt-nothing'"):
            await hub.reply(1, "hello", fallbacks=["gpt-nothing"])
        assert fake.requests == []


async def test_a_fallback_that_cannot_read_the_file_is_passed_over(tmp_path: Path) -> None:
    async with two_providers(f"sqlite:///{tmp_path / 'f.db'}") as (hub, fake, spare):
        fake.error = ProviderUnavailableError("down")
        with pytest.raises(ProviderUnavailableError) as caught:
            await hub.reply(
                1, "see", attachments=[Attachment(b"png", "image/png")], fallbacks=["spare-1"]
            )
        rows = await _rows(hub)
    assert spare.requests == []  # spare-1 reads no images: never asked
    # The error raised is fake-small's; `attempts` names the other model and why.
    assert [(a.provider, a.outcome) for a in caught.value.attempts] == [("spare", "cannot_read")]
    assert rows[1]["error_type"] == "UnsupportedInputError"


async def test_a_stream_falls_back_before_its_first_piece(database_url: str) -> None:
    async with two_providers(database_url) as (hub, fake, _spare):
        fake.error = StreamInterruptedError("connection closed before the first event")
        async with hub.stream_reply(1, "hello", fallbacks=["spare-1"]) as stream:
            text = "".join([piece async for piece in stream])
        rows = await _rows(hub)
    assert text == "echo: hello"
    assert stream.reply is not None
    assert (stream.reply.provider, stream.reply.attempts[0].provider) == ("spare", "fake")
    assert stream.request_id == rows[1]["id"]
    assert [(r["provider"], r["status"]) for r in rows] == [("fake", "error"), ("spare", "ok")]


async def test_a_stream_never_falls_back_once_a_piece_was_shown(tmp_path: Path) -> None:
    async with two_providers(f"sqlite:///{tmp_path / 's.db'}") as (hub, fake, spare):
        fake.chunks = ["half", "an answer"]
        fake.fail_after_chunks = StreamInterruptedError("connection reset")
        pieces: list[str] = []
        with pytest.raises(StreamInterruptedError):
            async with hub.stream_reply(1, "hello", fallbacks=["spare-1"]) as stream:
                async for piece in stream:
                    pieces.append(piece)
        rows = await _rows(hub)
    assert pieces == ["half", " an answer"]
    assert spare.requests == []
    assert [(r["status"], r["text"]) for r in rows] == [("error", "half an answer")]


async def test_the_circuit_opens_after_failures_in_a_row_then_one_call_probes(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with two_providers(f"sqlite:///{tmp_path / 'b.db'}") as (hub, fake, spare):
        hub.breaker = CircuitBreaker(failures=2, cooldown=30, clock=clock)
        fake.error = ProviderUnavailableError("down")
        for prompt in ("one", "two"):
            assert (await hub.reply(1, prompt, fallbacks=["spare-1"])).provider == "spare"
        assert len(fake.requests) == 2

        # Open: fake is passed over without a request.
        reply = await hub.reply(1, "three", fallbacks=["spare-1"])
        assert len(fake.requests) == 2
        [skipped] = reply.attempts
        assert (skipped.outcome, skipped.skipped) == ("circuit_open", True)
        assert "tried again in 30 s" in skipped.error

        # After the cool-down one call probes; it fails, and the circuit opens again.
        clock.now += 31
        await hub.reply(1, "four", fallbacks=["spare-1"])
        assert len(fake.requests) == 3
        await hub.reply(1, "five", fallbacks=["spare-1"])
        assert len(fake.requests) == 3

        # The next probe is answered: fake is used again.
        clock.now += 31
        fake.error = None
        assert (await hub.reply(1, "six", fallbacks=["spare-1"])).provider == "fake"
        assert (await hub.reply(1, "seven", fallbacks=["spare-1"])).provider == "fake"
        assert len(spare.requests) == 5


async def test_only_one_call_probes_a_provider_after_its_cool_down(tmp_path: Path) -> None:
    clock = Clock()
    async with two_providers(f"sqlite:///{tmp_path / 'p.db'}") as (hub, fake, _spare):
        hub.breaker = CircuitBreaker(failures=1, cooldown=10, clock=clock)
        fake.error = ProviderUnavailableError("down")
        await hub.reply(1, "open it", fallbacks=["spare-1"])
        clock.now += 11
        fake.error = None
        fake.gate = asyncio.Event()
        probe = asyncio.create_task(hub.reply(1, "probe", fallbacks=["spare-1"]))
        await fake.at_gate.wait()
        other = await hub.reply(2, "meanwhile", fallbacks=["spare-1"])
        assert other.provider == "spare"  # the probe is under way: others go on skipping
        fake.gate.set()
        assert (await probe).provider == "fake"
        assert (await hub.reply(2, "after", fallbacks=["spare-1"])).provider == "fake"


async def test_an_open_circuit_without_fallbacks_fails_at_once_and_logs_why(
    tmp_path: Path,
) -> None:
    async with two_providers(f"sqlite:///{tmp_path / 'o.db'}") as (hub, fake, _spare):
        hub.breaker = CircuitBreaker(failures=1, cooldown=60, clock=Clock())
        fake.error = ProviderUnavailableError("down")
        with pytest.raises(ProviderUnavailableError, match="down"):
            await hub.reply(1, "one")
        with pytest.raises(ProviderUnavailableError, match="skipped: it failed 1 times"):
            await hub.reply(1, "two")
        assert len(fake.requests) == 1
        rows = await _rows(hub)
    assert [r["status"] for r in rows] == ["error", "error"]
