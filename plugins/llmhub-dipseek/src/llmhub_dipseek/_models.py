"""DeepSeek's chat models: what each reads and costs.

Source, as read on 2026-11-29 from the copies of the official page reachable
from here (the newest quoting it on 2026-07-04):
https://api-docs.deepseek.com/quick_start/pricing (models, context, output
limit and USD prices per million tokens: cache hit, cache miss, output).

The API takes text only. `deepseek-chat` and `deepseek-reasoner` are the older
names the page maps to deepseek-v4-flash without and with thinking; they are
priced as it is. Costs come from genai-prices, which has DeepSeek's peak and
off-peak prices by UTC time of day (since 2026-08); the prices here count only
where it has no entry. Reasoning tokens are output tokens, billed at the output price.
Every model calls tools; none constrains a reply to a JSON schema (JSON mode only).
"""

from __future__ import annotations

from llmhub import InputKind, ModelTable, Price, model_entry

__all__ = ["MODELS"]

_TEXT: tuple[InputKind, ...] = ("text",)
_CONTEXT = 1_000_000
_OUTPUT = 384_000
_FLASH = Price(input=0.14, output=0.28, cached_input=0.0028)
#: `thinking` off, or on with `reasoning_effort` low or high; the API itself takes
#: "medium" as "high" (https://api-docs.deepseek.com/guides/thinking_mode).
_LEVELS = ("off", "low", "medium", "high")
#: Off-peak; genai-prices has the peak hours (UTC 01:00-04:00 and 06:00-10:00).
_FLASH_41 = Price(input=0.15, output=0.6, cached_input=0.003)
_PRO = Price(input=0.435, output=0.87, cached_input=0.003625)

MODELS = ModelTable(
    models=(
        model_entry(
            "deepseek-flash",
            context=_CONTEXT,
            output=_OUTPUT,
            inputs=_TEXT,
            reasoning=True,
            price=_FLASH_41,
            structured_output=False,
            reasoning_levels=_LEVELS,
            note="DeepSeek V4.1 Flash; peak and off-peak prices by UTC time of day",
        ),
        model_entry(
            "deepseek-v4-flash",
            context=_CONTEXT,
            output=_OUTPUT,
            inputs=_TEXT,
            reasoning=True,
            price=_FLASH,
            structured_output=False,
            reasoning_levels=_LEVELS,
        ),
        model_entry(
            "deepseek-v4-pro",
            context=_CONTEXT,
            output=_OUTPUT,
            inputs=_TEXT,
            reasoning=True,
            price=_PRO,
            structured_output=False,
            reasoning_levels=_LEVELS,
        ),
        model_entry(
            "deepseek-chat",
            context=_CONTEXT,
            output=_OUTPUT,
            inputs=_TEXT,
            price=_FLASH,
            structured_output=False,
            reasoning_levels=("off",),
            price_ref="deepseek-v4-flash",
            note="older name of deepseek-v4-flash without thinking",
        ),
        model_entry(
            "deepseek-reasoner",
            context=_CONTEXT,
            output=_OUTPUT,
            inputs=_TEXT,
            reasoning=True,
            price=_FLASH,
            structured_output=False,
            reasoning_levels=("low", "medium", "high"),
            price_ref="deepseek-v4-flash",
            note="older name of deepseek-v4-flash with thinking",
        ),
    ),
    families=(
        model_entry(
            "deepseek-",
            context=131_072,
            output=8_192,
            inputs=_TEXT,
            structured_output=False,
            reasoning_levels=_LEVELS,
        ),
    ),
    sources=("https://api-docs.deepseek.com/quick_start/pricing (read 2026-11-29)",),
)
