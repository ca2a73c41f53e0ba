"""The one-writer pattern both backends share: take what has accumulated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypeVar

__all__ = ["batches"]

J = TypeVar("J")


async def batches(queue: asyncio.Queue[J], stop: J, size: int) -> AsyncIterator[list[J]]:
    """Everything queued so far, up to `size` jobs at a time, until `stop` is taken.

    Nothing waits on a timer: with no load a job goes alone at once, under load
    the batches grow by themselves while the previous one is written.
    """
    while True:
        batch = [await queue.get()]
        while len(batch) < size and not queue.empty():
            batch.append(queue.get_nowait())
        stopping = any(job is stop for job in batch)
        batch = [job for job in batch if job is not stop]
        if batch:
            yield batch
        if stopping:
            return
