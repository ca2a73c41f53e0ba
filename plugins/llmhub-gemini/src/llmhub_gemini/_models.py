"""Gemini's models on Vertex AI: what each reads and costs.

Sources, as read on 2026-11-29 from the copies of the official pages reachable
from here:

- models, context windows, output limits, inputs:
  https://cloud.google.com/vertex-ai/generative-ai/docs/models
- prices (USD per million tokens, standard on-demand):
  https://cloud.google.com/vertex-ai/generative-ai/pricing

Costs come from genai-prices (see `llmhub._prices`); these prices count only
where it has no entry. Every Gemini model reads text, images, PDFs, audio and video. The Pro models
charge more for the whole call when the prompt exceeds 200K tokens (the
`long` prices). Audio input costs more than text on the Flash models (2.5
Flash: $1.00 against $0.30); the cost of a call counts every input token at
the text price. Thinking tokens are billed as output.
"""

from __future__ import annotations

from llmhub import InputKind, ModelTable, Price, model_entry

__all__ = ["MODELS"]

_ALL: tuple[InputKind, ...] = ("text", "image", "pdf", "audio", "video")
_CONTEXT = 1_048_576
_LONG = 200_000
#: `thinking_config.thinking_budget`: levels are budgets (see the provider), 0 turns
#: thinking off where the model allows it (2.5 Flash and Flash-Lite; the Pro
#: models and Gemini 3 always think).
#: https://cloud.google.com/vertex-ai/generative-ai/docs/thinking
_SWITCHABLE = ("off", "low", "medium", "high", "budget")
_ALWAYS_THINKS = ("low", "medium", "high", "budget")

MODELS = ModelTable(
    models=(
        model_entry(
            "gemini-3.1-pro-preview",
            context=_CONTEXT,
            output=65_536,
            inputs=_ALL,
            reasoning=True,
            reasoning_levels=_ALWAYS_THINKS,
            price=Price(2.0, 12.0, 0.2, long_above=_LONG, long=Price(4.0, 18.0, 0.4)),
        ),
        model_entry(
            "gemini-3.7-flash",
            context=_CONTEXT,
            output=65_536,
            inputs=_ALL,
            reasoning=True,
            reasoning_levels=_ALWAYS_THINKS,
            price=Price(0.75, 3.75, 0.075),
        ),
        model_entry(
            "gemini-3-pro-preview",
            context=_CONTEXT,
            output=65_536,
            inputs=_ALL,
            reasoning=True,
            reasoning_levels=_ALWAYS_THINKS,
            price=Price(2.0, 12.0, 0.2, long_above=_LONG, long=Price(4.0, 18.0, 0.4)),
        ),
        model_entry(
            "gemini-3-flash-preview",
            context=_CONTEXT,
            output=65_536,
            inputs=_ALL,
            reasoning=True,
            reasoning_levels=_ALWAYS_THINKS,
            price=Price(0.5, 3.0, 0.05),
        ),
        model_entry(
            "gemini-2.5-pro",
            context=_CONTEXT,
            output=65_535,
            inputs=_ALL,
            reasoning=True,
            reasoning_levels=_ALWAYS_THINKS,
            price=Price(1.25, 10.0, 0.125, long_above=_LONG, long=Price(2.5, 15.0, 0.25)),
        ),
        model_entry(
            "gemini-2.5-flash",
            context=_CONTEXT,
            output=65_535,
            inputs=_ALL,
            reasoning=True,
            reasoning_levels=_SWITCHABLE,
            price=Price(0.3, 2.5, 0.03),
        ),
        model_entry(
            "gemini-2.5-flash-lite",
            context=_CONTEXT,
            output=65_535,
            inputs=_ALL,
            reasoning=True,
            reasoning_levels=_SWITCHABLE,
            price=Price(0.1, 0.4, 0.01),
        ),
        model_entry(
            "gemini-2.0-flash",
            context=_CONTEXT,
            output=8_192,
            inputs=_ALL,
            price=Price(0.15, 0.6, 0.0375),
        ),
        model_entry(
            "gemini-2.0-flash-lite",
            context=_CONTEXT,
            output=8_192,
            inputs=_ALL,
            price=Price(0.075, 0.3),
        ),
        model_entry(
            "gemini-embedding-001",
            context=2_048,
            output=0,
            inputs=("text",),
            price=Price(0.15, 0.0),
            embeds=True,
            note="one text per request (the API's limit)",
        ),
        model_entry(
            "text-embedding-005",
            context=2_048,
            output=0,
            inputs=("text",),
            embeds=True,
            note="billed per 1,000 characters ($0.000025), not per token: cost unknown",
        ),
        model_entry(
            "text-multilingual-embedding-002",
            context=2_048,
            output=0,
            inputs=("text",),
            embeds=True,
            note="billed per 1,000 characters ($0.000025), not per token: cost unknown",
        ),
    ),
    families=(
        model_entry(
            "gemini-3",
            context=_CONTEXT,
            output=65_536,
            inputs=_ALL,
            reasoning=True,
            reasoning_levels=_ALWAYS_THINKS,
        ),
        model_entry(
            "gemini-2.5",
            context=_CONTEXT,
            output=65_535,
            inputs=_ALL,
            reasoning=True,
            reasoning_levels=_SWITCHABLE,
        ),
        model_entry("gemini-embedding", context=2_048, output=0, inputs=("text",), embeds=True),
        model_entry("text-embedding", context=2_048, output=0, inputs=("text",), embeds=True),
        model_entry(
            "text-multilingual-embedding", context=2_048, output=0, inputs=("text",), embeds=True
        ),
        model_entry("gemini-", context=_CONTEXT, output=8_192, inputs=_ALL),
    ),
    sources=(
        "https://cloud.google.com/vertex-ai/generative-ai/docs/models (read 2026-11-29)",
        "https://cloud.google.com/vertex-ai/generative-ai/pricing (read 2026-11-29)",
    ),
)
