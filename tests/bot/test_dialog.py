"""The conversation's edge paths: stop button, files, formatting, limits, secrets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from llmhub.testing.openai_server import Behaviour
from tests.bot.conftest import (
    ADMIN,
    MEMBER,
    PROVIDER_KEY,
    TOKEN,
    World,
    buttons,
    open_world,
    press,
    rows,
    say,
    shown,
)
from tests.fakes.telegram_server import PLACEHOLDER, FakeBotAPI


async def test_the_stop_button_keeps_what_was_written(world: World) -> None:
    world.llm.then(Behaviour(text="one two three four five", hang_after=2))
    await world.tg.push(world.tg.message(ADMIN, "tell me"))
    await world.tg.wait_for(
        lambda tg: any(p.get("text") == "one two" for p in tg.sent("sendMessageDraft", ADMIN))
    )
    draft = world.tg.sent("sendMessageDraft", ADMIN)[-1]
    assert draft["can_stop"] == "true"

    await world.tg.push(world.tg.stopped(ADMIN, int(draft["draft_id"])))
    await world.tg.wait_for(lambda tg: any("(stopped)" in t for t in tg.texts(ADMIN)))

    assert world.tg.texts(ADMIN) == ["one two\n\n(stopped)"]
    assert rows(world.db) == [("tell me", "cancelled", "one two")]


async def test_a_file_for_a_text_only_model_is_refused_before_sending(world: World) -> None:
    await world.hub.set_chat_model(ADMIN, "dipseek/deepseek-chat")
    await world.tg.push(world.tg.document(ADMIN, "summarise this"))
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 1)
    assert world.tg.texts(ADMIN) == [
        "This model cannot take this file (deepseek-chat takes no files). Models that can:"
        " mistral/mistral-large-latest, mistral/mistral-large-4, mistral/mistral-medium-latest,"
        " mistral/mistral-small-latest, mistral/pixtral-large-latest."
    ]
    assert world.llm.requests == []
    assert rows(world.db) == []


async def test_a_file_type_the_model_does_not_read_is_refused(world: World) -> None:
    # Audio to mistral-small-latest: only the Voxtral models read it.
    await world.tg.push(world.tg.document(ADMIN, "read it", mime="audio/ogg"))
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 1)
    assert "voxtral" in world.tg.texts(ADMIN)[0]
    assert world.llm.requests == []


async def test_a_pdf_reaches_mistral_by_upload(world: World) -> None:
    await world.tg.push(world.tg.document(ADMIN, "read it"))
    await world.tg.wait_for(lambda tg: "echo: read it" in shown(tg, ADMIN))
    [upload] = world.llm.uploads
    assert (upload["filename"], upload["data"]) == ("doc-1.pdf", b"%PDF-1.4 a tiny pdf")


async def test_a_file_over_the_limit_is_not_even_downloaded(world: World) -> None:
    await world.tg.push(world.tg.document(ADMIN, "big", size=50 * 1024 * 1024))
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 1)
    assert world.tg.texts(ADMIN)[0].startswith(
        "This file is too large (50 MB; the limit is 10 MB)."
    )
    assert world.tg.sent("getFile") == []


async def test_markdown_becomes_entities_and_a_refusal_falls_back_to_plain_text(
    world: World,
) -> None:
    world.llm.then(Behaviour(text="**bold** and `code`"))
    assert await say(world, ADMIN, "format") == ["bold and code"]
    entities = world.tg.sent("sendMessage", ADMIN)[-1]["entities"]
    assert {e["type"] for e in entities} == {"bold", "code"}

    world.tg.refuse_entities = True
    world.llm.then(Behaviour(text="**again**"))
    assert await say(world, ADMIN, "format again") == ["again"]
    refused, last = world.tg.sent("sendMessage", ADMIN)[-2:]
    assert "entities" in refused
    assert "entities" not in last  # sent again as plain text


async def test_an_empty_answer_is_said_plainly(world: World) -> None:
    world.llm.then(Behaviour(text=""))
    assert await say(world, ADMIN, "say nothing") == ["(the model returned an empty answer)"]


async def test_a_user_writing_too_fast_is_asked_to_wait(tmp_path: Path) -> None:
    async with open_world(tmp_path, bot_rate_limit_per_minute=2) as world:
        assert await say(world, ADMIN, "a") == ["echo: a"]
        assert await say(world, ADMIN, "b") == ["echo: b"]
        assert await say(world, ADMIN, "c") == ["You are sending messages too fast. Wait a moment."]
        assert len(world.llm.requests) == 2


async def test_no_token_or_key_in_logs_or_admin_reports(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await say(world, ADMIN, "fine")
    world.llm.then(
        Behaviour(status=401, body={"error": {"message": f"Incorrect API key {PROVIDER_KEY}"}})
    )
    await say(world, ADMIN, "fails", replies=2)  # the friendly message, then the report
    reports = " ".join(world.tg.texts(ADMIN))
    assert "AuthenticationError" in reports
    for secret in (TOKEN, PROVIDER_KEY, TOKEN.split(":")[1]):
        assert secret not in caplog.text
        assert secret not in reports


async def test_a_preview_that_can_no_longer_be_edited_still_gets_the_whole_answer(
    tmp_path: Path,
) -> None:
    group = -100500

    def no_edits(tg: FakeBotAPI) -> None:
        tg.refuse("editMessageText", 400, "Bad Request: message to edit not found")

    async with open_world(tmp_path, prepare=no_edits) as world:
        await world.tg.push(
            world.tg.message(ADMIN, "/ask tell me everything", chat_id=group, chat_type="group")
        )
        await world.tg.wait_for(lambda tg: "echo: tell me everything" in tg.texts(group))
        # The preview went out, its edits were refused, the answer came as a new message.
        assert world.tg.sent("editMessageText", group)
        assert world.tg.texts(group)[-1] == "echo: tell me everything"


async def test_a_refusal_reaches_a_user_who_deleted_their_message(world: World) -> None:
    update = world.tg.document(ADMIN, "read this", size=10**9)
    world.tg.deleted.add(update["message"]["message_id"])
    await world.tg.push(update)
    await world.tg.wait_for(lambda tg: bool(tg.sent("sendMessage", ADMIN)))
    [sent] = world.tg.sent("sendMessage", ADMIN)
    assert "too large" in sent["text"]
    assert sent["_ok"]  # delivered, not refused for want of the message it answers


@pytest.mark.parametrize(
    ("language", "note"),
    [
        ("en", "↪ Answered by deepseek-chat: mistral-small-latest was unavailable."),
        ("ru", "↪ Ответила deepseek-chat: mistral-small-latest была недоступна."),
    ],
)
async def test_a_one_line_note_says_another_model_answered(
    tmp_path: Path, language: str, note: str
) -> None:
    async with open_world(tmp_path, hub_env={"LLMHUB_FALLBACKS": "deepseek-chat"}) as world:
        world.llm.then(Behaviour(status=503, body={"message": "overloaded"}))
        [answer] = await say(world, ADMIN, "hi", language=language)
        assert answer == f"echo: hi\n\n{note}"
        assert [payload["model"] for payload in world.llm.requests] == [
            "mistral-small-latest",
            "deepseek-chat",
        ]
        # The stored answer is the model's text alone; the note is the bot's.
        assert rows(world.db)[-1] == ("hi", "ok", "echo: hi")


def _chat_calls(world: World, chat_id: int) -> list[str]:
    return [name for name, params in world.tg.calls if int(params.get("chat_id", 0)) == chat_id]


async def test_typing_shows_at_once_and_lasts_until_the_first_words(world: World) -> None:
    """A model that says nothing for a while (connecting, queued, reasoning): the
    chat shows "typing…" and a placeholder from the start, and no more "typing…" once
    the answer's first words show."""
    world.llm.then(Behaviour(hang=True))
    await world.tg.push(world.tg.message(ADMIN, "think hard"))
    await world.tg.wait_for(
        lambda tg: bool(tg.sent("sendChatAction", ADMIN)) and bool(tg.sent("sendMessageDraft"))
    )
    assert world.tg.sent("sendChatAction", ADMIN)[0]["action"] == "typing"
    placeholder = world.tg.sent("sendMessageDraft", ADMIN)[0]
    assert (placeholder["text"], placeholder["can_stop"]) == (PLACEHOLDER, "true")
    world.llm.release()
    await world.tg.wait_for(lambda tg: "echo: think hard" in tg.texts(ADMIN))
    calls = [
        (name, params.get("text"))
        for name, params in world.tg.calls
        if int(params.get("chat_id", 0)) == ADMIN
    ]
    first_words = next(
        i
        for i, (name, text) in enumerate(calls)
        if name in {"sendMessageDraft", "sendMessage"} and text != PLACEHOLDER
    )
    assert ("sendChatAction", None) in calls[:first_words]
    assert ("sendChatAction", None) not in calls[first_words:]


