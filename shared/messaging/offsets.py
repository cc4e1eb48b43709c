"""Committing consumed offsets to Kafka without making the next batch wait for the broker's answer.

An offset is noted only after its batch's transaction committed, so it never runs ahead of the
database; the commit itself goes out in the background, at most one every COMMIT_INTERVAL_SECONDS.
Awaiting it cost a broker round trip between every two batches of a subscription, as long as the
batch itself at light load (docs/benchmarks.md). An offset that is never committed (the process died
first, a rebalance took the partition) loses nothing: its records are read again and the inbox
absorbs them (M2).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition

from shared.logs import get_logger
from shared.messaging.failures import RateLimitedLog
from shared.waiting import set_within

log = get_logger()

FLUSH_SECONDS = 5.0  # the longest a rebalance or a stop waits for offsets to be committed
# The least time between two commits of a subscription. At light load every poll brings one record and
# every batch would send a commit of its own: a request the broker must write to its offsets topic.
# Waiting batches ride on the next commit; a crash reads at most this much again (the inbox absorbs it).
COMMIT_INTERVAL_SECONDS = 0.25


class OffsetCommitter:
    """The offsets of one subscription's applied batches, committed in order in the background."""

    def __init__(self, topic: str) -> None:
        self._topic = topic
        self._pending: dict[TopicPartition, int] = {}  # partition -> the offset after its last applied record
        self._consumer: Any = None  # aiokafka's consumer of the subscription (FastStream owns it)
        self._task: asyncio.Task[None] | None = None
        self._failures = RateLimitedLog()
        self._hurry = asyncio.Event()  # set while flushing: no pause between commits

    def note(self, consumer: Any, records: Sequence[ConsumerRecord]) -> None:
        """Records whose effects are committed: their offsets go to Kafka soon."""
        self._consumer = consumer
        for record in records:
            partition = TopicPartition(record.topic, record.partition)
            self._pending[partition] = max(self._pending.get(partition, 0), record.offset + 1)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._commit_pending(), name=f"commit offsets {self._topic}")

    async def flush(self, timeout: float = FLUSH_SECONDS) -> None:
        """Return once every offset noted so far was committed, or its commit failed, or `timeout`
        passed (aiokafka retries a commit for as long as the coordinator is away; a rebalance or a stop
        must not wait for that): before giving partitions away in a rebalance, and when stopping."""
        self._hurry.set()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flushed(), timeout)
        finally:
            self._hurry.clear()

    async def _flushed(self) -> None:
        if self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        if self._pending:  # noted while no commit ran, or left by a failed one: one more attempt
            self._task = asyncio.create_task(self._commit_pending(), name=f"commit offsets {self._topic}")
            await asyncio.shield(self._task)

    @property
    def pending(self) -> dict[TopicPartition, int]:
        return dict(self._pending)

    async def _commit_pending(self) -> None:
        # One commit at a time, each with the latest offsets: commits of one partition never go backwards.
        while self._pending:
            offsets, self._pending = self._pending, {}
            try:
                await self._consumer.commit(offsets)
            except Exception as exc:  # a rebalance (CommitFailedError, IllegalStateError), the broker away
                held = _assignment(self._consumer)
                for partition, offset in offsets.items():
                    if partition in held and offset > self._pending.get(partition, -1):
                        self._pending[partition] = offset  # still ours: the next commit carries it
                self._failures.warning("offsets.commit_failed", topic=self._topic, kept=len(self._pending), error=repr(exc)[:300])
                return
            # What is noted meanwhile waits for the next commit (note() starts none while this task runs).
            await set_within(self._hurry, COMMIT_INTERVAL_SECONDS)


def _assignment(consumer: Any) -> set[TopicPartition]:
    try:
        return set(consumer.assignment())
    except Exception:  # stopped: nothing is held any more
        return set()
