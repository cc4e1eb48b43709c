"""The consuming pipeline every subscriber shares: read a batch of records, apply each once in record
order in one transaction, answer or dead-letter what cannot be applied, and never lose or block on a
record. The guarantees are listed once, in docs/architecture.md ("Inbox and consumers").
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import asyncpg
from aiokafka import ConsumerRecord

from shared import tracing
from shared.contracts.codec import DecodeError, decode
from shared.contracts.envelope import Command, Message
from shared.contracts.reasons import Refusal
from shared.contracts.topics import DEAD_LETTERS
from shared.logs import about, get_logger
from shared.messaging import rejections
from shared.messaging.dispatch import Routes
from shared.messaging.failures import Backoff, RateLimitedLog, Stopping, is_transient
from shared.messaging.work import Delivery, Outgoing, UnitOfWork
from shared.metrics import BATCH_SECONDS, RECORDS, RETRIES, child, count_emitted
from shared.storage import inbox, outbox, writes
from shared.storage.database import answers

log = get_logger()


@dataclass(frozen=True)
class Item:
    """One record of a batch, decoded, or the reason it could not be."""

    record: ConsumerRecord
    message: Message | DecodeError


@dataclass
class Committed:
    """What one transaction did, counted once it committed (a rolled-back attempt counts nothing)."""

    outcomes: list[tuple[str, str]] = field(default_factory=list)  # (message type, outcome)
    outgoing: list[Outgoing] = field(default_factory=list)


class Pipeline:
    def __init__(
        self,
        service: str,
        routes: Routes,
        pool: asyncpg.Pool,
        work: Callable[[], UnitOfWork],
        *,
        stopping: asyncio.Event,
        attempts: int = 3,
        backoff: Backoff | None = None,
    ) -> None:
        self.service = service
        self.routes = routes
        self._pool = pool
        self._work = work
        self._stopping = stopping
        self._attempts = attempts  # deterministic failures of one record before it is set aside
        self._backoff = backoff or Backoff()
        self._retry_log = RateLimitedLog()

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        """Apply a batch; returns once every record is applied, answered or dead-lettered.

        Raises Stopping (or is cancelled) when the service stops first: nothing of the batch is
        committed then, and its offsets are not, so a restart resumes it.
        """
        items = self._read(records)
        if items:
            with BATCH_SECONDS.labels(self.service, self.routes.topic.name).time():
                await self._settle(items)

    def _read(self, records: Sequence[ConsumerRecord]) -> list[Item]:
        items = []
        for record in records:
            kind = _header(record, "message_type")
            if kind is not None and self.routes.ignores_type(kind):
                child(RECORDS, self.service, self.routes.topic.name, kind, "ignored").inc()
                continue  # the relay names every event's type: ignored ones are dropped unread
            try:
                message = decode(self.routes.topic, record.value or b"")
            except DecodeError as error:
                items.append(Item(record, error))
                continue
            if self.routes.route(message) is not None:
                items.append(Item(record, message))
            else:  # a type ignored on purpose, sent without a type header
                child(RECORDS, self.service, self.routes.topic.name, message.type, "ignored").inc()
        return items

    async def _settle(self, items: list[Item]) -> None:
        """One transaction for the batch. A transient failure is retried as long as it takes; any other
        splits the batch record by record, and a record that keeps failing while the database answers
        is set aside (dead letter, answer) so its partition moves on (M3)."""
        failures = 0
        while True:
            try:
                self._count(await self._transiently_retried(lambda: self._apply_in_transaction(items)))
                return
            except Stopping:
                raise
            except Exception as exc:
                if len(items) > 1:
                    log.warning("batch.retried_one_by_one", topic=self.routes.topic.name, records=len(items), error=repr(exc)[:300])
                    for item in items:
                        await self._settle([item])
                    return
                failures += 1
                RETRIES.labels(self.service, f"consume {self.routes.topic.name}", "deterministic").inc()
                if failures >= self._attempts:
                    await self._set_aside(items[0], exc)
                    return
                log.warning("message.failed", topic=self.routes.topic.name, offset=items[0].record.offset, attempt=failures, error=repr(exc)[:300])
                await self._backoff.wait(failures, self._stopping)

    async def _transient(self, exc: Exception) -> bool:
        """A failure is only taken for the record's fault while the database answers other work."""
        return is_transient(exc) or not await answers(self._pool, timeout=5)

    async def _apply_in_transaction(self, items: list[Item]) -> Committed:
        done = Committed()
        async with self._pool.acquire() as conn, conn.transaction():
            work = self._work()
            fresh, answerable = await self._claim(conn, items, done)
            await work.load(conn, [item.message for item in fresh if isinstance(item.message, Message)])
            for item in fresh:
                if isinstance(item.message, DecodeError):
                    self._unreadable(work, item, answerable)
                    done.outcomes.append(("unreadable", "dead_lettered"))
                else:
                    done.outcomes.append((item.message.type, self._apply(work, item, answerable)))
            await write_back(conn, work)
        done.outgoing = work.outgoing
        return done

    def _count(self, done: Committed) -> None:
        topic = self.routes.topic.name
        for (message_type, outcome), count in Counter(done.outcomes).items():
            child(RECORDS, self.service, topic, message_type, outcome).inc(count)
        count_emitted(self.service, done.outgoing)

    async def _claim(self, conn: asyncpg.Connection, items: list[Item], done: Committed | None = None) -> tuple[list[Item], set[object]]:
        """The items not seen before (M2), in record order, and the command ids this batch may answer
        (R9, M5: a command re-sent in a new message is not applied or answered again; unreadable
        commands are answered once per id too). One inbox statement for the batch. A bad record is
        claimed under its dead letter's id, so a redelivered one is dead-lettered once. A repeated
        record's command was claimed with it the first time, so claiming it again changes nothing."""
        ids = [self._inbox_id(item) for item in items]
        commands: dict[object, str] = {}
        if self.routes.answers_on is not None:
            for item in items:
                command = _command_of(item)
                if command is not None:
                    commands.setdefault(command[0], command[1])
        claimed, answerable = await inbox.claim(
            conn,
            [(i, self.routes.topic.name, _type_of(item)) for i, item in zip(ids, items, strict=True) if i is not None],
            list(commands.items()),  # type: ignore[arg-type]
        )
        fresh = []
        for event_id, item in zip(ids, items, strict=True):
            if event_id is None:
                fresh.append(item)  # idempotent by nature (a watermark): no inbox row
            elif event_id in claimed:
                claimed.discard(event_id)  # a second copy in the same batch is a repeat too
                fresh.append(item)
            else:
                log.info("message.duplicate_ignored", topic=self.routes.topic.name, message_id=str(event_id))
                if done is not None:
                    done.outcomes.append((_type_of(item), "duplicate"))
        return fresh, answerable

    def _inbox_id(self, item: Item) -> object | None:
        if isinstance(item.message, DecodeError):
            return rejections.letter_id(self.service, item.record)
        return item.message.event_id if item.message.needs_inbox else None

    def _apply(self, work: UnitOfWork, item: Item, answerable: set[object]) -> str:
        """Apply one message; returns its outcome."""
        message = item.message
        assert isinstance(message, Message)
        route = self.routes.route(message)
        assert route is not None  # _read keeps only routed messages
        with about(message.correlation()):
            if isinstance(message, Command):
                if message.command_id not in answerable:
                    log.info("command.already_answered", topic=self.routes.topic.name)
                    return "already_answered"
                answerable.discard(message.command_id)
            with tracing.consuming(f"{self.service} {message.type}", item.record.headers, topic=self.routes.topic.name):
                refusal = route(work, message, Delivery(item.record.partition))
                if refusal is not None:
                    self._refuse(work, item, refusal)
                    return "refused"
                return "applied"

    def _refuse(self, work: UnitOfWork, item: Item, refusal: Refusal) -> None:
        """A message that breaks a rule: kept on the dead-letter topic, and a command answered (M3, M5)."""
        message = item.message
        assert isinstance(message, Message)
        detail = f"{refusal.rule} {refusal.reason.value}: {refusal.message}"
        work.emit(DEAD_LETTERS, rejections.record_key(item.record), rejections.dead_letter(self.service, item.record, rejections.RULE_VIOLATION, detail, work.now))
        if isinstance(message, Command):
            self._answer(work, item, message.model_dump(mode="json"), refusal)
        log.info("command.refused", reason=refusal.reason.value, rule=refusal.rule)

    def _unreadable(self, work: UnitOfWork, item: Item, answerable: set[object]) -> None:
        error = item.message
        assert isinstance(error, DecodeError)
        work.emit(DEAD_LETTERS, rejections.record_key(item.record), rejections.dead_letter(self.service, item.record, error.kind, error.detail, work.now))
        command = _command_of(item)
        answered = command is not None and command[0] in answerable
        if answered:
            answerable.discard(command[0])  # type: ignore[index]
            self._answer(work, item, error.payload or {}, rejections.unreadable(error.kind, error.detail))
        log.warning("message.dead_lettered", **_position(item.record), error_kind=error.kind, error=error.detail[:500], answered=answered)

    def _answer(self, work: UnitOfWork, item: Item, payload: dict, refusal: Refusal) -> None:  # type: ignore[type-arg]
        answers_on = self.routes.answers_on
        command_id = rejections.command_id_in(payload)
        if answers_on is None or command_id is None:
            return
        answer = rejections.command_rejected(self.service, item.record, payload, command_id, refusal, work.now)
        work.emit(answers_on, self.routes.answer_key(payload) or str(command_id), answer)

    async def _set_aside(self, item: Item, error: Exception) -> None:
        """A record that failed every attempt while the database answered: dead-lettered with its bytes
        and the error, its command answered, its inbox id claimed so a redelivery changes nothing."""
        correlation = item.message.correlation() if isinstance(item.message, Message) else {}
        log.error("message.processing_failed", **_position(item.record), attempts=self._attempts, error=repr(error)[:1000], **correlation)
        try:
            self._count(await self._transiently_retried(lambda: self._dead_letter_after_failures(item, error)))
        except Stopping:
            raise
        except Exception as exc:  # the dead letter itself cannot be written: say so loudly, move on
            log.critical("message.set_aside_failed", **_position(item.record), error=repr(exc)[:1000])

    async def _dead_letter_after_failures(self, item: Item, error: Exception) -> Committed:
        done = Committed(outcomes=[(_type_of(item), "set_aside")])
        async with self._pool.acquire() as conn, conn.transaction():
            work = self._work()
            fresh, answerable = await self._claim(conn, [item])
            if not fresh:
                return Committed()  # another instance set it aside first
            detail = repr(error)
            work.emit(DEAD_LETTERS, rejections.record_key(item.record), rejections.dead_letter(self.service, item.record, rejections.PROCESSING_FAILED, detail, work.now))
            command = _command_of(item)
            if command is not None and command[0] in answerable:
                payload = item.message.model_dump(mode="json") if isinstance(item.message, Message) else item.message.payload or {}
                self._answer(work, item, payload, rejections.processing_failed(error))
            await outbox.add(conn, work.outgoing)
        done.outgoing = work.outgoing
        return done

    async def _transiently_retried(self, work: Callable[[], Awaitable[Committed]]) -> Committed:
        """Run `work`, again after a pause as long as it fails transiently; other failures propagate."""
        attempt = 0
        while True:
            try:
                return await work()
            except Stopping:
                raise
            except Exception as exc:
                if not await self._transient(exc):
                    raise
                attempt += 1
                RETRIES.labels(self.service, f"consume {self.routes.topic.name}", "transient").inc()
                self._retry_log.warning("batch.retrying", topic=self.routes.topic.name, attempt=attempt, error=repr(exc)[:300])
                await self._backoff.wait(attempt, self._stopping)

async def write_back(conn: asyncpg.Connection, work: UnitOfWork) -> None:
    """What a batch's handlers changed and emitted, into the database: the unit of work's own writes,
    then its writes and the outbox's together as one statement (shared/storage/writes.py)."""
    await work.save(conn)
    await writes.execute(conn, [*work.writes(), *outbox.queued(work.outgoing)])


def _position(record: ConsumerRecord) -> dict[str, object]:
    return {"topic": record.topic, "partition": record.partition, "offset": record.offset}


def _header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode(errors="replace") if isinstance(value, bytes) else None
    return None


def _type_of(item: Item) -> str:
    return item.message.type if isinstance(item.message, Message) else "dead_letter"


def _command_of(item: Item) -> tuple[object, str] | None:
    """(command id, command type) of a command, readable or not; None for anything else."""
    message = item.message
    if isinstance(message, Command):
        return message.command_id, message.type
    if isinstance(message, DecodeError) and message.payload is not None:
        command_id = rejections.command_id_in(message.payload)
        return (command_id, str(message.payload.get("type"))) if command_id is not None else None
    return None
