"""Budgets: /usage, /limit, the top users in /stats, and limits that hold when
many messages arrive at once."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from llmhub import Prompt, Reply, Usage
from llmhub.testing import scripted_hub
from llmhub_bot import BotSettings
from llmhub_bot._budgets import (
    Limits,
    hold,
    limit_label,
    limits_of,
    parse_limits,
    periods,
    set_limits,
    settle,
    spent,
)
from llmhub_bot._i18n import make_i18n
from llmhub_bot._tables import SCHEMA as BOT_SCHEMA
from tests.bot.conftest import ADMIN, MEMBER, World, cost_label, open_world, say, shown


def test_limits_are_read_as_admins_write_them() -> None:
    assert parse_limits(["200k/day", "$5/month"]) == Limits(tokens_day=200_000, usd_month=5.0)
    assert parse_limits(["1.5M/mo", "0,50$/d"]) == Limits(tokens_month=1_500_000, usd_day=0.5)
    assert parse_limits(["3usd/month", "900/m"]) == Limits(tokens_month=900, usd_month=3.0)
    with pytest.raises(ValueError, match="lots"):
        parse_limits(["200k/day", "lots"])
    i18n = make_i18n()
    with i18n.context():
        assert limit_label("tokens_day", 200_000) == "200k/day"
        assert limit_label("usd_month", 5) == "$5.00/month"
        with i18n.use_locale("ru"):
            assert limit_label("tokens_day", 200_000) == "200k в день"
            assert limit_label("usd_month", 5) == "$5.00 в месяц"


def test_days_and_months_end_at_utc_midnight() -> None:
    new_year_eve = datetime(2026, 12, 31, 23, 59, tzinfo=UTC).timestamp()
    span = periods(new_year_eve)
    assert (span.day, span.month) == ("2026-12-31", "2026-12")
    assert span.day_ends == span.month_ends == datetime(2027, 1, 1, tzinfo=UTC)


def _usage(tokens: int) -> Usage:
    return Usage(
        prompt_tokens=tokens // 2, completion_tokens=tokens - tokens // 2, total_tokens=tokens
    )


async def _count_usage(world: World, user: int, tokens: int) -> None:
    span = periods(time.time())
    await world.hub.store.execute_many(
        "INSERT INTO usage_counters (user_id, period, requests, tokens, usd)"
        " VALUES (:user, :period, 1, :tokens, 0)",
        [{"user": user, "period": p, "tokens": tokens} for p in (span.day, span.month)],
    )


async def test_usage_counts_each_answer_in_english_and_russian(world: World) -> None:
    await say(world, MEMBER, "one two three")
    [report] = await say(world, MEMBER, "/usage")
    # The fake counts words: 3 in, 4 out ("echo: one two three").
    cost = cost_label(3, 4)
    assert report.splitlines()[0].startswith(
        f"Today (UTC): tokens: 7, cost: {cost}, requests: 1; limits: none; resets "
    )
    assert report.splitlines()[1].startswith(f"This month: tokens: 7, cost: {cost},")
    [report_ru] = await say(world, MEMBER, "/usage", language="ru")
    assert report_ru.startswith(
        f"Сегодня (UTC): токенов: 7, стоимость: {cost}, запросов: 1; лимиты: нет; сброс "
    )


async def test_a_user_over_their_limit_is_told_when_it_resets_and_nothing_is_asked(
    world: World,
) -> None:
    [done] = await say(world, ADMIN, f"/limit {MEMBER} 1k/day $5/month")
    assert done.startswith(f"User {MEMBER}:")
    assert "limits: 1k/day;" in done
    assert "limits: $5.00/month;" in done
    await _count_usage(world, MEMBER, 1000)

    [refusal] = await say(world, MEMBER, "hello?")
    assert refusal.startswith("You have reached your limit of 1k/day. It resets at ")
    assert world.llm.requests == []
    [refusal_ru] = await say(world, MEMBER, "привет?", language="ru")
    assert refusal_ru.startswith("Вы исчерпали свой лимит 1k в день.")

    await say(world, ADMIN, f"/limit {MEMBER} off")
    await say(world, MEMBER, "and now?")
    assert len(world.llm.requests) == 1


async def test_everyones_default_and_the_env_default_apply_and_admins_are_free(
    tmp_path: Path,
) -> None:
    async with open_world(tmp_path, bot_limit_tokens_month=10) as world:
        await _count_usage(world, MEMBER, 10)
        await _count_usage(world, ADMIN, 10)
        [refusal] = await say(world, MEMBER, "hi")
        assert "limit of 10/month" in refusal
        await say(world, ADMIN, "hi")  # admins have no limits
        assert len(world.llm.requests) == 1

        [everyone] = await say(world, ADMIN, "/limit all 1M/month")
        assert everyone == "Everyone's default limits: per day none; per month 1M/month."
        await say(world, MEMBER, "hi again")
        assert len(world.llm.requests) == 2


async def test_limit_is_for_admins_and_explains_itself(world: World) -> None:
    [refused] = await say(world, MEMBER, f"/limit {MEMBER} 1M/day")
    assert refused == "Only admins set limits."
    [unknown] = await say(world, ADMIN, "/limit @nobody 1k/day")
    assert unknown == "I do not know @nobody: use their numeric id."
    [bad] = await say(world, ADMIN, f"/limit {MEMBER} plenty")
    assert bad.startswith("I cannot read plenty. Usage:\n/limit <user id|@username|all>")
    [help_] = await say(world, ADMIN, "/limit")
    assert help_.startswith("Usage:\n/limit")


async def test_stats_lists_the_top_users_of_the_month(world: World) -> None:
    await say(world, MEMBER, "a b c d e f")
    await say(world, ADMIN, "hi")
    [stats] = await say(world, ADMIN, "/stats")
    top = stats.split("Top users this month:\n", 1)[1].splitlines()
    assert top[0].startswith(f"{MEMBER}: ")
    assert top[1].startswith(f"{ADMIN}: ")


async def test_pre_approved_users_who_chatted_are_counted_and_found_by_name(world: World) -> None:
    """Found in a session: /stats said "Users: 0" above its top users, and /limit
    @name did not know a pre-approved user who had chatted."""
    hello = world.tg.message(MEMBER, "hello")
    hello["message"]["from"]["username"] = "member_one"
    await world.tg.push(hello)
    await world.tg.wait_for(lambda tg: "echo: hello" in tg.texts(MEMBER))
    await say(world, ADMIN, "hi")
    [stats] = await say(world, ADMIN, "/stats")
    assert "Users: approved 2" in stats
    [limited] = await say(world, ADMIN, "/limit @member_one 200k/day")
    assert "I do not know" not in limited
    assert str(MEMBER) in limited


async def test_messages_at_once_from_a_user_at_their_limit_let_exactly_the_allowed_through(
    tmp_path: Path,
) -> None:
    # Six group chats at once; each answer holds 100 tokens until it is done, and
    # 350 a day leaves room for four holds (0, 100, 200, 300 < 350): four are asked.
    async with open_world(tmp_path, bot_limit_hold_tokens=100) as world:
        await say(world, ADMIN, f"/limit {MEMBER} 350/day")
        world.llm.hold()
        groups = [-100 - i for i in range(6)]
        await world.tg.push(
            *(
                world.tg.message(MEMBER, "/ask hi", chat_id=group, chat_type="group")
                for group in groups
            )
        )
        refused = "You have reached your limit of 350/day."
        await world.tg.wait_for(
            lambda tg: (
                world.llm.streaming == 4
                and sum(any(t.startswith(refused) for t in shown(tg, g)) for g in groups) == 2
            )
        )
        world.llm.resume()
        await world.tg.wait_for(
            lambda tg: sum(any(t.startswith("echo: hi") for t in shown(tg, g)) for g in groups) == 4
        )
        assert len(world.llm.requests) == 4


async def test_holds_from_two_processes_stay_within_the_limit(database_url: str) -> None:
    # Two hubs on one database stand for two replicas; every store dialect.
    settings = BotSettings(_env_file=None, bot_limit_hold_tokens=100)
    async with scripted_hub(database_url) as (one, _), scripted_hub(database_url) as (two, _):
        await one.store.use_schema(BOT_SCHEMA)
        await set_limits(one.store, 9, Limits(tokens_day=350, usd_month=1.0))
        now = time.time()
        limits = await limits_of(one.store, settings, 9)
        refusals = await asyncio.gather(
            *(
                hold(hub, settings, limits, Prompt(9, "hi"), 9, f"r{i}", now)
                for i, hub in enumerate([one, two] * 10)
            )
        )
        assert sum(refusal is None for refusal in refusals) == 4
        assert {r.limit for r in refusals if r is not None} == {"tokens_day"}
        # An answer settles: its real use counts, its hold goes.
        held = next(f"r{i}" for i, refusal in enumerate(refusals) if refusal is None)
        reply = Reply("x", "fake-small", "fake", usage=_usage(30))
        await settle(one.store, 9, held, reply, now, held=True)
        day, month = await spent(two.store, 9, now)
        assert (day.tokens, month.tokens, day.requests) == (30, 30, 1)
        assert await hold(two, settings, limits, Prompt(9, "hi"), 9, "r-next", now) is None


async def test_limit_and_the_top_users_speak_russian(world: World) -> None:
    await say(world, MEMBER, "раз два")
    [done] = await say(world, ADMIN, f"/limit {MEMBER} 50k/day", language="ru")
    assert done.startswith(f"Пользователь {MEMBER}:\nСегодня (UTC): токенов: ")
    assert "лимиты: 50k в день;" in done
    [stats] = await say(world, ADMIN, "/stats", language="ru")
    assert f"Самые активные пользователи в этом месяце:\n{MEMBER}: токенов: " in stats
    [usage] = await say(world, ADMIN, "/usage", language="ru")
    assert "лимиты: нет" in usage  # admins have none


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("/limit --5 off", "I do not know --5"),
        ("/limit ² off", "I do not know ²"),
        ("/limit 99999999999999999999 200k/day", "I do not know 99999999999999999999"),
        ("/limit 5 " + "9" * 400 + "/day", "I cannot read"),
        ("/limit 5 $" + "9" * 16 + "/month", "I cannot read"),
        ("/stats ²", "Last 7 days."),
    ],
)
async def test_odd_numbers_in_admin_commands_get_an_answer(
    world: World, command: str, says: str
) -> None:
    [reply] = await say(world, ADMIN, command)
    assert says in reply
    with closing(sqlite3.connect(world.db)) as db:
        assert db.execute("SELECT COUNT(*) FROM usage_limits").fetchone() == (0,)


async def test_usage_says_that_the_answer_reaching_a_limit_may_pass_it(world: World) -> None:
    """A 300/day limit that ended at 332 surprised its user: /usage says why."""
    [report] = await say(world, MEMBER, "/usage")
    assert len(report.splitlines()) == 2  # no limits: nothing to say
    await say(world, ADMIN, f"/limit {MEMBER} 300/day")
    [report] = await say(world, MEMBER, "/usage")
    assert report.splitlines()[-1] == (
        "A limit is checked before each answer: the answer that reaches it may pass it a little."
    )
    [report_ru] = await say(world, MEMBER, "/usage", language="ru")
    assert report_ru.splitlines()[-1] == (
        "Лимит проверяется перед каждым ответом: ответ, который его достигает,"
        " может немного его превысить."
    )
