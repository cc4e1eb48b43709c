"""The one Kafka producer of a service process: the outbox relay and the timer loop send through it.

A plain idempotent aiokafka producer, not FastStream's publisher: outbox rows are already bytes, and
FastStream's per-message publishing path cost more than the send itself (docs/adr/0001). Many records
go out as whole batches, one per partition (`send_many`): a send() per record costs more CPU than
Kafka spends on it.
"""

from __future__ import annotations

import asyncio
import functools
import struct
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.contracts.topics import MAX_MESSAGE_BYTES
from shared.messaging.security import aiokafka_options
from shared.settings import ServiceSettings

BATCH_BYTES = 256 * 1024  # records per partition batch: several hundred of ours

# (topic without the prefix, key, value, headers, partition or None for the key's partition)
Record = tuple[str, bytes, bytes, dict[str, str], int | None]


class Producer:
    def __init__(self, settings: ServiceSettings, client_id: str) -> None:
        self._prefix = settings.topic_prefix
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,  # retries neither duplicate nor reorder within a partition
            linger_ms=settings.producer_linger_ms,
            max_request_size=MAX_MESSAGE_BYTES,  # a dead letter wraps a whole record
            max_batch_size=BATCH_BYTES,
            **aiokafka_options(settings),
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, topic: str, key: bytes, payload: bytes, headers: dict[str, str], partition: int | None = None) -> asyncio.Future[Any]:
        """Queue one record; returns a future resolved when Kafka acknowledged it (acks=all)."""
        encoded = [(name, value.encode()) for name, value in headers.items()]
        return await self._producer.send(self._prefix + topic, payload, key=key, partition=partition, headers=encoded)

    async def send_many(self, records: Sequence[Record]) -> list[asyncio.Future[Any]]:
        """Queue records, in order within each partition, a batch per partition at a time; returns
        futures resolved when Kafka acknowledged each batch (acks=all)."""
        acks: list[asyncio.Future[Any]] = []
        open_batches: dict[tuple[str, int], Any] = {}
        partitions: dict[str, list[int]] = {}
        for topic, key, value, headers, partition in records:
            name = self._prefix + topic
            if partition is None:
                if name not in partitions:
                    partitions[name] = sorted(await self._producer.partitions_for(name))
                partition = partition_of(key, tuple(partitions[name]))
            where = (name, partition)
            encoded = [(header, text.encode()) for header, text in headers.items()]
            batch = open_batches.get(where)
            if batch is not None and batch.append(key=key, value=value, timestamp=None, headers=encoded) is not None:
                continue
            if batch is not None:  # full: out it goes, before the next record of its partition
                acks.append(await self._producer.send_batch(batch, name, partition=where[1]))
            batch = open_batches[where] = self._producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=encoded) is None:  # larger than a batch
                del open_batches[where]
                acks.append(await self._producer.send(name, value, key=key, partition=where[1], headers=encoded))
        for (name, partition), batch in open_batches.items():
            acks.append(await self._producer.send_batch(batch, name, partition=partition))
        return acks

    async def reachable(self, timeout: float = 2.0) -> bool:
        """Whether the brokers answer a metadata request now (readiness)."""
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), timeout)
            return True
        except Exception:
            return False


@functools.lru_cache(maxsize=1 << 16)
def partition_of(key: bytes, partitions: tuple[int, ...]) -> int:
    """Where Kafka's default partitioner (the Java client's, and aiokafka's) puts `key`: every producer
    of this system uses it, so a key's records share a partition whoever sends them. Cached: an order's
    key goes out several times (its events and its state records)."""
    return partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]


_M = 0x5BD1E995
_WORDS = struct.Struct("<I")


def murmur2(data: bytes) -> int:
    """The Java client's `Utils.murmur2`, as `aiokafka.partitioner.murmur2` computes it, in half the time:
    it reads the key's 32-bit words in one unpack rather than byte by byte (3.6 -> 1.9 us for an order
    key; a hash for nearly every record the services send). tests/unit/test_partitioner.py holds it to
    aiokafka's on arbitrary bytes."""
    length = len(data)
    h = 0x9747B28C ^ length
    end = length & ~3
    for (k,) in _WORDS.iter_unpack(data[:end]):
        k = (k * _M) & 0xFFFFFFFF
        k = ((k ^ (k >> 24)) * _M) & 0xFFFFFFFF
        h = ((h * _M) & 0xFFFFFFFF) ^ k
    rest = length & 3
    if rest:
        if rest == 3:
            h ^= data[end + 2] << 16
        if rest >= 2:
            h ^= data[end + 1] << 8
        h = ((h ^ data[end]) * _M) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * _M) & 0xFFFFFFFF
    return h ^ (h >> 15)
