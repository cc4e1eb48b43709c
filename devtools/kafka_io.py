"""Talking to real topics from outside the services: publish contract messages, collect what follows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.contracts.codec import DecodeError, decode, encode
from shared.contracts.envelope import Message
from shared.contracts.topics import ALL_TOPICS, Topic, consumer_group

M = TypeVar("M", bound=Message)


class Publisher:
    def __init__(self, bootstrap_servers: str, prefix: str) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=True)
        self._prefix = prefix

    async def __aenter__(self) -> Publisher:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def send(self, topic: Topic, key: str, message: Message, *, partition: int | None = None, headers: dict[str, str] | None = None) -> None:
        """Publish one message; `headers` (a W3C `traceparent`, say) go with it."""
        encoded = [(name, value.encode()) for name, value in (headers or {}).items()]
        await self._producer.send_and_wait(self._prefix + topic.name, encode(message), key=key.encode(), partition=partition, headers=encoded)

    async def send_raw_record(self, record: ConsumerRecord) -> None:
        """Deliver a record again, exactly as it was: same topic, partition, key and bytes."""
        await self._producer.send_and_wait(record.topic, record.value, key=record.key, partition=record.partition)

    async def send_raw(self, topic: Topic, key: str | None, value: bytes, *, partition: int | None = None) -> None:
        await self._producer.send_and_wait(
            self._prefix + topic.name, value, key=key.encode() if key is not None else None, partition=partition
        )


class Tap:
    """Collects every message on the given topics from their beginning, decoded by their contracts."""

    def __init__(
        self,
        bootstrap_servers: str,
        prefix: str = "",
        topics: Iterable[Topic] = ALL_TOPICS,
        on_message: Callable[[str, Message], None] | None = None,
        *,
        keep: bool = True,
        skip_types: frozenset[str] = frozenset(),
    ) -> None:
        self._topics = {prefix + t.name: t for t in topics}
        self._partitions = sum(t.partitions for t in self._topics.values())
        self._on_message = on_message
        self._keep = keep  # False: a long-running reader that only wants on_message keeps nothing in memory
        self._skip = {kind.encode() for kind in skip_types}  # by the relay's message_type header, unread
        self._consumer = AIOKafkaConsumer(
            *self._topics, bootstrap_servers=bootstrap_servers, auto_offset_reset="earliest", enable_auto_commit=False
        )
        self.seen: list[tuple[str, str | None, Message]] = []  # (logical topic, key, message)
        self.records: list[ConsumerRecord] = []  # every record as read, bytes and all
        self.undecodable: list[tuple[str, bytes]] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Tap:
        await self._consumer.start()
        self._task = asyncio.create_task(self._collect())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    async def _collect(self) -> None:
        async for record in self._consumer:
            if self._skip and any(key == "message_type" and value in self._skip for key, value in record.headers or ()):
                continue
            if self._keep:
                self.records.append(record)
            topic = self._topics[record.topic]
            try:
                message = decode(topic, record.value)
            except DecodeError:
                self.undecodable.append((topic.name, record.value))
                continue
            if self._keep:
                async with self._changed:
                    self.seen.append((topic.name, record.key.decode() if record.key else None, message))
                    self._changed.notify_all()
            if self._on_message is not None:
                self._on_message(topic.name, message)

    async def caught_up(self, timeout: float = 60.0) -> None:
        """Wait until everything on the topics when this was called has been collected."""

        async def reached() -> None:
            while len(self._consumer.assignment()) < self._partitions:
                await asyncio.sleep(0.05)
            ends = await self._consumer.end_offsets(list(self._consumer.assignment()))
            for tp, end in ends.items():
                while await self._consumer.position(tp) < end:
                    await asyncio.sleep(0.05)

        await asyncio.wait_for(reached(), timeout)

    def of_type(self, kind: type[M] | tuple[type[M], ...], where: Callable[[M], bool] = lambda _: True) -> list[M]:
        return [m for _, _, m in self.seen if isinstance(m, kind) and where(m)]  # type: ignore[misc]

    async def wait_for(self, kind: type[M] | tuple[type[M], ...], where: Callable[[M], bool] = lambda _: True, *, count: int = 1, timeout: float = 60.0) -> list[M]:
        """Wait until at least `count` messages of `kind` matching `where` were seen."""

        async def enough() -> list[M]:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.of_type(kind, where)) >= count)
            return self.of_type(kind, where)

        try:
            return await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            seen = [f"{t}:{m.type}" for t, _, m in self.seen[-20:]]
            name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise AssertionError(f"timed out waiting for {count} {name}; last seen: {seen}") from None


def groups_of(prefix: str, subscriptions: Iterable[tuple[str, Topic]]) -> dict[str, tuple[str, int]]:
    """The consumer groups of (service, topic) subscriptions under `prefix`, as groups_caught_up and
    rewind_groups take them: group id -> (topic, partitions)."""
    return {consumer_group(service, topic, prefix): (prefix + topic.name, topic.partitions) for service, topic in subscriptions}


async def groups_caught_up(bootstrap_servers: str, groups: dict[str, tuple[str, int]], timeout: float = 120.0) -> None:
    """Wait until each consumer group (group id -> (topic, partitions)) has committed up to the topic's end."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await admin.start()
    await probe.start()
    try:

        async def caught_up() -> None:
            for group, (topic, count) in groups.items():
                ends = await probe.end_offsets([TopicPartition(topic, p) for p in range(count)])
                while True:
                    committed = await admin.list_consumer_group_offsets(group)
                    if all(end == 0 or (tp in committed and committed[tp].offset >= end) for tp, end in ends.items()):
                        break
                    await asyncio.sleep(0.1)

        await asyncio.wait_for(caught_up(), timeout)
    finally:
        await probe.stop()
        await admin.close()


async def rewind_groups(bootstrap_servers: str, groups: dict[str, tuple[str, int]]) -> None:
    """Set each (stopped) consumer group's committed offsets back to 0: its next run replays the topic."""
    for group, (topic, count) in groups.items():
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for p in range(count)]
            consumer.assign(partitions)
            await consumer.commit({tp: 0 for tp in partitions})
        finally:
            await consumer.stop()
