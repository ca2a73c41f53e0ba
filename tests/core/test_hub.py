"""`Hub.generate_reply` and its streaming twin: validation, context, logging."""

from __future__ import annotations

import gc
import sqlite3
import warnings
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from llmhub import (
    Attachment,
    EmptyPromptError,
    GenerationOptions,
    Hub,
    ModelNotFoundError,
    Prompt,
    PromptTooLongError,
    ProviderRegistry,
    ProviderUnavailableError,
    StreamInterruptedError,
    UnsupportedInputError,
)
from llmhub.testing import scripted_hub


def _rows(db: Path) -> list[tuple[str, str, str]]:
    with closing(sqlite3.connect(db)) as conn, conn:
        return conn.execute(
            "SELECT q.prompt, r.status, r.text FROM requests q"
            " LEFT JOIN responses r ON r.request_id = q.id ORDER BY q.rowid"
        ).fetchall()


@pytest.mark.parametrize(
    ("prompt", "kwargs", "error"),
    [
        ("   ", {}, EmptyPromptError),
        ("x" * 101, {}, PromptTooLongError),
        ("hi", {"model": "nobody-knows"}, ModelNotFoundError),
        ("hi", {"attachments": [Attachment(b"x" * 2000, "image/png")]}, UnsupportedInputError),
        ("hi", {"attachments": [Attachment(b"%PDF", "application/pdf")]}, UnsupportedInputError),
    ],
)
async def test_bad_input_is_refused_and_nothing_sent_or_logged(
    tmp_path: Path, prompt: str, kwargs: dict[str, object], error: type[Exception]
) -> None:
    settings: dict[str, Any] = {"max_prompt_chars": 100}
    async with scripted_hub(f"sqlite:///{tmp_path / 'v.db'}", **settings) as (hub, provider):
        with pytest.raises(error):
            await hub.generate_reply(1, prompt, **kwargs)  # type: ignore[call-overload]
    assert provider.requests == []
    assert _rows(tmp_path / "v.db") == []


async def test_earlier_turns_are_sent_as_context_until_reset(tmp_path: Path) -> None:
    async with scripted_hub(f"sqlite:///{tmp_path / 'c.db'}") as (hub, provider):
        await hub.generate_reply(1, "first")
        await hub.generate_reply(2, "other chat")
        await hub.generate_reply(1, "second", system="be brief")
        sent = provider.requests[-1].messages
        assert [(m.role, m.content) for m in sent] == [
            ("system", "be brief"),
            ("user", "first"),
            ("assistant", "echo: first"),
            ("user", "second"),
        ]
        assert (await hub.context_info(1)).turns == 2
        await hub.reset_context(1)
        assert (await hub.context_info(1)).turns == 0
        await hub.generate_reply(1, "third")
        assert [m.content for m in provider.requests[-1].messages] == ["third"]


async def test_a_regeneration_replaces_its_turn_once_answered(database_url: str) -> None:
    async with scripted_hub(database_url) as (hub, provider):
        await hub.generate_reply(1, "first")
        second = await hub.reply(1, "second")
        provider.reply = lambda request: "a better second"
        again = Prompt(1, "second", replaces=second.request_id, request_id="again-1")
        # A failure replaces nothing: the chat keeps the answer it had.
        provider.error = ProviderUnavailableError("down")
        with pytest.raises(ProviderUnavailableError):
            await hub.reply(again)
        sent = [m.content for m in provider.requests[-1].messages]
        assert sent == ["first", "echo: first", "second"]  # not the answer it replaces
        assert [t.reply for t in await hub.store.recent_turns("1", 10, 10_000)] == [
            "echo: first",
            "echo: second",
        ]
        provider.error = None
        reply = await hub.reply(again)
        assert reply.text == "a better second"
        await hub.generate_reply(1, "third")
        sent = [m.content for m in provider.requests[-1].messages]
        assert sent == ["first", "echo: first", "second", "a better second", "third"]
        assert len(await hub.store.recent_exchanges(chat_id="1")) == 4  # the log keeps all


async def test_context_is_bounded_by_turns_and_characters(tmp_path: Path) -> None:
    settings: dict[str, Any] = {"context_turns": 3, "context_chars": 40}
    async with scripted_hub(f"sqlite:///{tmp_path / 'b.db'}", **settings) as (hub, provider):
        for i in range(6):
            await hub.generate_reply(1, f"turn {i}")  # each turn: 6 + 12 characters
        sent = [m.content for m in provider.requests[-1].messages]
    assert sent[-1] == "turn 5"
    assert len(sent) == 5  # two earlier turns fit in 40 characters, plus the prompt
    assert sent[:4] == ["turn 3", "echo: turn 3", "turn 4", "echo: turn 4"]


async def test_the_chat_model_then_the_default_is_used(tmp_path: Path) -> None:
    async with scripted_hub(f"sqlite:///{tmp_path / 'm.db'}") as (hub, provider):
        await hub.generate_reply(1, "a")
        assert provider.requests[-1].model == "fake-small"
        await hub.set_chat_model(1, "fake/fake-large")
        await hub.generate_reply(1, "b", options=GenerationOptions(temperature=0.2))
        assert provider.requests[-1].model == "fake-large"
        assert provider.requests[-1].options.temperature == 0.2
        with pytest.raises(ModelNotFoundError):
            await hub.set_chat_model(1, "nobody-knows")


async def test_an_unexpected_provider_exception_becomes_an_llmhub_error(tmp_path: Path) -> None:
    async with scripted_hub(f"sqlite:///{tmp_path / 'u.db'}") as (hub, provider):
        provider.error = KeyError("bug")
        with pytest.raises(ProviderUnavailableError, match="unexpected KeyError"):
            await hub.generate_reply(1, "hi")
    assert _rows(tmp_path / "u.db") == [("hi", "error", "")]


