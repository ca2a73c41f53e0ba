"""Every command and access decision, fed as raw updates to the real polling loop."""

from __future__ import annotations

from typing import Any

import pytest

from llmhub.testing.openai_server import Behaviour
from llmhub_bot._access import AccessDecision
from llmhub_bot._commands import COMMANDS
from llmhub_bot._users import Users
from tests.bot.conftest import ADMIN, MEMBER, STRANGER, World, cost_label, say


def _buttons(params: dict[str, Any]) -> list[dict[str, str]]:
    return [button for row in params["reply_markup"]["inline_keyboard"] for button in row]


def _answered(world: World, text: str) -> bool:
    return any(m == "answerCallbackQuery" and text in str(p.get("text")) for m, p in world.tg.calls)


async def test_help_lists_every_command_and_the_menu_is_registered(world: World) -> None:
    [text] = await say(world, ADMIN, "/help")
    for name, _ in COMMANDS:
        assert f"/{name} — " in text
    assert "type @hub_test_bot and a question to ask inline" in text
    [ru] = await say(world, ADMIN, "/help", language="ru")
    assert "• ⏹ останавливает ответ, пока он пишется" in ru
    await world.dispatcher["chores"].tried.wait()
    menus = {
        (p.get("language_code"), str(p.get("scope"))): [c["command"] for c in p["commands"]]
        for p in world.tg.sent("setMyCommands")
    }
    # Everyone's menu, a group's, and each admin's (Telegram's command scopes).
    everyone = menus[(None, "None")]
    assert "stats" not in everyone
    assert "limit" not in everyone
    admins = next(v for (lang, scope), v in menus.items() if lang is None and str(ADMIN) in scope)
    assert admins == [name for name, _ in COMMANDS]
    groups = next(v for (lang, scope), v in menus.items() if lang is None and "group" in scope)
    assert "forget_me" not in groups
    assert "ask" in groups
    assert "stats" not in groups
    registered = {p.get("language_code"): p["commands"] for p in world.tg.sent("setMyCommands")}
    assert "начать новый разговор" in {c["description"] for c in registered["ru"]}
    described = {
        p.get("language_code"): p["description"] for p in world.tg.sent("setMyDescription")
    }
    assert "/models" in described[None]
    assert described["ru"].startswith("Я отвечаю")


async def test_ping_and_model(world: World) -> None:
    [pong] = await say(world, ADMIN, "/ping")
    assert pong.startswith("pong — llmhub 0.1.0, up ")
    assert pong.endswith("store ok")
    assert await say(world, ADMIN, "/model") == ["Model: mistral-small-latest (provider: mistral)"]


async def test_models_menu_chooses_the_chat_model(world: World) -> None:
    [menu] = await say(world, ADMIN, "/models")
    lines = menu.splitlines()
    assert lines[:2] == ["Choose the model for this chat.", "Now: Mistral Small · Mistral."]
    # Readable names, the provider, what each reads, its price class.
    assert "• Mistral Large (Mistral): reads text, images, PDF · $$" in lines
    assert "• DeepSeek Chat (DeepSeek): reads text · $" in lines
    params = world.tg.sent("sendMessage", ADMIN)[-1]
    labels = [b["text"] for b in _buttons(params)]
    assert "✅ Mistral Small · Mistral" in labels  # the model in use, marked
    assert "DeepSeek Chat · DeepSeek" in labels
    target = next(b for b in _buttons(params) if b["text"] == "Mistral Large · Mistral")

    shown_menu = world.tg._message(ADMIN, params["_message_id"], menu)
    await world.tg.push(world.tg.callback(ADMIN, target["callback_data"], shown_menu))
    await world.tg.wait_for(
        lambda tg: any("now uses" in str(p["text"]) for p in tg.sent("editMessageText", ADMIN))
    )

    assert await say(world, ADMIN, "hi") == ["echo: hi"]
    assert world.llm.requests[-1]["model"] == "mistral-large-latest"
    assert await say(world, ADMIN, "/model") == [
        "Model: mistral/mistral-large-latest (provider: mistral)"
    ]
    [menu] = await say(world, ADMIN, "/models", language="ru")
    assert menu.splitlines()[:2] == [
        "Выберите модель для этого чата.",
        "Сейчас: Mistral Large · Mistral.",
    ]
    assert "• Mistral Large (Mistral): читает текст, изображения, PDF · $$" in menu.splitlines()
    labels = [b["text"] for b in _buttons(world.tg.sent("sendMessage", ADMIN)[-1])]
    assert "✅ Mistral Large · Mistral" in labels


