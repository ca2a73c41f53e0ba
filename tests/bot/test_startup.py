"""Start-up survives every refusal of what the bot does not need to answer.

Only `getMe` (the token) may stop the bot. The command menu, the descriptions
and drafts are each tried, refused by the fake Bot API in turn (an error
status, a 500, no answer at all), logged as one warning, retried later, and
the bot answers meanwhile.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from llmhub_bot import _startup
from tests.bot.conftest import ADMIN, open_world, say, shown
from tests.fakes.telegram_server import FakeBotAPI

OPTIONAL = ["setMyCommands", "setMyDescription", "setMyShortDescription"]


@pytest.mark.parametrize("status", [400, 404, 500])
@pytest.mark.parametrize("method", OPTIONAL)
async def test_a_refused_optional_call_is_one_warning_and_the_bot_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, method: str, status: int
) -> None:
    def refuse(tg: FakeBotAPI) -> None:
        tg.refuse(method, status)

    with caplog.at_level(logging.WARNING, logger="llmhub_bot.startup"):
        async with open_world(tmp_path, prepare=refuse) as world:
            assert await say(world, ADMIN, "still there?") == ["echo: still there?"]
            await world.dispatcher["chores"].tried.wait()
    warnings = [r.getMessage() for r in caplog.records if r.name == "llmhub_bot.startup"]
    # One line per refused call (English and Russian; the commands for everyone, for
    # groups and for the admin), naming the method and the reason.
    assert len(warnings) == (6 if method == "setMyCommands" else 2), warnings
    assert all(w.startswith(f"start-up: {method}(") and "refused" in w for w in warnings)
    assert all("Traceback" not in w for w in warnings)


async def test_a_refused_call_is_tried_again_and_then_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_startup, "RETRY_DELAYS", (0.0,))

    def refuse_once(tg: FakeBotAPI) -> None:
        tg.refuse("setMyCommands", 500, times=1)

    async with open_world(tmp_path, prepare=refuse_once) as world:
        await world.dispatcher["chores"].finished.wait()
        calls = [p.get("language_code") for p in world.tg.sent("setMyCommands")]
        # English refused once, then tried again after the others; every menu is set
        # (everyone's, the groups' and the admin's, in English and Russian).
        assert calls.count(None) == 4
        assert world.tg.answered("setMyCommands") == 6
        assert world.dispatcher["chores"].refused == ["setMyCommands(en)"]


async def test_a_call_that_never_answers_times_out_and_does_not_hold_the_bot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_startup, "RETRY_DELAYS", ())
    monkeypatch.setattr(_startup, "CALL_TIMEOUT", 1)

    def hang(tg: FakeBotAPI) -> None:
        tg.refuse("setMyCommands", 0)

    with caplog.at_level(logging.WARNING, logger="llmhub_bot.startup"):
        async with open_world(tmp_path, prepare=hang) as world:
            # Answered while the menu call still hangs.
            assert await say(world, ADMIN, "hello") == ["echo: hello"]
            await world.dispatcher["chores"].finished.wait()
            assert world.tg.answered("setMyDescription") == 2
    text = caplog.text
    assert "setMyCommands(en) refused (TelegramNetworkError" in text
    assert "gave up on setMyCommands(en), setMyCommands(en, groups)" in text
    assert "setMyCommands(ru, admin" in text


async def test_refused_drafts_become_edited_messages_decided_once(tmp_path: Path) -> None:
    def no_drafts(tg: FakeBotAPI) -> None:
        tg.refuse("sendMessageDraft", 404)

    async with open_world(tmp_path, prepare=no_drafts) as world:
        for text in ("first", "second"):
            await world.tg.push(world.tg.message(ADMIN, text))
            answer = [f"echo: {text}"]
            await world.tg.wait_for(lambda tg: shown(tg, ADMIN)[-1:] == answer)  # noqa: B023
        assert shown(world.tg, ADMIN) == ["echo: first", "echo: second"]
        # One try of drafts, refused; from then on the reply grows in an edited message.
        assert len(world.tg.sent("sendMessageDraft")) == 1
        assert world.dispatcher["runtime"].drafts is False


async def test_a_draft_refused_for_its_text_keeps_drafts_on(tmp_path: Path) -> None:
    def bad_text_once(tg: FakeBotAPI) -> None:
        tg.refuse("sendMessageDraft", 400, "Bad Request: text must be non-empty", times=1)

    async with open_world(tmp_path, prepare=bad_text_once) as world:
        await world.tg.push(world.tg.message(ADMIN, "first"))
        await world.tg.wait_for(lambda tg: tg.showing(ADMIN) == ["echo: first"])
        drafts_before = len(world.tg.sent("sendMessageDraft"))
        assert await say(world, ADMIN, "second") == ["echo: second"]
        # This reply went on as an edited message; the next one has its draft again.
        assert world.dispatcher["runtime"].drafts is True
        assert len(world.tg.sent("sendMessageDraft")) > drafts_before
