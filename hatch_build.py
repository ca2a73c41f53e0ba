"""Compile the bot's gettext catalogs (`.po` to `.mo`) whenever a wheel is built.

aiogram reads compiled catalogs; the repository keeps only the `.po` sources.
The wheel (and an editable install, which builds one too) carries the `.mo`
files, so the bot compiles nothing at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CatalogsBuildHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        locales = Path(self.root) / "src" / "llmhub_bot" / "locales"
        for po in sorted(locales.glob("*/LC_MESSAGES/*.po")):
            with po.open("rb") as source:
                catalog = read_po(source)
            with po.with_suffix(".mo").open("wb") as target:
                write_mo(target, catalog)
