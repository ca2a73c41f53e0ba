"""A URL setting without its scheme is one clear line at start (issue 24), never a
traceback that prints the bot's token."""

from __future__ import annotations

import pytest

from llmhub_bot import __main__ as bot_main
from tests.bot.conftest import PROVIDER_KEY, TOKEN


@pytest.mark.parametrize("variable", ["TELEGRAM_API_URL", "WEBHOOK_URL"])
def test_a_url_without_a_scheme_is_one_line_and_never_shows_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("MISTRAL_API_KEY", PROVIDER_KEY)
    monkeypatch.setenv(variable, "localhost:8081")
    assert bot_main.main([]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"llmhub-bot: invalid setting: {variable}"
    assert TOKEN not in err


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("WEBHOOK_PORT", "99999", "llmhub-bot: invalid setting: WEBHOOK_PORT"),
        ("REDIS_URL", "garbage", "llmhub-bot: invalid setting: REDIS_URL"),
        ("LLMHUB_FALLBACKS", "gemnii-2.5-flash", "llmhub-bot: invalid setting: 'gemnii-2.5-flash'"),
        ("LLMHUB_DEFAULT_MODEL", "nosuch/model", "llmhub-bot: invalid setting: 'nosuch/model'"),
        ("TELEGRAM_BOT_TOKEN", "not-a-token", "llmhub-bot: TELEGRAM_BOT_TOKEN is malformed"),
    ],
)
def test_a_garbage_setting_is_one_line_at_start(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    says: str,
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("MISTRAL_API_KEY", PROVIDER_KEY)
    monkeypatch.setenv(variable, value)
    assert bot_main.main([]) == 2
    err = capsys.readouterr().err
    assert err.strip().startswith(says)
    assert len(err.strip().splitlines()) == 1
    assert TOKEN not in err