async def test_in_groups_only_admins_change_the_model(world: World) -> None:
    group = -300
    [menu] = await say(world, MEMBER, "/models", chat_id=group, chat_type="group")
    params = world.tg.sent("sendMessage", group)[-1]
    first = _buttons(params)[0]
    shown_menu = world.tg._message(group, params["_message_id"], menu)

    await world.tg.push(world.tg.callback(MEMBER, first["callback_data"], shown_menu))
    await world.tg.wait_for(lambda tg: _answered(world, "Only group admins"))

    assert world.tg.sent("getChatMember")  # the group's own administrators were asked
    assert await world.hub.store.chat_model(str(group)) is None


async def test_stats_are_for_admins_only(world: World) -> None:
    await say(world, ADMIN, "hello")
    [stats] = await say(world, ADMIN, "/stats 30")
    assert stats.startswith("Last 30 days.")
    # mistral-small-latest: 1 prompt and 2 completion tokens at the prices in force.
    assert f"mistral: 1 requests, 0 errors, 3 tokens, {cost_label(1, 2)} spent" in stats
    assert await say(world, MEMBER, "/stats") == ["Only admins can see the statistics."]


async def test_new_and_clear_both_reset_and_context_counts(world: World) -> None:
    await say(world, ADMIN, "one")
    assert await say(world, ADMIN, "/context") == [
        "The next request carries 1 earlier turn (12 characters)."
    ]
    assert await say(world, ADMIN, "/context", language="ru") == [
        "Следующий запрос несёт 1 прошлую реплику (12 символов)."
    ]
    assert await say(world, ADMIN, "/clear") == ["Started a new conversation."]
    assert await say(world, ADMIN, "/context") == [
        "The next request carries 0 earlier turns (0 characters)."
    ]


async def test_a_denied_stranger_stays_out(world: World) -> None:
    [asked] = await say(world, STRANGER, "let me in")
    assert asked.startswith("Access requested.")
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) >= 1)
    request = world.tg.sent("sendMessage", ADMIN)[-1]
    shown_request = world.tg._message(ADMIN, request["_message_id"], request["text"])
    deny = AccessDecision(approve=False, user_id=STRANGER).pack()

    # A member who is not an admin cannot decide.
    await world.tg.push(world.tg.callback(MEMBER, deny, shown_request))
    await world.tg.wait_for(lambda tg: _answered(world, "Only admins decide on access."))

    await world.tg.push(world.tg.callback(ADMIN, deny, shown_request))
    await world.tg.wait_for(lambda tg: "Your access request was denied." in tg.texts(STRANGER))
    assert any(str(p["text"]).endswith("→ denied") for p in world.tg.sent("editMessageText", ADMIN))
    assert await say(world, STRANGER, "please?") == ["Access denied."]
    user = await Users(world.hub.store).get(STRANGER)
    assert user is not None
    assert user.status == "denied"
    assert world.llm.requests == []


async def test_messages_follow_the_users_language(world: World) -> None:
    assert await say(world, MEMBER, "/new", language="ru") == ["Начат новый разговор."]
    assert await say(world, MEMBER, "/new", language="de") == ["Started a new conversation."]


