"""R3 on a real PostgreSQL: concurrent orders for the same units never oversell, and a multi-line
order that deadlocks nobody takes all its units or none (R6)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import orjson
import pytest

from services.inventory import usecases
from services.inventory.storage import InventoryWork
from shared.clock import SystemClock
from shared.contracts import events
from shared.contracts.commands import OrderLine
from tests.integration.conftest import MakePool, apply_in_one_transaction

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
    await apply_in_one_transaction(pool, InventoryWork(SystemClock()), usecases.reserve_stock, [event])


async def listings(pool: asyncpg.Pool, *rows: tuple[str, int, int]) -> None:
    await pool.executemany(
        "insert into listings (listing_id, seller_id, quantity, production_days, version) values ($1, 's1', $2, $3, 1)", rows
    )


async def test_R3_concurrent_orders_never_take_more_than_the_quantity(migrated_pool: MakePool) -> None:
    pool = await migrated_pool("inventory")
    await listings(pool, ("mug", 10, 3), ("vase", 10, 5))
    # Lines name the two listings in both orders, so lock ordering is what keeps this deadlock-free.
    orders = [placed(f"o{i}", ("mug", 1), ("vase", 1)) if i % 2 else placed(f"o{i}", ("vase", 1), ("mug", 1)) for i in range(30)]
    await asyncio.gather(*(reserve(pool, order) for order in orders))

    assert dict(await pool.fetch("select listing_id, quantity from listings")) == {"mug": 0, "vase": 0}
    outcomes = dict(await pool.fetch("select message_type, count(*) from outbox where topic = 'inventory.events' group by message_type"))
    assert outcomes == {"stock.reserved": 10, "stock.reservation_failed": 20}
    assert await pool.fetchval("select sum(quantity) from reservations") == 20


async def test_R6_a_failing_line_leaves_every_other_line_untouched(migrated_pool: MakePool) -> None:
    pool = await migrated_pool("inventory")
    await listings(pool, ("mug", 5, 3), ("vase", 1, 5))
    await reserve(pool, placed("o1", ("mug", 2), ("vase", 2)))
    assert dict(await pool.fetch("select listing_id, quantity from listings")) == {"mug": 5, "vase": 1}
    assert await pool.fetchval("select count(*) from reservations") == 0


async def test_R14_a_cancelled_order_returns_its_units_once(migrated_pool: MakePool) -> None:
    pool = await migrated_pool("inventory")
    await listings(pool, ("mug", 5, 3))
    await reserve(pool, placed("o1", ("mug", 2)))
    cancelled = events.OrderCancelled(
        storefront_id="shop", order_id="o1", seller_id="s1", reason="not confirmed", lines=[OrderLine(listing_id="mug", quantity=2)]
    )
    for _ in range(2):  # a second cancellation event (a replay with a new id) returns nothing more
        await apply_in_one_transaction(pool, InventoryWork(SystemClock()), usecases.restore_stock, [cancelled])
    assert await pool.fetchval("select quantity from listings where listing_id = 'mug'") == 5
    assert await pool.fetchval("select count(*) from outbox where message_type = 'stock.restored'") == 1


async def test_R14_an_order_reserved_and_cancelled_in_one_batch_returns_its_units(migrated_pool: MakePool) -> None:
    """A replay can bring an order's placement and its cancellation in one batch: the reservation made
    by the batch itself is the one given back."""
    pool = await migrated_pool("inventory")
    await listings(pool, ("mug", 5, 3))
    order = placed("o1", ("mug", 2))
    cancelled = events.OrderCancelled(storefront_id="shop", order_id="o1", seller_id="s1", reason="late", lines=order.lines)
    handlers = {events.OrderPlaced: usecases.reserve_stock, events.OrderCancelled: usecases.restore_stock}
    await apply_in_one_transaction(pool, InventoryWork(SystemClock()), lambda work, m: handlers[type(m)](work, m), [order, cancelled])
    assert await pool.fetchval("select quantity from listings where listing_id = 'mug'") == 5
    assert await pool.fetchval("select count(*) from reservations where restored_at is not null") == 1


async def test_S1_each_changed_listing_gets_one_state_record_per_batch_with_its_new_version(migrated_pool: MakePool) -> None:
    pool = await migrated_pool("inventory")
    await listings(pool, ("mug", 5, 3), ("vase", 5, 3))
    orders = [placed("o1", ("mug", 2)), placed("o2", ("mug", 3), ("vase", 1))]
    await apply_in_one_transaction(pool, InventoryWork(SystemClock()), usecases.reserve_stock, orders)
    rows = await pool.fetch("select key, payload from outbox where topic = 'inventory.listings' order by id")
    states = {r["key"]: orjson.loads(r["payload"]) for r in rows}
    assert len(rows) == 2
    assert (states["mug"]["quantity"], states["mug"]["out_of_stock"], states["mug"]["version"]) == (0, True, 2)
    assert (states["vase"]["quantity"], states["vase"]["version"]) == (4, 2)