async def test_a_reasoning_model_shows_that_it_thinks_before_its_words(world: World) -> None:
    world.llm.then(Behaviour(text="Forty-two.", reasoning="Six times seven…"))
    assert await say(world, ADMIN, "the answer?") == ["Forty-two."]
    drafts = [p["text"] for p in world.tg.sent("sendMessageDraft", ADMIN)]
    assert drafts.index("💭 thinking…") < drafts.index("Forty-two.")
    assert not any("Six times seven" in text for text in drafts)  # the thoughts stay private
    assert rows(world.db) == [("the answer?", "ok", "Forty-two.")]


async def test_a_group_answer_can_be_stopped_before_its_first_word(world: World) -> None:
    """In a group the placeholder carries a stop button from the first moment."""
    group = -100321
    world.llm.then(Behaviour(hang=True))
    await world.tg.push(
        world.tg.message(MEMBER, "/ask a long story", chat_id=group, chat_type="group")
    )
    await world.tg.wait_for(lambda tg: bool(tg.sent("sendMessage", group)))
    placeholder = world.tg.sent("sendMessage", group)[0]
    assert placeholder["text"] == PLACEHOLDER
    assert [b["text"] for b in buttons(placeholder)] == ["⏹ stop"]
    await world.tg.wait_for(lambda tg: bool(world.llm.requests))  # asked, and logged
    await press(world, MEMBER, placeholder, "stop")
    await world.tg.wait_for(lambda tg: tg.showing(group) == ["(stopped)"])
    final = world.tg.sent("editMessageText", group)[-1]
    assert "reply_markup" not in final  # the stop button is gone with the answer
    await world.tg.wait_for(lambda tg: bool(tg.sent("answerCallbackQuery")))
    assert world.tg.sent("answerCallbackQuery")[-1]["text"] == "Stopping…"
    await world.tg.wait_for(lambda tg: bool(rows(world.db)))
    assert rows(world.db) == [("a long story", "cancelled", "")]


