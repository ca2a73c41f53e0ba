"""The buttons under an answer: again, with another model, continue; and what a
button on an answer that is no longer the latest does."""

from __future__ import annotations

from typing import Any

from llmhub.testing.openai_server import Behaviour
from llmhub_bot._regenerate import CONTINUE_PROMPT
from tests.bot.conftest import ADMIN, World, buttons, press, rows, say


def _last_answer(world: World, chat: int = ADMIN) -> dict[str, Any]:
    return world.tg.sent("sendMessage", chat)[-1]


def _sent_context(world: World) -> list[str]:
    return [str(m["content"]) for m in world.llm.requests[-1]["messages"]]


def _alerts(world: World) -> list[str]:
    return [str(p.get("text", "")) for p in world.tg.sent("answerCallbackQuery") if p.get("text")]


async def test_a_final_answer_carries_again_and_with_but_not_continue(world: World) -> None:
    await say(world, ADMIN, "hello")
    assert [b["text"] for b in buttons(_last_answer(world))] == ["↻ again", "↻ with …"]


async def test_again_answers_the_same_prompt_and_replaces_the_answer_in_the_context(
    world: World,
) -> None:
    await say(world, ADMIN, "first")
    await say(world, ADMIN, "second")
    answer = _last_answer(world)
    world.llm.then(Behaviour(text="a better second"))

    await press(world, ADMIN, answer, "again")
    await world.tg.wait_for(lambda tg: bool(tg.sent("editMessageReplyMarkup", ADMIN)))

    # Asked without the answer it replaces; the old answer loses its buttons.
    assert _sent_context(world) == ["first", "echo: first", "second"]
    [removed] = world.tg.sent("editMessageReplyMarkup", ADMIN)
    assert int(removed["message_id"]) == answer["_message_id"]
    assert "reply_markup" not in removed
    assert [b["text"] for b in buttons(_last_answer(world))] == ["↻ again", "↻ with …"]

    await say(world, ADMIN, "third")
    assert _sent_context(world) == ["first", "echo: first", "second", "a better second", "third"]
    # The log keeps every answer, the replaced one too.
    assert [text for _, _, text in rows(world.db)] == [
        "echo: first",
        "echo: second",
        "a better second",
        "echo: third",
    ]


async def test_a_button_on_an_older_answer_says_so_and_asks_nothing(world: World) -> None:
    await say(world, ADMIN, "first")
    first = _last_answer(world)
    await say(world, ADMIN, "second")
    requests = len(world.llm.requests)

    await press(world, ADMIN, first, "again")
    await world.tg.wait_for(lambda tg: tg.answered("answerCallbackQuery") == 1)

    assert _alerts(world) == [
        "This answer is no longer the latest in the conversation; ask again instead."
    ]
    assert len(world.llm.requests) == requests
    [removed] = world.tg.sent("editMessageReplyMarkup", ADMIN)
    assert int(removed["message_id"]) == first["_message_id"]


async def test_two_presses_at_once_answer_again_only_once(world: World) -> None:
    await say(world, ADMIN, "question")
    answer = _last_answer(world)
    again = next(b for b in buttons(answer) if "again" in b["text"])
    shown = world.tg._message(ADMIN, answer["_message_id"], answer["text"])
    await world.tg.push(
        world.tg.callback(ADMIN, again["callback_data"], shown),
        world.tg.callback(ADMIN, again["callback_data"], shown),
    )
    await world.tg.wait_for(lambda tg: tg.answered("answerCallbackQuery") == 2)

    assert len(world.llm.requests) == 2  # the question, and one answer again
    assert _alerts(world) == [
        "This answer is no longer the latest in the conversation; ask again instead."
    ]


async def test_with_another_model_answers_once_with_it_and_keeps_the_chats_model(
    world: World,
) -> None:
    await say(world, ADMIN, "compare")
    answer = _last_answer(world)

    await press(world, ADMIN, answer, "with")
    await world.tg.wait_for(lambda tg: bool(tg.sent("editMessageReplyMarkup", ADMIN)))
    menu = world.tg.sent("editMessageReplyMarkup", ADMIN)[0]
    labels = [b["text"] for b in buttons(menu)]
    assert "DeepSeek Chat · DeepSeek" in labels
    assert labels[-1] == "✕ back"

    chosen = {**answer, "reply_markup": menu["reply_markup"]}
    await press(world, ADMIN, chosen, "DeepSeek Chat · DeepSeek")
    await world.tg.wait_for(lambda tg: len(world.llm.requests) == 2)
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 2)

    assert world.llm.requests[-1]["model"] == "deepseek-chat"
    assert _sent_context(world) == ["compare"]
    assert await world.hub.store.chat_model(str(ADMIN)) is None


