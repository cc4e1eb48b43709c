"""The outbox relay: publishes committed outbox rows to Kafka in id order, then deletes them.
Its invariants are written once, in docs/architecture.md ("Outbox").

One relay per database publishes at a time: it holds a session-level advisory lock on a connection of
its own for as long as it runs, so a batch costs two statements (read, delete) and no transaction.
The relays of other instances try the lock every poll and take over when its holder stops, whose
connection closing releases it. A crash between Kafka's acknowledgement and the delete publishes
those rows again, as before; consumers drop the repeats (M2)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from shared.logs import get_logger
from shared.messaging.failures import RateLimitedLog, is_transient
from shared.messaging.producer import Record
from shared.metrics import PUBLISHED, child
from shared.storage.outbox import NOTIFY_CHANNEL
from shared.storage.wakeup import Wakeup

# (topic, key, payload, headers, partition or None) -> a future resolved when Kafka acknowledged the
# record: shared.messaging.producer.Producer.send.
# Queues records in order within each partition; returns futures resolved when Kafka acknowledged
# them: shared.messaging.producer.Producer.send_many.
Publish = Callable[[list[Record]], Awaitable[list[asyncio.Future[Any]]]]

log = get_logger()

# The relays of all instances of a service share its database, and so this lock.
RELAY_LOCK = 7_362_002


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, publish: Publish, *, service: str = "", poll_seconds: float = 1.0, batch_size: int = 500) -> None:
        self._service = service
        self._pool = pool
        self._publish = publish
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._wakeup = Wakeup(NOTIFY_CHANNEL)
        self._retry_log = RateLimitedLog()

    async def run(self) -> None:
        async with self._wakeup.listening(self._pool):
            while True:
                try:
                    async with self._pool.acquire() as conn:
                        await self._relay_while_holding_the_lock(conn)
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    self._retry_log.warning("outbox.relay_retrying", error=repr(exc)[:300])
                    await self._wakeup.sleep(self._poll_seconds)

    async def _relay_while_holding_the_lock(self, conn: asyncpg.Connection) -> None:
        """Publish until stopped or failed, if no other relay holds the lock; else wait a poll."""
        if not await conn.fetchval("select pg_try_advisory_lock($1)", RELAY_LOCK):
            await self._wakeup.sleep(self._poll_seconds)  # another instance relays: try again later
            return
        try:
            while True:
                published = await self.publish_pending(conn)
                if published < self._batch_size:  # a full batch means more may be waiting
                    await self._wakeup.sleep(self._poll_seconds)
        finally:
            await _release(conn)

    async def publish_pending(self, conn: asyncpg.Connection) -> int:
        """Publish one batch; returns how many rows went out. The caller holds the relay lock on `conn`."""
        rows = await conn.fetch(
            "select id, event_id, topic, key, message_type, payload, partition, traceparent from outbox order by id limit $1",
            self._batch_size,
        )
        if not rows:
            return 0
        # In id order (the producer keeps that order per partition), then wait for all acks.
        acks = await self._publish([(r["topic"], r["key"].encode(), bytes(r["payload"]), _headers(r), r["partition"]) for r in rows])
        await asyncio.gather(*acks)
        await conn.execute("delete from outbox where id = any($1::bigint[])", [row["id"] for row in rows])
        for topic, count in Counter(row["topic"] for row in rows).items():
            child(PUBLISHED, self._service, topic).inc(count)
        log.debug("outbox.published", count=len(rows))
        return len(rows)


async def _release(conn: asyncpg.Connection) -> None:
    """Give up the relay lock before the connection goes back to the pool. If that fails (the connection
    broke, or the task was cancelled again), close the connection: that releases the lock too, where
    a pooled connection still holding it would keep every relay out."""
    try:
        await conn.execute("select pg_advisory_unlock($1)", RELAY_LOCK)
    except BaseException:
        conn.terminate()
        raise


def _headers(row: asyncpg.Record) -> dict[str, str]:
    """What a consumer may read without decoding: the event's id and type, and its trace context."""
    headers = {"event_id": str(row["event_id"]), "message_type": row["message_type"]}
    if row["traceparent"]:
        headers["traceparent"] = row["traceparent"]
    return headers