async def test_a_stream_is_logged_whole_at_the_end(tmp_path: Path) -> None:
    async with (
        scripted_hub(f"sqlite:///{tmp_path / 's.db'}") as (hub, _),
        hub.stream_reply(1, "one two three") as stream,
    ):
        pieces = [piece async for piece in stream]
    assert "".join(pieces) == "echo: one two three"
    assert len(pieces) == 4
    assert stream.reply is not None
    assert stream.reply.usage.total_tokens == 3
    assert _rows(tmp_path / "s.db") == [("one two three", "ok", "echo: one two three")]


async def test_a_stream_stopped_early_logs_what_arrived_as_cancelled(tmp_path: Path) -> None:
    async with (
        scripted_hub(f"sqlite:///{tmp_path / 'e.db'}") as (hub, _),
        hub.stream_reply(1, "one two three") as stream,
    ):
        async for _ in stream:
            break
    assert _rows(tmp_path / "e.db") == [("one two three", "cancelled", "echo:")]


async def test_a_broken_stream_logs_the_partial_text_and_the_error(tmp_path: Path) -> None:
    async with scripted_hub(f"sqlite:///{tmp_path / 'x.db'}") as (hub, provider):
        provider.chunks = ["Hello", "wor"]
        provider.fail_after_chunks = StreamInterruptedError("cut", provider="fake")
        received: list[str] = []
        with pytest.raises(StreamInterruptedError) as info:
            async for piece in hub.stream_reply(1, "hi"):
                received.append(piece)
    assert received == ["Hello", " wor"]
    assert info.value.request_id is not None
    assert _rows(tmp_path / "x.db") == [("hi", "error", "Hello wor")]


async def test_a_cancelled_default_hub_open_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    import llmhub
    from llmhub import Hub, _default

    real_open = Hub._open  # what the default hub awaits
    attempts = 0

    async def cancelled_once(*args: object, **kwargs: object) -> Hub:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise asyncio.CancelledError
        return await real_open()

    monkeypatch.setattr(Hub, "_open", cancelled_once)
    with pytest.raises(asyncio.CancelledError):
        await _default.get_default_hub()
    hub = await llmhub.get_default_hub()
    assert isinstance(hub, Hub)
    assert attempts == 2


async def test_concurrent_chats_each_get_only_their_own_context(tmp_path: Path) -> None:
    import asyncio

    async with scripted_hub(f"sqlite:///{tmp_path / 'many.db'}") as (hub, provider):
        chats = [f"chat-{i}" for i in range(10)]
        for round_ in range(3):  # each round's context reads share batches
            await asyncio.gather(*(hub.generate_reply(c, f"{c} says {round_}") for c in chats))
    for chat in chats:
        [request] = [r for r in provider.requests if r.messages[-1].content == f"{chat} says 2"]
        assert [m.content for m in request.messages] == [
            f"{chat} says 0",
            f"echo: {chat} says 0",
            f"{chat} says 1",
            f"echo: {chat} says 1",
            f"{chat} says 2",
        ]


def test_a_hub_dropped_without_aclose_warns_naming_it() -> None:
    from llmhub import HubSettings
    from llmhub.store import store_from_url

    def forget_a_hub() -> None:
        Hub(ProviderRegistry({}), store_from_url("sqlite:///:memory:"), HubSettings())

    with pytest.warns(ResourceWarning, match=r"unclosed <llmhub.Hub providers=.*aclose\(\)"):
        forget_a_hub()


async def test_a_closed_hub_says_nothing_when_dropped(tmp_path: Path) -> None:
    async with await Hub.open({"LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"}) as hub:
        assert hub.registry is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        del hub
        gc.collect()


async def test_request_ids_sort_in_the_order_the_calls_were_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids in time order are appended at the end of the store's index; random ones
    would land anywhere in it (more pages written per commit)."""
    clock = iter([1_000_000_000_000, 1_000_000_000_000, 1_000_002_000_000, 3_000_000_000_000])
    monkeypatch.setattr("llmhub._hub.time_ns", lambda: next(clock))
    ids = []
    async with scripted_hub(f"sqlite:///{tmp_path / 'ids.db'}") as (hub, _):
        for prompt in ["one", "two", "three", "four"]:
            reply = await hub.reply(1, prompt)
            assert reply.request_id is not None
            ids.append(reply.request_id)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids[0] != ids[1]  # the same millisecond still gives two ids
    assert max(ids[:2]) < ids[2] < ids[3]


async def test_one_name_per_operation_takes_fields_or_a_prompt_and_the_old_names_warn() -> None:
    async with scripted_hub() as (hub, _):
        built = Prompt(1, "built", request_id="p-1", user_id=5)
        assert (await hub.reply(built)).request_id == "p-1"
        async with hub.stream_reply(Prompt(1, "streamed")) as stream:
            assert "".join([piece async for piece in stream]) == "echo: streamed"
        same = await hub.reply(1, "fields", request_id="p-2", user_id=5, context=False)
        assert same.request_id == "p-2"
        with pytest.raises(TypeError, match="pass it alone"):
            await hub.reply(built, "extra")  # type: ignore[call-overload]
        with pytest.warns(DeprecationWarning, match="is Hub.reply"):
            assert (await hub.ask(Prompt(1, "old"))).text == "echo: old"
        with pytest.warns(DeprecationWarning, match="is Hub.stream_reply"):
            async with hub.stream(Prompt(1, "old stream")) as stream:
                assert [piece async for piece in stream]
