"""llmhub for code that is not async: scripts, Django and Flask views, notebooks.

    from llmhub.sync import generate_reply, stream_reply

    print(generate_reply(42, "Hello", model="mistral-small-latest"))
    for piece in stream_reply(42, "And in French?"):
        print(piece, end="")

Every call runs on one event loop in a background thread that the process
shares (started on first use, closed at exit after the log is written), so a
call costs what an async call costs plus one hand-over between threads, not a
new event loop, HTTP pool and database connection each time as `asyncio.run`
per call would. It works where a loop is already running in the calling thread
(Jupyter), because the calls never touch that loop. `Hub` is the sync twin of
`llmhub.Hub`, for an app that keeps its own hub and settings.
"""

from __future__ import annotations

import _thread
import asyncio
import atexit
import threading
import warnings
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar, Unpack, overload

from . import _default
from ._hub import CallOptions, prompt_of
from ._hub import Hub as AsyncHub
from ._registry import ModelCatalog
from ._stream import ReplyStream, StreamEvent
from ._types import ChatId, Embeddings, Prompt, Reply

__all__ = [
    "Hub",
    "SyncReplyStream",
    "close_default_hub",
    "embed",
    "generate_reply",
    "reply",
    "stream_reply",
]

T = TypeVar("T")


class _LoopThread:
    """An event loop running in a daemon thread, for the whole process."""

    _lock = threading.Lock()
    _current: _LoopThread | None = None

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="llmhub-sync", daemon=True)
        self.thread.start()
        self._ready.wait()

    @classmethod
    def get(cls) -> _LoopThread:
        with cls._lock:
            if cls._current is None or not cls._current.thread.is_alive():
                cls._current = cls()
                _at_exit(cls._current.close)
            return cls._current

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()

    def _refuse_own_thread(self, coro: Coroutine[Any, Any, Any]) -> None:
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError(
                "a sync llmhub call from inside llmhub's own loop (a tool?) would wait for"
                " itself: call the async API there"
            )

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        self._refuse_own_thread(coro)
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the loop and wait for it; Ctrl-C cancels it there too.

        The hand-over is a bare lock released by the task's done callback: lighter than
        `run_coroutine_threadsafe`'s future and condition, on the path of every call.
        """
        self._refuse_own_thread(coro)
        done = _thread.allocate_lock()
        done.acquire()
        box: list[asyncio.Task[T]] = []

        def start() -> None:
            task = self.loop.create_task(coro)
            box.append(task)
            task.add_done_callback(lambda _: done.release())

        self.loop.call_soon_threadsafe(start)
        try:
            done.acquire()
        except BaseException:  # KeyboardInterrupt: stop the call there (which logs it)
            self.loop.call_soon_threadsafe(lambda: box[0].cancel() if box else None)
            raise
        return box[0].result()

    def close(self) -> None:
        """Close the default hub (writing what is queued), then stop the loop."""
        if not self.thread.is_alive():
            return
        try:
            self.submit(_default.close_default_hub()).result(timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=30)
            if not self.thread.is_alive():
                self.loop.close()


def _at_exit(close: Callable[[], None]) -> None:
    """Run `close` at interpreter exit while thread pools still take work: the store
    closes through one. `atexit` callbacks run after `concurrent.futures` has shut
    its pools down; `threading`'s exit hooks (what `concurrent.futures` itself uses,
    run newest first) run before that."""
    # Imported first so that its own exit hook is registered before ours and so runs
    # after it (it is imported lazily, on the first thread pool, which may be later).
    import concurrent.futures.thread  # noqa: F401

    register = getattr(threading, "_register_atexit", None)
    if register is None:  # pragma: no cover - every CPython 3.9+ has it
        atexit.register(close)
        return
    register(close)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return _LoopThread.get().run(coro)


class SyncReplyStream:
    """The text pieces of a streamed reply, for a `for` loop.

        with stream_reply(42, "Hello") as stream:
            for piece in stream:
                print(piece, end="")
        print(stream.reply.usage)

    Leaving the loop early (`break`, an exception) stops the generation and logs
    what arrived, as the async stream does.
    """

    def __init__(self, runner: _LoopThread, source: ReplyStream) -> None:
        self._runner = runner
        self._source = source
        self._events = False

    def __iter__(self) -> Iterator[str]:
        return self._pieces(aiter(self._source))

    def events(self) -> Iterator[StreamEvent]:
        """Text pieces and the tool rounds between them (see `ReplyStream.events`)."""
        return self._pieces(self._source.events())

    def _pieces(self, iterator: Any) -> Iterator[Any]:
        try:
            while True:
                try:
                    yield self._runner.run(anext(iterator))
                except StopAsyncIteration:
                    return
        finally:
            self.close()

    @property
    def reply(self) -> Reply | None:
        """The whole reply, once the stream has ended normally."""
        return self._source.reply

    @property
    def request_id(self) -> str | None:
        return self._source.request_id

    def close(self) -> None:
        """Stop the generation; what arrived so far is logged."""
        self._runner.run(self._source.aclose())

    def __enter__(self) -> SyncReplyStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# -- the module-level calls, on the default hub of the shared loop ---------------------


def generate_reply(
    chat_id: ChatId,
    prompt: str,
    model: str | None = None,
    *,
    output: Any = None,
    **options: Unpack[CallOptions],
) -> Any:
    """The sync twin of `llmhub.generate_reply`: the text, or with `output=` the parsed reply."""
    return _run(_default.generate_reply(chat_id, prompt, model, output=output, **options))


def reply(
    chat_id: ChatId,
    prompt: str,
    model: str | None = None,
    *,
    output: Any = None,
    **options: Unpack[CallOptions],
) -> Reply:
    """The whole `Reply` (usage, cost, tool rounds, `parsed`)."""
    request = Prompt.of(chat_id, prompt, model, output=output, **options)

    async def ask() -> Reply:
        return await (await _default.get_default_hub()).reply(request)

    return _run(ask())


def stream_reply(
    chat_id: ChatId,
    prompt: str,
    model: str | None = None,
    *,
    output: Any = None,
    **options: Unpack[CallOptions],
) -> SyncReplyStream:
    """The sync twin of `llmhub.stream_reply`: `for piece in stream_reply(...)`."""
    runner = _LoopThread.get()
    return SyncReplyStream(
        runner, _default.stream_reply(chat_id, prompt, model, output=output, **options)
    )


def embed(texts: Sequence[str], model: str, *, user_id: int | None = None) -> Embeddings:
    """The sync twin of `llmhub.embed`."""
    return _run(_default.embed(texts, model, user_id=user_id))


def close_default_hub() -> None:
    """Close the default hub of the sync calls now (it is closed at exit anyway); the
    next call opens a new one from the environment as it is then."""
    current = _LoopThread._current
    if current is not None and current.thread.is_alive():
        current.run(_default.close_default_hub())


class Hub:
    """The sync twin of `llmhub.Hub`: the same calls, blocking.

    with Hub.open() as hub:
        print(hub.generate_reply(1, "Hi", "mistral-small-latest"))
    """

    def __init__(self, hub: AsyncHub, runner: _LoopThread) -> None:
        self.hub = hub
        self._runner = runner

    @classmethod
    def open(cls, env: Mapping[str, str] | None = None) -> Hub:
        """A hub from `env` (default: the environment over `.env`), its store opened."""
        runner = _LoopThread.get()
        return cls(runner.run(AsyncHub._open(env)), runner)

    def generate_reply(
        self,
        chat_id: ChatId,
        prompt: str,
        model: str | None = None,
        *,
        output: Any = None,
        **options: Unpack[CallOptions],
    ) -> Any:
        return self._runner.run(
            self.hub.generate_reply(chat_id, prompt, model, output=output, **options)
        )

    @overload
    def reply(self, chat_id: Prompt, /) -> Reply: ...

    @overload
    def reply(
        self,
        chat_id: ChatId,
        prompt: str,
        model: str | None = None,
        *,
        output: Any = None,
        **options: Unpack[CallOptions],
    ) -> Reply: ...

    def reply(
        self,
        chat_id: ChatId | Prompt,
        prompt: str | None = None,
        model: str | None = None,
        *,
        output: Any = None,
        **options: Unpack[CallOptions],
    ) -> Reply:
        """`Hub.reply()`, blocking: `reply(chat_id, text, ...)` or `reply(prompt)`."""
        request = prompt_of(chat_id, prompt, model, output, options)
        return self._runner.run(self.hub.reply(request))

    @overload
    def stream_reply(self, chat_id: Prompt, /) -> SyncReplyStream: ...

    @overload
    def stream_reply(
        self,
        chat_id: ChatId,
        prompt: str,
        model: str | None = None,
        *,
        output: Any = None,
        **options: Unpack[CallOptions],
    ) -> SyncReplyStream: ...

    def stream_reply(
        self,
        chat_id: ChatId | Prompt,
        prompt: str | None = None,
        model: str | None = None,
        *,
        output: Any = None,
        **options: Unpack[CallOptions],
    ) -> SyncReplyStream:
        """`Hub.stream_reply()`, iterated without a loop of the caller's."""
        request = prompt_of(chat_id, prompt, model, output, options)
        return SyncReplyStream(self._runner, self.hub.stream_reply(request))

    def ask(self, prompt: Prompt) -> Reply:
        """Deprecated: `reply(prompt)`."""
        warnings.warn("Hub.ask(prompt) is Hub.reply(prompt)", DeprecationWarning, stacklevel=2)
        return self.reply(prompt)

    def stream(self, prompt: Prompt) -> SyncReplyStream:
        """Deprecated: `stream_reply(prompt)`."""
        warnings.warn(
            "Hub.stream(prompt) is Hub.stream_reply(prompt)", DeprecationWarning, stacklevel=2
        )
        return self.stream_reply(prompt)

    def embed(self, texts: Sequence[str], model: str, *, user_id: int | None = None) -> Embeddings:
        return self._runner.run(self.hub.embed(texts, model, user_id=user_id))

    def list_models(self, timeout: float | None = None) -> ModelCatalog:
        return self._runner.run(self.hub.list_models(timeout))

    def reset_context(self, chat_id: ChatId) -> None:
        self._runner.run(self.hub.reset_context(chat_id))

    def close(self) -> None:
        """Close the providers' clients and the store (after writing what is queued)."""
        self._runner.run(self.hub.aclose())

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<llmhub.sync.Hub of {self.hub!r}>"
