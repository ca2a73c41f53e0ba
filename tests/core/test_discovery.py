"""Real entry-point discovery with throwaway distributions put on sys.path."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmhub import PluginLoadError, ProviderRegistry

GOOD = """
from llmhub import BaseProvider, hookimpl

class ThrowawayProvider(BaseProvider):
    name = "throwaway"
    model_prefixes = ("throw-",)

    async def list_models(self):
        return ["throw-1"]

    async def generate(self, request):
        raise NotImplementedError

    async def stream(self, request):
        raise NotImplementedError
        yield

@hookimpl
def llmhub_providers():
    return [ThrowawayProvider]
"""


def _distribution(root: Path, name: str, module_source: str) -> None:
    (root / f"{name}.py").write_text(module_source)
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[llmhub.providers]\n{name} = {name}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    yield root
    for name in ("throwaway_good", "throwaway_broken"):
        sys.modules.pop(name, None)
    importlib.invalidate_caches()


def test_an_installed_plugin_is_discovered(site: Path) -> None:
    _distribution(site, "throwaway_good", GOOD)
    importlib.invalidate_caches()

    registry = ProviderRegistry()

    assert "throwaway" in registry.names()
    assert {"gemini", "mistral", "dipseek"} <= set(registry.names())
    info = {i.name: i for i in registry.info()}["throwaway"]
    assert (info.distribution, info.version) == ("throwaway_good", "1.0")
    assert registry.resolve("throw-1")[0].name == "throwaway"


async def test_a_plugin_that_fails_to_import_is_reported_and_skipped(site: Path) -> None:
    _distribution(site, "throwaway_broken", "raise ImportError('missing dependency xyz')\n")
    _distribution(site, "throwaway_good", GOOD)
    importlib.invalidate_caches()

    registry = ProviderRegistry()

    failure = registry.failures["throwaway_broken"]
    assert isinstance(failure, PluginLoadError)
    assert "missing dependency xyz" in str(failure)
    assert "throwaway" in registry.names()
    assert set(await registry.get("throwaway").list_models()) == {"throw-1"}
