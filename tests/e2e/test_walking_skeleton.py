"""The walking skeleton, end to end: three service processes, a real broker, real databases.

A seller lists a product; a storefront places an order; inventory reserves the units; orders
accepts the order and fixes its ship-by date (R7); deadlines stores the order's two timers.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import asyncpg
import pytest

from devtools.kafka_io import Publisher, Tap
from devtools.launcher import ServiceProcess
from shared.contracts import commands, events
from shared.contracts.reasons import RejectionReason
from shared.contracts.topics import INVENTORY_COMMANDS, ORDERS_COMMANDS, order_key
from tests.support.settle import accelerated, clock_env
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

PLACED_AT = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)


@pytest.fixture
def service_env() -> dict[str, str]:
    """The services' clock reads the placement instant now and runs at real speed: the order's
    deadlines lie days ahead, so nothing fires during the test (T3)."""
    return clock_env(accelerated(PLACED_AT, 1.0))


def _place(order_id: str, seller: str, lines: list[tuple[str, int]]) -> commands.PlaceOrder:
    return commands.PlaceOrder(
        command_id=uuid.uuid4(),
        storefront_id="shop-1",
        order_id=order_id,
        seller_id=seller,
        placed_at=PLACED_AT,
        lines=[commands.OrderLine(listing_id=listing, quantity=qty) for listing, qty in lines],
    )


async def test_R7_order_flows_from_storefront_to_deadlines(
    services: dict[str, ServiceProcess], publisher: Publisher, tap: Tap, service_databases: dict[str, str]
) -> None:
    seller = "seller-1"
    for listing, quantity, days in (("mug", 5, 3), ("vase", 2, 7)):
        create = commands.CreateListing(
            command_id=uuid.uuid4(), seller_id=seller, listing_id=listing, quantity=quantity, production_days=days
        )
        await publisher.send(INVENTORY_COMMANDS, listing, create)
    await tap.wait_for(events.ListingCreated, count=2)

    order = _place("order-1", seller, [("mug", 2), ("vase", 1)])
    await publisher.send(ORDERS_COMMANDS, order_key("shop-1", "order-1"), order)

    [accepted] = await tap.wait_for(events.OrderAccepted, lambda e: e.order_id == "order-1")
    # R7: ship-by = order date + the largest production time among the lines; confirm-by = + 30 days.
    assert accepted.command_id == order.command_id
    assert accepted.order_date == date(2026, 3, 10)
    assert accepted.ship_by_date == date(2026, 3, 17)
    assert accepted.confirm_by_date == date(2026, 4, 9)
    assert accepted.ship_by_deadline == datetime(2026, 3, 18, tzinfo=UTC)
    assert accepted.confirm_by_deadline == datetime(2026, 4, 10, tzinfo=UTC)

    # The answer chain on Kafka: placed (pending), reserved, accepted — each exactly once. They are on
    # different topics, which the tap reads independently: wait until it has read everything.
    await tap.caught_up()
    assert len(tap.of_type(events.OrderPlaced)) == 1
    assert len(tap.of_type(events.StockReserved)) == 1

    inventory = await asyncpg.connect(service_databases["inventory"])
    orders = await asyncpg.connect(service_databases["orders"])
    deadlines = await asyncpg.connect(service_databases["deadlines"])
    try:
        stock = dict(await inventory.fetch("select listing_id, quantity from listings"))
        assert stock == {"mug": 3, "vase": 1}
        row = await orders.fetchrow("select status, ship_by_date, confirm_by_date from orders where order_id = 'order-1'")
        assert dict(row) == {"status": "unshipped", "ship_by_date": date(2026, 3, 17), "confirm_by_date": date(2026, 4, 9)}

        async def timers() -> dict[str, datetime]:
            return dict(await deadlines.fetch("select kind, due_at from deadlines where order_id = 'order-1'"))

        # The deadlines service consumes the acceptance asynchronously: wait for its rows. With the
        # default lead time (S4), each deadline has a warning timer a simulated day before it.
        await eventually(timers, lambda t: len(t) == 4)
        assert await timers() == {
            "ship_by": datetime(2026, 3, 18, tzinfo=UTC),
            "confirm_by": datetime(2026, 4, 10, tzinfo=UTC),
            "ship_by_warning": datetime(2026, 3, 17, tzinfo=UTC),
            "confirm_by_warning": datetime(2026, 4, 9, tzinfo=UTC),
        }
    finally:
        for conn in (inventory, orders, deadlines):
            await conn.close()


async def test_R6_order_that_cannot_be_reserved_is_rejected_and_reserves_nothing(
    services: dict[str, ServiceProcess], publisher: Publisher, tap: Tap, service_databases: dict[str, str]
) -> None:
    await publisher.send(
        INVENTORY_COMMANDS,
        "scarf",
        commands.CreateListing(command_id=uuid.uuid4(), seller_id="s", listing_id="scarf", quantity=1, production_days=2),
    )
    await tap.wait_for(events.ListingCreated)
    order = _place("order-2", "s", [("scarf", 1), ("ghost", 1)])
    await publisher.send(ORDERS_COMMANDS, order_key("shop-1", "order-2"), order)

    [rejected] = await tap.wait_for(events.OrderRejected)
    assert rejected.reason is RejectionReason.UNKNOWN_LISTING
    assert rejected.command_id == order.command_id
    conn = await asyncpg.connect(service_databases["inventory"])
    try:
        assert await conn.fetchval("select quantity from listings where listing_id = 'scarf'") == 1
    finally:
        await conn.close()
