"""What each model reads and what a call costs: the table every provider plugin keeps.

Each plugin lists the models it knows (`BaseProvider.catalogue`) with figures
from its provider's official model and pricing pages, noting the pages and the
date they were read. A model the table does not list (a release newer than the
plugin) still works: its capabilities are guessed from its family, the longest
matching prefix, and its price is unknown, so its cost is `None`, never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ._types import Usage

__all__ = [
    "INPUT_KINDS",
    "REASONING_LEVELS",
    "InputKind",
    "ModelInfo",
    "ModelTable",
    "Price",
    "format_usd",
    "input_kind",
    "kind_label",
    "model_entry",
]

InputKind = Literal["text", "image", "pdf", "audio", "video"]

#: What `ModelInfo.reasoning_levels` may hold: the levels of
#: `GenerationOptions.reasoning`, and "budget" where a token budget is taken.
REASONING_LEVELS = ("off", "low", "medium", "high", "budget")
INPUT_KINDS: tuple[InputKind, ...] = ("text", "image", "pdf", "audio", "video")

_KIND_LABELS: Mapping[InputKind, str] = {
    "text": "text files",
    "image": "images",
    "pdf": "PDFs",
    "audio": "audio",
    "video": "video",
}


_BY_MAJOR_TYPE: Mapping[str, InputKind] = {
    "text": "text",
    "image": "image",
    "audio": "audio",
    "video": "video",
}


def input_kind(mime_type: str) -> InputKind | None:
    """The kind of input a file of `mime_type` is, `None` for kinds no model reads."""
    if mime_type == "application/pdf":
        return "pdf"
    major = mime_type.split("/", 1)[0]
    return _BY_MAJOR_TYPE.get(major)


def format_usd(amount: float) -> str:
    """A cost as people read it: "$1.25", "$0.0042", "$0.0000007"."""
    if amount >= 0.01:
        return f"${amount:,.2f}"
    return "$" + (f"{amount:.8f}".rstrip("0").rstrip(".") or "0")


def kind_label(kind: InputKind) -> str:
    """How an error names a kind: "PDFs", "images"."""
    return _KIND_LABELS[kind]


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens.

    `cached_input` is the price of prompt tokens served from the provider's
    cache (`None`: no discount published, they cost `input`). Above
    `long_above` prompt tokens the `long` prices apply to the whole call, as
    Gemini Pro's 200K tier does.
    """

    input: float
    output: float
    cached_input: float | None = None
    long_above: int | None = None
    long: Price | None = None

    def cost(self, usage: Usage) -> float | None:
        """The call's cost in USD; `None` when the provider reported no token counts.

        Output tokens include reasoning tokens (`Usage.completion_tokens` counts
        them, as every provider bills them).
        """
        if usage.prompt_tokens is None or usage.completion_tokens is None:
            return None
        long = self.long is not None and usage.prompt_tokens > (self.long_above or 0)
        tier = self.long if long and self.long is not None else self
        cached = min(usage.cached_tokens or 0, usage.prompt_tokens)
        cached_rate = tier.cached_input if tier.cached_input is not None else tier.input
        micro = (
            (usage.prompt_tokens - cached) * tier.input
            + cached * cached_rate
            + usage.completion_tokens * tier.output
        )
        return micro / 1_000_000

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "input": self.input,
            "cached_input": self.cached_input if self.cached_input is not None else self.input,
            "output": self.output,
        }
        if self.long is not None:
            data["long_above"] = self.long_above
            data["long"] = self.long.as_dict()
        return data


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model's capabilities and price.

    `known` is false for a model the plugin's table does not list: its
    capabilities were guessed from its family and its price is unknown.
    """

    id: str
    context_window: int
    max_output_tokens: int
    inputs: frozenset[InputKind]
    reasoning: bool = False
    price: Price | None = None
    known: bool = True
    #: Anything the reader of `llmhub models` should know ("alias of …").
    note: str = ""
    #: Whether the model calls tools (functions).
    tools: bool = True
    #: Whether the provider constrains the reply to a JSON schema itself; where not,
    #: a structured call asks in plain JSON mode and checks the reply.
    structured_output: bool = True
    #: The values of `GenerationOptions.reasoning` the model honours (see
    #: `REASONING_LEVELS`); empty: none, the option is refused.
    reasoning_levels: tuple[str, ...] = ()
    #: An embedding model (`Hub.embed`), not a chat model.
    embeds: bool = False
    #: The model's name in the maintained price data when it differs (an alias
    #: priced as the model it points to); default: `id`.
    price_ref: str | None = None

    def reads(self, kind: InputKind) -> bool:
        """Whether the model accepts input of this kind."""
        return kind in self.inputs

    def takes_reasoning(self, value: str | int) -> bool:
        """Whether `GenerationOptions.reasoning=value` is honoured by this model."""
        if isinstance(value, bool):
            return False
        level = "budget" if isinstance(value, int) else value
        return level in self.reasoning_levels

    def cost(self, usage: Usage) -> float | None:
        """The cost of a call with this usage, `None` when the price is unknown."""
        return self.price.cost(usage) if self.price is not None else None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (`llmhub models --json`)."""
        return {
            "id": self.id,
            "context_window": self.context_window,
            "max_output_tokens": self.max_output_tokens,
            "inputs": [kind for kind in INPUT_KINDS if kind in self.inputs],
            "reasoning": self.reasoning,
            "price_per_million_usd": self.price.as_dict() if self.price else None,
            "known": self.known,
            "note": self.note or None,
            "tools": self.tools,
            "structured_output": self.structured_output,
            "reasoning_levels": list(self.reasoning_levels),
            "embeds": self.embeds,
        }


