"""Reading the system's topics from outside, as an operator: a consumer in no group (it joins nothing
and commits nothing, so it never disturbs the services) and an admin client for the groups' offsets.
Both take the services' own security settings (shared/messaging/security.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CoordinatorLoadInProgressError, GroupCoordinatorNotAvailableError, KafkaConnectionError, KafkaError

from ops.errors import OpsError
from ops.settings import OpsSettings
from shared.contracts.topics import ALL_TOPICS, MAX_MESSAGE_BYTES
from shared.messaging import producer
from shared.messaging.security import aiokafka_options

CLIENT_ID = "fulfil-ops"
T = TypeVar("T")


def partition_of(key: str, partitions: int) -> int:
    """The partition a record with this key goes to under the producers' default partitioner (murmur2,
    as the Java client): every producer of this system (the services' relay, storefronts) uses it."""
    return producer.partition_of(key.encode(), tuple(range(partitions)))


def unreachable(settings: OpsSettings, exc: BaseException) -> OpsError:
    where = f"Kafka at {settings.kafka_bootstrap_servers}"
    if isinstance(exc, TimeoutError | KafkaConnectionError):
        return OpsError(f"{where} did not answer within {settings.ops_timeout_seconds:g}s; is it running there? (KAFKA_BOOTSTRAP_SERVERS)")
    return OpsError(f"{where} refused the CLI: {exc or type(exc).__name__} (KAFKA_SECURITY_PROTOCOL and KAFKA_SASL_*/KAFKA_SSL_* as for the services)")


class KafkaReader:
    def __init__(self, settings: OpsSettings) -> None:
        self.settings = settings
        self.prefix = settings.topic_prefix
        timeout_ms = int(settings.ops_timeout_seconds * 1000)
        options = {"bootstrap_servers": settings.kafka_bootstrap_servers, "client_id": CLIENT_ID, "request_timeout_ms": max(timeout_ms, 1000), **aiokafka_options(settings)}
        self._consumer = AIOKafkaConsumer(enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_bytes=MAX_MESSAGE_BYTES * 2, **options)
        self._admin = AIOKafkaAdminClient(**options)
        self._partitions: dict[str, list[int]] = {}  # full topic name -> its partitions, for the registry's topics

    async def __aenter__(self) -> KafkaReader:
        _silence_aiokafka()
        try:
            async with asyncio.timeout(self.settings.ops_timeout_seconds):
                await self._consumer.start()
                await self._admin.start()
                described = await self._admin.describe_topics([self.prefix + topic.name for topic in ALL_TOPICS])
                self._partitions = {d["topic"]: sorted(p["partition"] for p in d["partitions"]) for d in described if d["error_code"] == 0}
        except Exception as exc:
            await self.__aexit__(None, None, None)
            raise unreachable(self.settings, exc) from None
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._consumer.stop()
        await self._admin.close()

    def partitions(self, topic: str) -> list[int]:
        """The partitions of `topic` (a registry name; the prefix is added here), none if it does not exist."""
        return self._partitions.get(self.prefix + topic, [])

    async def read(self, partitions: list[tuple[str, int]]) -> AsyncIterator[ConsumerRecord]:
        """Every record of these (topic, partition)s (registry names), from the oldest kept to the end as
        it was when reading began: each partition in offset order, partitions interleaved. All are read
        at once: a consumer asking for offsets after each new assignment waits for a metadata refresh."""
        tps = [TopicPartition(self.prefix + topic, partition) for topic, partition in partitions]
        if not tps:
            return
        starts = await self._consumer.beginning_offsets(tps)
        ends = await self._consumer.end_offsets(tps)
        unread = {tp for tp in tps if starts[tp] < ends[tp]}
        if not unread:
            return
        self._consumer.assign(sorted(unread))
        for tp in unread:
            # An explicit offset: seek_to_beginning() can lose a race with the reset a new assignment starts.
            self._consumer.seek(tp, starts[tp])
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.settings.ops_timeout_seconds
        while unread:
            batches = await self._consumer.getmany(*unread, timeout_ms=200, max_records=5_000)
            if not any(batches.values()):
                if loop.time() > give_up:
                    raise OpsError(f"Kafka stopped answering while reading {', '.join(sorted({tp.topic for tp in unread}))}")
                continue
            give_up = loop.time() + self.settings.ops_timeout_seconds
            for tp, records in batches.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        break
                    yield record
                if records and records[-1].offset >= ends[tp] - 1:
                    unread.discard(tp)

    async def offsets(self, topics: list[str]) -> dict[str, dict[int, tuple[int, int]]]:
        """topic -> partition -> (oldest kept offset, end offset), for those of `topics` that exist."""
        tps = [TopicPartition(self.prefix + topic, p) for topic in topics for p in self.partitions(topic)]
        if not tps:
            return {}
        starts = await self._consumer.beginning_offsets(tps)
        ends = await self._consumer.end_offsets(tps)
        found: dict[str, dict[int, tuple[int, int]]] = {}
        for tp in tps:
            found.setdefault(tp.topic.removeprefix(self.prefix), {})[tp.partition] = (starts[tp], ends[tp])
        return found

    async def committed(self, group: str, topic: str) -> dict[int, int]:
        """partition -> the next offset the group will read, for the partitions it committed on."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.settings.ops_timeout_seconds
        while True:
            try:
                answer = await self._admin.list_consumer_group_offsets(group)
                break
            except (GroupCoordinatorNotAvailableError, CoordinatorLoadInProgressError) as exc:
                # A cluster where no group ever committed creates its offsets topic on this first question.
                if loop.time() > give_up:
                    raise OpsError(f"Kafka cannot tell the offsets of group {group} now ({type(exc).__name__})") from None
                await asyncio.sleep(0.2)
        return {tp.partition: meta.offset for tp, meta in answer.items() if tp.topic == self.prefix + topic and meta.offset >= 0}


class KafkaWriter:
    """The one producer of the CLI (replays): idempotent, acknowledged by all replicas, like the services'."""

    def __init__(self, settings: OpsSettings) -> None:
        self.settings = settings
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            client_id=CLIENT_ID,
            acks="all",
            enable_idempotence=True,
            max_request_size=MAX_MESSAGE_BYTES,
            request_timeout_ms=max(int(settings.ops_timeout_seconds * 1000), 1000),
            **aiokafka_options(settings),
        )

    async def __aenter__(self) -> KafkaWriter:
        _silence_aiokafka()
        try:
            async with asyncio.timeout(self.settings.ops_timeout_seconds):
                await self._producer.start()
        except Exception as exc:
            await self._producer.stop()
            raise unreachable(self.settings, exc) from None
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def send(self, topic: str, partition: int, key: bytes | None, value: bytes, headers: dict[str, str]) -> int:
        """Send one record to `topic` (a full name, prefix included) and return its offset once acknowledged."""
        encoded = [(name, text.encode()) for name, text in headers.items()]
        metadata = await self._producer.send_and_wait(topic, value, key=key, partition=partition, headers=encoded)
        return int(metadata.offset)


def _silence_aiokafka() -> None:
    """aiokafka logs every failed connection attempt; the CLI says what failed in one line instead."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL + 1)


async def with_reader(settings: OpsSettings, use: Callable[[KafkaReader], Awaitable[T]]) -> T:
    """Run `use` with a reader; a Kafka failure on the way is one line naming the brokers."""
    try:
        async with KafkaReader(settings) as reader:
            return await use(reader)
    except KafkaError as exc:
        raise OpsError(f"Kafka at {settings.kafka_bootstrap_servers} failed: {exc}") from None
