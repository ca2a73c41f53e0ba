"""/export and /forget_me: a user's own data, out as a file, or gone."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from llmhub.store import Exchange
from llmhub.testing.openai_server import Behaviour
from llmhub_bot._i18n import make_i18n
from llmhub_bot._own_data import conversation_markdown
from llmhub_bot._users import UserRecord, Users
from tests.bot.conftest import ADMIN, MEMBER, World, press, say, shown


def _document(world: World, chat: int) -> dict[str, Any]:
    [sent] = world.tg.sent("sendDocument", chat)
    return sent


async def test_export_sends_the_conversation_as_markdown_whole(world: World) -> None:
    awkward = "**not bold** <b>html</b> & `code` and a [link](x)"
    world.llm.then(Behaviour(text="# Heading\n\n" + awkward))
    await say(world, MEMBER, "first question")
    await say(world, MEMBER, awkward)
    await world.tg.push(world.tg.message(MEMBER, "/export"))
    await world.tg.wait_for(lambda tg: bool(tg.sent("sendDocument", MEMBER)))

    sent = _document(world, MEMBER)
    upload = sent["document"]
    assert upload["filename"].startswith(f"conversation-{MEMBER}-")
    assert upload["filename"].endswith(".md")
    text = upload["data"].decode()
    assert text.startswith(f"# Conversation: User{MEMBER}\n")
    assert "2 exchanges" in sent["caption"]
    # Each prompt and answer whole, in order, under who wrote it and when.
    parts = text.split("\n---\n")
    assert len(parts) == 3
    assert parts[1].startswith("\n**You** · ")
    assert "\nfirst question\n" in parts[1]
    assert "**mistral/mistral-small-latest**\n\n# Heading\n\n" + awkward in parts[1]
    assert f"\n{awkward}\n" in parts[2]
    assert "echo: " + awkward in parts[2]


async def test_export_of_an_empty_conversation_says_so_in_russian(world: World) -> None:
    [reply] = await say(world, MEMBER, "/export", language="ru")
    assert reply == "Нечего выгружать: разговор пуст."
    assert world.tg.sent("sendDocument") == []


def test_a_group_export_names_each_author() -> None:
    exchange = Exchange(
        "r1", "-5", "mistral", "m", "hi", 0.0, "ok", "hello", 1.0, 3, None, user_id=42
    )
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        text = conversation_markdown([exchange], "Team", private=False, now=0.0)
    assert "**User 42** · 1970-01-01 00:00 UTC\n\nhi\n\n**mistral/m**\n\nhello\n" in text
    voice = Exchange("r2", "-5", "mistral", "m", "", 0.0, "ok", "heard", 1.0, 3, None)
    with i18n.context(), i18n.use_locale("ru"):
        text = conversation_markdown([voice], "Team", private=False, now=0.0)
    assert "**Вы** · 1970-01-01 00:00 UTC\n\n(файл; бот не хранит файлы)\n" in text


def _count(world: World, sql: str) -> int:
    with closing(sqlite3.connect(world.db)) as conn:
        return int(conn.execute(sql).fetchone()[0])


async def test_forget_me_asks_first_then_deletes_the_users_rows_and_keeps_counts(
    world: World,
) -> None:
    await Users(world.hub.store).upsert(UserRecord(MEMBER, "approved", "sailor", "Ishmael", "en"))
    await say(world, MEMBER, "my secret")
    await say(world, ADMIN, "admin's own")
    await say(world, MEMBER, "/system talk like a pirate")

    [question] = await say(world, MEMBER, "/forget_me")
    assert "cannot be undone" in question
    asked = world.tg.sent("sendMessage", MEMBER)[-1]
    assert _count(world, f"SELECT COUNT(*) FROM requests WHERE user_id = {MEMBER}") == 1

    await press(world, ADMIN, asked, "Delete my data")  # not theirs to confirm
    await world.tg.wait_for(lambda tg: tg.answered("answerCallbackQuery") == 1)
    assert _count(world, f"SELECT COUNT(*) FROM requests WHERE user_id = {MEMBER}") == 1

    await press(world, MEMBER, asked, "Delete my data")
    await world.tg.wait_for(lambda tg: any(t.startswith("Done: 1 ") for t in shown(tg, MEMBER)))

    assert _count(world, f"SELECT COUNT(*) FROM requests WHERE user_id = {MEMBER}") == 0
    assert _count(world, "SELECT COUNT(*) FROM requests") == 1  # the admin's stays
    assert _count(world, "SELECT COUNT(*) FROM responses") == 1
    assert _count(world, f"SELECT COUNT(*) FROM chats WHERE chat_id = '{MEMBER}'") == 0
    assert (
        _count(world, f"SELECT COUNT(*) FROM users WHERE id = {MEMBER} AND full_name IS NULL") == 1
    )
    assert _count(world, "SELECT SUM(requests) FROM forgotten_usage") == 1
    [stats] = await say(world, ADMIN, "/stats")
    assert "mistral: 2 requests" in stats  # the statistics keep the count


async def test_forget_me_cancelled_deletes_nothing(world: World) -> None:
    await say(world, MEMBER, "keep this")
    await say(world, MEMBER, "/forget_me", language="ru")
    asked = world.tg.sent("sendMessage", MEMBER)[-1]
    await press(world, MEMBER, asked, "Отмена", language="ru")
    await world.tg.wait_for(lambda tg: "Ничего не удалено." in shown(tg, MEMBER))
    assert _count(world, "SELECT COUNT(*) FROM requests") == 1


async def test_a_confirmation_answered_too_late_for_telegram_still_forgets(world: World) -> None:
    await say(world, MEMBER, "my secret")
    await say(world, MEMBER, "/forget_me")
    asked = world.tg.sent("sendMessage", MEMBER)[-1]
    world.tg.refuse("answerCallbackQuery", 400, "Bad Request: query is too old")
    await press(world, MEMBER, asked, "Delete my data")
    await world.tg.wait_for(lambda tg: any(t.startswith("Done: 1 ") for t in shown(tg, MEMBER)))
    assert _count(world, "SELECT COUNT(*) FROM requests") == 0


async def test_a_group_export_holds_only_what_the_asker_may_see(world: World) -> None:
    """In a group a member exports their own exchanges; an admin, the whole chat."""
    group = -100999
    for user, text in ((MEMBER, "member's question"), (ADMIN, "admin's question")):
        await say(world, user, f"/ask {text}", chat_id=group, chat_type="group")

    async def exported(user: int) -> str:
        before = len(world.tg.sent("sendDocument", group))
        await world.tg.push(world.tg.message(user, "/export", chat_id=group, chat_type="group"))
        await world.tg.wait_for(lambda tg: len(tg.sent("sendDocument", group)) > before)
        return str(world.tg.sent("sendDocument", group)[-1]["document"]["data"].decode())

    mine = await exported(MEMBER)
    assert "member's question" in mine
    assert "admin's question" not in mine
    everything = await exported(ADMIN)
    assert "member's question" in everything
    assert "admin's question" in everything
