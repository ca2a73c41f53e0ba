"""The two test cases of the plan (iteration 4), kept as written there."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from llmhub import ChatRequest, ProviderRegistry, Reply, generate_reply
from llmhub_dipseek import DipseekProvider
from llmhub_gemini import GeminiProvider
from llmhub_mistral import MistralProvider


async def test_list_models_aggregates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Case 1: `list_all` returns the union of the three providers' models."""

    async def gemini(self: GeminiProvider) -> list[str]:
        return ["gemini-pro"]

    async def mistral(self: MistralProvider) -> list[str]:
        return ["mistral-8x7b"]

    async def dipseek(self: DipseekProvider) -> list[str]:
        return ["dipseek-latest"]

    monkeypatch.setattr(GeminiProvider, "list_models", gemini)
    monkeypatch.setattr(MistralProvider, "list_models", mistral)
    monkeypatch.setattr(DipseekProvider, "list_models", dipseek)

    registry = ProviderRegistry()
    catalog = await registry.list_all()

    assert set(catalog) == {"gemini-pro", "mistral-8x7b", "dipseek-latest"}
    assert dict(catalog.by_provider) == {
        "dipseek": ("dipseek-latest",),
        "gemini": ("gemini-pro",),
        "mistral": ("mistral-8x7b",),
    }
    assert catalog.errors == {}


async def test_generate_reply_logs_request_and_response(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Case 2: `generate_reply` writes a `requests` row and its `responses` pair."""
    db = tmp_path / "schema-test.db"
    monkeypatch.setenv("LLMHUB_DATABASE_URL", f"sqlite:///{db}")

    async def stub(self: GeminiProvider, request: ChatRequest) -> Reply:
        return Reply(text="stub", model=request.model, provider="gemini")

    monkeypatch.setattr(GeminiProvider, "generate", stub)

    text = await generate_reply(chat_id=1, prompt="Hello", model="gemini-pro")

    assert text == "stub"
    with sqlite3.connect(db) as conn:
        requests = conn.execute("SELECT id, model, prompt FROM requests").fetchall()
        responses = conn.execute("SELECT request_id, status, text FROM responses").fetchall()
    assert len(requests) == 1
    request_id, model, prompt = requests[0]
    assert (model, prompt) == ("gemini-pro", "Hello")
    assert responses == [(request_id, "ok", "stub")]
