"""Batch polls that answer as soon as records arrive, however long the topic was quiet.

FastStream's batch subscriber (0.7) asks aiokafka for records with `getmany(timeout_ms=...)`, which
already waits up to that long and returns the moment records arrive. After a poll that found nothing
it then sleeps as long again, deaf to new records: on a quiet topic, a record arriving during that
sleep waited up to CONSUME_POLL_MS before anyone looked, at each of an order's three hops. That
sleep, not the work, was most of a hop's latency at 20-100 orders/s (docs/benchmarks.md).

`answer_at_once` replaces the subscriber's poll with `getmany` alone. It keeps FastStream's consume
loop, its error handling and its specification; only what one poll does changes.
"""

from __future__ import annotations

import asyncio
import types
from itertools import chain
from typing import Any

from faststream.kafka.subscriber.usecase import BatchSubscriber


async def _poll(self: BatchSubscriber, consumer: Any) -> tuple[Any, ...]:
    """One poll: the records that arrive within `batch_timeout_ms`, returned as soon as there are any."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    batches = await consumer.getmany(timeout_ms=self.batch_timeout_ms, max_records=self.max_records)
    if batches:
        return tuple(chain.from_iterable(batches.values()))
    # Nothing, and early: aiokafka does so while the consumer holds no partitions. Wait out the rest of
    # the interval rather than ask again at once, so a member without partitions does not spin.
    remaining = self.batch_timeout_ms / 1000 - (loop.time() - started)
    if remaining > 0:
        await asyncio.sleep(remaining)
    return ()


def answer_at_once(subscriber: Any) -> None:
    """Make a FastStream batch subscriber poll without pausing after a poll that found nothing."""
    if not isinstance(subscriber, BatchSubscriber):
        raise TypeError(f"expected FastStream's Kafka batch subscriber, got {type(subscriber).__name__}")
    subscriber.get_msg = types.MethodType(_poll, subscriber)
