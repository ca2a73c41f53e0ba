"""Tools in the bot: installed by the operator (entry points or BOT_TOOLS), listed in
/help, and shown while the model uses them."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from llmhub import ConfigurationError, Tool
from llmhub.testing.openai_server import Behaviour
from llmhub_bot import __main__ as bot_main
from llmhub_bot._tools import ENTRY_POINT_GROUP, load_tools
from tests.bot.conftest import ADMIN, MEMBER, PROVIDER_KEY, TOKEN, open_world, rows, say

looked_up: list[str] = []


def page_title(url: str) -> str:
    """The title of a web page.

    Args:
        url: The page's address.
    """
    looked_up.append(url)
    return "Example Domain"


async def test_the_model_uses_a_tool_and_the_chat_sees_it_happen(tmp_path: Path) -> None:
    looked_up.clear()
    async with open_world(tmp_path, bot_tools="tests.bot.test_tools:page_title") as world:
        world.llm.then(
            Behaviour(
                tool_calls=[{"name": "page_title", "arguments": {"url": "https://example.com"}}]
            ),
            Behaviour(text="The page is called Example Domain."),
        )
        await world.tg.push(world.tg.message(ADMIN, "What is on https://example.com?"))
        await world.tg.wait_for(lambda tg: "The page is called Example Domain." in tg.texts(ADMIN))
        drafts = [p["text"] for p in world.tg.sent("sendMessageDraft", ADMIN)]
        assert "🔧 using page_title…" in drafts
        assert world.tg.texts(ADMIN) == ["The page is called Example Domain."]  # no tool line left
        assert looked_up == ["https://example.com"]
        assert world.llm.requests[0]["tools"][0]["function"]["name"] == "page_title"
        assert rows(world.db) == [
            ("What is on https://example.com?", "ok", "The page is called Example Domain.")
        ]


async def test_words_before_a_tool_stay_and_the_answer_goes_on_below(tmp_path: Path) -> None:
    async with open_world(tmp_path, bot_tools="tests.bot.test_tools:page_title") as world:
        world.llm.then(
            Behaviour(
                text="Let me look.", tool_calls=[{"name": "page_title", "arguments": {"url": "u"}}]
            ),
            Behaviour(text="Found it."),
        )
        await say(world, MEMBER, "title of u?")
        drafts = [p["text"] for p in world.tg.sent("sendMessageDraft", MEMBER)]
        assert "Let me look.\n\n🔧 using page_title…" in drafts
        assert world.tg.texts(MEMBER) == ["Let me look.\n\nFound it."]


async def test_help_lists_the_tools_in_the_users_language(tmp_path: Path) -> None:
    async with open_world(tmp_path, bot_tools="tests.bot.test_tools:page_title") as world:
        [english] = await say(world, ADMIN, "/help")
        assert "Tools the model can use here:\n🔧 page_title — The title of a web page." in english
        [russian] = await say(world, ADMIN, "/help", language="ru")
        assert "Инструменты, которыми здесь может пользоваться модель:" in russian


async def test_without_tools_help_says_nothing_of_them_and_no_tools_are_sent(
    tmp_path: Path,
) -> None:
    async with open_world(tmp_path, bot_tools="none") as world:
        [text] = await say(world, ADMIN, "/help")
        assert "🔧" not in text
        await say(world, ADMIN, "hello")
        assert "tools" not in world.llm.requests[0]


def test_installed_entry_points_are_the_default_and_bot_tools_picks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = importlib.metadata.EntryPoint(
        "title", "tests.bot.test_tools:page_title", ENTRY_POINT_GROUP
    )
    broken = importlib.metadata.EntryPoint(
        "broken", "tests.bot.no_such_module:f", ENTRY_POINT_GROUP
    )
    installed = [entry, broken]
    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda group: [e for e in installed if e.group == group]
    )
    [tool] = load_tools("title")
    assert isinstance(tool, Tool)
    assert tool.name == "page_title"
    with pytest.raises(
        ConfigurationError, match=r"tool 'broken' .* failed to load: ModuleNotFoundError"
    ):
        load_tools(None)  # every installed one, and one of them is broken
    with pytest.raises(ConfigurationError, match=r"no tool 'weather' \(broken, title\)"):
        load_tools("weather")
    with pytest.raises(ConfigurationError, match="two tools are named 'page_title'"):
        load_tools("title,tests.bot.test_tools:page_title")
    assert load_tools("none") == ()


def test_a_tool_that_cannot_load_stops_the_bot_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("MISTRAL_API_KEY", PROVIDER_KEY)
    monkeypatch.setenv("BOT_TOOLS", "tests.bot.test_tools:no_such_function")
    assert bot_main.main([]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "llmhub-bot: --tool 'tests.bot.test_tools:no_such_function':"
        " tests.bot.test_tools has no function 'no_such_function'"
    )
    assert TOKEN not in err
