"""Test helpers for apps and provider plugins, shipped with llmhub (as httpx ships
`MockTransport`): nothing here reaches a network beyond 127.0.0.1.

- `ScriptedProvider`: an in-process provider whose answers a test scripts.
- `plugin_offering(*classes)`: a plugin object offering provider classes, for
  `ProviderRegistry(plugins=[...])`.
- `scripted_hub()`: a `Hub` over a `ScriptedProvider` and a store, closed after.
- `FakeOpenAIServer` and `Behaviour` (in `llmhub.testing.openai_server`): a
  local server speaking the OpenAI chat-completions wire format, for plugins
  built on `llmhub.openai_compat`; `python -m llmhub.testing.openai_server`
  runs it by hand.
- `llmhub.testing.fixtures`: pytest fixtures (`scripted`, `fake_openai`);
  enable with `pytest_plugins = ["llmhub.testing.fixtures"]`.
"""

from __future__ import annotations

from ._scripted import ScriptedProvider, plugin_offering, scripted_hub

__all__ = ["ScriptedProvider", "plugin_offering", "scripted_hub"]
