"""Watermarks on orders.events (R15): "every confirmation accepted before `as_of` is already on this partition".

Confirmations take an advisory lock shared (services/orders/usecases.py) and read the clock after
getting it; a watermark takes it exclusively. So when a watermark is written, every confirmation
stamped before its `as_of` has committed, and its outbox row has a smaller id: the relay publishes
it first. Confirmations stamped after have `confirmed_at >= as_of`.
"""

from __future__ import annotations

import asyncio

import asyncpg

from shared.clock import Clock
from shared.contracts.events import OrdersWatermark
from shared.contracts.topics import ORDERS_EVENTS
from shared.storage import outbox

# Shared with the confirmation use case: the advisory lock key ordering confirmations and watermarks.
CONFIRMATIONS_LOCK = 7_362_001


async def write_watermarks(conn: asyncpg.Connection, clock: Clock, partitions: int = ORDERS_EVENTS.partitions) -> None:
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock($1)", CONFIRMATIONS_LOCK)
        as_of = clock.now()
        for partition in range(partitions):
            mark = OrdersWatermark(partition=partition, as_of=as_of)
            await outbox.add(conn, ORDERS_EVENTS, f"watermark/{partition}", mark, partition=partition)


async def emit_watermarks(pool: asyncpg.Pool, clock: Clock, interval_seconds: float) -> None:
    """Write a watermark to every partition every `interval_seconds` of real time."""
    while True:
        async with pool.acquire() as conn:
            await write_watermarks(conn, clock)
        await asyncio.sleep(interval_seconds)
