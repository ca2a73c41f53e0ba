"""Embedding calls: checked, sent to the model's provider (which batches them to its
API's limits), and logged as one row each with what they used and cost."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ._exceptions import EmptyPromptError, InvalidRequestError, LLMHubError, UnsupportedOptionError
from ._types import Embeddings, Usage
from .store import EmbeddingRecord

if TYPE_CHECKING:
    from ._hub import Hub

__all__ = ["embed_texts"]


async def embed_texts(
    hub: Hub, texts: Sequence[str], model: str, *, user_id: int | None = None
) -> Embeddings:
    """`Hub.embed`: see there."""
    if isinstance(texts, str):
        raise TypeError("embed() takes a list of texts; wrap one text in a list")
    texts = list(texts)
    if not texts:
        raise EmptyPromptError("no texts to embed")
    empty = [n for n, text in enumerate(texts) if not text.strip()]
    if empty:
        raise InvalidRequestError(
            f"text {empty[0]} of {len(texts)} is empty; it cannot be embedded"
        )
    provider, model_id = hub.registry.resolve(model)
    info = provider.model_info(model_id)
    if not info.embeds:
        models = [f"{provider.name}/{m}" for m in provider.catalogue.embedding_models()]
        which = ", ".join(models) or f"{provider.name} has none"
        raise UnsupportedOptionError(
            f"{model_id} is not an embedding model; the embedding models: {which}",
            provider=provider.name,
            model=model_id,
        )
    from ._hub import new_request_id

    record = EmbeddingRecord(
        id=new_request_id(),
        provider=provider.name,
        model=model_id,
        inputs=len(texts),
        chars=sum(map(len, texts)),
        status="ok",
        created_at=time.time(),
        latency_ms=0.0,
        user_id=user_id,
    )
    started = time.perf_counter()
    try:
        result = await provider.embed(model_id, texts)
    except LLMHubError as exc:
        exc.request_id = record.id
        await hub.store.log_embedding(
            replace(
                record,
                status="error",
                latency_ms=(time.perf_counter() - started) * 1000,
                error_type=type(exc).__name__,
                error_message=str(exc),
            )
        )
        raise
    tokens = result.usage.prompt_tokens
    used = Usage(prompt_tokens=tokens, completion_tokens=0)
    cost = provider.cost(model_id, used, record.created_at) if tokens is not None else None
    await hub.store.log_embedding(
        replace(
            record,
            latency_ms=(time.perf_counter() - started) * 1000,
            prompt_tokens=tokens,
            cost_usd=cost,
        )
    )
    return replace(result, cost=cost, request_id=record.id)
