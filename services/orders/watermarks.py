"""Watermarks on orders.events (R15): "every confirmation accepted before `as_of` is already on this
partition". How they make time decide, and their bounds: docs/architecture.md ("R15").

Confirmations take an advisory lock shared (services/orders/storage.py) and read the clock after
getting it; a watermark takes it exclusively. So when a watermark is written, every confirmation
stamped before its `as_of` has committed, and its outbox row has a smaller id: the relay publishes
it first. Confirmations stamped after have `confirmed_at >= as_of`.

They are written when an unshipped order's deadline passes (so a deadline fires right after it is
due, not up to an interval later) and at least every `heartbeat_seconds` otherwise (deadline
warnings and deadlines of orders accepted after the last look wait at most that long).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg

from services.orders.storage import CONFIRMATIONS_LOCK, next_deadline
from shared.clock import Clock
from shared.contracts.events import OrdersWatermark
from shared.contracts.topics import ORDERS_EVENTS
from shared.messaging.work import Outgoing
from shared.storage import outbox

# Watermarks are at least this far apart in real time: bounds their cost when deadlines are dense.
MIN_SPACING_SECONDS = 0.02


async def write_watermarks(conn: asyncpg.Connection, clock: Clock, partitions: int = ORDERS_EVENTS.partitions) -> datetime:
    """A watermark on every partition, `as_of` now; returns that instant."""
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock($1)", CONFIRMATIONS_LOCK)
        as_of = clock.now()
        marks = [OrdersWatermark(occurred_at=as_of, partition=p, as_of=as_of) for p in range(partitions)]
        await outbox.add(conn, [Outgoing(ORDERS_EVENTS, f"watermark/{m.partition}", m, m.partition) for m in marks])
    return as_of


async def emit_watermarks(pool: asyncpg.Pool, clock: Clock, heartbeat_seconds: float) -> None:
    """Write watermarks now, then when the next unshipped order's deadline passes, or after the heartbeat."""
    async with pool.acquire() as conn:
        while True:
            as_of = await write_watermarks(conn, clock)
            due = await next_deadline(conn, as_of)
            wait = heartbeat_seconds if due is None else min(heartbeat_seconds, clock.real_seconds_until(due))
            await asyncio.sleep(max(wait, MIN_SPACING_SECONDS))
