"""The one Kafka producer of a service process: the outbox relay and the timer loop send through it.

A plain idempotent aiokafka producer, not FastStream's publisher: outbox rows are already bytes, and
FastStream's per-message publishing path cost more than the send itself (docs/adr/0001).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.contracts.topics import MAX_MESSAGE_BYTES
from shared.messaging.security import aiokafka_options
from shared.settings import ServiceSettings


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

    async def reachable(self, timeout: float = 2.0) -> bool:
        """Whether the brokers answer a metadata request now (readiness)."""
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), timeout)
            return True
        except Exception:
            return False
