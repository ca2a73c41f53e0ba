"""Mistral's chat models: what each reads and costs.

Sources, as read on 2026-11-29 from the copies of the official pages reachable
from here (the newest quoting the pages on 2026-07-04):

- models, context windows, input kinds: https://docs.mistral.ai/getting-started/models/
- prices (USD per million tokens): https://mistral.ai/pricing#api-pricing

Costs come from genai-prices (see `llmhub._prices`); these prices count only
where it has no entry. Mistral publishes no separate output limit: the prompt
and `max_tokens` together must fit the context window, so the maximum output is
the window. Cached prompt tokens (`usage.num_cached_tokens`) cost 10% of the
input price. Every chat model calls tools and follows a
JSON schema (`response_format: json_schema`); the embedding models
(https://docs.mistral.ai/capabilities/embeddings/) take up to 8,192 tokens a text. Voxtral's audio is billed per minute
(small $0.004, mini $0.001), which token prices cannot express: the cost of a
call with audio counts its text tokens only.
"""

from __future__ import annotations

from llmhub import InputKind, ModelTable, Price, model_entry

__all__ = ["MODELS"]

_K128 = 131_072
_K256 = 262_144
_VISION: tuple[InputKind, ...] = ("text", "image", "pdf")
_TEXT: tuple[InputKind, ...] = ("text",)
_AUDIO: tuple[InputKind, ...] = ("text", "audio")
#: `reasoning_effort` takes "none" and "high" (https://docs.mistral.ai/capabilities/reasoning/).
_EFFORT = ("off", "high")


def _cached(input: float, output: float) -> Price:
    """Mistral bills prompt tokens served from its cache at 10% of the input price."""
    return Price(input, output, cached_input=round(input * 0.1, 6))


MODELS = ModelTable(
    models=(
        model_entry(
            "mistral-large-latest",
            context=_K256,
            output=_K256,
            inputs=_VISION,
            price=_cached(0.5, 1.5),
        ),
        model_entry(
            "mistral-large-4",
            context=_K256,
            output=_K256,
            inputs=_VISION,
            reasoning_levels=_EFFORT,
            price=_cached(0.68, 2.09),
            note="Mistral Large 4; reasons with reasoning='high'",
        ),
        model_entry(
            "mistral-medium-latest",
            context=_K256,
            output=_K256,
            inputs=_VISION,
            price=_cached(1.5, 7.5),
            note="Mistral Medium 3.5",
        ),
        model_entry(
            "mistral-small-latest",
            context=_K128,
            output=_K128,
            inputs=_VISION,
            price=_cached(0.1, 0.3),
            reasoning_levels=_EFFORT,
            note="reasons with reasoning='high'",
        ),
        model_entry(
            "pixtral-large-latest",
            context=_K128,
            output=_K128,
            inputs=_VISION,
            price=Price(2.0, 6.0),
        ),
        model_entry(
            "magistral-medium-latest",
            context=_K128,
            output=_K128,
            inputs=("text", "image"),
            reasoning=True,
            price=Price(2.0, 5.0),
            reasoning_levels=_EFFORT,
        ),
        model_entry(
            "magistral-small-latest",
            context=_K128,
            output=_K128,
            inputs=("text", "image"),
            reasoning=True,
            price=Price(0.5, 1.5),
            reasoning_levels=_EFFORT,
        ),
        model_entry(
            "codestral-latest",
            context=_K256,
            output=_K256,
            inputs=_TEXT,
            price=Price(0.3, 0.9),
        ),
        model_entry(
            "devstral-medium-latest",
            context=_K128,
            output=_K128,
            inputs=_TEXT,
            price=Price(0.4, 2.0),
        ),
        model_entry(
            "devstral-small-latest",
            context=_K128,
            output=_K128,
            inputs=_TEXT,
            price=Price(0.1, 0.3),
        ),
        model_entry(
            "ministral-8b-latest",
            context=_K128,
            output=_K128,
            inputs=_TEXT,
            price=Price(0.1, 0.1),
        ),
        model_entry(
            "ministral-3b-latest",
            context=_K128,
            output=_K128,
            inputs=_TEXT,
            price=Price(0.04, 0.04),
        ),
        model_entry(
            "open-mistral-nemo",
            context=_K128,
            output=_K128,
            inputs=_TEXT,
            price=Price(0.15, 0.15),
        ),
        model_entry(
            "voxtral-small-latest",
            context=32_768,
            output=32_768,
            inputs=_AUDIO,
            price=Price(0.1, 0.4),
            note="audio billed per minute, not counted in the cost",
        ),
        model_entry(
            "voxtral-mini-latest",
            context=32_768,
            output=32_768,
            inputs=_AUDIO,
            price=Price(0.04, 0.04),
            note="audio billed per minute, not counted in the cost",
        ),
        model_entry(
            "mistral-embed",
            context=8_192,
            output=0,
            inputs=_TEXT,
            price=Price(0.1, 0.0),
            embeds=True,
        ),
        model_entry(
            "codestral-embed",
            context=8_192,
            output=0,
            inputs=_TEXT,
            price=Price(0.15, 0.0),
            embeds=True,
        ),
    ),
    families=(
        model_entry("mistral-large", context=_K128, output=_K128, inputs=_VISION),
        model_entry("mistral-medium", context=_K128, output=_K128, inputs=_VISION),
        model_entry("mistral-small", context=_K128, output=_K128, inputs=_VISION),
        model_entry("pixtral", context=_K128, output=_K128, inputs=_VISION),
        model_entry(
            "magistral",
            context=_K128,
            output=_K128,
            inputs=_TEXT,
            reasoning=True,
            reasoning_levels=_EFFORT,
        ),
        model_entry("codestral", context=_K128, output=_K128, inputs=_TEXT),
        model_entry("devstral", context=_K128, output=_K128, inputs=_TEXT),
        model_entry("ministral", context=_K128, output=_K128, inputs=_TEXT),
        model_entry("open-mi", context=32_768, output=32_768, inputs=_TEXT),
        model_entry("voxtral", context=32_768, output=32_768, inputs=_AUDIO),
    ),
    sources=(
        "https://docs.mistral.ai/getting-started/models/ (read 2026-11-29)",
        "https://mistral.ai/pricing#api-pricing (read 2026-11-29)",
    ),
)
