"""Telegram's side of webhook delivery, and a load balancer, on 127.0.0.1.

`Delivery` posts updates to a webhook as Telegram does: a chat's next update
only after a 2xx for the previous one, every update again after a non-2xx or a
timeout, chats in parallel. `RoundRobinProxy` balances per HTTP request (L7),
as the load balancer in front of several replicas must, and answers 502 when
the chosen replica does not answer (so Telegram retries it).
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp
from aiohttp import web

__all__ = ["Delivery", "RoundRobinProxy", "wait_healthy"]


class RoundRobinProxy:
    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.url = ""
        self.failures = 0

    async def __aenter__(self) -> RoundRobinProxy:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._http is not None
        backend = self.backends[next(self._next)]
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-telegram")}
        try:
            async with self._http.request(
                request.method,
                f"{backend}{request.path_qs}",
                data=await request.read(),
                headers={"Content-Type": "application/json", **headers},
            ) as answer:
                return web.Response(status=answer.status, body=await answer.read())
        except (aiohttp.ClientError, TimeoutError):
            self.failures += 1
            return web.Response(status=502)


class Delivery:
    """Posts each chat's updates in order, retrying each until a 2xx."""

    def __init__(self, url: str, secret: str, attempt_timeout: float = 10.0) -> None:
        self.url = url
        self.secret = secret
        self.attempt_timeout = attempt_timeout
        self.attempts = 0
        self.refused = 0

    async def chat(self, updates: list[dict[str, Any]]) -> None:
        timeout = aiohttp.ClientTimeout(total=self.attempt_timeout)
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret}
        async with aiohttp.ClientSession(timeout=timeout) as http:
            for update in updates:
                while True:
                    self.attempts += 1
                    try:
                        async with http.post(self.url, json=update, headers=headers) as answer:
                            if 200 <= answer.status < 300:
                                break
                    except (aiohttp.ClientError, TimeoutError):
                        pass
                    self.refused += 1
                    await asyncio.sleep(0.2)  # Telegram backs off before delivering again


async def wait_healthy(url: str, tries: int = 1800) -> None:
    """Until `url`/healthz answers 200 (a replica that has started), or fail."""
    async with aiohttp.ClientSession() as http:
        for _ in range(tries):
            try:
                async with http.get(f"{url}/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never became healthy")