async def test_slash_stop_ends_the_answer_under_way(world: World) -> None:
    world.llm.then(Behaviour(text="one two three", hang_after=1))
    await world.tg.push(world.tg.message(ADMIN, "go on and on"))
    await world.tg.wait_for(
        lambda tg: any(p.get("text") == "one" for p in tg.sent("sendMessageDraft", ADMIN))
    )
    await world.tg.push(world.tg.message(ADMIN, "/stop"))
    await world.tg.wait_for(lambda tg: bool(tg.texts(ADMIN)))
    assert world.tg.texts(ADMIN) == ["one\n\n(stopped)"]
    assert await say(world, ADMIN, "/stop") == ["Nothing is being written here."]
    assert await say(world, ADMIN, "/stop", language="ru") == ["Сейчас здесь ничего не пишется."]


async def test_a_failure_before_any_word_replaces_the_group_placeholder(world: World) -> None:
    group = -100322
    world.llm.then(Behaviour(status=503, body={"message": "overloaded"}))
    await world.tg.push(world.tg.message(MEMBER, "/ask hi", chat_id=group, chat_type="group"))
    await world.tg.wait_for(lambda tg: len(tg.showing(group)) == 1)
    [error] = world.tg.showing(group)
    assert error.startswith("The model is unavailable right now.")
    assert world.tg.sent("deleteMessage", group)  # the placeholder went


async def test_a_refused_typing_action_never_stops_the_answer(tmp_path: Path) -> None:
    async with open_world(tmp_path, prepare=lambda tg: tg.refuse("sendChatAction", 400)) as world:
        assert await say(world, ADMIN, "hello") == ["echo: hello"]
        assert world.tg.sent("sendChatAction", ADMIN)  # tried, refused, answered all the same


