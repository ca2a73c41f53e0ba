"""What every store backend must do, run against each (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import time

import pytest

from llmhub import ProviderUnavailableError, StoreError
from llmhub.store import SCHEMA_VERSION, RequestRecord, ResponseRecord, Store, store_from_url
from llmhub.testing import scripted_hub
from tests.store.conftest import NOTES


async def _count(store: Store, sql: str) -> int:
    [row] = await store.fetch(sql)
    return int(next(iter(row.values())))


def _request(i: int, chat: str = "c") -> RequestRecord:
    return RequestRecord(f"r{i}", chat, "fake", "m", f"prompt {i}", time.time(), user_id=2**40)


def _response(i: int, status: str = "ok") -> ResponseRecord:
    return ResponseRecord(f"r{i}", status, f"reply {i}", time.time(), 1.5, "stop", 1, 2, 3)  # type: ignore[arg-type]


async def test_a_fresh_database_is_at_the_latest_schema(store: Store) -> None:
    assert await store.schema_version() == SCHEMA_VERSION
    assert await store.ping()


async def test_a_logged_exchange_reads_back_by_column_name(store: Store) -> None:
    await store.log_request(_request(1))
    await store.log_response(_response(1))
    [row] = await store.recent_exchanges()
    assert (row.request_id, row.prompt, row.status, row.text) == ("r1", "prompt 1", "ok", "reply 1")
    assert (row.latency_ms, row.total_tokens, row.error_type) == (1.5, 3, None)
    [stored] = await store.fetch("SELECT user_id FROM requests")
    assert stored["user_id"] == 2**40  # Telegram ids exceed 32 bits


async def test_turns_are_the_chats_own_oldest_first_and_bounded(store: Store) -> None:
    for i in range(5):
        await store.log_request(_request(i, "a" if i != 2 else "b"))
        await store.log_response(_response(i, "ok" if i != 3 else "error"))
    turns = await store.recent_turns("a", 10, 10_000)
    assert [t.prompt for t in turns] == ["prompt 0", "prompt 1", "prompt 4"]
    assert [t.prompt for t in await store.recent_turns("a", 2, 10_000)] == ["prompt 1", "prompt 4"]
    assert [t.prompt for t in await store.recent_turns("a", 10, 40)] == ["prompt 1", "prompt 4"]
    assert (await store.context_info("a", 10, 10_000)).turns == 3


async def test_an_answered_regeneration_replaces_its_turn_and_the_log_keeps_both(
    store: Store,
) -> None:
    for i in (1, 2):
        await store.log_request(_request(i))
        await store.log_response(_response(i))
    assert [t.request_id for t in await store.recent_turns("c", 10, 10_000)] == ["r1", "r2"]
    # Under way: the regeneration's own context leaves r2 out, others still see it.
    assert [t.prompt for t in await store.recent_turns("c", 1, 10_000, exclude="r2")] == [
        "prompt 1"
    ]
    again = RequestRecord("r3", "c", "fake", "m", "prompt 2", time.time(), replaces="r2")
    await store.log_request(again)
    assert [t.request_id for t in await store.recent_turns("c", 10, 10_000)] == ["r1", "r2"]
    # A failed regeneration replaces nothing; an answered one does.
    await store.log_response(_response(3, "error"))
    assert [t.request_id for t in await store.recent_turns("c", 10, 10_000)] == ["r1", "r2"]
    await store.log_response(_response(3))
    turns = await store.recent_turns("c", 10, 10_000)
    assert [(t.request_id, t.reply) for t in turns] == [("r1", "reply 1"), ("r3", "reply 3")]
    assert len(await store.recent_exchanges()) == 3


async def test_a_fallbacks_answer_is_one_turn_under_the_first_requests_id(store: Store) -> None:
    await store.log_request(_request(1))
    await store.log_response(_response(1, "error"))
    fallback = RequestRecord(
        "r1.1", "c", "fake", "m", "prompt 1", time.time(), first_request_id="r1"
    )
    await store.log_request(fallback)
    await store.log_response(ResponseRecord("r1.1", "ok", "reply", time.time(), 1.0))
    [turn] = await store.recent_turns("c", 10, 10_000)
    assert (turn.request_id, turn.reply) == ("r1", "reply")


async def test_reset_context_hides_earlier_turns_but_keeps_the_log(store: Store) -> None:
    await store.log_request(_request(1))
    await store.log_response(_response(1))
    await store.reset_context("c")
    assert await store.recent_turns("c", 10, 10_000) == []
    await store.log_request(_request(2))
    await store.log_response(_response(2))
    assert [t.prompt for t in await store.recent_turns("c", 10, 10_000)] == ["prompt 2"]
    assert len(await store.recent_exchanges()) == 2


async def test_chat_models_and_known_models(store: Store) -> None:
    assert await store.chat_model("7") is None
    await store.set_chat_model("7", "fake/a")
    await store.set_chat_model("7", "fake/b")
    assert await store.chat_model("7") == "fake/b"
    await store.set_chat_model("7", None)
    assert await store.chat_model("7") is None
    await store.record_models("fake", ["a", "b", "a"])
    await store.record_models("fake", ["b"])
    assert await store.known_models() == {"fake": ["a", "b"]}


async def test_a_chats_system_prompt_is_kept_beside_its_model(store: Store) -> None:
    assert await store.chat_system("c") is None
    await store.set_chat_model("c", "fake/m")
    await store.set_chat_system("c", "Be brief.\nСкажи кратко.")
    assert await store.chat_system("c") == "Be brief.\nСкажи кратко."
    assert await store.chat_model("c") == "fake/m"  # setting one keeps the other
    await store.set_chat_system("c", None)
    assert await store.chat_system("c") is None
    assert await store.chat_model("c") == "fake/m"


async def test_provider_stats_count_requests_errors_and_tokens(store: Store) -> None:
    for i, status in enumerate(["ok", "error", "ok"]):
        await store.log_request(_request(i))
        await store.log_response(_response(i, status))
    [stats] = await store.provider_stats(0)
    assert (stats.provider, stats.requests, stats.errors) == ("fake", 3, 1)
    assert (stats.prompt_tokens, stats.completion_tokens) == (3, 6)


async def test_plain_sql_takes_named_parameters(noted: Store) -> None:
    store = noted
    await store.execute_many(
        "INSERT INTO notes (id, status, created_at) VALUES (:id, :status, :now)",
        [{"id": i, "status": "pending", "now": 1.0} for i in range(3)],
    )
    await store.execute(
        "UPDATE notes SET status = :status WHERE id = :id", {"id": 1, "status": "ok"}
    )
    rows = await store.fetch(
        "SELECT id, status FROM notes WHERE id >= :low ORDER BY id", {"low": 1}
    )
    assert rows == [{"id": 1, "status": "ok"}, {"id": 2, "status": "pending"}]


async def test_a_bad_row_fails_alone_and_its_batch_neighbours_are_kept(store: Store) -> None:
    await store.log_request(_request(1))
    results = await asyncio.gather(
        store.log_response(_response(1)),
        store.log_response(_response(99)),  # no such request: a foreign-key violation
        return_exceptions=True,
    )
    assert results[0] is None
    assert isinstance(results[1], StoreError)
    assert await _count(store, "SELECT COUNT(*) FROM responses") == 1


async def test_500_concurrent_replies_leave_500_pairs(database_url: str) -> None:
    async with scripted_hub(database_url) as (hub, _):
        texts = await asyncio.gather(
            *(hub.generate_reply(f"chat-{i % 50}", f"prompt {i}") for i in range(500))
        )
        store = hub.store
        assert texts[499] == "echo: prompt 499"
        assert await _count(store, "SELECT COUNT(*) FROM requests") == 500
        assert await _count(store, "SELECT COUNT(*) FROM responses WHERE status = 'ok'") == 500
        orphans = "SELECT COUNT(*) FROM responses r LEFT JOIN requests q ON q.id = r.request_id WHERE q.id IS NULL"
        assert await _count(store, orphans) == 0


async def test_a_provider_error_is_logged_with_its_class(database_url: str) -> None:
    async with scripted_hub(database_url) as (hub, provider):
        provider.error = ProviderUnavailableError("upstream 503", provider="fake")
        with pytest.raises(ProviderUnavailableError) as info:
            await hub.generate_reply(1, "hello")
        rows = await hub.store.fetch(
            "SELECT request_id, status, error_type, error_message FROM responses"
        )
    assert rows == [
        {
            "request_id": info.value.request_id,
            "status": "error",
            "error_type": "ProviderUnavailableError",
            "error_message": "fake: upstream 503",
        }
    ]


async def test_a_closed_store_refuses_writes_clearly(database_url: str) -> None:
    from llmhub import ConfigurationError
    from llmhub.store import store_from_url

    store = store_from_url(database_url)
    await store.open()
    await store.close()
    with pytest.raises(ConfigurationError, match="closed"):
        await store.log_request(_request(1))


async def test_a_request_tried_again_under_its_own_id_leaves_one_pair(database_url: str) -> None:
    from llmhub import Prompt

    async with scripted_hub(database_url) as (hub, provider):
        provider.error = ProviderUnavailableError("replica died", provider="fake")
        with pytest.raises(ProviderUnavailableError):
            await hub.reply(Prompt(1, "once", request_id="update-77"))
        provider.error = None
        reply = await hub.reply(Prompt(1, "once", request_id="update-77"))
        rows = await hub.store.fetch(
            "SELECT q.id, r.status, r.text FROM requests q JOIN responses r ON r.request_id = q.id"
        )
    assert reply.text == "echo: once"
    assert rows == [{"id": "update-77", "status": "ok", "text": "echo: once"}]


_HOLD_IF_ROOM = (
    "INSERT INTO holds (id, owner) SELECT :id, 1"
    " WHERE (SELECT COUNT(*) FROM holds WHERE owner = 1) < 5 RETURNING id"
)


async def test_exclusive_conditional_writes_are_exact_across_stores(database_url: str) -> None:
    # Two stores on one database stand for two processes; 40 writes race for 5 places.
    async with store_from_url(database_url) as one, store_from_url(database_url) as two:
        await one.use_schema(NOTES)
        results = await asyncio.gather(
            *(
                (one if i % 2 else two).execute_exclusive(77, _HOLD_IF_ROOM, {"id": f"h{i}"})
                for i in range(40)
            )
        )
        assert sum(len(rows) for rows in results) == 5
        assert await _count(one, "SELECT COUNT(*) FROM holds") == 5
        assert all(rows == [{"id": rows[0]["id"]}] for rows in results if rows)


async def test_a_script_is_all_or_nothing(store: Store) -> None:
    await store.log_request(_request(1))
    await store.log_response(_response(1))
    with pytest.raises(StoreError):
        await store.execute_script(
            [
                ("DELETE FROM responses", {}),
                ("INSERT INTO no_such_table VALUES (1)", {}),
            ]
        )
    assert await _count(store, "SELECT COUNT(*) FROM responses") == 1


async def test_the_conversation_is_the_context_whole_oldest_first(store: Store) -> None:
    for i in range(4):
        await store.log_request(_request(i))
        await store.log_response(_response(i, "ok" if i != 2 else "error"))
    again = RequestRecord("r9", "c", "fake", "m", "prompt 3", time.time(), replaces="r3")
    await store.log_request(again)
    await store.log_response(_response(9))
    await store.log_request(_request(5, chat="other"))
    await store.log_response(_response(5))
    exchanges = await store.conversation("c")
    assert [(e.request_id, e.text) for e in exchanges] == [
        ("r0", "reply 0"),
        ("r1", "reply 1"),
        ("r9", "reply 9"),
    ]
    assert exchanges[0].user_id == 2**40
    await store.reset_context("c")
    assert await store.conversation("c") == []


async def test_a_forgotten_user_leaves_only_counts(store: Store) -> None:
    for i, user in enumerate([7, 7, 8]):
        record = RequestRecord(f"r{i}", "7", "fake", "m", f"secret {i}", time.time(), user_id=user)
        await store.log_request(record)
        await store.log_response(_response(i, "ok" if i else "error"))
    await store.set_chat_system("7", "call me Ishmael")
    await store.set_chat_system("-100", "a group's")  # the user spoke there: not theirs
    before = await store.provider_stats(0)

    # Which chats are the user's alone is the caller's to know (Telegram's private
    # chat has the user's id; another app's need not).
    assert await store.forget_user(7, ["7"]) == 2

    assert await _count(store, "SELECT COUNT(*) FROM requests WHERE user_id = 7") == 0
    assert await _count(store, "SELECT COUNT(*) FROM responses") == 1
    assert await store.chat_system("7") is None
    assert await store.chat_system("-100") == "a group's"
    rows = await store.fetch("SELECT prompt FROM requests")
    assert rows == [{"prompt": "secret 2"}]  # another user's row stays
    assert await store.provider_stats(0) == before  # the statistics keep the counts
    assert await store.forget_user(7) == 0