async def test_back_from_the_models_shows_the_buttons_again(world: World) -> None:
    await say(world, ADMIN, "hi")
    answer = _last_answer(world)
    await press(world, ADMIN, answer, "with")
    await world.tg.wait_for(lambda tg: len(tg.sent("editMessageReplyMarkup", ADMIN)) == 1)
    menu = world.tg.sent("editMessageReplyMarkup", ADMIN)[0]
    await press(world, ADMIN, {**answer, "reply_markup": menu["reply_markup"]}, "back")
    await world.tg.wait_for(lambda tg: len(tg.sent("editMessageReplyMarkup", ADMIN)) == 2)
    restored = world.tg.sent("editMessageReplyMarkup", ADMIN)[1]
    assert [b["text"] for b in buttons(restored)] == ["↻ again", "↻ with …"]
    assert len(world.llm.requests) == 1


async def test_an_answer_cut_by_the_output_limit_can_be_continued(world: World) -> None:
    world.llm.then(Behaviour(text="the start of a long", finish="length"))
    await say(world, ADMIN, "write a lot")
    answer = _last_answer(world)
    assert [b["text"] for b in buttons(answer)] == ["↻ again", "↻ with …", "⏩ continue"]
    world.llm.then(Behaviour(text="answer, and its end."))

    await press(world, ADMIN, answer, "continue")
    await world.tg.wait_for(lambda tg: bool(tg.sent("editMessageReplyMarkup", ADMIN)))

    assert _sent_context(world) == ["write a lot", "the start of a long", CONTINUE_PROMPT]
    assert [b["text"] for b in buttons(_last_answer(world))] == ["↻ again", "↻ with …"]
    assert [text for _, _, text in rows(world.db)] == [
        "the start of a long",
        "answer, and its end.",
    ]


async def test_the_buttons_speak_russian(world: World) -> None:
    world.llm.then(Behaviour(text="обрезано", finish="length"))
    await say(world, ADMIN, "привет", language="ru")
    assert [b["text"] for b in buttons(_last_answer(world))] == [
        "↻ ещё раз",
        "↻ другой моделью …",
        "⏩ продолжить",
    ]
    first = _last_answer(world)
    await say(world, ADMIN, "ещё", language="ru")
    await press(world, ADMIN, first, "ещё раз", language="ru")
    await world.tg.wait_for(lambda tg: tg.answered("answerCallbackQuery") == 1)
    assert _alerts(world) == ["Этот ответ уже не последний в разговоре; спросите заново."]


async def test_an_answer_to_a_file_offers_no_again(world: World) -> None:
    await world.tg.push(world.tg.photo(ADMIN, "what is this?"))
    await world.tg.wait_for(lambda tg: "echo: what is this?" in tg.texts(ADMIN))
    assert "reply_markup" not in _last_answer(world)


async def test_again_on_someone_elses_group_answer_keeps_the_prompt_the_authors(
    world: World,
) -> None:
    import sqlite3
    from contextlib import closing

    from tests.bot.conftest import MEMBER

    group = -200
    await say(world, MEMBER, "/ask my private question", chat_id=group, chat_type="group")
    # In a group the answer is an edited message: its buttons come with the last edit.

    def final(params: dict[str, Any]) -> bool:  # not the stop button of the previews
        return "again" in str(params.get("reply_markup"))

    await world.tg.wait_for(lambda tg: any(map(final, tg.sent("editMessageText", group))))
    edits = [p for p in world.tg.sent("editMessageText", group) if final(p)]
    answer = {**world.tg.sent("sendMessage", group)[-1], "reply_markup": edits[-1]["reply_markup"]}
    answer["text"] = edits[-1]["text"]
    world.llm.then(Behaviour(text="another answer"))
    await press(world, ADMIN, answer, "again")
    await world.tg.wait_for(lambda tg: bool(tg.sent("editMessageReplyMarkup", group)[1:]))
    with closing(sqlite3.connect(world.db)) as db:
        owners = db.execute("SELECT prompt, user_id FROM requests ORDER BY rowid").fetchall()
    assert owners == [("my private question", MEMBER), ("my private question", MEMBER)]
