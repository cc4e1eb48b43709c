"""Between reading records and applying them: the consume loop hands records over and goes back to
Kafka at once, and one worker per subscription applies whatever has arrived as one batch.

When the consume loop waited for each batch to be applied, aiokafka sent no new fetch until the
buffered records were taken, so a record that reached the broker during a batch waited for that batch,
the fetch after it, and often the batch after that: about two batches a hop. Now fetching goes on while
a batch is applied, and the next batch is everything that arrived meanwhile (docs/benchmarks.md).

Nothing about the guarantees changes: one worker applies a subscription's records in the order they
were read, offsets are noted only after the batch's transaction committed (offsets.py), and a batch
that fails unexpectedly is tried again, after a pause, until it is applied or the service stops.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition

from shared.logs import get_logger
from shared.messaging.failures import Backoff, Stopping
from shared.messaging.offsets import OffsetCommitter

log = get_logger()

Apply = Callable[[Sequence[ConsumerRecord]], Awaitable[None]]


class Intake:
    def __init__(self, apply: Apply, offsets: OffsetCommitter, *, batch_size: int, stopping: asyncio.Event, backoff: Backoff | None = None) -> None:
        self._apply = apply
        self._backoff = backoff or Backoff()
        self.offsets = offsets  # of the batches this intake applied
        self._batch_size = batch_size
        self._most_waiting = 2 * batch_size  # then the consume loop waits: memory stays bounded
        self._stopping = stopping
        self._waiting: deque[ConsumerRecord] = deque()
        self._consumer: Any = None  # aiokafka's consumer of the subscription (FastStream owns it)
        self._arrived = asyncio.Event()
        self._taken = asyncio.Event()
        self._idle = asyncio.Event()  # set while no batch is being applied
        self._idle.set()
        self._closed = False

    async def put(self, consumer: Any, records: Sequence[ConsumerRecord]) -> None:
        """Hand records over in the order they were read; waits while too many are waiting already."""
        while len(self._waiting) >= self._most_waiting:
            self._taken.clear()
            await self._taken.wait()
        self._consumer = consumer
        self._waiting.extend(records)
        self._arrived.set()

    async def revoked(self, partitions: Iterable[TopicPartition]) -> None:
        """Partitions taken away by a rebalance: their waiting records are not this member's to apply,
        and the offsets applied so far are committed before the new owner starts reading."""
        gone = {(p.topic, p.partition) for p in partitions}
        self._waiting = deque(r for r in self._waiting if (r.topic, r.partition) not in gone)
        self._taken.set()
        await self.offsets.flush()

    async def close(self) -> None:
        """Take no more batches, and return once the one being applied (if any) is done."""
        self._closed = True
        await self._idle.wait()

    async def run(self) -> None:
        """Apply batches for as long as the service runs (a supervised background task)."""
        while not self._closed:
            await self._arrived.wait()
            batch = [self._waiting.popleft() for _ in range(min(self._batch_size, len(self._waiting)))]
            if not self._waiting:
                self._arrived.clear()
            self._taken.set()
            if batch and not self._closed:
                self._idle.clear()
                try:
                    consumer = self._consumer
                    await self._applied(batch)
                    self.offsets.note(consumer, batch)
                finally:
                    self._idle.set()

    async def _applied(self, batch: list[ConsumerRecord]) -> None:
        """Apply a batch, again and again if it fails unexpectedly: records are set aside one by one inside
        (M3), so a failure here is a fault of the pipeline itself, and skipping the batch would lose it."""
        attempt = 0
        while True:
            try:
                await self._apply(batch)
                return
            except (Stopping, asyncio.CancelledError):
                raise  # stopping: nothing of the batch was committed, and its offsets are not
            except Exception:
                attempt += 1
                log.exception("batch.failed", topic=batch[0].topic, records=len(batch), first_offset=batch[0].offset, attempt=attempt)
                await self._backoff.wait(attempt, self._stopping)
