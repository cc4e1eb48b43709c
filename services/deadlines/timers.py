"""The timer loop: fires due deadlines exactly once, and sleeps until the next one is due.

- Claims due timers with FOR UPDATE SKIP LOCKED and marks them fired in the transaction that
  queues their events in the outbox: two instances never fire one timer twice (R11, R12).
- A timer that came due while the service was down is simply due when it is back (R15).
- No busy polling: it sleeps until the next timer is due on the configured clock, woken early by
  NOTIFY when a timer or watermark is stored; notifications can be lost, so the sleep is capped.
"""

from __future__ import annotations

import asyncpg

from services.deadlines import domain, storage
from shared.clock import Clock
from shared.contracts.topics import DEADLINES_EVENTS, order_key
from shared.logs import get_logger
from shared.storage import outbox
from shared.storage.wakeup import Wakeup

log = get_logger()


class TimerLoop:
    def __init__(
        self, pool: asyncpg.Pool, clock: Clock, *, batch_size: int = 500, max_sleep_seconds: float = 30.0, blocked_poll_seconds: float = 1.0
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._batch_size = batch_size
        self._max_sleep = max_sleep_seconds
        self._blocked_poll = blocked_poll_seconds
        self._wakeup = Wakeup(storage.NOTIFY_CHANNEL)

    async def run(self) -> None:
        async with self._wakeup.listening(self._pool):
            while True:
                if await self.fire_due() < self._batch_size:  # a full batch means more are due
                    await self._wakeup.sleep(await self._seconds_to_sleep())

    async def fire_due(self) -> int:
        """Fire one batch of due timers; returns how many fired."""
        now = self._clock.now()
        async with self._pool.acquire() as conn, conn.transaction():
            timers = await storage.claim_due(conn, now, self._batch_size)
            if timers:
                fired = [(order_key(t.storefront_id, t.order_id), domain.event_for(t)) for t in timers]
                await outbox.add_many(conn, DEADLINES_EVENTS, fired)
                await storage.mark_fired(conn, timers, now)
        for timer in timers:
            log.info(
                "deadline.fired",
                kind=timer.kind,
                storefront_id=timer.storefront_id,
                order_id=timer.order_id,
                seller_id=timer.seller_id,
                due_at=timer.due_at.isoformat(),
                late_by_seconds=round((now - timer.due_at).total_seconds(), 3),
            )
        return len(timers)

    async def _seconds_to_sleep(self) -> float:
        now = self._clock.now()
        async with self._pool.acquire() as conn:
            next_due, blocked = await storage.next_wake(conn, now)
        sleep = self._max_sleep
        if next_due is not None:
            sleep = min(sleep, max(self._clock.real_seconds_until(next_due), 0.0))
        if blocked:  # due, waiting for a watermark: its NOTIFY wakes us, this is the fallback
            sleep = min(sleep, self._blocked_poll)
        return sleep
