"""The real polling loop of `create_bot_and_dispatcher()` against a fake Bot API
server and a fake provider server, both on 127.0.0.1."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from llmhub.testing.openai_server import Behaviour
from llmhub_bot._access import AccessDecision
from tests.bot.conftest import ADMIN, MEMBER, STRANGER, World, open_world, rows, say, scrape, shown
from tests.fakes.telegram_server import FILES


async def test_a_conversation_with_context_and_a_fresh_start(world: World) -> None:
    [welcome] = await say(world, ADMIN, "/start")
    assert "mistral-small-latest" in welcome
    await world.dispatcher["chores"].tried.wait()
    assert world.tg.sent("setMyCommands")

    assert await say(world, ADMIN, "hello bot") == ["echo: hello bot"]
    assert world.tg.sent("sendMessageDraft", ADMIN)  # streamed while generating
    assert await say(world, ADMIN, "and again") == ["echo: and again"]
    assert [m["content"] for m in world.llm.requests[-1]["messages"]] == [
        "hello bot",
        "echo: hello bot",
        "and again",
    ]

    [context] = await say(world, ADMIN, "/context")
    assert "2 earlier turns" in context
    assert await say(world, ADMIN, "/new") == ["Started a new conversation."]
    await say(world, ADMIN, "fresh")
    assert [m["content"] for m in world.llm.requests[-1]["messages"]] == ["fresh"]
    assert rows(world.db)[:2] == [
        ("hello bot", "ok", "echo: hello bot"),
        ("and again", "ok", "echo: and again"),
    ]


async def test_a_stranger_waits_for_an_admin(world: World) -> None:
    [answer] = await say(world, STRANGER, "hi, who are you?")
    assert "Access requested" in answer
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) >= 1)
    request = world.tg.sent("sendMessage", ADMIN)[-1]
    assert "User7" in request["text"]
    buttons = request["reply_markup"]["inline_keyboard"][0]
    approve = AccessDecision(approve=True, user_id=STRANGER).pack()
    assert buttons[0]["callback_data"] == approve
    assert world.llm.requests == []  # nothing reached the provider

    [waiting] = await say(world, STRANGER, "still there?")
    assert "waiting" in waiting

    admin_message = world.tg._message(ADMIN, 500, request["text"])
    await world.tg.push(world.tg.callback(ADMIN, approve, admin_message))
    await world.tg.wait_for(lambda tg: any("approved" in t for t in tg.texts(STRANGER)))
    assert await say(world, STRANGER, "now?") == ["echo: now?"]


async def test_a_long_answer_arrives_in_several_messages(world: World) -> None:
    long_text = " ".join(f"word{i:04d}" for i in range(1100))  # about 10,000 characters
    world.llm.then(Behaviour(text=long_text))
    parts = await say(world, ADMIN, "write a lot", replies=3)
    assert len(parts) == 3
    assert all(len(p) <= 4096 for p in parts)
    assert "".join(parts) == long_text  # nothing lost or repeated at the cuts


async def test_flood_control_is_waited_out(world: World) -> None:
    world.tg.flood["sendMessage"] = 1
    await world.tg.push(world.tg.message(ADMIN, "hi"))
    await world.tg.wait_for(lambda tg: len(tg.sent("sendMessage", ADMIN)) >= 2)
    # the first answered 429 and was sent again after the wait, not dropped
    assert world.tg.texts(ADMIN) == ["echo: hi", "echo: hi"]
    samples = scrape(world.dispatcher["metrics"].exposition().decode())
    assert samples[("llmhub_bot_telegram_flood_waits_total", ())] == 1


async def test_a_provider_error_becomes_a_friendly_message(world: World) -> None:
    world.llm.then(Behaviour(status=503, body={"message": "overloaded"}))
    [answer] = await say(world, ADMIN, "hi", replies=1)
    assert answer == "The model is unavailable right now. Try again, or choose another model."
    await world.tg.wait_for(
        lambda tg: any("ProviderUnavailableError" in t for t in tg.texts(ADMIN))
    )
    report = next(t for t in world.tg.texts(ADMIN) if "ProviderUnavailableError" in t)
    assert "request:" in report
    assert "provider: mistral, model: mistral-small-latest" in report
    assert rows(world.db)[-1][1] == "error"
    samples = scrape(world.dispatcher["metrics"].exposition().decode())
    assert samples[("llmhub_bot_replies_total", (("outcome", "error"),))] == 1


async def test_groups_answer_only_when_addressed(world: World) -> None:
    group = -100
    await world.tg.push(world.tg.message(ADMIN, "just chatting", chat_id=group, chat_type="group"))
    await world.tg.push(
        world.tg.message(ADMIN, "@hub_test_bot what is up", chat_id=group, chat_type="group")
    )
    await world.tg.wait_for(lambda tg: "echo: what is up" in shown(tg, group))
    assert world.tg.sent("editMessageText", group)  # streamed by edits, not drafts
    assert not world.tg.sent("sendMessageDraft", group)
    other = -200  # one generation at a time per chat: ask in another group
    await world.tg.push(world.tg.message(ADMIN, "/ask tell me", chat_id=other, chat_type="group"))
    await world.tg.wait_for(lambda tg: "echo: tell me" in shown(tg, other))
    prompts = [r[0] for r in rows(world.db)]
    assert "what is up" in prompts
    assert "just chatting" not in prompts  # chatter is ignored and not logged


async def test_messages_sent_while_answering_wait_and_are_answered_in_order(
    world: World,
) -> None:
    """Telegram splits a long paste into several messages: none may be refused or lost."""
    world.llm.then(Behaviour(hang=True))
    await world.tg.push(
        world.tg.photo(ADMIN, "first", file_id="photo-1"),  # its download is awaited
        world.tg.message(ADMIN, "second"),
        world.tg.message(ADMIN, "third"),
    )
    await world.tg.wait_for(lambda tg: bool(tg.sent("getFile")))  # answering the first
    world.llm.release()
    await world.tg.wait_for(lambda tg: "echo: third" in tg.texts(ADMIN))
    answers = [t for t in world.tg.texts(ADMIN) if t.startswith("echo: ")]
    assert answers == ["echo: first", "echo: second", "echo: third"]
    # Each saw the ones before it: the third carries two earlier turns.
    sent = [m["content"] for m in world.llm.requests[-1]["messages"]]
    assert sent == ["first", "echo: first", "second", "echo: second", "third"]


async def test_past_the_queue_bound_the_user_is_told_and_nothing_is_sent(tmp_path: Path) -> None:
    async with open_world(tmp_path, bot_chat_queue_limit=2) as world:
        world.llm.then(Behaviour(hang=True))
        await world.tg.push(*(world.tg.message(ADMIN, f"part {i}") for i in range(4)))
        await world.tg.wait_for(lambda tg: "still waiting" in " ".join(tg.texts(ADMIN)))
        world.llm.release()
        await world.tg.wait_for(lambda tg: "echo: part 1" in tg.texts(ADMIN))
        texts = world.tg.texts(ADMIN)
        assert [t for t in texts if t.startswith("echo: ")] == ["echo: part 0", "echo: part 1"]
        refusals = [t for t in texts if "still waiting" in t]
        assert len(refusals) == 2  # parts 2 and 3, each told
        assert [r["messages"][-1]["content"] for r in world.llm.requests] == ["part 0", "part 1"]


async def test_a_photo_reaches_the_model_as_an_image(world: World) -> None:
    assert await say(world, ADMIN, "hi") == ["echo: hi"]  # text first: context carries text only
    await world.tg.push(world.tg.photo(ADMIN, "what is this?", file_id="photo-1"))
    await world.tg.wait_for(lambda tg: "echo: what is this?" in tg.texts(ADMIN))
    content = world.llm.requests[-1]["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "what is this?"}
    expected = "data:image/jpeg;base64," + base64.b64encode(FILES["photo-1"]).decode()
    assert content[1] == {"type": "image_url", "image_url": {"url": expected}}


async def test_a_mention_replying_to_another_message_sends_that_message_along(
    world: World,
) -> None:
    """ "@bot translate this" must see what "this" is: the message replied to (its text
    or caption, and its author) goes with the prompt; the bot's own answers do not."""
    group = -100777
    quoted = world.tg.message(MEMBER, "Bonjour tout le monde", chat_id=group, chat_type="group")
    await world.tg.push(quoted)  # group chatter: not for the bot
    ask = world.tg.message(
        ADMIN,
        "@hub_test_bot translate this",
        chat_id=group,
        chat_type="group",
        reply_to_message=quoted["message"],
    )
    await world.tg.push(ask)
    await world.tg.wait_for(lambda tg: bool(world.llm.requests))
    sent = world.llm.requests[-1]["messages"][-1]["content"]
    assert sent == f"> User{MEMBER}: Bonjour tout le monde\n\ntranslate this"
    await world.tg.wait_for(lambda tg: any("translate this" in t for t in shown(tg, group)))

    # A reply to the bot's own answer carries no quote: the answer is in the context.
    answer = world.tg.sent("sendMessage", group)[-1]
    mine = world.tg._message(group, answer["_message_id"], str(answer["text"]))
    mine["from"] = {"id": 4242, "is_bot": True, "first_name": "Hub", "username": "hub_test_bot"}
    follow = world.tg.message(
        ADMIN,
        "@hub_test_bot and in German?",
        chat_id=group,
        chat_type="group",
        reply_to_message=mine,
    )
    await world.tg.push(follow)
    await world.tg.wait_for(lambda tg: len(world.llm.requests) == 2)
    assert world.llm.requests[-1]["messages"][-1]["content"] == "and in German?"


