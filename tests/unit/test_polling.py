"""Batch polls without FastStream's pause after an empty poll (shared/messaging/polling.py)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from faststream.kafka.subscriber.usecase import BatchSubscriber, LogicSubscriber

from shared.messaging import polling
from shared.messaging.polling import answer_at_once


class Consumer:
    """getmany() answers at once with what it was given (aiokafka's: records by partition)."""

    def __init__(self, batches: dict[str, list[str]]) -> None:
        self.batches = batches
        self.asked: list[tuple[int, int]] = []

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[str, list[str]]:
        self.asked.append((timeout_ms, max_records))
        return self.batches


def _subscriber() -> Any:
    broker = KafkaBroker("127.0.0.1:1")
    subscriber = broker.subscriber("t", group_id="g", batch=True, max_records=7, batch_timeout_ms=40)
    answer_at_once(subscriber)
    return subscriber


async def test_a_poll_returns_what_arrived_in_partition_order_with_the_subscribers_limits() -> None:
    consumer = Consumer({"p0": ["a", "b"], "p1": ["c"]})
    assert await _subscriber().get_msg(consumer) == ("a", "b", "c")
    assert consumer.asked == [(40, 7)]


async def test_an_empty_poll_that_came_back_early_waits_out_its_interval_instead_of_spinning(monkeypatch: pytest.MonkeyPatch) -> None:
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(polling.asyncio, "sleep", sleep)
    assert await _subscriber().get_msg(Consumer({})) == ()
    assert len(waited) == 1 and 0 < waited[0] <= 0.04


def test_faststreams_consume_loop_still_polls_through_get_msg() -> None:
    """A FastStream upgrade that renamed or bypassed the poll would silently bring the pause back."""
    assert "get_msg" in BatchSubscriber.__dict__
    assert "self.get_msg(consumer)" in inspect.getsource(LogicSubscriber._run_consume_loop)


def test_only_a_batch_subscriber_is_changed() -> None:
    broker = KafkaBroker("127.0.0.1:1")
    with pytest.raises(TypeError):
        answer_at_once(broker.subscriber("t", group_id="g"))

