"""Deadlines' SQL. Every function runs inside the caller's transaction."""

from __future__ import annotations

from datetime import date, datetime

import asyncpg


async def add_deadline(
    conn: asyncpg.Connection, *, storefront_id: str, order_id: str, seller_id: str, kind: str, due_date: date, due_at: datetime
) -> bool:
    """Store a timer; False if the order already has this kind of deadline (they never move: R4, R7)."""
    inserted = await conn.fetchval(
        """insert into deadlines (storefront_id, order_id, seller_id, kind, due_date, due_at)
           values ($1, $2, $3, $4, $5, $6) on conflict do nothing returning true""",
        storefront_id,
        order_id,
        seller_id,
        kind,
        due_date,
        due_at,
    )
    return bool(inserted)
