"""The background offset committer (shared/messaging/offsets.py): offsets only go forward, a failed commit
keeps the partitions still held, and flush() waits for what was noted. Against a stand-in for aiokafka's
consumer; the integration and end-to-end suites run it against the real broker."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError

from shared.messaging.offsets import OffsetCommitter

TOPIC = "orders.commands"


class Consumer:
    """Records every commit; fails the next ones while `failing`; a commit waits for `gate`."""

    def __init__(self, held: set[int] = frozenset({0, 1, 2})) -> None:  # type: ignore[assignment]
        self.held = {TopicPartition(TOPIC, p) for p in held}
        self.commits: list[dict[TopicPartition, int]] = []
        self.failing = 0
        self.gate = asyncio.Event()
        self.gate.set()

    def assignment(self) -> set[TopicPartition]:
        return self.held

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        await self.gate.wait()
        if self.failing:
            self.failing -= 1
            raise CommitFailedError("the group rebalanced")
        self.commits.append(dict(offsets))


def records(partition: int, *offsets: int) -> list[ConsumerRecord]:
    return [ConsumerRecord(TOPIC, partition, o, 0, 0, None, b"{}", None, 0, 2, []) for o in offsets]


def tp(partition: int) -> TopicPartition:
    return TopicPartition(TOPIC, partition)


@pytest.mark.asyncio
async def test_the_offset_after_the_last_applied_record_is_committed() -> None:
    consumer, committer = Consumer(), OffsetCommitter(TOPIC)
    committer.note(consumer, records(0, 5, 6, 7) + records(2, 40))
    await committer.flush()
    assert consumer.commits == [{tp(0): 8, tp(2): 41}]
    assert committer.pending == {}


@pytest.mark.asyncio
async def test_batches_applied_during_a_commit_go_out_together_in_the_next_and_never_backwards() -> None:
    consumer, committer = Consumer(), OffsetCommitter(TOPIC)
    consumer.gate.clear()
    committer.note(consumer, records(0, 1))
    await asyncio.sleep(0)  # the first commit is under way, waiting for the broker
    committer.note(consumer, records(0, 2, 3))
    committer.note(consumer, records(1, 9))
    consumer.gate.set()
    await committer.flush()
    assert consumer.commits == [{tp(0): 2}, {tp(0): 4, tp(1): 10}]


@pytest.mark.asyncio
async def test_a_failed_commit_keeps_the_partitions_still_held_and_drops_the_others() -> None:
    consumer, committer = Consumer(held={0}), OffsetCommitter(TOPIC)
    consumer.failing = 1
    committer.note(consumer, records(0, 3) + records(1, 7))
    await committer.flush()  # the failed commit, then one more attempt with what is still ours
    assert consumer.commits == [{tp(0): 4}]
    assert committer.pending == {}


@pytest.mark.asyncio
async def test_offsets_that_cannot_be_committed_stay_pending_until_a_later_attempt() -> None:
    consumer, committer = Consumer(), OffsetCommitter(TOPIC)
    consumer.failing = 2
    committer.note(consumer, records(1, 3))
    await committer.flush()
    assert consumer.commits == [] and committer.pending == {tp(1): 4}
    committer.note(consumer, records(2, 0))
    await committer.flush()
    assert consumer.commits == [{tp(1): 4, tp(2): 1}]


@pytest.mark.asyncio
async def test_flush_gives_up_waiting_after_its_timeout_and_the_commit_carries_on() -> None:
    consumer, committer = Consumer(), OffsetCommitter(TOPIC)
    consumer.gate.clear()  # the coordinator does not answer
    committer.note(consumer, records(0, 3))
    await committer.flush(timeout=0.01)
    assert consumer.commits == []
    consumer.gate.set()
    await committer.flush()
    assert consumer.commits == [{tp(0): 4}]


@pytest.mark.asyncio
async def test_batches_applied_soon_after_a_commit_wait_for_the_next_one_together() -> None:
    consumer, committer = Consumer(), OffsetCommitter(TOPIC)
    committer.note(consumer, records(0, 1))
    async with asyncio.timeout(5):
        while not consumer.commits:
            await asyncio.sleep(0)
    committer.note(consumer, records(0, 2))
    committer.note(consumer, records(1, 5))
    for _ in range(20):
        await asyncio.sleep(0)
    assert consumer.commits == [{tp(0): 2}]  # a light load's batch each: no commit each
    await committer.flush()  # a rebalance or a stop does not wait out the interval
    assert consumer.commits == [{tp(0): 2}, {tp(0): 3, tp(1): 6}]
