"""The contract every provider plugin implements."""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from ._catalogue import ModelInfo, ModelTable, input_kind, kind_label
from ._exceptions import NotConfiguredError, UnsupportedInputError, UnsupportedOptionError
from ._retry import HttpTimeouts, RetryPolicy
from ._types import ChatRequest, Embeddings, Reply, StreamChunk, Usage

if TYPE_CHECKING:
    from ._prices import ModelPrice

__all__ = ["BaseProvider", "EnvVar", "Secret"]


@dataclass(frozen=True, slots=True)
class EnvVar:
    """An environment variable a provider reads."""

    name: str
    description: str
    required: bool = False
    secret: bool = False
    default: str | None = None
    #: Other names read when `name` is unset, in order: the names peers use
    #: (`DEEPSEEK_API_KEY`, `GOOGLE_API_KEY`).
    aliases: tuple[str, ...] = ()

    def lookup(self, source: Mapping[str, str]) -> tuple[str | None, str | None]:
        """(value, the name it was read from); the default has no name."""
        for name in (self.name, *self.aliases):
            if source.get(name):
                return source[name], name
        return self.default, None


class Secret:
    """A credential that never shows itself in a repr, a log line or an f-string."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself, for the one place that sends it (an HTTP header)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class BaseProvider(ABC):
    """An LLM provider: one instance per process, holding its pooled client.

    Subclasses declare what they are with class attributes, so the registry can
    list and route to them without constructing them or importing their SDK:

    - `name`: the short name used in `provider/model` and in settings.
    - `supports_files`: whether messages may carry attachments at all; which
      kinds each model reads is in `catalogue`.
    - `catalogue`: the models it knows, their capabilities and prices
      (`model_info()` guesses those of a model the table does not list).
    - `env_vars`: the variables read; `required` ones decide "configured".
    - `model_prefixes`: the provider's naming rule, e.g. ``("gemini-",)``, used to
      route a bare model name without asking the provider first.
    - `max_file_bytes`: the largest attachment accepted (when `supports_files`).

    A provider whose required variables are unset is still constructed; its
    calls raise `NotConfiguredError` naming the variables. `timeouts` and
    `retry_policy` are handed over by the registry (from `HubSettings`), and
    may be replaced. Methods raise only `LLMHubError` subclasses, never an HTTP
    or gRPC library's own errors.
    """

    name: ClassVar[str]
    #: The provider as people write it ("DeepSeek", "Vertex AI"), for menus; default
    #: `name` capitalised.
    title: ClassVar[str] = ""
    supports_files: ClassVar[bool] = False
    env_vars: ClassVar[tuple[EnvVar, ...]] = ()
    model_prefixes: ClassVar[tuple[str, ...]] = ()
    max_file_bytes: ClassVar[int] = 0
    accepted_mime_prefixes: ClassVar[tuple[str, ...]] = ()
    docs_url: ClassVar[str] = ""
    #: `gen_ai.provider.name` in OpenTelemetry spans: the semantic conventions' name
    #: ("mistral_ai", "deepseek", "gcp.vertex_ai"); default `name`.
    otel_provider_name: ClassVar[str] = ""
    catalogue: ClassVar[ModelTable] = ModelTable()
    #: The values the API takes, checked before anything is sent (`None`: unchecked).
    temperature_range: ClassVar[tuple[float, float] | None] = (0.0, 2.0)
    top_p_range: ClassVar[tuple[float, float] | None] = (0.0, 1.0)
    seed_range: ClassVar[tuple[int, int] | None] = None
    #: The provider's id in genai-prices ("mistral", "deepseek", "google"): where
    #: `cost()` looks prices up; empty: the catalogue's prices only.
    prices_provider_id: ClassVar[str] = ""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        timeouts: HttpTimeouts | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        source = os.environ if env is None else env
        values: dict[str, str] = {}
        for var in self.env_vars:
            value, _name = var.lookup(source)
            if value:
                values[var.name] = value
        self._settings = values
        #: Set by `list_models()` when its answer needs a word of explanation.
        self.listing_note: str | None = None
        self.timeouts = timeouts or HttpTimeouts()
        self.retry_policy = retry_policy or RetryPolicy()

    # -- configuration -------------------------------------------------------

    @classmethod
    def missing_env(cls, env: Mapping[str, str] | None = None) -> list[str]:
        """Names of required variables unset in `env` (default: the process environment)."""
        source = os.environ if env is None else env
        return [v.name for v in cls.env_vars if v.required and not v.lookup(source)[0]]

    @classmethod
    def mode(cls, env: Mapping[str, str] | None = None) -> str | None:
        """How the provider would connect with `env`, and why, where it has a choice
        (`llmhub providers` shows it); `None` where there is only one way."""
        return None

    @classmethod
    def read_from_aliases(cls, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """{variable: the alias it was read from}, for those set under another name."""
        source = os.environ if env is None else env
        read = {v.name: v.lookup(source)[1] for v in cls.env_vars}
        return {name: alias for name, alias in read.items() if alias and alias != name}

    @property
    def configured(self) -> bool:
        """Whether every required variable is set."""
        return not self.missing_env(self._settings)

    def setting(self, name: str) -> str | None:
        """A non-secret setting's value (or its default)."""
        return self._settings.get(name)

    def secret(self, name: str) -> Secret | None:
        """A secret setting, wrapped so it cannot leak through a repr."""
        value = self._settings.get(name)
        return Secret(value) if value else None

    def scrub(self, text: str) -> str:
        """`text` with every secret this provider holds masked: what every error message
        and logged error goes through (some APIs echo a key back)."""
        for var in self.env_vars:
            value = self._settings.get(var.name) if var.secret else None
            if value and value in text:
                text = text.replace(value, "***")
        return text

    def ensure_configured(self) -> None:
        """Raise `NotConfiguredError` naming what is missing."""
        missing = self.missing_env(self._settings)
        if missing:
            raise NotConfiguredError(self.name, missing)

    @property
    def otel_name(self) -> str:
        """The provider's name in OpenTelemetry spans."""
        return self.otel_provider_name or self.name

    # -- routing ---------------------------------------------------------------

    @classmethod
    def claims_model(cls, model: str) -> bool:
        """Whether this provider's naming rule covers `model`."""
        return model.startswith(cls.model_prefixes) if cls.model_prefixes else False

    @classmethod
    def model_info(cls, model: str) -> ModelInfo:
        """What `model` reads and costs (guessed from its family when unlisted)."""
        return cls.catalogue.lookup(model)

    @classmethod
    def price(cls, model: str, at: float | None = None) -> ModelPrice:
        """`model`'s price per million tokens in force at Unix time `at` (default now),
        and where it comes from: genai-prices, else the catalogue ("plugin table")."""
        from ._prices import price_of

        return price_of(cls, cls.model_info(model), time.time() if at is None else at)

    @classmethod
    def cost(cls, model: str, usage: Usage, at: float | None = None) -> float | None:
        """The cost in USD of a call of `model` with `usage` made at Unix time `at`
        (default now): the price in force then, from genai-prices, or the catalogue's
        where genai-prices has no entry; `None` when neither knows it."""
        from ._prices import cost_of

        return cost_of(cls, cls.model_info(model), usage, time.time() if at is None else at)

    def check_request(self, request: ChatRequest) -> None:
        """Refuse, before anything is sent, files the model cannot read and options
        it cannot honour.

        A file of a kind the model does not read raises `UnsupportedInputError`
        with `input_kind` set; the hub adds the models that do read it. Tools on
        a model without them, a reasoning level it does not offer, or a chat
        with an embedding model raise `UnsupportedOptionError`.
        """
        self._check_options(request)
        info: ModelInfo | None = None
        refuse = partial(UnsupportedInputError, provider=self.name, model=request.model)
        for message in request.messages:
            for attachment in message.attachments:
                kind = input_kind(attachment.mime_type)
                if not self.supports_files:
                    raise refuse(f"{request.model} takes no files", input_kind=kind)
                if self.max_file_bytes and attachment.size > self.max_file_bytes:
                    label = f"file {attachment.name}" if attachment.name else "the file"
                    raise refuse(
                        f"{label} is {attachment.size} bytes; the limit is {self.max_file_bytes}"
                    )
                if kind is None or (
                    self.accepted_mime_prefixes
                    and not attachment.mime_type.startswith(self.accepted_mime_prefixes)
                ):
                    raise refuse(
                        f"files of type {attachment.mime_type} are not accepted", input_kind=kind
                    )
                info = info or self.model_info(request.model)
                if not info.reads(kind):
                    raise refuse(
                        f"{request.model} does not read {kind_label(kind)}", input_kind=kind
                    )

    def _check_options(self, request: ChatRequest) -> None:
        info = self.model_info(request.model)
        refuse = partial(UnsupportedOptionError, provider=self.name, model=request.model)
        options = request.options
        for name, value, allowed in (
            ("temperature", options.temperature, self.temperature_range),
            ("top_p", options.top_p, self.top_p_range),
            ("seed", options.seed, self.seed_range),
        ):
            if value is not None and allowed is not None and not allowed[0] <= value <= allowed[1]:
                raise refuse(f"{name}={value!r}: {self.name} takes {allowed[0]} to {allowed[1]}")
        if options.max_tokens is not None and options.max_tokens < 1:
            raise refuse(f"max_tokens={options.max_tokens!r}: at least 1")
        if info.embeds:
            raise refuse(f"{request.model} is an embedding model: use embed(), not a chat call")
        if request.tools and not info.tools:
            raise refuse(f"{request.model} does not call tools")
        names = {tool.name for tool in request.tools}
        choice = request.tool_choice
        if choice not in (None, "auto", "none", "required") and choice not in names:
            known = ", ".join(sorted(names)) or "no tools were given"
            raise refuse(f"tool_choice {choice!r} names no tool of the call ({known})")
        reasoning = request.options.reasoning
        if reasoning is not None and not info.takes_reasoning(reasoning):
            levels = ", ".join(info.reasoning_levels) or "none: its reasoning is not adjustable"
            raise refuse(
                f"{request.model} does not take reasoning={reasoning!r}; it takes {levels}"
            )

    # -- the calls ---------------------------------------------------------------

    @abstractmethod
    async def list_models(self) -> list[str]:
        """The model ids this provider offers to these credentials."""

    @abstractmethod
    async def generate(self, request: ChatRequest) -> Reply:
        """One whole reply."""

    @abstractmethod
    def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        """The reply in pieces, as they are generated."""

    @staticmethod
    def batches(
        texts: Sequence[str], max_items: int, max_chars: int | None = None
    ) -> list[list[str]]:
        """`texts` in order, split into batches of at most `max_items` texts and (where
        given) `max_chars` characters together; a longer text goes alone."""
        out: list[list[str]] = []
        current: list[str] = []
        size = 0
        for text in texts:
            full = len(current) >= max_items
            over = max_chars is not None and current and size + len(text) > max_chars
            if full or over:
                out.append(current)
                current, size = [], 0
            current.append(text)
            size += len(text)
        if current:
            out.append(current)
        return out

    async def embed(self, model: str, texts: Sequence[str]) -> Embeddings:
        """One vector per text, in order. Batched to the API's limits by the provider.

        The default: this provider has no embedding models."""
        raise UnsupportedOptionError(
            f"{self.name} has no embedding models", provider=self.name, model=model
        )

    async def aclose(self) -> None:  # noqa: B027 - a provider without resources needs nothing
        """Release the pooled client; the provider may be used again afterwards."""

    def __repr__(self) -> str:
        state = "configured" if self.configured else "not configured"
        return f"<{type(self).__name__} {self.name!r} {state}>"
