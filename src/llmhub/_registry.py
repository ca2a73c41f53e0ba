"""Finding providers, and finding the provider of a model."""

from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import pluggy

from . import _hookspecs
from ._catalogue import InputKind
from ._exceptions import (
    LLMHubError,
    ModelNotFoundError,
    PluginLoadError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    UnknownProviderError,
)
from ._provider import BaseProvider
from ._retry import HttpTimeouts, RetryPolicy

if TYPE_CHECKING:
    from ._settings import HubSettings

__all__ = ["ModelCatalog", "PluginInfo", "ProviderRegistry"]


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """What `llmhub providers` shows of one provider."""

    name: str
    distribution: str | None
    version: str | None
    supports_files: bool
    env_vars: tuple[str, ...]
    missing_env: tuple[str, ...]
    #: The variables set under another accepted name: {variable: name read}.
    read_from: Mapping[str, str] = field(default_factory=dict)
    #: Every accepted name, aliases included (what a clean environment unsets).
    all_names: tuple[str, ...] = ()
    #: How it connects and why, for providers with a choice (`BaseProvider.mode`).
    mode: str | None = None

    @property
    def configured(self) -> bool:
        return not self.missing_env


@dataclass(frozen=True, slots=True)
class ModelCatalog:
    """The union of every provider's models, and the providers that failed to answer.

    Iterating yields model ids; `by_provider` keeps where each came from.
    """

    by_provider: Mapping[str, tuple[str, ...]]
    errors: Mapping[str, LLMHubError] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for models in self.by_provider.values():
            for model in models:
                if model not in seen:
                    seen.add(model)
                    yield model

    def __len__(self) -> int:
        return len(set(self))

    def __contains__(self, model: object) -> bool:
        return any(model in models for models in self.by_provider.values())


