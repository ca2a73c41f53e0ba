"""Every variable is read in one place and documented: `.env.example` lists
exactly the variables the settings models and the installed providers declare,
and the README names none that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmhub import ConfigurationError, Hub, HubSettings, ProviderRegistry, env_names, read_settings
from llmhub_bot import BotSettings

ROOT = Path(__file__).resolve().parents[2]
_VARIABLE = re.compile(r"\b(?:[A-Z][A-Z0-9]+_)+[A-Z0-9]+\b")


def _declared(*, aliases: bool = False) -> set[str]:
    infos = ProviderRegistry({}).info()
    return {
        *(var for _, var in env_names(HubSettings)),
        *(var for _, var in env_names(BotSettings)),
        *(var for info in infos for var in (info.all_names if aliases else info.env_vars)),
    }


def test_env_example_lists_exactly_the_declared_variables() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = {
        line.split("=", 1)[0] for line in text.splitlines() if re.match(r"^[A-Z_0-9]+=", line)
    }
    assert listed == _declared()


def test_the_readme_and_the_docs_name_only_variables_that_exist() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    named = {v for v in _VARIABLE.findall(text) if v.startswith(_prefixes())}
    assert (
        named - _declared(aliases=True) - {"TEST_SERVICES", "TEST_POSTGRES_URL", "TEST_REDIS_URL"}
        == set()
    )


def _prefixes() -> tuple[str, ...]:
    return tuple({var.split("_")[0] + "_" for var in _declared(aliases=True)})


def test_settings_are_read_from_one_mapping_and_empty_means_unset() -> None:
    env = {"LLMHUB_DEFAULT_MODEL": "", "LLMHUB_TIMEOUT": "5", "LLMHUB_MAX_RETRIES": "0"}
    settings = read_settings(HubSettings, env)
    assert settings.default_model is None
    assert settings.http_timeouts().total == 5.0
    assert settings.retry_policy().attempts == 1
    bot = read_settings(BotSettings, {"LLMHUB_LOG_FORMAT": "json", "ADMIN_IDS": "1,2"})
    assert (bot.log_format, bot.admin_ids) == ("json", frozenset({1, 2}))


async def test_providers_get_their_timeouts_from_the_hubs_settings() -> None:
    registry = ProviderRegistry(
        {}, settings=read_settings(HubSettings, {"LLMHUB_READ_TIMEOUT": "7"})
    )
    assert registry.get("mistral").timeouts.read == 7.0


async def test_a_bad_value_is_a_configuration_error_naming_it() -> None:
    with pytest.raises(ConfigurationError, match="max_retries"):
        await Hub.open({"LLMHUB_MAX_RETRIES": "lots"})
