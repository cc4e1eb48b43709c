"""The timer loop: fires due deadlines and warnings exactly once, and sleeps until the next is due.

A batch of due timers is claimed, its events are published with the idempotent producer and acked
(acks=all), and the timers are marked fired, all in one transaction: no outbox round trip. A crash
after publishing and before committing publishes the same events again (their ids derive from order
and kind), and the consumers' inboxes drop the repeat. The rest is in docs/architecture.md ("Timers").

While Kafka acknowledges a full batch, the next one is claimed and its events built in a second
transaction (SKIP LOCKED passes over the rows the first holds); it is sent only once the first was
acknowledged and committed, and rolled back unsent if the first fails. So a backlog keeps the
database, the producer and the broker busy at once, and the events of one order still reach Kafka in
the order their timers came due, failures included (a cancellation never overtakes its penalty).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

import asyncpg

from services.deadlines import domain, notices, storage
from shared import tracing
from shared.clock import Clock
from shared.contracts.codec import encode
from shared.contracts.envelope import Message
from shared.contracts.topics import DEADLINES_EVENTS, order_key
from shared.logs import get_logger
from shared.messaging.failures import Backoff, RateLimitedLog, is_transient
from shared.messaging.producer import Producer, Record
from shared.metrics import EMITTED, FIRING_LATENESS, TIMERS_FIRED, child
from shared.storage.wakeup import Wakeup

log = get_logger()


class TimerLoop:
    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: Producer,
        clock: Clock,
        *,
        stopping: asyncio.Event,
        batch_size: int = 500,
        max_sleep_seconds: float = 30.0,
        blocked_poll_seconds: float = 1.0,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._clock = clock
        self._stopping = stopping
        self._batch_size = batch_size
        self._max_sleep = max_sleep_seconds
        self._blocked_poll = blocked_poll_seconds
        self._wakeup = Wakeup(storage.NOTIFY_CHANNEL)
        self._backoff = Backoff()
        self._retry_log = RateLimitedLog()

    async def run(self) -> None:
        async with self._wakeup.listening(self._pool):
            attempt = 0
            while True:
                try:
                    await self.fire_due()
                    attempt = 0
                except Exception as exc:
                    if not is_transient(exc):
                        raise  # the supervisor logs it and starts the loop again
                    attempt += 1
                    self._retry_log.warning("deadlines.fire_retrying", attempt=attempt, error=repr(exc)[:300])
                    await self._backoff.wait(attempt, self._stopping)
                    continue
                await self._wakeup.sleep(*await self._plan_sleep())  # fire_due went on while batches were full

    async def fire_due(self) -> int:
        """Fire due timers, batch after batch while full batches keep coming; returns how many fired."""
        total, upcoming = 0, None
        batch = await self._claim()
        try:
            while batch is not None:
                full = len(batch.claimed) >= self._batch_size  # more may be due: claim them meanwhile
                upcoming = asyncio.create_task(self._claim()) if full else None
                await self._fire(batch)
                total += len(batch.claimed)
                batch = await upcoming if upcoming is not None else None
                upcoming = None
        finally:
            if upcoming is not None:  # this batch failed: the next is rolled back unsent, so it cannot overtake it
                await _discard(upcoming)
            if batch is not None:
                await batch.close()
        return total

    async def _claim(self) -> _Batch | None:
        """Open a transaction, claim due timers and build their events; None when nothing is due."""
        batch = _Batch(self._pool, await self._pool.acquire(), self._clock.now())
        try:
            await batch.start()
            claimed = await storage.claim_due(batch.conn, batch.now, self._batch_size)
        except BaseException:
            await batch.close()
            raise
        if not claimed:
            await batch.close()
            return None
        batch.claimed = claimed
        batch.fired, batch.failed = _events(claimed)
        return batch

    async def _fire(self, batch: _Batch) -> None:
        """Publish a claimed batch, wait for Kafka's acknowledgements, mark it and commit."""
        acks = await self._producer.send_many([_record(timer, event, traceparent) for timer, event, traceparent in batch.fired])
        await asyncio.gather(*acks)
        if batch.failed:
            await storage.mark(batch.conn, batch.failed, batch.now, status="failed")
        await batch.commit()
        self._count(batch.fired, batch.now)

    def _count(self, fired: list[tuple[domain.Timer, Message, str | None]], now: datetime) -> None:
        """Metrics and one log line for the batch (each order's event is on deadlines.events)."""
        kinds = Counter(timer.kind for timer, _, _ in fired)
        for kind, count in kinds.items():
            child(TIMERS_FIRED, "deadlines", kind).inc(count)
        for kind, count in Counter(event.type for _, event, _ in fired).items():
            child(EMITTED, "deadlines", DEADLINES_EVENTS.name, kind).inc(count)
        lateness = child(FIRING_LATENESS, "deadlines")
        real_per_simulated = self._clock.real_seconds_until(now + timedelta(seconds=1)) - self._clock.real_seconds_until(now)  # 1/speed
        for timer, _, _ in fired:
            lateness.observe(max((now - timer.due_at).total_seconds() * real_per_simulated, 0.0))
        if fired:  # which orders: their events on deadlines.events, `fulfil order` and `fulfil timers`
            oldest = min(timer.due_at for timer, _, _ in fired)
            log.info("deadlines.fired", kinds=dict(kinds), oldest_due_at=oldest.isoformat(), late_by_seconds=round((now - oldest).total_seconds(), 3))

    async def _plan_sleep(self) -> tuple[float, Callable[[str], bool]]:
        """How long to sleep, and which notices of changed timers end the sleep sooner (notices.py)."""
        now = self._clock.now()
        async with self._pool.acquire() as conn:
            next_due, blocked = await storage.next_wake(conn, now)
        sleep = self._max_sleep
        if next_due is not None:
            sleep = min(sleep, max(self._clock.real_seconds_until(next_due), 0.0))
        if blocked:  # due, waiting for a watermark: its NOTIFY wakes us, this is the fallback
            sleep = min(sleep, self._blocked_poll)
        return sleep, partial(notices.wakes, next_due=next_due, blocked=blocked)


