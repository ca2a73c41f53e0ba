"""`import llmhub` and discovery stay light: no SDK, no HTTP client, no pydantic."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import llmhub

HEAVY = (
    "aiogram",
    "google.cloud.aiplatform",
    "google.api_core",
    "grpc",
    "httpx",
    "aiohttp",
    "pydantic",
    "opentelemetry",
    "prometheus_client",
    "pypdf",
)


def _modules_after(code: str) -> set[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.startswith(HEAVY)}


def test_import_llmhub_loads_nothing_heavy() -> None:
    assert _heavy(_modules_after("import llmhub")) == set()


def test_discovery_loads_no_provider_sdk() -> None:
    plugins = {
        ep.value.split(":")[0].split(".")[0]
        for ep in importlib.metadata.entry_points(group=llmhub.ENTRY_POINT_GROUP)
    }
    modules = _modules_after("import llmhub\nassert llmhub.ProviderRegistry().names()")
    assert _heavy(modules) == set()
    assert plugins
    assert plugins <= modules  # every installed plugin was discovered


def test_gemini_sdk_is_loaded_on_first_use() -> None:
    modules = _modules_after(
        "import llmhub\nr = llmhub.ProviderRegistry({'GEMINI_PROJECT': 'p', 'GEMINI_KEY': 'k'})\n"
        "r.get('gemini')._sdk()"
    )
    assert "google.cloud.aiplatform_v1" in modules