async def test_each_forum_topic_is_a_conversation_of_its_own(world: World) -> None:
    """Answers go to the topic asked in, and a topic's context is its own: what was
    said in another topic of the same group is not sent, /new resets one topic."""
    forum = -100888

    async def ask(topic: int, text: str) -> list[dict[str, str]]:
        before = len(world.llm.requests)
        await world.tg.push(
            world.tg.message(
                ADMIN,
                f"/ask {text}",
                chat_id=forum,
                chat_type="supergroup",
                message_thread_id=topic,
                is_topic_message=True,
            )
        )
        await world.tg.wait_for(lambda tg: any(f"echo: {text}" in t for t in shown(tg, forum)))
        assert len(world.llm.requests) == before + 1
        return list(world.llm.requests[-1]["messages"])

    await ask(7, "first in seven")
    assert [m["content"] for m in await ask(9, "first in nine")] == ["first in nine"]
    context = [m["content"] for m in await ask(7, "second in seven")]
    assert context == ["first in seven", "echo: first in seven", "second in seven"]
    topics = {p.get("message_thread_id") for p in world.tg.sent("sendMessage", forum)}
    assert topics == {"7", "9"}  # every answer in its topic, none in "General"
    typing = {p.get("message_thread_id") for p in world.tg.sent("sendChatAction", forum)}
    assert typing == {"7", "9"}  # "typing…" too

    await world.tg.push(
        world.tg.message(
            ADMIN,
            "/new",
            chat_id=forum,
            chat_type="supergroup",
            message_thread_id=9,
            is_topic_message=True,
        )
    )
    await world.tg.wait_for(lambda tg: "Started a new conversation." in shown(tg, forum))
    assert (await world.hub.chat(f"{forum}:9").context()).turns == 0
    assert (await world.hub.chat(f"{forum}:7").context()).turns == 2


