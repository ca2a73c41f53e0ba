"""The plugin hooks. A provider plugin is a module listed in the `llmhub.providers`
entry-point group that implements them:

    # pyproject.toml
    [project.entry-points."llmhub.providers"]
    mistral = "llmhub_mistral"

    # llmhub_mistral/__init__.py
    from llmhub import hookimpl

    @hookimpl
    def llmhub_providers():
        return [MistralProvider]

Keep the plugin module light: import heavy SDKs inside the provider's methods.
"""

from __future__ import annotations

import pluggy

from ._provider import BaseProvider

__all__ = ["ENTRY_POINT_GROUP", "PROJECT", "hookimpl", "hookspec"]

PROJECT = "llmhub"
ENTRY_POINT_GROUP = "llmhub.providers"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def llmhub_providers() -> list[type[BaseProvider]]:  # type: ignore[empty-body]
    """Return the provider classes this plugin offers."""
