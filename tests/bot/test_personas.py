"""/persona and /system: a chat's system prompt, in both languages, kept in the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmhub.store import store_from_url
from tests.bot.conftest import ADMIN, MEMBER, World, buttons, say


def _system_sent(world: World) -> str | None:
    messages = world.llm.requests[-1]["messages"]
    return str(messages[0]["content"]) if messages[0]["role"] == "system" else None


async def test_system_sets_shows_and_clears_the_chats_prompt(world: World) -> None:
    assert await say(world, ADMIN, "/system") == [
        "This chat has no system prompt. Set one with /system <text> or /persona."
    ]
    assert await say(world, ADMIN, "/system Answer in verse.") == [
        "System prompt set for this chat."
    ]
    assert await say(world, ADMIN, "hi") == ["echo: hi"]
    assert _system_sent(world) == "Answer in verse."
    assert await say(world, ADMIN, "/system") == [
        "This chat's system prompt:\nAnswer in verse.\n\n/system off clears it."
    ]
    assert await say(world, ADMIN, "/system off") == ["This chat has no system prompt now."]
    assert await say(world, ADMIN, "again") == ["echo: again"]
    assert _system_sent(world) is None


async def test_system_speaks_russian_to_a_russian_user(world: World) -> None:
    assert await say(world, MEMBER, "/system Отвечай стихами.", language="ru") == [
        "Системный промпт для этого чата задан."
    ]
    assert await say(world, MEMBER, "/system", language="ru") == [
        "Системный промпт этого чата:\nОтвечай стихами.\n\n/system off убирает его."
    ]


async def test_a_system_prompt_over_the_limit_is_refused_and_nothing_is_kept(
    world: World,
) -> None:
    [answer] = await say(world, ADMIN, "/system " + "x" * 4001)
    assert answer == "A system prompt may have up to 4000 characters; this one has 4001."
    assert await world.hub.store.chat_system(str(ADMIN)) is None


@pytest.mark.parametrize(
    ("language", "label", "prompt_start"),
    [
        ("en", "Translator", "You are a translator."),
        ("ru", "Переводчик", "Ты переводчик."),
    ],
)
async def test_persona_menu_sets_a_preset_in_the_pickers_language(
    world: World, language: str, label: str, prompt_start: str
) -> None:
    [menu] = await say(world, ADMIN, "/persona", language=language)
    params = world.tg.sent("sendMessage", ADMIN)[-1]
    labels = [b["text"] for b in buttons(params)]
    assert label in labels
    assert len(labels) == 7  # five presets, custom, none
    target = next(b for b in buttons(params) if b["text"] == label)
    shown_menu = world.tg._message(ADMIN, params["_message_id"], menu)
    await world.tg.push(
        world.tg.callback(ADMIN, target["callback_data"], shown_menu, language=language)
    )
    await world.tg.wait_for(
        lambda tg: any(label in str(p["text"]) for p in tg.sent("editMessageText", ADMIN))
    )
    stored = await world.hub.store.chat_system(str(ADMIN))
    assert stored is not None
    assert stored.startswith(prompt_start)
    assert await say(world, ADMIN, "hello", language=language) == ["echo: hello"]
    assert _system_sent(world) == stored


async def test_in_groups_only_admins_change_the_system_prompt(world: World) -> None:
    group = -301
    [answer] = await say(world, MEMBER, "/system Be rude.", chat_id=group, chat_type="group")
    assert answer == "Only group admins change this here."
    assert world.tg.sent("getChatMember")
    assert await world.hub.store.chat_system(str(group)) is None


async def test_the_prompt_survives_a_restart(world: World, tmp_path: Path) -> None:
    await say(world, ADMIN, "/system Keep it short.")
    async with store_from_url(f"sqlite:///{world.db}") as reopened:
        assert await reopened.chat_system(str(ADMIN)) == "Keep it short."