async def test_the_request_goes_in_the_admins_language_and_the_verdict_in_the_users(
    world: World,
) -> None:
    """A Russian admin, an English stranger: the admin reads the request in Russian,
    the stranger the verdict in English (they used to be crossed)."""
    assert await say(world, ADMIN, "привет", language="ru") == ["echo: привет"]  # known: ru
    await say(world, STRANGER, "hi, who are you?", language="en")
    await world.tg.wait_for(lambda tg: any("просит доступ" in t for t in tg.texts(ADMIN)))
    request = world.tg.sent("sendMessage", ADMIN)[-1]
    assert request["text"] == f"User{STRANGER} (id {STRANGER}) просит доступ."
    assert [b["text"] for row in request["reply_markup"]["inline_keyboard"] for b in row] == [
        "Одобрить",
        "Отклонить",
    ]
    approve = AccessDecision(approve=True, user_id=STRANGER).pack()
    admin_message = world.tg._message(ADMIN, 500, request["text"])
    await world.tg.push(world.tg.callback(ADMIN, approve, admin_message, language="ru"))
    await world.tg.wait_for(lambda tg: len(tg.texts(STRANGER)) == 2)
    assert world.tg.texts(STRANGER)[-1] == "Your access was approved. Send me a message!"


@pytest.mark.parametrize(
    ("language", "note"),
    [
        ("en", "ℹ️ Earlier messages are no longer sent to the model; /new starts afresh."),
        ("ru", "ℹ️ Ранние сообщения модели больше не отправляются; /new начинает заново."),
    ],
)
async def test_turns_dropped_from_the_context_are_announced_once(
    tmp_path: Path, language: str, note: str
) -> None:
    async with open_world(tmp_path, hub_env={"LLMHUB_CONTEXT_TURNS": "2"}) as world:
        answers = [(await say(world, ADMIN, f"m{i}", language=language))[0] for i in range(4)]
        # The third answer is the first whose next request leaves a turn out: said once.
        assert [note in a for a in answers] == [False, False, True, False]
        assert answers[2] == f"echo: m2\n\n{note}"
        await say(world, ADMIN, "/new")
        again = [(await say(world, ADMIN, f"n{i}", language=language))[0] for i in range(3)]
        assert [note in a for a in again] == [False, False, True]  # a new conversation
