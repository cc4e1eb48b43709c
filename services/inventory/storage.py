"""Inventory's SQL: listings and reservations. Every function runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from services.inventory.domain import Listing


def _listing(row: asyncpg.Record) -> Listing:
    return Listing(row["listing_id"], row["seller_id"], row["quantity"], row["production_days"])


async def lock_listings(conn: asyncpg.Connection, listing_ids: Iterable[str]) -> dict[str, Listing]:
    """Read and lock listings; sorted ids lock in one order everywhere, so two orders never deadlock (R3)."""
    rows = await conn.fetch(
        """select listing_id, seller_id, quantity, production_days from listings
           where listing_id = any($1::text[]) order by listing_id for update""",
        sorted(set(listing_ids)),
    )
    return {row["listing_id"]: _listing(row) for row in rows}


async def insert_listing(conn: asyncpg.Connection, listing: Listing) -> None:
    await conn.execute(
        "insert into listings (listing_id, seller_id, quantity, production_days) values ($1, $2, $3, $4)",
        listing.listing_id,
        listing.seller_id,
        listing.quantity,
        listing.production_days,
    )


async def save_listings(conn: asyncpg.Connection, listings: Iterable[Listing]) -> None:
    await conn.executemany(
        "update listings set quantity = $2, production_days = $3, updated_at = now() where listing_id = $1",
        [(item.listing_id, item.quantity, item.production_days) for item in listings],
    )


async def record_reservation(conn: asyncpg.Connection, order_key: str, lines: Iterable[tuple[str, int, int]]) -> None:
    await conn.executemany(
        "insert into reservations (order_key, listing_id, quantity, production_days) values ($1, $2, $3, $4)",
        [(order_key, *line) for line in lines],
    )


async def take_unrestored_reservation(conn: asyncpg.Connection, order_key: str) -> list[tuple[str, int]]:
    """Mark an order's reservation restored and return its lines; empty if already restored or absent."""
    rows = await conn.fetch(
        """update reservations set restored_at = now()
           where order_key = $1 and restored_at is null returning listing_id, quantity""",
        order_key,
    )
    return [(row["listing_id"], row["quantity"]) for row in rows]


async def decide_once(conn: asyncpg.Connection, order_key: str) -> bool:
    """Record that this order's reservation is being decided; False if it already was."""
    return bool(
        await conn.fetchval(
            "insert into decided_orders (order_key) values ($1) on conflict do nothing returning true", order_key
        )
    )
