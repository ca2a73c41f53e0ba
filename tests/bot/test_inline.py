"""Inline mode: `@bot question` in any chat, answered in the message it posts, only
when its "answer" button is pressed; refused politely without access."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from tests.bot.conftest import ADMIN, STRANGER, World

INLINE_ID = "AgAAAKZ-inline-1"


async def _offered(world: World, user: int, query: str, language: str = "en") -> dict[str, Any]:
    before = len(world.tg.sent("answerInlineQuery"))
    await world.tg.push(world.tg.inline_query(user, query, language=language))
    await world.tg.wait_for(lambda tg: len(tg.sent("answerInlineQuery")) > before)
    return world.tg.sent("answerInlineQuery")[-1]


async def test_an_inline_question_is_answered_in_its_own_message_when_asked(
    world: World,
) -> None:
    offered = await _offered(world, ADMIN, "why is the sky blue?")
    [article] = offered["results"]
    assert article["title"] == "Ask Mistral Small · Mistral"
    assert article["input_message_content"]["message_text"] == "❓ why is the sky blue?"
    [[button]] = article["reply_markup"]["inline_keyboard"]
    assert button["text"] == "💬 answer"
    assert world.llm.requests == []  # typing a question asks no model

    # The user picks the result; Telegram posts it; the user presses "answer".
    await world.tg.push(world.tg.inline_press(ADMIN, button["callback_data"], INLINE_ID))
    final = "❓ why is the sky blue?\n\necho: why is the sky blue?"
    await world.tg.wait_for(lambda tg: tg.inline_texts.get(INLINE_ID) == final)
    [request] = world.llm.requests
    assert [m["content"] for m in request["messages"]] == ["why is the sky blue?"]  # no context
    with closing(sqlite3.connect(world.db)) as db:
        logged = db.execute("SELECT chat_id, user_id FROM requests").fetchall()
    assert logged == [(f"inline:{ADMIN}", ADMIN)]

    # Pressed again: the same answer from the log, no second model call.
    edits = len(world.tg.sent("editMessageText"))
    await world.tg.push(world.tg.inline_press(ADMIN, button["callback_data"], INLINE_ID))
    await world.tg.wait_for(lambda tg: len(tg.sent("editMessageText")) > edits)
    assert len(world.llm.requests) == 1


async def test_inline_mode_speaks_the_users_language_and_guides_an_empty_query(
    world: World,
) -> None:
    offered = await _offered(world, ADMIN, "почему небо голубое?", language="ru")
    [article] = offered["results"]
    assert article["title"] == "Спросить Mistral Small · Mistral"
    assert article["reply_markup"]["inline_keyboard"][0][0]["text"] == "💬 ответить"
    empty = await _offered(world, ADMIN, "  ")
    assert empty["results"] == []
    assert empty["button"]["text"] == "Type your question after my name"


async def test_inline_mode_without_access_says_how_to_get_it(world: World) -> None:
    offered = await _offered(world, STRANGER, "free answers?")
    assert offered["results"] == []
    assert offered["button"] == {
        "text": "You have no access yet: open the bot to ask for it",
        "start_parameter": "access",
    }
    assert world.llm.requests == []
    assert not world.tg.texts(ADMIN)  # no access request from an inline query
    # A stale or foreign "answer" button is refused, not answered.
    await world.tg.push(world.tg.inline_press(ADMIN, "il:0000000000000000", INLINE_ID))
    await world.tg.wait_for(lambda tg: bool(tg.sent("answerCallbackQuery")))
    assert world.tg.sent("answerCallbackQuery")[-1]["text"] == (
        "This question is too old; ask it again."
    )
