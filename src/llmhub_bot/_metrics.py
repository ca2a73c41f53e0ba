"""Prometheus metrics of one bot process, served at `/metrics` (prometheus-client).

In webhook mode the webhook server serves them; in polling mode a small server
on `BOT_METRICS_PORT` does, when it is set. Each process has its registry and
labels its own series with `replica` (host, pid and a random suffix, as the
conveyor names itself), so replicas behind one load balancer stay apart even
when scraped through one address.

- `llmhub_bot_updates_received_total`, `llmhub_bot_updates_answered_total`
- `llmhub_bot_replies_total{outcome}`: ok, fallback (another model answered),
  error, stopped (by the user's stop button), over_limit (a budget refused it)
- `llmhub_llm_latency_seconds{provider,model}`: a whole reply;
  `llmhub_llm_first_chunk_seconds{provider,model}`: its first piece
- `llmhub_llm_tokens_total{provider,model,kind}` (kind: input, output),
  `llmhub_llm_cost_usd_total{provider,model}` (models with a known price)
- `llmhub_bot_telegram_flood_waits_total`, `llmhub_bot_telegram_flood_wait_seconds_total`:
  Telegram's 429s waited out
- `llmhub_bot_queue_depth{replica}`: updates waiting in the chats this process
  answers; `llmhub_bot_chats_answering{replica}`: those chats
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from llmhub import Reply

__all__ = ["Metrics", "metrics_app"]

#: Seconds: an LLM reply takes from a fraction of a second to minutes.
_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)
_FIRST_CHUNK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30)


class Metrics:
    """The counters and histograms the bot's parts update."""

    def __init__(self, replica: str) -> None:
        self.replica = replica
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates_received = Counter(
            "llmhub_bot_updates_received", "Updates received from Telegram", ["replica"], registry=r
        )
        self.updates_answered = Counter(
            "llmhub_bot_updates_answered", "Updates answered", ["replica"], registry=r
        )
        self.replies = Counter("llmhub_bot_replies", "Replies by outcome", ["outcome"], registry=r)

        def timing(name: str, doc: str, buckets: tuple[float, ...]) -> Histogram:
            return Histogram(name, doc, ["provider", "model"], buckets=buckets, registry=r)

        self.latency = timing(
            "llmhub_llm_latency_seconds", "Time to a whole reply", _LATENCY_BUCKETS
        )
        self.first_chunk = timing(
            "llmhub_llm_first_chunk_seconds", "Time to a reply's first piece", _FIRST_CHUNK_BUCKETS
        )
        self.tokens = Counter(
            "llmhub_llm_tokens", "Tokens by direction", ["provider", "model", "kind"], registry=r
        )
        self.cost = Counter(
            "llmhub_llm_cost_usd", "Cost of the replies in USD", ["provider", "model"], registry=r
        )
        self.flood_waits = Counter(
            "llmhub_bot_telegram_flood_waits", "Telegram 429s waited out", registry=r
        )
        self.flood_wait_seconds = Counter(
            "llmhub_bot_telegram_flood_wait_seconds", "Seconds waited for Telegram", registry=r
        )
        self.queue_depth = Gauge(
            "llmhub_bot_queue_depth",
            "Updates waiting in the chats this process answers",
            ["replica"],
            registry=r,
        )
        self.chats_answering = Gauge(
            "llmhub_bot_chats_answering", "Chats this process answers", ["replica"], registry=r
        )

    def received(self) -> None:
        self.updates_received.labels(self.replica).inc()

    def answered(self) -> None:
        self.updates_answered.labels(self.replica).inc()

    def flood_waited(self, seconds: float) -> None:
        self.flood_waits.inc()
        self.flood_wait_seconds.inc(seconds)

    def replied(self, reply: Reply, seconds: float, first_chunk: float | None) -> None:
        """A reply was shown whole: its outcome, timings, tokens and cost."""
        self.replies.labels("fallback" if reply.fell_back else "ok").inc()
        labels = (reply.provider, reply.model)
        self.latency.labels(*labels).observe(seconds)
        if first_chunk is not None:
            self.first_chunk.labels(*labels).observe(first_chunk)
        if reply.usage.prompt_tokens:
            self.tokens.labels(*labels, "input").inc(reply.usage.prompt_tokens)
        if reply.usage.completion_tokens:
            self.tokens.labels(*labels, "output").inc(reply.usage.completion_tokens)
        if reply.cost is not None:
            self.cost.labels(*labels).inc(reply.cost)

    def outcome(self, outcome: str) -> None:
        """A reply that did not complete: "error", "stopped" or "over_limit"."""
        self.replies.labels(outcome).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def metrics_handler(
    metrics: Metrics, depth: Callable[[], Awaitable[tuple[int, int]]]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The `/metrics` handler; `depth()` gives (queued updates, chats) at scrape time."""

    async def handle(_: web.Request) -> web.Response:
        queued, chats = await depth()
        metrics.queue_depth.labels(metrics.replica).set(queued)
        metrics.chats_answering.labels(metrics.replica).set(chats)
        return web.Response(
            body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    return handle


def metrics_app(
    metrics: Metrics, depth: Callable[[], Awaitable[tuple[int, int]]]
) -> web.Application:
    """A server of `/metrics` alone (polling mode, `BOT_METRICS_PORT`)."""
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(metrics, depth))
    return app
