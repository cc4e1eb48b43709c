"""The Kafka broker every service consumes through, configured the same way. Services never publish
through it: everything they emit goes through their outbox and the relay's producer."""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage

from shared.messaging.security import faststream_security
from shared.settings import KafkaSecurity

# How long stopping waits for a batch in progress before cancelling it. Consumers retrying a failure
# stop at once (the pipeline watches the service's stopping flag); this bounds everything else.
GRACEFUL_STOP_SECONDS = 5.0


async def raw_body(message: StreamMessage) -> bytes:
    # Subscribers get the record's bytes untouched and decode each record themselves, so one
    # malformed record is dead-lettered instead of failing before the handler runs (M3, ADR 0002).
    return message.body


def make_broker(bootstrap_servers: str, service: str, security: KafkaSecurity | None = None) -> KafkaBroker:
    return KafkaBroker(
        bootstrap_servers,
        client_id=service,
        security=faststream_security(security) if security else None,
        decoder=raw_body,
        allow_auto_create_topics=False,
        graceful_timeout=GRACEFUL_STOP_SECONDS,
        logger=None,
    )
