"""The bot's pieces below the polling loop: splitting, throttling, settings, menu, start-up."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from llmhub import Hub, ProviderRegistry
from llmhub.testing import scripted_hub
from llmhub_bot import BotSettings, render
from llmhub_bot.__main__ import main
from llmhub_bot._delivery import _preview, _Throttle
from llmhub_bot._logging import JsonFormatter
from llmhub_bot._markdown import MAX_MESSAGE
from llmhub_bot._models_menu import PAGE, ModelPage, _keyboard, readable_name
from llmhub_bot._tables import SCHEMA as BOT_SCHEMA
from llmhub_bot._users import UserRecord, Users


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_a_long_reply_with_a_code_block_splits_under_the_limit_keeping_entities() -> None:
    code = "\n".join(f"print({i})  # 😀" for i in range(600))  # astral emoji: 2 UTF-16 units
    parts = render(f"Intro **bold**\n\n```python\n{code}\n```\n\nOutro")
    assert len(parts) >= 3
    for text, entities in parts:
        assert 0 < _utf16(text) <= MAX_MESSAGE
        for entity in entities:
            assert entity.offset + entity.length <= _utf16(text)
    assert any(e.type == "bold" for e in parts[0][1])
    assert all(any(e.type == "pre" for e in entities) for _, entities in parts[1:-1])
    assert "".join(text for text, _ in parts).count("print(") == 600  # nothing lost


def test_broken_markdown_still_renders() -> None:
    [(text, _)] = render("**unclosed _mixed `markup")
    assert "unclosed" in text


def test_the_throttle_skips_unchanged_and_blank_text() -> None:
    throttle = _Throttle(interval=0)
    assert throttle.due("a")
    assert not throttle.due("a")
    assert not throttle.due("   ")
    assert throttle.due("ab")
    slow = _Throttle(interval=3600)
    assert slow.due("a")
    assert not slow.due("ab")  # within the interval


def test_id_lists_parse_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "1, 2;3")
    monkeypatch.setenv("ALLOWED_USER_IDS", "")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    settings = BotSettings(_env_file=None)
    assert settings.admin_ids == frozenset({1, 2, 3})
    assert settings.allowed_user_ids == frozenset()
    assert "abc" not in repr(settings)


def test_the_model_menu_pages() -> None:
    hub = cast(Hub, SimpleNamespace(registry=ProviderRegistry({}, plugins=[])))
    models = [f"p/m{i}" for i in range(PAGE * 2 + 1)]
    first = _keyboard(hub, models, 0, current="p/m1").inline_keyboard
    assert [row[0].text for row in first[:PAGE]][:2] == ["M0 · p", "✅ M1 · p"]
    assert [b.callback_data for b in first[-1]] == [ModelPage(page=1).pack()]
    middle = _keyboard(hub, models, 1, current=None).inline_keyboard
    assert [b.text for b in middle[-1]] == ["◀", "▶"]
    last = _keyboard(hub, models, 2, current=None).inline_keyboard
    assert [row[0].text for row in last] == [f"M{PAGE * 2} · p", "◀"]


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("mistral-small-latest", "Mistral Small"),
        ("gemini-2.5-flash", "Gemini 2.5 Flash"),
        ("deepseek-v4-flash", "DeepSeek V4 Flash"),
        ("codestral-2508", "Codestral 2508"),
    ],
)
def test_model_ids_read_as_people_write_them(model: str, name: str) -> None:
    assert readable_name(model) == name


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "set TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": "123:abc"}, "no LLM provider is configured"),
        (
            {"TELEGRAM_BOT_TOKEN": "not a token", "MISTRAL_API_KEY": "k"},
            "TELEGRAM_BOT_TOKEN is malformed",
        ),
        ({"ADMIN_IDS": "one,two"}, "invalid setting: ADMIN_IDS"),
    ],
)
def test_start_up_problems_are_one_line_and_exit_2(
    env: dict[str, str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main([]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_json_logs_are_one_object_per_line() -> None:
    record = logging.LogRecord(
        "llmhub_bot", logging.INFO, __file__, 1, "replied chat=%s", (5,), None
    )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "replied chat=5"
    assert entry["level"] == "INFO"


async def test_users_keep_their_status_when_their_names_change(tmp_path: Path) -> None:
    async with scripted_hub(f"sqlite:///{tmp_path / 'u.db'}") as (hub, _):
        await hub.store.use_schema(BOT_SCHEMA)
        users = Users(hub.store)
        await users.upsert(UserRecord(5, "pending", "ann", "Ann", "ru"))
        await users.upsert(UserRecord(5, "approved", "ann2", "Ann B", "en"))
        assert await users.get(5) == UserRecord(5, "pending", "ann2", "Ann B", "en")
        await users.set_status(5, "approved")
        assert await users.get(5) == UserRecord(5, "approved", "ann2", "Ann B", "en")
        assert await users.get(6) is None
        assert await users.count() == {"approved": 1}


def test_a_streamed_preview_fits_telegram_counting_utf16_and_keeps_the_end() -> None:
    text = "start " + "😀" * 3000 + " the end"  # 6,014 UTF-16 units, 3,014 code points
    preview = _preview(text)
    assert len(preview.encode("utf-16-le")) // 2 <= MAX_MESSAGE
    assert preview.endswith("😀 the end")
    preview.encode("utf-8")  # no half of a surrogate pair left at the cut


def test_sizes_are_shown_as_people_read_them() -> None:
    from llmhub_bot._i18n import make_i18n
    from llmhub_bot._media import human_size

    sizes = (0, 300, 1536, 10 * 1024, 24 * 1024**2, 3 * 1024**4)
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        assert [human_size(n) for n in sizes] == [
            "0 B",
            "300 B",
            "1.5 KB",
            "10 KB",
            "24 MB",
            "3072 GB",
        ]
    with i18n.context(), i18n.use_locale("ru"):
        assert human_size(24 * 1024**2) == "24 МБ"
