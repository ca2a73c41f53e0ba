"""`hub.chat(chat_id)`: one door for a chat's model, system prompt and context."""

from __future__ import annotations

import pytest

from llmhub import ModelNotFoundError
from llmhub.testing import scripted_hub


async def test_a_chats_model_is_chosen_checked_and_used(database_url: str) -> None:
    async with scripted_hub(database_url) as (hub, provider):
        chat = hub.chat("c1")
        assert (await chat.chosen_model(), await chat.model()) == (None, "fake-small")
        await chat.set_model("fake/fake-large")
        assert await chat.model() == "fake/fake-large"
        assert (
            await hub.chat("c1").chosen_model() == "fake/fake-large"
        )  # the store's, not the object's
        await hub.generate_reply("c1", "hi")
        assert provider.requests[-1].model == "fake-large"
        for unknown in ("nobody/model", "no-such-model"):
            with pytest.raises(ModelNotFoundError):
                await chat.set_model(unknown)
        assert await chat.chosen_model() == "fake/fake-large"  # a refused choice changes nothing
        await chat.set_model(None)
        assert await chat.model() == "fake-small"


async def test_a_chats_system_prompt_is_sent_unless_the_prompt_brings_its_own(
    database_url: str,
) -> None:
    async with scripted_hub(database_url) as (hub, provider):
        chat = hub.chat(42)
        await chat.set_system("Answer like a pirate.")
        assert await chat.system() == "Answer like a pirate."
        await hub.generate_reply(42, "hi")
        assert provider.requests[-1].messages[0].content == "Answer like a pirate."
        await hub.generate_reply(42, "and now?", system="Answer like a judge.")
        assert provider.requests[-1].messages[0].content == "Answer like a judge."
        await hub.generate_reply(42, "a one-off", "fake-small", context=False)
        assert [m.role for m in provider.requests[-1].messages] == ["user"]  # goes with the context
        await hub.generate_reply("other", "hi")  # another chat has none
        assert [m.role for m in provider.requests[-1].messages] == ["user"]
        await chat.set_system("   ")  # blank clears
        assert await chat.system() is None
        await hub.generate_reply(42, "plain")
        assert provider.requests[-1].messages[0].role == "user"


async def test_a_chats_context_is_read_reset_and_exported(database_url: str) -> None:
    async with scripted_hub(database_url) as (hub, _):
        chat = hub.chat("c")
        assert await chat.last_turn() is None
        await hub.generate_reply("c", "one", user_id=5)
        reply = await hub.reply("c", "two", user_id=6)
        context = await chat.context()
        assert (context.turns, context.chars) == (2, len("oneecho: onetwoecho: two"))
        latest = await chat.last_turn()
        assert latest is not None
        assert (latest.prompt, latest.reply, latest.request_id) == (
            "two",
            "echo: two",
            reply.request_id,
        )
        assert await chat.author(latest.request_id) == 6
        assert await hub.chat("another").author(latest.request_id) is None
        assert [e.prompt for e in await chat.conversation()] == ["one", "two"]
        assert [e.prompt for e in await chat.exchanges(limit=1)] == ["two"]
        await chat.reset()
        assert (await chat.context()).turns == 0
        assert await chat.conversation() == []
        assert len(await chat.exchanges()) == 2  # the log keeps them
        assert repr(chat) == "<llmhub.Chat 'c'>"


async def test_forgetting_a_user_takes_their_rows_and_only_the_chats_named(
    database_url: str,
) -> None:
    async with scripted_hub(database_url) as (hub, _):
        await hub.generate_reply(7, "mine", user_id=7)
        await hub.generate_reply(-100, "in the group", user_id=7)
        await hub.generate_reply(-100, "someone else's", user_id=8)
        await hub.chat(7).set_system("private")
        await hub.chat(-100).set_system("the group's")
        assert await hub.forget_user(7, chats=[7]) == 2
        assert await hub.chat(7).system() is None
        assert await hub.chat(-100).system() == "the group's"
        assert [e.prompt for e in await hub.chat(-100).conversation()] == ["someone else's"]
        [stats] = await hub.usage_by_provider(0)
        assert stats.requests == 3  # the counts stay
