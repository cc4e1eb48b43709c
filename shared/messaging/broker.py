"""The Kafka broker every service uses, configured the same way."""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage

from shared.messaging.security import faststream_security
from shared.settings import KafkaSecurity


async def raw_body(message: StreamMessage) -> bytes:
    # Subscribers get the record's bytes untouched and decode each record themselves, so one
    # malformed record is dead-lettered instead of failing before the handler runs (M3).
    return message.body


def make_broker(bootstrap_servers: str, service: str, security: KafkaSecurity | None = None) -> KafkaBroker:
    return KafkaBroker(
        bootstrap_servers,
        client_id=service,
        security=faststream_security(security) if security else None,
        decoder=raw_body,
        # Every publish waits for all in-sync replicas; the idempotent producer keeps retries
        # from duplicating or reordering records within a partition.
        acks="all",
        enable_idempotence=True,
        allow_auto_create_topics=False,
        logger=None,
    )