def model_entry(
    id: str,
    *,
    context: int,
    output: int,
    inputs: Iterable[InputKind],
    reasoning: bool = False,
    price: Price | None = None,
    note: str = "",
    tools: bool = True,
    structured_output: bool = True,
    reasoning_levels: Iterable[str] = (),
    embeds: bool = False,
    price_ref: str | None = None,
) -> ModelInfo:
    """A table row, written the way plugins list them."""
    levels = tuple(reasoning_levels)
    unknown = [level for level in levels if level not in REASONING_LEVELS]
    if unknown:
        raise ValueError(f"{id}: unknown reasoning levels {unknown}; use {REASONING_LEVELS}")
    return ModelInfo(
        id,
        context,
        output,
        frozenset(inputs),
        reasoning,
        price,
        True,
        note,
        tools=tools and not embeds,
        structured_output=structured_output and not embeds,
        reasoning_levels=levels,
        embeds=embeds,
        price_ref=price_ref,
    )


@dataclass(frozen=True, slots=True)
class ModelTable:
    """A provider's models: the listed ones, the families to guess others from, and
    where the figures come from.

    `families` are `ModelInfo`s whose `id` is a prefix ("mistral-small"); the
    longest prefix of an unlisted model gives its capabilities. `default` covers
    models no family matches.
    """

    models: tuple[ModelInfo, ...] = ()
    families: tuple[ModelInfo, ...] = ()
    default: ModelInfo = field(
        default_factory=lambda: ModelInfo("", 0, 0, frozenset({"text"}), known=False)
    )
    #: The official pages the figures were taken from, each with the date it was read.
    sources: tuple[str, ...] = ()
    _by_id: Mapping[str, ModelInfo] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {info.id: info for info in self.models})

    def lookup(self, model_id: str) -> ModelInfo:
        """The model's row, or one guessed from its family with the price unknown."""
        if model_id in self._by_id:
            return self._by_id[model_id]
        family = max(
            (f for f in self.families if model_id.startswith(f.id)),
            key=lambda f: len(f.id),
            default=self.default,
        )
        guessed = f"not in this plugin's table: guessed from {family.id!r}" if family.id else ""
        return replace(
            family,
            id=model_id,
            price=None,
            known=False,
            note=guessed or "not in this plugin's table",
        )

    def reading(self, kind: InputKind) -> list[str]:
        """The listed chat models that read input of this kind."""
        return [info.id for info in self.models if info.reads(kind) and not info.embeds]

    def embedding_models(self) -> list[str]:
        """The listed models that embed."""
        return [info.id for info in self.models if info.embeds]
