"""R3 on a real PostgreSQL: concurrent orders for the same units never oversell, and a multi-line
order that deadlocks nobody takes all its units or none (R6)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from services.inventory import storage, usecases
from services.inventory.domain import Listing
from shared.contracts import events
from shared.contracts.commands import OrderLine
from tests.integration.conftest import MakePool

pytestmark = pytest.mark.integration


def placed(order: str, *lines: tuple[str, int]) -> events.OrderPlaced:
    return events.OrderPlaced(
        storefront_id="shop",
        order_id=order,
        seller_id="s1",
        command_id=uuid.uuid4(),
        placed_at=datetime(2026, 1, 1, tzinfo=UTC),
        lines=[OrderLine(listing_id=i, quantity=q) for i, q in lines],
    )


async def reserve(pool: asyncpg.Pool, event: events.OrderPlaced) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await usecases.reserve_stock(conn, event)


async def test_R3_concurrent_orders_never_take_more_than_the_quantity(migrated_pool: MakePool) -> None:
    pool = await migrated_pool("inventory")
    async with pool.acquire() as conn:
        await storage.insert_listing(conn, Listing("mug", "s1", 10, 3))
        await storage.insert_listing(conn, Listing("vase", "s1", 10, 5))
    # Lines name the two listings in both orders, so lock ordering is what keeps this deadlock-free.
    orders = [placed(f"o{i}", ("mug", 1), ("vase", 1)) if i % 2 else placed(f"o{i}", ("vase", 1), ("mug", 1)) for i in range(30)]
    await asyncio.gather(*(reserve(pool, order) for order in orders))

    assert dict(await pool.fetch("select listing_id, quantity from listings")) == {"mug": 0, "vase": 0}
    outcomes = dict(await pool.fetch("select message_type, count(*) from outbox group by message_type"))
    assert outcomes == {"stock.reserved": 10, "stock.reservation_failed": 20}
    assert await pool.fetchval("select sum(quantity) from reservations") == 20


async def test_R6_a_failing_line_leaves_every_other_line_untouched(migrated_pool: MakePool) -> None:
    pool = await migrated_pool("inventory")
    async with pool.acquire() as conn:
        await storage.insert_listing(conn, Listing("mug", "s1", 5, 3))
        await storage.insert_listing(conn, Listing("vase", "s1", 1, 5))
    await reserve(pool, placed("o1", ("mug", 2), ("vase", 2)))
    assert dict(await pool.fetch("select listing_id, quantity from listings")) == {"mug": 5, "vase": 1}
    assert await pool.fetchval("select count(*) from reservations") == 0


async def test_R14_a_cancelled_order_returns_its_units_once(migrated_pool: MakePool) -> None:
    pool = await migrated_pool("inventory")
    async with pool.acquire() as conn:
        await storage.insert_listing(conn, Listing("mug", "s1", 5, 3))
    await reserve(pool, placed("o1", ("mug", 2)))
    cancelled = events.OrderCancelled(
        storefront_id="shop", order_id="o1", seller_id="s1", reason="not confirmed", lines=[OrderLine(listing_id="mug", quantity=2)]
    )
    for _ in range(2):  # a second cancellation event (a replay with a new id) returns nothing more
        async with pool.acquire() as conn, conn.transaction():
            await usecases.restore_stock(conn, cancelled)
    assert await pool.fetchval("select quantity from listings where listing_id = 'mug'") == 5
    assert await pool.fetchval("select count(*) from outbox where message_type = 'stock.restored'") == 1
