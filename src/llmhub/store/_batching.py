"""The one-writer pattern both backends share: take what has accumulated.

A store's writes go through one task that takes everything queued, writes
it as one batch, and wakes the callers. Nothing waits on a timer: with no
load a job goes alone at once, under load the batches grow by themselves
while the previous one is written.

The writer outlives the end of its event loop. `asyncio.run()` cancels every
task before the async generators (the default hub's closer) run, and the
callers it cancels still log their `cancelled` rows. So a cancelled writer
hands over to a fresh one, which writes what was queued and what the
cancelled batch left unwritten, until `close()` stops it: no row is dropped
and no caller is left waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Writer"]

log = logging.getLogger("llmhub.store")

J = TypeVar("J")


class Writer(Generic[J]):
    """One task writing a store's queued jobs in batches.

    `write(batch)` writes the jobs and settles their callers (it never raises
    for a failed job); `unsettled(batch)` names the jobs of a batch whose write
    was cancelled midway and must be written again.
    """

    def __init__(
        self,
        write: Callable[[list[J]], Awaitable[None]],
        unsettled: Callable[[list[J]], list[J]],
        stop: J,
        size: int,
    ) -> None:
        self._write = write
        self._unsettled = unsettled
        self._stop = stop
        self._size = size
        #: Queued jobs, and the future the idle writer waits on for the next one
        #: (lighter than an `asyncio.Queue`: three jobs per streamed reply pass here).
        self._jobs: deque[J] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._orphans: list[J] = []  # of a writer cancelled while `close()` waited for it

    def start(self, first: Sequence[J] = ()) -> None:
        self._task = asyncio.create_task(self._run(list(first)), name="llmhub-store-writer")

    def put(self, job: J) -> None:
        self._jobs.append(job)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _take(self) -> tuple[list[J], bool]:
        """Everything queued so far (waiting for one job), up to `size` jobs, and
        whether `stop` was among them.

        A plain coroutine, not an async generator: the loop's end finalizes async
        generators, and would close one while the writer still waits in it.
        """
        jobs = self._jobs
        while not jobs:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        batch = [jobs.popleft() for _ in range(min(len(jobs), self._size))]
        stopping = any(job is self._stop for job in batch)
        return [job for job in batch if job is not self._stop], stopping

    async def _run(self, first: list[J]) -> None:
        batch, stopping = first, False
        try:
            while True:
                if batch:
                    try:
                        await self._write(batch)
                    except Exception:  # `write` settles its callers; this is a bug's last net
                        log.exception("store: the writer failed a batch of %d jobs", len(batch))
                    batch = []
                if stopping:
                    return
                batch, stopping = await self._take()
        except asyncio.CancelledError:
            if self._stopping:
                self._orphans += self._unsettled(batch)
            else:  # the loop is ending: a fresh writer carries on
                self.start(self._unsettled(batch))
            raise

    async def close(self) -> None:
        """Write everything queued, then stop."""
        self._stopping = True
        while (task := self._task) is not None:
            self._task = None
            if task.done():
                continue
            self.put(self._stop)
            await asyncio.wait([task])  # a cancelled writer has started its successor
        left, self._orphans = self._orphans, []
        while self._jobs:
            job = self._jobs.popleft()
            if job is not self._stop:
                left.append(job)
        for start in range(0, len(left), self._size):
            await self._write(left[start : start + self._size])
