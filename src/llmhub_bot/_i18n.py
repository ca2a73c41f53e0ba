"""Messages in the user's language: gettext catalogs through aiogram's i18n.

The catalogs are the `.po` files under `locales/`; the build (`hatch_build.py`)
compiles each into the `.mo` file next to it, which the wheel ships. English
is the source language and the fallback.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiogram.utils.i18n import I18n

__all__ = ["DOMAIN", "LOCALES", "make_i18n"]

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