class ProviderRegistry:
    """The installed providers, found through the `llmhub.providers` entry points.

    Discovery imports each plugin's small module, never a provider SDK. A plugin
    that fails to import or returns something that is not a provider is recorded
    in `failures` and skipped. Providers are constructed on first `get()`.

    `plugins` replaces entry-point discovery with the given hook modules/objects
    (for tests and embedding). `env` is where providers read their own
    variables (default: the process environment); `settings` gives every
    provider its timeouts and retry policy (default: `HubSettings`' defaults).
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        plugins: Iterable[object] | None = None,
        settings: HubSettings | None = None,
    ) -> None:
        self._env = env
        self._list_timeout = settings.list_models_timeout if settings else 10.0
        self._timeouts = settings.http_timeouts() if settings else HttpTimeouts()
        self._retry_policy = settings.retry_policy() if settings else RetryPolicy()
        self.failures: dict[str, PluginLoadError] = {}
        self._distributions: dict[str, tuple[str | None, str | None]] = {}
        self._classes: dict[str, type[BaseProvider]] = {}
        self._instances: dict[str, BaseProvider] = {}
        self._seen_models: dict[str, str] = {}
        self._pm = pluggy.PluginManager(_hookspecs.PROJECT)
        self._pm.add_hookspecs(_hookspecs)
        if plugins is None:
            self._load_entry_points()
        else:
            for plugin in plugins:
                self._register(plugin, getattr(plugin, "__name__", repr(plugin)), None)
        self._collect_providers()

    # -- discovery -----------------------------------------------------------------

    def _load_entry_points(self) -> None:
        for ep in importlib.metadata.entry_points(group=_hookspecs.ENTRY_POINT_GROUP):
            dist = ep.dist
            where = (dist.name, dist.version) if dist is not None else (None, None)
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin must not take the others down
                self.failures[ep.name] = _load_error(ep.name, exc)
                continue
            self._register(plugin, ep.name, where)

    def _register(
        self, plugin: object, label: str, where: tuple[str | None, str | None] | None
    ) -> None:
        try:
            self._pm.register(plugin, name=label)
        except Exception as exc:
            self.failures[label] = _load_error(label, exc)
            return
        if where is not None:
            self._distributions[label] = where

    def _collect_providers(self) -> None:
        # Each implementation is called on its own: pluggy's hook call stops at
        # the first one that raises, and one broken plugin must not hide the rest.
        for impl in self._pm.hook.llmhub_providers.get_hookimpls():
            label = impl.plugin_name
            try:
                offered = list(cast(Iterable[object], impl.function()))
            except Exception as exc:
                self.failures[label] = _load_error(label, exc)
                continue
            for cls in offered:
                if not (isinstance(cls, type) and issubclass(cls, BaseProvider)):
                    self.failures[label] = PluginLoadError(
                        f"plugin {label!r} offered {cls!r}, which is not a BaseProvider subclass"
                    )
                    continue
                if cls.name in self._classes:
                    self.failures[label] = PluginLoadError(
                        f"plugin {label!r} offers provider {cls.name!r}, already offered by "
                        f"{self._classes[cls.name].__module__}"
                    )
                    continue
                self._classes[cls.name] = cls
                if label in self._distributions:
                    self._distributions[cls.name] = self._distributions[label]

    # -- lookup ----------------------------------------------------------------------

    def names(self) -> list[str]:
        """The installed providers' names, sorted. Imports no provider SDK."""
        return sorted(self._classes)

    def provider_class(self, name: str) -> type[BaseProvider]:
        """The class of provider `name`, without constructing it."""
        try:
            return self._classes[name]
        except KeyError as exc:
            installed = ", ".join(self.names()) or "none"
            raise UnknownProviderError(
                f"no provider named {name!r}; installed: {installed}"
            ) from exc

    def get(self, name: str) -> BaseProvider:
        """The provider instance named `name` (constructed once, then shared)."""
        instance = self._instances.get(name)
        if instance is None:
            instance = self.provider_class(name)(
                self._env, timeouts=self._timeouts, retry_policy=self._retry_policy
            )
            self._instances[name] = instance
        return instance

    def info(self) -> list[PluginInfo]:
        """Name, distribution, version and configuration state of every provider."""
        result = []
        for name in self.names():
            cls = self._classes[name]
            dist, version = self._distributions.get(name, (None, None))
            result.append(
                PluginInfo(
                    name=name,
                    distribution=dist,
                    version=version,
                    supports_files=cls.supports_files,
                    env_vars=tuple(v.name for v in cls.env_vars),
                    missing_env=tuple(cls.missing_env(self._env)),
                    read_from=cls.read_from_aliases(self._env),
                    all_names=tuple(n for v in cls.env_vars for n in (v.name, *v.aliases)),
                    mode=cls.mode(self._env),
                )
            )
        return result

    def models_reading(self, kind: InputKind) -> list[str]:
        """The listed models ("provider/model") that read input of `kind`: those of
        configured providers, or of every installed one when none is configured."""
        configured = [n for n in self.names() if not self._classes[n].missing_env(self._env)]
        return [
            f"{name}/{model}"
            for name in configured or self.names()
            for model in self._classes[name].catalogue.reading(kind)
        ]

    def resolve(self, model: str) -> tuple[BaseProvider, str]:
        """The provider of `model`, and the model id to send it.

        In order: an explicit `provider/model`; the first provider whose naming
        rule claims it; a model seen in an earlier `list_all()`. No network. The
        naming rule goes first so that a bare name goes to the same provider
        whether or not a listing ran before (two providers may list one id).
        """
        head, sep, tail = model.partition("/")
        if sep and head in self._classes and tail:
            return self.get(head), tail
        for name in self.names():
            if self._classes[name].claims_model(model):
                return self.get(name), model
        seen = self._seen_models.get(model)
        if seen is not None:
            return self.get(seen), model
        installed = ", ".join(self.names()) or "none installed"
        raise ModelNotFoundError(
            f"no provider serves model {model!r}; name it as provider/model "
            f"(providers: {installed}) or pick one from `llmhub models`",
            model=model,
        )

    # -- listing -----------------------------------------------------------------------

    async def list_all(self, timeout: float | None = None) -> ModelCatalog:
        """Every provider's models, asked concurrently.

        A provider that is not configured, fails, or takes longer than `timeout`
        seconds is left out and its error is put in `errors`; nothing is raised.
        """
        limit = self._list_timeout if timeout is None else timeout
        names = self.names()
        results = await asyncio.gather(*(self._list_one(name, limit) for name in names))
        by_provider: dict[str, tuple[str, ...]] = {}
        errors: dict[str, LLMHubError] = {}
        notes: dict[str, str] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, LLMHubError):
                errors[name] = result
                continue
            by_provider[name] = result
            note = self._instances[name].listing_note
            if note:
                notes[name] = note
            for model in result:
                self._seen_models.setdefault(model, name)
        return ModelCatalog(by_provider=by_provider, errors=errors, notes=notes)

    async def _list_one(self, name: str, limit: float) -> tuple[str, ...] | LLMHubError:
        try:
            provider = self.get(name)
            async with asyncio.timeout(limit):
                models = await provider.list_models()
        except LLMHubError as exc:
            return exc
        except TimeoutError:
            return ProviderTimeoutError(f"listing models took over {limit:g} s", provider=name)
        except Exception as exc:  # a provider bug must not fail the other providers
            return ProviderUnavailableError(
                f"listing models failed: {type(exc).__name__}: {exc}", provider=name
            )
        return tuple(dict.fromkeys(models))

    async def aclose(self) -> None:
        """Close every constructed provider's client."""
        instances, self._instances = list(self._instances.values()), {}
        for instance in instances:
            await instance.aclose()

    def __repr__(self) -> str:
        return f"<ProviderRegistry providers={self.names()} failures={sorted(self.failures)}>"


def _load_error(label: str, exc: BaseException) -> PluginLoadError:
    error = PluginLoadError(f"plugin {label!r} failed to load: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error