async def test_an_outage_offers_to_try_again_or_another_model(world: World) -> None:
    """The user is told what they can do, with a button each: the same message asked
    again (its failed rows replaced, not added to), or the model list."""
    world.llm.then(Behaviour(status=503))
    sent = world.tg.message(ADMIN, "are you there?")
    await world.tg.push(sent)
    await world.tg.wait_for(lambda tg: bool(tg.texts(ADMIN)))
    [failure] = world.tg.sent("sendMessage", ADMIN)
    assert failure["text"] == (
        "The model is unavailable right now. Try again, or choose another model."
    )
    assert [b["text"] for b in buttons(failure)] == ["↻ try again", "🔀 another model"]

    await press(world, ADMIN, failure, "another model")

    def menu_sent(tg: FakeBotAPI) -> bool:
        return any(t.startswith("Choose the model") for t in tg.texts(ADMIN))

    await world.tg.wait_for(menu_sent)
    menu = world.tg.sent("sendMessage", ADMIN)[-1]  # a menu of its own; the failure stays
    assert menu["text"].startswith("Choose the model for this chat.")
    assert not world.tg.sent("editMessageText", ADMIN)
    assert any("Mistral Small" in b["text"] for b in buttons(menu))

    await press(world, ADMIN, failure, "try again", reply_to=sent["message"])
    await world.tg.wait_for(lambda tg: "echo: are you there?" in tg.texts(ADMIN))
    assert rows(world.db) == [("are you there?", "ok", "echo: are you there?")]


async def test_a_refusal_of_the_users_own_input_offers_no_try_again(world: World) -> None:
    world.llm.then(Behaviour(status=400, body={"message": "bad field"}))
    await say(world, ADMIN, "hello")
    assert "reply_markup" not in world.tg.sent("sendMessage", ADMIN)[-1]


@pytest.mark.parametrize(
    ("language", "note", "told", "again", "other"),
    [
        (
            "en",
            "⚠️ The answer broke off here.",
            "The connection to the model broke off. Try again, or choose another model.",
            "↻ try again",
            "🔀 another model",
        ),
        (
            "ru",
            "⚠️ Здесь ответ оборвался.",
            "Связь с моделью оборвалась. Попробуйте ещё раз или выберите другую модель.",
            "↻ ещё раз",
            "🔀 другая модель",
        ),
    ],
)
async def test_a_stream_cut_after_words_keeps_them_and_offers_to_try_again(
    world: World, language: str, note: str, told: str, again: str, other: str
) -> None:
    """What arrived stays on screen, said to be cut, and the user is told what they can
    do, with a button each (today the words vanished behind "Something went wrong")."""
    world.llm.then(Behaviour(text="one two three four", cut_after=2))
    sent = world.tg.message(ADMIN, "tell me", language=language)
    await world.tg.push(sent)
    await world.tg.wait_for(lambda tg: told in tg.texts(ADMIN))
    assert f"one two\n\n{note}" in world.tg.texts(ADMIN)
    failure = next(p for p in world.tg.sent("sendMessage", ADMIN) if p["text"] == told)
    assert [b["text"] for b in buttons(failure)] == [again, other]
    assert rows(world.db) == [("tell me", "error", "one two")]  # logged as it arrived

    await press(world, ADMIN, failure, again, reply_to=sent["message"])
    await world.tg.wait_for(lambda tg: "echo: tell me" in tg.texts(ADMIN))
    assert rows(world.db) == [("tell me", "ok", "echo: tell me")]  # in place of the cut one


async def test_a_reasoning_models_thoughts_can_be_shown_collapsed_above_its_answer(
    tmp_path: Path,
) -> None:
    async with open_world(tmp_path, bot_show_reasoning=True) as world:
        world.llm.then(Behaviour(text="It is **42**.", reasoning="Six times seven."))
        assert await say(world, ADMIN, "the answer?") == ["💭 Six times seven.\n\nIt is 42."]
        entities = world.tg.sent("sendMessage", ADMIN)[-1]["entities"]
        block = len("💭 Six times seven.".encode("utf-16-le")) // 2
        assert entities[0] == {"type": "expandable_blockquote", "offset": 0, "length": block}
        assert (entities[1]["type"], entities[1]["offset"]) == ("bold", block + 2 + 6)
        # The log keeps the answer as the model wrote it; the thoughts are the reply's own.
        assert rows(world.db) == [("the answer?", "ok", "It is **42**.")]


def test_thoughts_that_leave_no_room_go_in_a_message_of_their_own() -> None:
    from llmhub_bot._delivery import THOUGHTS_SHOWN, render

    parts = render("a" * 4090, "why " * 1000)
    assert len(parts) == 2
    thoughts, entities = parts[0]
    assert thoughts.startswith("💭 …")
    assert len(thoughts) == 2 + THOUGHTS_SHOWN
    assert [e.type for e in entities] == ["expandable_blockquote"]
    assert parts[1][0] == "a" * 4090
