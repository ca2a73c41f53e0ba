"""The real polling loop of `create_bot_and_dispatcher()` against a fake Bot API
server and a fake provider server, both on 127.0.0.1."""

from __future__ import annotations

import base64

from llmhub.testing.openai_server import Behaviour
from llmhub_bot._access import AccessDecision
from tests.bot.conftest import ADMIN, STRANGER, World, rows, say, shown
from tests.fakes.telegram_server import FILES


async def test_a_conversation_with_context_and_a_fresh_start(world: World) -> None:
    [welcome] = await say(world, ADMIN, "/start")
    assert "mistral-small-latest" in welcome
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


async def test_a_provider_error_becomes_a_friendly_message(world: World) -> None:
    world.llm.then(Behaviour(status=503, body={"message": "overloaded"}))
    [answer] = await say(world, ADMIN, "hi", replies=1)
    assert answer == "Something went wrong; the admins have been told. Try again later."
    await world.tg.wait_for(
        lambda tg: any("ProviderUnavailableError" in t for t in tg.texts(ADMIN))
    )
    report = next(t for t in world.tg.texts(ADMIN) if "ProviderUnavailableError" in t)
    assert "request:" in report
    assert "provider: mistral, model: mistral-small-latest" in report
    assert rows(world.db)[-1][1] == "error"


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


async def test_one_generation_at_a_time_per_chat(world: World) -> None:
    # Photos: their download is awaited, the moment a second message could slip in.
    world.llm.then(Behaviour(hang=True))
    busy = "I am still answering your previous message."
    await world.tg.push(
        world.tg.photo(ADMIN, "first", file_id="photo-1"),
        world.tg.photo(ADMIN, "second", file_id="photo-2"),
    )
    await world.tg.wait_for(lambda tg: busy in tg.texts(ADMIN))
    world.llm.release()
    await world.tg.wait_for(lambda tg: any(t.startswith("echo: ") for t in tg.texts(ADMIN)))
    texts = world.tg.texts(ADMIN)
    assert texts.count(busy) == 1
    assert len([t for t in texts if t.startswith("echo: ")]) == 1
    assert len(world.llm.requests) == 1  # the second never reached the provider


async def test_a_photo_reaches_the_model_as_an_image(world: World) -> None:
    assert await say(world, ADMIN, "hi") == ["echo: hi"]  # text first: context carries text only
    await world.tg.push(world.tg.photo(ADMIN, "what is this?", file_id="photo-1"))
    await world.tg.wait_for(lambda tg: "echo: what is this?" in tg.texts(ADMIN))
    content = world.llm.requests[-1]["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "what is this?"}
    expected = "data:image/jpeg;base64," + base64.b64encode(FILES["photo-1"]).decode()
    assert content[1] == {"type": "image_url", "image_url": {"url": expected}}
