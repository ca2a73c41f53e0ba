"""Tools the bot's models may call, as an operator installs them.

A package offers tools through the `llmhub_bot.tools` entry-point group; each
entry point names a function, a `llmhub.Tool`, or a list of them:

    [project.entry-points."llmhub_bot.tools"]
    weather = "my_bot_tools:weather"

Every installed one is used, unless `BOT_TOOLS` names the ones to use: entry
point names, the bot's own tools (`read_link`, off unless named) and
`module:function` specs, comma-separated (`none` for none). A tool that fails to
load stops the bot at start with one line naming it.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiogram.utils.i18n import gettext as _

from llmhub import ConfigurationError, Hub, LLMHubError, Tool, ToolCall
from llmhub.cli import load_function

from ._read_link import READ_LINK, link_host

__all__ = ["ENTRY_POINT_GROUP", "load_tools", "tool_help", "tool_line", "tools_for"]

ENTRY_POINT_GROUP = "llmhub_bot.tools"


def load_tools(
    setting: str | None, own: Mapping[str, Callable[[], Tool]] | None = None
) -> tuple[Tool, ...]:
    """The tools `BOT_TOOLS` asks for (default: every installed entry point; the
    bot's `own` ones, by name, only when named); `ConfigurationError` naming the one
    that cannot be loaded."""
    installed = {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    own = own or {}
    names = [part.strip() for part in (setting or "").split(",") if part.strip()]
    if names == ["none"]:
        return ()
    tools: list[Tool] = []
    for name in names or sorted(installed):
        if ":" in name:
            tools.append(_as_tool(load_function(name), name))
            continue
        if name in own:
            tools.append(own[name]())
            continue
        entry = installed.get(name)
        if entry is None:
            known = ", ".join(sorted({*installed, *own})) or "none is installed"
            raise ConfigurationError(f"BOT_TOOLS: no tool {name!r} ({known})")
        try:
            loaded = entry.load()
        except Exception as exc:
            raise ConfigurationError(
                f"tool {name!r} ({entry.value}) failed to load: {type(exc).__name__}: {exc}"
            ) from exc
        tools += [_as_tool(value, name) for value in _values(loaded)]
    seen: set[str] = set()
    for tool in tools:
        if tool.name in seen:
            raise ConfigurationError(f"two tools are named {tool.name!r}")
        seen.add(tool.name)
    return tuple(tools)


def _values(loaded: Any) -> Iterable[Any]:
    return loaded if isinstance(loaded, list | tuple) else (loaded,)


def _as_tool(value: Any, where: str) -> Tool:
    if isinstance(value, Tool):
        return value
    if callable(value):
        try:
            return Tool.from_function(value)
        except (TypeError, ValueError, NameError) as exc:
            raise ConfigurationError(f"tool {where!r}: {exc}") from exc
    raise ConfigurationError(f"tool {where!r} is neither a function nor a llmhub.Tool")


async def tools_for(
    hub: Hub, chat_id: int | str, model: str | None, tools: tuple[Tool, ...]
) -> tuple[Tool, ...]:
    """The tools, if the model the call goes to calls tools; else none (it still answers)."""
    if not tools:
        return ()
    try:
        provider, model = hub.registry.resolve(await hub.model_for(chat_id, model))
    except LLMHubError:
        return ()  # the call itself will say what is wrong with the model
    return tools if provider.model_info(model).tools else ()


def tool_line(call: ToolCall) -> str:
    """What the chat shows while a tool runs ("🔧 using weather…", "🔗 reading
    example.com…")."""
    if call.name == READ_LINK and (host := link_host(call.arguments)):
        return "🔗 " + _("reading {site}…").format(site=host)
    return "🔧 " + _("using {tool}…").format(tool=call.name)


def tool_help(tool: Tool) -> str:
    """A tool's line in /help: the bot's own in the user's language, others by the first
    line of their description."""
    if tool.name == READ_LINK:
        return "🔗 " + _("{tool} — reads the web pages you send links to").format(tool=tool.name)
    text = tool.description.strip()
    return f"🔧 {tool.name} — {text.splitlines()[0] if text else ''}"