async def test_two_chats_with_different_catalogues_pick_at_once(world: World) -> None:
    """Each button names its own model: another chat's menu, or a restart, changes nothing."""
    alice, bob = ADMIN, MEMBER
    await say(world, alice, "/models")
    alice_menu = world.tg.sent("sendMessage", alice)[-1]
    world.llm.models = ["mistral-medium-latest", "deepseek-chat"]  # the catalogue changes
    await say(world, bob, "/models")
    bob_menu = world.tg.sent("sendMessage", bob)[-1]

    def pick(user: int, params: dict[str, Any], label: str) -> dict[str, Any]:
        button = next(b for b in _buttons(params) if b["text"] == label)
        shown = world.tg._message(user, params["_message_id"], params["text"])
        return world.tg.callback(user, button["callback_data"], shown)

    await world.tg.push(
        pick(alice, alice_menu, "Mistral Large · Mistral"),
        pick(bob, bob_menu, "Mistral Medium · Mistral"),
    )
    await world.tg.wait_for(lambda tg: len(tg.sent("editMessageText")) >= 2)

    assert await world.hub.store.chat_model(str(alice)) == "mistral/mistral-large-latest"
    assert await world.hub.store.chat_model(str(bob)) == "mistral/mistral-medium-latest"


async def test_an_unknown_command_is_answered_not_ignored(world: World) -> None:
    assert await say(world, ADMIN, "/frobnicate now") == [
        "I do not know /frobnicate. /help lists what I can do."
    ]
    assert await say(world, ADMIN, "/frobnicate", language="ru") == [
        "Я не знаю команды /frobnicate. /help — что я умею."
    ]
    assert world.llm.requests == []  # not sent to a model either


async def test_control_commands_are_answered_at_once_while_an_answer_hangs(
    world: World,
) -> None:
    """A hung answer used to hold /new (and /help, /usage) behind it for minutes."""
    world.llm.then(Behaviour(hang=True))
    await world.tg.push(world.tg.message(ADMIN, "a slow question"))
    await world.tg.wait_for(lambda tg: bool(world.llm.requests))  # the answer is under way
    assert (await say(world, ADMIN, "/help"))[0].startswith("/")
    assert await say(world, ADMIN, "/new") == ["Started a new conversation."]
    [usage] = await say(world, ADMIN, "/usage")
    assert usage
    # /ask asks a model: it waits its turn behind the hung answer.
    await world.tg.push(world.tg.message(ADMIN, "/ask and then?"))
    world.llm.release()
    await world.tg.wait_for(lambda tg: "echo: and then?" in tg.texts(ADMIN))
    # The answer that was running when /new came is not in the new conversation.
    assert (await world.hub.chat(ADMIN).context()).turns == 1


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "I cannot read stickers. Send text, a photo, a file or a voice message."),
        ("ru", "Стикеры я читать не умею. Пришлите текст, фото, файл или голосовое сообщение."),
    ],
)
async def test_a_sticker_is_answered_not_ignored(world: World, language: str, said: str) -> None:
    await world.tg.push(world.tg.sticker(ADMIN, language=language))
    await world.tg.wait_for(lambda tg: bool(tg.texts(ADMIN)))
    assert world.tg.texts(ADMIN) == [said]
    assert not world.llm.requests


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "I answer each message once; an edit is not answered again. Send it anew."),
        ("ru", "Я отвечаю на сообщение один раз; правку я не перечитываю. Пришлите его заново."),
    ],
)
async def test_an_edited_message_is_answered_with_what_to_do(
    world: World, language: str, said: str
) -> None:
    assert await say(world, ADMIN, "hello", language=language) == ["echo: hello"]
    edit = world.tg.message(ADMIN, "hello there", language=language)
    edit["edited_message"] = {**edit.pop("message"), "edit_date": 1}
    await world.tg.push(edit)
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 2)
    assert world.tg.texts(ADMIN)[1] == said
    assert len(world.llm.requests) == 1  # not asked again


async def test_help_shows_each_reader_the_commands_they_can_use(world: World) -> None:
    [mine] = await say(world, MEMBER, "/help")
    assert "/usage — " in mine
    assert "/stats" not in mine
    assert "/limit" not in mine
    [in_group] = await say(world, ADMIN, "/help", chat_id=-100555, chat_type="group")
    assert "/ask — " in in_group
    assert "/forget_me" not in in_group
    assert "/start" not in in_group
    assert "/stats" not in in_group
