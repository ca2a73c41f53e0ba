"""What a call costs, from a maintained price source.

Prices come from genai-prices (pydantic's data set: historic, tiered and
time-of-day prices, updated with each release of the package), looked up for the
price in force at the request's time. A plugin's own table
(`BaseProvider.catalogue`) keeps the capabilities and gives a price only where
the maintained data has no entry for the model. genai-prices is imported on the
first price asked for, never at `import llmhub`; it fetches nothing at run time.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import TYPE_CHECKING, Any

from ._catalogue import ModelInfo, Price
from ._types import Usage

if TYPE_CHECKING:
    from ._provider import BaseProvider

__all__ = ["ModelPrice", "cost_of", "data_version", "price_of"]

log = logging.getLogger("llmhub")


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """A model's price now, and where it comes from."""

    price: Price | None
    #: "genai-prices" or "plugin table" (`None` price: "unknown").
    source: str


def data_version() -> str:
    """The version of the maintained price data in use."""
    try:
        return f"genai-prices {metadata.version('genai-prices')}"
    except metadata.PackageNotFoundError:  # pragma: no cover - a core dependency
        return "genai-prices (not installed)"


def cost_of(
    provider: type[BaseProvider] | BaseProvider,
    info: ModelInfo,
    usage: Usage,
    at: float,
) -> float | None:
    """The cost in USD of a call with `usage` made at Unix time `at`; `None` when the
    usage has no token counts or no price is known."""
    if usage.prompt_tokens is None or usage.completion_tokens is None:
        return None
    found = _lookup(provider.prices_provider_id, info.price_ref or info.id)
    if found is not None:
        when = dt.datetime.fromtimestamp(at, tz=dt.UTC)
        try:
            calculation = found[1].calc_price(_usage(usage), found[0], genai_request_timestamp=when)
        except Exception:  # a data set the code does not expect: the table's price then
            log.warning("genai-prices could not price %s", info.id, exc_info=True)
        else:
            return float(calculation.total_price)
    return info.cost(usage)


def price_of(provider: type[BaseProvider], info: ModelInfo, at: float) -> ModelPrice:
    """The model's price per million tokens in force at `at`, and its source."""
    found = _lookup(provider.prices_provider_id, info.price_ref or info.id)
    if found is not None:
        when = dt.datetime.fromtimestamp(at, tz=dt.UTC)
        try:
            prices = found[1].get_prices(when)
            return ModelPrice(_as_price(prices), "genai-prices")
        except Exception:
            log.warning("genai-prices could not price %s", info.id, exc_info=True)
    if info.price is not None:
        return ModelPrice(info.price, "plugin table")
    return ModelPrice(None, "unknown")


@cache
def _lookup(provider_id: str, model: str) -> tuple[Any, Any] | None:
    """genai-prices' (provider, model) for a model of ours, once per model."""
    if not provider_id:
        return None
    from genai_prices import data_snapshot

    try:
        found: tuple[Any, Any] = data_snapshot.get_snapshot().find_provider_model(
            model, None, provider_id, None
        )
    except LookupError:
        return None
    return found


def _usage(usage: Usage) -> Any:
    from genai_prices import Usage as PricesUsage

    return PricesUsage(
        input_tokens=usage.prompt_tokens,
        cache_read_tokens=usage.cached_tokens or 0,
        output_tokens=usage.completion_tokens,
    )


def _as_price(prices: Any) -> Price | None:
    """genai-prices' `ModelPrice` as ours (the base tier of a tiered price)."""

    def per_million(value: Any) -> float | None:
        if value is None:
            return None
        base = getattr(value, "base", value)  # TieredPrices: the first tier's rate
        return float(base)

    given = per_million(prices.input_mtok)
    if given is None:
        return None
    return Price(
        input=given,
        output=per_million(prices.output_mtok) or 0.0,
        cached_input=per_million(prices.cache_read_mtok),
    )
