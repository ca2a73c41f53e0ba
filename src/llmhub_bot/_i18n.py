"""Messages in the user's language: gettext catalogs through aiogram's i18n.

The catalogs are the `.po` files under `locales/`. aiogram reads compiled
`.mo` files, so they are compiled with Babel at start-up into a temporary
directory (removed at exit): no generated file is kept in the repository.
English is the source language and the fallback.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = ["DOMAIN", "LOCALES", "compile_catalogs", "make_i18n"]

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "messages"


def compile_catalogs(source: Path, target: Path, domain: str = DOMAIN) -> list[str]:
    """Compile every `<locale>/LC_MESSAGES/<domain>.po` of `source` into `target`."""
    locales = []
    for po in sorted(source.glob(f"*/LC_MESSAGES/{domain}.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle)
        locale = po.parent.parent.name
        mo = target / locale / "LC_MESSAGES" / f"{domain}.mo"
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as handle:
            write_mo(handle, catalog)
        locales.append(locale)
    return locales


def make_i18n() -> I18n:
    compiled = Path(tempfile.mkdtemp(prefix="llmhub-bot-locales-"))
    atexit.register(shutil.rmtree, compiled, ignore_errors=True)
    compile_catalogs(LOCALES, compiled)
    return I18n(path=compiled, default_locale="en", domain=DOMAIN)
