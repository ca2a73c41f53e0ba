"""The translations ship compiled, and the bot compiles nothing when it starts."""

from __future__ import annotations

import gettext
import io
import tempfile
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from llmhub_bot import BotSettings, create_bot_and_dispatcher
from llmhub_bot._i18n import DOMAIN, LOCALES


def _compiled(po: Path) -> dict[object, str]:
    buffer = io.BytesIO()
    with po.open("rb") as source:
        write_mo(buffer, read_po(source))
    buffer.seek(0)
    return _messages(gettext.GNUTranslations(buffer))


def _messages(translations: gettext.GNUTranslations) -> dict[object, str]:
    """The translated messages (not the header, which carries the time it was made)."""
    catalog: dict[object, str] = translations._catalog  # type: ignore[attr-defined]
    return {key: text for key, text in catalog.items() if key != ""}


def test_every_catalog_is_compiled_and_up_to_date() -> None:
    sources = sorted(LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    assert sources
    for po in sources:
        mo = po.with_suffix(".mo")
        assert mo.exists(), f"{mo} missing: the build (hatch_build.py) makes it; run uv sync"
        with mo.open("rb") as shipped:
            assert _messages(gettext.GNUTranslations(shipped)) == _compiled(po), (
                f"{mo} is older than {po.name}: run `python3 dev.py sync`"
            )


def test_every_message_the_bot_says_is_translated() -> None:
    source = LOCALES.parent
    said = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(source), method_map=[("**.py", "python")], keywords={"_": None, "__": None}
        )
    }
    assert len(said) > 80
    for po in sorted(LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as file:
            catalog = read_po(file)
        translated = {  # a plural message is known by its singular, as the code says it
            message.id if isinstance(message.id, str) else message.id[0]
            for message in catalog
            if message.id
            and (all(message.string) if isinstance(message.string, tuple) else message.string)
        }
        missing = sorted(said - translated)
        assert missing == [], f"{po.parent.parent.name} lacks translations of {missing}"


def test_starting_the_bot_leaves_nothing_in_the_temp_directory() -> None:
    temp = Path(tempfile.gettempdir())
    before = set(temp.iterdir())
    settings = BotSettings(_env_file=None, telegram_bot_token="123456:TEST-token-i18n")
    create_bot_and_dispatcher(settings)
    left = {path.name for path in set(temp.iterdir()) - before}
    assert not {name for name in left if name.startswith("llmhub-bot-locales-")}


@pytest.mark.parametrize(
    ("n", "turns", "chars"),
    [
        (1, "1 прошлую реплику", "1 символ"),
        (2, "2 прошлые реплики", "2 символа"),
        (5, "5 прошлых реплик", "5 символов"),
        (11, "11 прошлых реплик", "11 символов"),
        (21, "21 прошлую реплику", "21 символ"),
        (24, "24 прошлые реплики", "24 символа"),
    ],
)
def test_russian_counts_take_their_plural_forms(n: int, turns: str, chars: str) -> None:
    from aiogram.utils.i18n import gettext

    from llmhub_bot._i18n import make_i18n

    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        assert gettext("{n} earlier turn", "{n} earlier turns", n=n).format(n=n) == turns
        assert gettext("{n} character", "{n} characters", n=n).format(n=n) == chars


#: Words that stay as they are in a Russian text: names, and the words of commands.
_NAMES = {"Telegram", "Markdown", "Mistral", "DeepSeek", "Gemini", "Voxtral", "PDF", "USD"}
_NAMES |= {"llmhub", "pong", "id", "off", "approve", "revoke"}


def test_russian_messages_hold_no_english_words() -> None:
    """A Russian message with English inside (limits, notes, command help) fails here:
    only names, placeholders, commands, variables and amounts may be in Latin letters."""
    import re

    with (LOCALES / "ru" / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as file:
        catalog = read_po(file)
    found: dict[str, list[str]] = {}
    for message in catalog:
        if not message.id:
            continue  # the catalog's header
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in (str(string) for string in strings if string):
            bare = re.sub(r"\{[^}]*\}|/[a-z_]+|`[^`]*`|@\w+|\b[A-Z][A-Z0-9_]{2,}\b", " ", text)
            bare = re.sub(r"\$?[0-9][0-9.,]*[kKmM]?", " ", bare)  # amounts: 200k, $5
            words = set(re.findall(r"[A-Za-z]+", bare)) - _NAMES
            if words:
                found[text] = sorted(words)
    assert found == {}
