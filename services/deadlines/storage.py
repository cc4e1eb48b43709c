"""Deadlines' SQL: timers and the orders watermarks. Every function runs inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from services.deadlines.domain import Timer

NOTIFY_CHANNEL = "deadlines"


async def add_timer(conn: asyncpg.Connection, timer: Timer, orders_partition: int) -> bool:
    """Store a timer; False if the order already has it (timers never move: R4, R7)."""
    inserted = await conn.fetchval(
        """insert into deadlines (storefront_id, order_id, seller_id, kind, due_date, due_at, orders_partition)
           values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing returning true""",
        timer.storefront_id,
        timer.order_id,
        timer.seller_id,
        timer.kind,
        timer.due_date,
        timer.due_at,
        orders_partition,
    )
    return bool(inserted)


async def void_timers(conn: asyncpg.Connection, storefront_id: str, order_id: str, *, due_after: datetime | None) -> list[str]:
    """Void the order's pending timers (those due after `due_after`, when given); returns their kinds."""
    rows = await conn.fetch(
        """update deadlines set status = 'void'
           where storefront_id = $1 and order_id = $2 and status = 'pending' and ($3::timestamptz is null or due_at > $3)
           returning kind""",
        storefront_id,
        order_id,
        due_after,
    )
    return [row["kind"] for row in rows]


async def fired_before(conn: asyncpg.Connection, storefront_id: str, order_id: str, confirmed_at: datetime) -> list[str]:
    """Timers that fired although due after `confirmed_at`: R15 says this never happens."""
    rows = await conn.fetch(
        "select kind from deadlines where storefront_id = $1 and order_id = $2 and status = 'fired' and due_at > $3",
        storefront_id,
        order_id,
        confirmed_at,
    )
    return [row["kind"] for row in rows]


async def advance_watermark(conn: asyncpg.Connection, orders_partition: int, as_of: datetime) -> None:
    await conn.execute(
        """insert into watermarks (orders_partition, as_of) values ($1, $2)
           on conflict (orders_partition) do update set as_of = greatest(watermarks.as_of, excluded.as_of)""",
        orders_partition,
        as_of,
    )


async def claim_due(conn: asyncpg.Connection, now: datetime, limit: int) -> list[Timer]:
    """Lock up to `limit` timers that may fire now (R15: past due and past their partition's watermark).

    SKIP LOCKED lets several instances claim disjoint timers; the caller marks them fired in the same
    transaction, so no timer fires twice.
    """
    rows = await conn.fetch(
        """select d.storefront_id, d.order_id, d.seller_id, d.kind, d.due_date, d.due_at
           from deadlines d join watermarks w on w.orders_partition = d.orders_partition
           where d.status = 'pending' and d.due_at <= $1 and d.due_at <= w.as_of
           order by d.due_at
           limit $2
           for update of d skip locked""",
        now,
        limit,
    )
    return [Timer(r["storefront_id"], r["order_id"], r["seller_id"], r["kind"], r["due_date"], r["due_at"]) for r in rows]


async def mark_fired(conn: asyncpg.Connection, timers: list[Timer], now: datetime) -> None:
    await conn.execute(
        """update deadlines d set status = 'fired', fired_at = $4
           from unnest($1::text[], $2::text[], $3::text[]) as t(storefront_id, order_id, kind)
           where d.storefront_id = t.storefront_id and d.order_id = t.order_id and d.kind = t.kind""",
        [t.storefront_id for t in timers],
        [t.order_id for t in timers],
        [t.kind for t in timers],
        now,
    )


async def next_wake(conn: asyncpg.Connection, now: datetime) -> tuple[datetime | None, bool]:
    """The earliest pending timer not yet due, and whether any due timer waits for a watermark."""
    row = await conn.fetchrow(
        """select (select min(due_at) from deadlines where status = 'pending' and due_at > $1) as next_due,
                  exists (select 1 from deadlines where status = 'pending' and due_at <= $1) as blocked""",
        now,
    )
    return row["next_due"], row["blocked"]


async def notify(conn: asyncpg.Connection) -> None:
    """Wake the timer loop at commit: a new timer or a new watermark may change what is due."""
    await conn.execute("select pg_notify($1, '')", NOTIFY_CHANNEL)
