"""The consuming pipeline every subscriber shares: decode one record, apply it once, or dead-letter it.

- A record is decoded on its own; if it cannot be used, its original bytes and the error go to
  the dead-letter topic, and a command whose sender can be identified is answered with a
  rejection (M3, M5). Both are written through the outbox, so they are as durable as any event.
- A decoded message is applied in one transaction with its inbox claim, so a redelivered or
  replayed message changes nothing (M2).
- Anything else raised (the database is down, say) propagates: the subscriber's NACK_ON_ERROR
  policy seeks back and the record is retried, never skipped.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid5

import asyncpg
import structlog
from aiokafka import ConsumerRecord

from shared.contracts.codec import DecodeError, decode
from shared.contracts.envelope import Message
from shared.contracts.events import CommandRejected, DeadLetter
from shared.contracts.reasons import RejectionReason
from shared.contracts.topics import DEAD_LETTERS, Topic
from shared.logs import get_logger
from shared.storage import inbox, outbox

Apply = Callable[[asyncpg.Connection, Message], Awaitable[None]]

log = get_logger()


@dataclass(frozen=True)
class Answers:
    """Where a service answers the commands it cannot decode, and the key to use."""

    topic: Topic
    key_of: Callable[[dict[str, object]], str | None]


class Pipeline:
    def __init__(self, service: str, topic: Topic, pool: asyncpg.Pool, apply: Apply, answers: Answers | None = None) -> None:
        self.service = service
        self.topic = topic
        self._pool = pool
        self._apply = apply
        self._answers = answers

    async def handle(self, body: bytes, record: ConsumerRecord) -> None:
        try:
            message = decode(self.topic, body)
        except DecodeError as error:
            await self._dead_letter(body, record, error)
            return
        with structlog.contextvars.bound_contextvars(**message.correlation()):
            async with self._pool.acquire() as conn, conn.transaction():
                if not await inbox.claim(conn, message.event_id, self.topic.name, message.type):
                    log.info("message.duplicate_ignored", topic=self.topic.name)
                    return
                await self._apply(conn, message)

    async def _dead_letter(self, body: bytes, record: ConsumerRecord, error: DecodeError) -> None:
        # Deterministic ids: a redelivered bad record is dead-lettered and answered once.
        origin = f"{self.service}:{record.topic}:{record.partition}:{record.offset}"
        letter = DeadLetter(
            event_id=uuid5(NAMESPACE_URL, f"dead-letter:{origin}"),
            service=self.service,
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key_base64=base64.b64encode(record.key).decode() if record.key is not None else None,
            value_base64=base64.b64encode(body).decode(),
            error_kind=error.kind,
            error=error.detail,
        )
        rejection = self._rejection(error, origin)
        async with self._pool.acquire() as conn, conn.transaction():
            await outbox.add(conn, DEAD_LETTERS, record.key.decode(errors="replace") if record.key else "", letter)
            if rejection is not None and self._answers is not None:
                key = self._answers.key_of(error.payload or {}) or str(rejection.command_id)
                await outbox.add(conn, self._answers.topic, key, rejection)
        log.warning(
            "message.dead_lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error_kind=error.kind,
            error=error.detail[:500],
            answered=rejection is not None,
        )

    def _rejection(self, error: DecodeError, origin: str) -> CommandRejected | None:
        """A rejection answer when the bad message names a command id we can answer (M5)."""
        payload = error.payload or {}
        try:
            command_id = UUID(str(payload.get("command_id")))
        except ValueError:
            return None

        def text(name: str) -> str | None:
            value = payload.get(name)
            return value if isinstance(value, str) and len(value) <= 64 else None

        return CommandRejected(
            event_id=uuid5(NAMESPACE_URL, f"rejection:{origin}"),
            command_id=command_id,
            command_type=text("type"),
            reason=RejectionReason.INVALID,
            message=f"{error.kind}: {error.detail}"[:2000],
            seller_id=text("seller_id"),
            storefront_id=text("storefront_id"),
            order_id=text("order_id"),
            listing_id=text("listing_id"),
        )
