"""The consuming pipeline every subscriber shares: decode one record, apply it once, or dead-letter it.

- A record is decoded on its own. Bytes that are not a valid message for the topic go to the
  dead-letter topic with the error, and a command whose sender can be identified is answered with
  a rejection (M3, M5).
- A decoded message is applied in one transaction with its inbox claim, so a redelivered or
  replayed message changes nothing (M2); a command re-sent in a new message (same command id) is
  not applied or answered again (R9, M5).
- A command the service refuses (it breaks a rule) is answered with a rejection naming the rule,
  and kept on the dead-letter topic with its original bytes, in that same transaction (M3, M5).
- Dead letters and answers go through the outbox, so they are as durable as any event, with ids
  derived from the record's position, so a redelivered bad record is handled once.
- Anything else raised (the database is down, say) propagates: the subscriber's NACK_ON_ERROR
  policy seeks back and the record is retried, never skipped.
- Records come in batches, applied in one transaction; a failing batch is retried record by record.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import asyncpg
import structlog
from aiokafka import ConsumerRecord

from shared.contracts.codec import DecodeError, decode
from shared.contracts.envelope import Command, Message
from shared.contracts.events import CommandRejected, DeadLetter
from shared.contracts.reasons import Refusal, RejectionReason
from shared.contracts.topics import DEAD_LETTERS, Topic
from shared.logs import get_logger
from shared.storage import inbox, outbox


@dataclass(frozen=True)
class Delivery:
    """Where a message was read from: some use cases need the partition (R15 watermarks)."""

    topic: str
    partition: int
    offset: int


Apply = Callable[[asyncpg.Connection, Message, Delivery], Awaitable[Refusal | None]]

log = get_logger()


@dataclass(frozen=True)
class Answers:
    """Where a service answers the commands it refuses, and the key of the answer."""

    topic: Topic
    key_of: Callable[[dict[str, Any]], str | None]


class Pipeline:
    def __init__(self, service: str, topic: Topic, pool: asyncpg.Pool, apply: Apply, answers: Answers | None = None) -> None:
        self.service = service
        self.topic = topic
        self._pool = pool
        self._apply = apply
        self._answers = answers

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        """Apply a batch of records in one transaction; if any fails, apply them one by one.

        One transaction per batch is what makes consuming fast. When a record fails, the batch is
        rolled back and retried record by record, each in its own transaction, so the failure stays
        with its record: the ones before it commit, it raises (the subscriber seeks back and retries
        it), and those after it are redelivered; the inbox absorbs the repeats.
        """
        if len(records) > 1:
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    await self._apply_records(conn, records)
                return
            except Exception as exc:  # whatever failed: isolate the record that caused it
                log.warning("batch.retried_one_by_one", topic=self.topic.name, records=len(records), error=repr(exc)[:300])
        for record in records:
            async with self._pool.acquire() as conn, conn.transaction():
                await self._apply_records(conn, [record])

    async def _apply_records(self, conn: asyncpg.Connection, records: Sequence[ConsumerRecord]) -> None:
        decoded: list[tuple[ConsumerRecord, Message | DecodeError]] = []
        for record in records:
            try:
                decoded.append((record, decode(self.topic, record.value or b"")))
            except DecodeError as error:
                decoded.append((record, error))
        # One inbox statement for the whole batch (M2); a second copy in the same batch is a repeat too.
        # A bad record is claimed under its dead letter's id: redelivered, it is dead-lettered once.
        fresh = await inbox.claim_many(
            conn,
            [
                (m.event_id, self.topic.name, m.type) if isinstance(m, Message) else (self._letter_id(r), self.topic.name, "dead_letter")
                for r, m in decoded
                if not isinstance(m, Message) or m.needs_inbox
            ],
        )
        for record, item in decoded:
            if isinstance(item, DecodeError):
                if self._letter_id(record) in fresh:
                    await self._dead_letter(conn, record.value or b"", record, item)
                continue
            with structlog.contextvars.bound_contextvars(**item.correlation()):
                if item.needs_inbox:
                    if item.event_id not in fresh:
                        log.info("message.duplicate_ignored", topic=self.topic.name)
                        continue
                    fresh.discard(item.event_id)
                await self._apply_one(conn, record, item)

    async def _apply_one(self, conn: asyncpg.Connection, record: ConsumerRecord, message: Message) -> None:
        if isinstance(message, Command) and not await inbox.claim_command(conn, message.command_id, message.type):
            log.info("command.already_answered", topic=self.topic.name)
            return
        refusal = await self._apply(conn, message, Delivery(record.topic, record.partition, record.offset))
        if refusal is not None:
            await self._refuse(conn, record.value or b"", record, message, refusal)

    async def _refuse(self, conn: asyncpg.Connection, body: bytes, record: ConsumerRecord, message: Message, refusal: Refusal) -> None:
        origin = _origin(self.service, record)
        await outbox.add(conn, DEAD_LETTERS, _key(record), self._letter(body, record, "rule_violation", f"{refusal.rule} {refusal.reason.value}: {refusal.message}"))
        if isinstance(message, Command):
            await self._answer(conn, message.model_dump(mode="json"), message.command_id, refusal, origin)
        log.info("command.refused", reason=refusal.reason.value, rule=refusal.rule)

    async def _dead_letter(self, conn: asyncpg.Connection, body: bytes, record: ConsumerRecord, error: DecodeError) -> None:
        await outbox.add(conn, DEAD_LETTERS, _key(record), self._letter(body, record, error.kind, error.detail))
        payload = error.payload or {}
        command_id = _uuid(payload.get("command_id"))
        # Answer the sender of a command if it can be identified, once per command id (M5).
        answered = (
            self._answers is not None and command_id is not None and await inbox.claim_command(conn, command_id, str(payload.get("type")))
        )
        if answered:
            refusal = Refusal(RejectionReason.INVALID, f"{error.kind}: {error.detail}"[:2000])
            await self._answer(conn, payload, command_id, refusal, _origin(self.service, record))  # type: ignore[arg-type]
        log.warning(
            "message.dead_lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error_kind=error.kind,
            error=error.detail[:500],
            answered=answered,
        )

    def _letter_id(self, record: ConsumerRecord) -> UUID:
        return uuid5(NAMESPACE_URL, f"dead-letter:{_origin(self.service, record)}")

    def _letter(self, body: bytes, record: ConsumerRecord, kind: str, error: str) -> DeadLetter:
        return DeadLetter(
            event_id=self._letter_id(record),
            service=self.service,
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key_base64=base64.b64encode(record.key).decode() if record.key is not None else None,
            value_base64=base64.b64encode(body).decode(),
            error_kind=kind,
            error=error,
        )

    async def _answer(self, conn: asyncpg.Connection, payload: dict[str, Any], command_id: UUID, refusal: Refusal, origin: str) -> None:
        """Answer the sender of a refused command (M5), if this topic carries commands."""
        if self._answers is None:
            return

        def text(name: str) -> str | None:
            value = payload.get(name)
            return value if isinstance(value, str) and len(value) <= 64 else None

        answer = CommandRejected(
            event_id=uuid5(NAMESPACE_URL, f"rejection:{origin}"),
            command_id=command_id,
            command_type=text("type"),
            reason=refusal.reason,
            rule=refusal.rule,
            message=refusal.message,
            seller_id=text("seller_id"),
            storefront_id=text("storefront_id"),
            order_id=text("order_id"),
            listing_id=text("listing_id") or refusal.listing_id,
        )
        await outbox.add(conn, self._answers.topic, self._answers.key_of(payload) or str(command_id), answer)


def _origin(service: str, record: ConsumerRecord) -> str:
    return f"{service}:{record.topic}:{record.partition}:{record.offset}"


def _key(record: ConsumerRecord) -> str:
    return record.key.decode(errors="replace") if record.key else ""


def _uuid(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None