class _Batch:
    """Claimed timers and their events, in a transaction of their own until committed or closed."""

    def __init__(self, pool: asyncpg.Pool, conn: asyncpg.Connection, now: datetime) -> None:
        self.conn, self.now = conn, now
        self.claimed: list[tuple[domain.Timer, str | None]] = []
        self.fired: list[tuple[domain.Timer, Message, str | None]] = []
        self.failed: list[domain.Timer] = []
        self._pool, self._transaction = pool, conn.transaction()
        self._open, self._held = False, True  # open: begun and neither committed nor rolled back

    async def start(self) -> None:
        await self._transaction.start()
        self._open = True

    async def commit(self) -> None:
        self._open = False  # committed, or failed: either way nothing is left to roll back
        await self._transaction.commit()
        await self.close()

    async def close(self) -> None:
        """Roll back what was not committed (its timers are pending again) and give the connection back."""
        if not self._held:
            return
        self._held = False
        try:
            if self._open:
                self._open = False
                await self._transaction.rollback()
        finally:
            await self._pool.release(self.conn)


async def _discard(claiming: asyncio.Task[_Batch | None]) -> None:
    """Stop a claim in progress, or roll back the batch it claimed, without sending anything."""
    claiming.cancel()
    try:
        batch = await claiming
    except BaseException:
        return  # cancelled or failed before it had a batch: _claim gave its connection back
    if batch is not None:
        await batch.close()


def _record(timer: domain.Timer, event: Message, traceparent: str | None) -> Record:
    """The Kafka record of a fired timer: keyed by its order, continuing the trace its acceptance was in."""
    if tracing.exporting():
        with tracing.continuing(f"deadlines fire {timer.kind}", traceparent, order_key=order_key(timer.storefront_id, timer.order_id)):
            traceparent = tracing.current_traceparent()
    headers = {"event_id": str(event.event_id), "message_type": event.type}
    if traceparent:
        headers["traceparent"] = traceparent
    return DEADLINES_EVENTS.name, order_key(timer.storefront_id, timer.order_id).encode(), encode(event), headers, None


def _events(claimed: list[tuple[domain.Timer, str | None]]) -> tuple[list[tuple[domain.Timer, Message, str | None]], list[domain.Timer]]:
    """Each claimed timer's event; a timer whose event cannot be built (data nobody foresaw) is set
    aside as failed and logged, so it never blocks the timers behind it."""
    fired, failed = [], []
    for timer, traceparent in claimed:
        try:
            fired.append((timer, domain.event_for(timer), traceparent))
        except ValueError as error:  # pydantic's ValidationError included
            failed.append(timer)
            log.error("deadline.failed", kind=timer.kind, storefront_id=timer.storefront_id, order_id=timer.order_id, error=repr(error)[:500])
    return fired, failed
