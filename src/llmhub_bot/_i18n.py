"""Messages in the user's language: gettext catalogs through aiogram's i18n.

The catalogs are the `.po` files under `locales/`; the build (`hatch_build.py`)
compiles each into the `.mo` file next to it, which the wheel ships. English
is the source language and the fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiogram.utils.i18n import I18n

__all__ = ["DOMAIN", "LOCALES", "make_i18n", "speaking"]

log = logging.getLogger("llmhub_bot")

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "messages"


def make_i18n() -> I18n:
    sources = {po.parent.parent.name for po in LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    compiled = {mo.parent.parent.name for mo in LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")}
    if sources - compiled:
        log.warning(
            "translations %s are not compiled (reinstall llmhub); those users get English",
            ", ".join(sorted(sources - compiled)),
        )
    return I18n(path=LOCALES, default_locale="en", domain=DOMAIN)


@contextmanager
def speaking(language: str | None) -> Iterator[None]:
    """Messages made inside are in `language` (the nearest the bot speaks, else
    English): for a message to someone other than the one whose update it handles
    (an admin's access request, a user's verdict)."""
    i18n = I18n.get_current(no_error=True)
    if i18n is None:
        yield
        return
    code = (language or "").replace("-", "_")
    wanted = (code, code.split("_", 1)[0])
    locale = next((c for c in wanted if c in i18n.available_locales), i18n.default_locale)
    with i18n.use_locale(locale):
        yield
