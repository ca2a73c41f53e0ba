"""`llmhub-bot` and `python -m llmhub_bot`: run the bot.

A missing token, no configured provider, an invalid setting or a database that
cannot be opened is one clear line and exit code 2; a Bot API server that does
not answer is waited for (one line per try).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence
from importlib import metadata

__all__ = ["main"]


def _arguments(argv: Sequence[str] | None) -> None:
    """`--help` and `--version`; everything else is set in the environment."""
    parser = argparse.ArgumentParser(
        prog="llmhub-bot",
        description=(
            "Run the llmhub Telegram bot: long polling by default, a webhook server when"
            " WEBHOOK_URL is set. It is configured by environment variables, or a .env"
            " file in the current folder (start from .env.example)."
        ),
        epilog=(
            "Needed: TELEGRAM_BOT_TOKEN and one provider's key (MISTRAL_API_KEY,"
            " DIPSEEK_API_KEY, or Vertex AI's GOOGLE_CLOUD_PROJECT). Often set:"
            " ADMIN_IDS, ALLOWED_USER_IDS, LLMHUB_DEFAULT_MODEL, LLMHUB_DATABASE_URL"
            " (default: sqlite:///llmhub.db here), REDIS_URL (for several replicas),"
            " WEBHOOK_URL. Exit codes: 0 stopped, 2 a setting is wrong."
        ),
    )
    try:
        version = metadata.version("aiollmhub")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        version = "(not installed)"
    parser.add_argument("--version", action="version", version=f"llmhub-bot {version}")
    parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    _arguments(argv)
    try:
        from aiogram.exceptions import TelegramUnauthorizedError
        from aiogram.utils.token import TokenValidationError
        from pydantic import ValidationError

        from llmhub import (
            ConfigurationError,
            HubSettings,
            LLMHubError,
            ProviderRegistry,
            StoreError,
            env_names,
            load_environment,
            read_settings,
        )

        from ._app import create_bot_and_dispatcher, run_polling
        from ._logging import configure_logging
        from ._settings import BotSettings
        from ._tools import load_tools
        from ._webhook import run_webhook
    except ImportError as exc:
        print(
            f'llmhub-bot: the bot needs its extra: pip install "aiollmhub[bot]" ({exc.name} missing)',
            file=sys.stderr,
        )
        return 2

    env = load_environment()
    try:
        settings = read_settings(BotSettings, env)
        hub_settings = read_settings(HubSettings, env)
    except ValidationError as exc:
        variables = dict(env_names(BotSettings)) | dict(env_names(HubSettings))
        names = ", ".join(variables.get(str(e["loc"][0]), str(e["loc"][0])) for e in exc.errors())
        print(f"llmhub-bot: invalid setting: {names}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format)
    if settings.telegram_bot_token is None:
        print("llmhub-bot: set TELEGRAM_BOT_TOKEN (the token @BotFather gave you)", file=sys.stderr)
        return 2
    registry = ProviderRegistry(env, settings=hub_settings)
    if not any(info.configured for info in registry.info()):
        needs = "; ".join(f"{i.name}: {', '.join(i.missing_env)}" for i in registry.info())
        print(f"llmhub-bot: no LLM provider is configured; set one of ({needs})", file=sys.stderr)
        return 2
    for model in (*hub_settings.fallbacks, *filter(None, [hub_settings.default_model])):
        try:  # a typo here would start fine, then fail every reply
            registry.resolve(model)
        except LLMHubError as exc:
            print(f"llmhub-bot: invalid setting: {model!r}: {exc}", file=sys.stderr)
            return 2
    try:
        tools = load_tools(settings.bot_tools)
    except ConfigurationError as exc:
        print(f"llmhub-bot: {exc}", file=sys.stderr)
        return 2
    try:
        bot, dispatcher = create_bot_and_dispatcher(settings, tools=tools)
    except TokenValidationError:
        print("llmhub-bot: TELEGRAM_BOT_TOKEN is malformed (see @BotFather)", file=sys.stderr)
        return 2
    runner = (
        run_webhook(bot, dispatcher, settings)
        if settings.webhook_url
        else run_polling(bot, dispatcher)
    )
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(runner)
    except (ConfigurationError, StoreError) as exc:  # the database, unreachable or refusing
        reason = "; ".join(filter(None, (line.strip() for line in str(exc).splitlines())))
        print(f"llmhub-bot: {reason}", file=sys.stderr)  # libpq's hint on a line of its own
        return 2
    except TelegramUnauthorizedError:
        print(
            "llmhub-bot: Telegram refused TELEGRAM_BOT_TOKEN (Unauthorized);"
            " check it with @BotFather",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
