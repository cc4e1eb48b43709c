"""The intake between the consume loop and a subscription's worker (shared/messaging/intake.py): records
are applied in the order read, batched from what waited, offsets noted only after a batch is applied, a
failing batch tried again rather than skipped, and a full intake makes the consume loop wait."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import pytest
from aiokafka import ConsumerRecord, TopicPartition

from shared.messaging.failures import Backoff, Stopping
from shared.messaging.intake import Intake
from shared.messaging.offsets import OffsetCommitter

TOPIC = "orders.commands"
QUICK = Backoff(first_seconds=0.001, max_seconds=0.001)


def records(partition: int, *offsets: int) -> list[ConsumerRecord]:
    return [ConsumerRecord(TOPIC, partition, o, 0, 0, None, b"{}", None, 0, 2, []) for o in offsets]


class Offsets(OffsetCommitter):
    """Remembers what was noted, commits nothing."""

    def __init__(self) -> None:
        super().__init__(TOPIC)
        self.noted: list[list[int]] = []

    def note(self, consumer: object, records: Sequence[ConsumerRecord]) -> None:
        self.noted.append([r.offset for r in records])


class Worker:
    def __init__(self, batch_size: int = 100, fail_first: int = 0) -> None:
        self.applied: list[list[int]] = []
        self.fail_first = fail_first
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()  # the worker is applying a batch (waiting on the "database")
        self.offsets = Offsets()
        self.stopping = asyncio.Event()
        self.intake = Intake(self.apply, self.offsets, batch_size=batch_size, stopping=self.stopping, backoff=QUICK)
        self.task: asyncio.Task[None] | None = None

    async def apply(self, batch: Sequence[ConsumerRecord]) -> None:
        self.entered.set()
        await self.gate.wait()
        if self.fail_first:
            self.fail_first -= 1
            raise RuntimeError("a fault in the pipeline")
        self.applied.append([r.offset for r in batch])

    async def __aenter__(self) -> Worker:
        self.task = asyncio.create_task(self.intake.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):  # or it ended: the intake was closed
            await self.task

    async def until(self, count: int) -> None:
        async with asyncio.timeout(5):  # a condition, polled: the worker is another task
            while sum(map(len, self.applied)) < count:
                await asyncio.sleep(0.001)


@pytest.mark.asyncio
async def test_records_that_arrive_during_a_batch_are_the_next_batch_in_the_order_read() -> None:
    async with Worker() as worker:
        worker.gate.clear()
        await worker.intake.put(None, records(0, 0))
        await asyncio.wait_for(worker.entered.wait(), 5)  # the first record is taken, its batch under way
        await worker.intake.put(None, records(0, 1, 2))
        await worker.intake.put(None, records(1, 7))
        worker.gate.set()
        await worker.until(4)
    assert worker.applied == [[0], [1, 2, 7]]
    assert worker.offsets.noted == worker.applied


@pytest.mark.asyncio
async def test_a_batch_is_at_most_the_batch_size() -> None:
    async with Worker(batch_size=2) as worker:
        worker.gate.clear()
        await worker.intake.put(None, records(0, 0, 1, 2, 3, 4))
        worker.gate.set()
        await worker.until(5)
    assert worker.applied == [[0, 1], [2, 3], [4]]


@pytest.mark.asyncio
async def test_a_batch_that_fails_is_tried_again_and_nothing_behind_it_goes_first() -> None:
    async with Worker(fail_first=2) as worker:
        await worker.intake.put(None, records(0, 0, 1))
        await worker.until(2)
        await worker.intake.put(None, records(0, 2))
        await worker.until(3)
    assert worker.applied == [[0, 1], [2]]
    assert worker.offsets.noted == [[0, 1], [2]]  # the failed attempts noted nothing


@pytest.mark.asyncio
async def test_the_consume_loop_waits_while_the_intake_is_full() -> None:
    async with Worker(batch_size=2) as worker:
        worker.gate.clear()
        await worker.intake.put(None, records(0, 0, 1, 2, 3))  # the worker takes 2; 2 wait, the limit is 4
        await worker.intake.put(None, records(0, 4, 5))
        blocked = asyncio.create_task(worker.intake.put(None, records(0, 6)))
        for _ in range(10):  # every task has run as far as it can: the put is waiting for room
            await asyncio.sleep(0)
        assert not blocked.done()
        worker.gate.set()
        await blocked
        await worker.until(7)
    assert [o for batch in worker.applied for o in batch] == list(range(7))


@pytest.mark.asyncio
async def test_records_of_partitions_taken_away_are_not_applied() -> None:
    async with Worker() as worker:
        worker.gate.clear()
        await worker.intake.put(None, records(0, 0))
        await asyncio.wait_for(worker.entered.wait(), 5)
        await worker.intake.put(None, records(1, 5) + records(2, 9))
        await worker.intake.revoked([TopicPartition(TOPIC, 1)])
        worker.gate.set()
        await worker.until(2)
    assert worker.applied == [[0], [9]]


@pytest.mark.asyncio
async def test_stopping_during_a_batch_notes_no_offsets() -> None:
    worker = Worker()

    async def stopped(batch: Sequence[ConsumerRecord]) -> None:
        raise Stopping

    worker.intake = Intake(stopped, worker.offsets, batch_size=10, stopping=worker.stopping, backoff=QUICK)
    await worker.intake.put(None, records(0, 0))
    with pytest.raises(Stopping):
        await asyncio.wait_for(worker.intake.run(), 5)
    assert worker.offsets.noted == []


@pytest.mark.asyncio
async def test_closing_lets_the_batch_in_progress_finish_and_starts_no_other() -> None:
    async with Worker(batch_size=1) as worker:
        worker.gate.clear()
        await worker.intake.put(None, records(0, 0, 1))
        await asyncio.wait_for(worker.entered.wait(), 5)
        closing = asyncio.create_task(worker.intake.close())
        for _ in range(10):
            await asyncio.sleep(0)
        assert not closing.done()  # the batch under way is not abandoned
        worker.gate.set()
        await asyncio.wait_for(closing, 5)
        assert worker.applied == [[0]] and worker.offsets.noted == [[0]]
