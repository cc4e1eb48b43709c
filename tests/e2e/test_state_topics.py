"""S1: after a busy, concurrent run (orders racing for scarce stock, confirmations on time and late,
penalties, cancellations, restorations, listing edits), a reader that consumes the state topics from
the beginning and keeps the last record of each key ends with exactly the services' databases."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from devtools.actors import Marketplace
from devtools.kafka_io import Publisher, Tap
from devtools.launcher import ServiceProcess
from devtools.system import accelerated, clock_env
from shared.clock import ScaledClock
from shared.contracts import commands, events
from shared.contracts.state import ListingStateRecord, OrderStateRecord
from shared.contracts.topics import INVENTORY_COMMANDS, LISTINGS_STATE, ORDERS_STATE, order_key
from tests.support.infra import Infra
from tests.support.settle import published

pytestmark = pytest.mark.e2e

SPEED = 200_000  # a simulated day in about 0.4 s


@pytest.fixture
def clock() -> ScaledClock:
    return accelerated(datetime(2026, 9, 1, 9, tzinfo=UTC), SPEED)


@pytest.fixture
def service_env(clock: ScaledClock) -> dict[str, str]:
    return clock_env(clock)


async def test_S1_a_reader_of_the_state_topics_from_the_beginning_ends_with_the_databases_state(
    services: dict[str, ServiceProcess],
    publisher: Publisher,
    tap: Tap,
    clock: ScaledClock,
    service_databases: dict[str, str],
    infra: Infra,
    topic_prefix: str,
) -> None:
    market = Marketplace(publisher, tap, clock)
    sellers = {f"seller-{s}": [f"item-{s}-{i}" for i in range(3)] for s in range(3)}
    for seller, listings in sellers.items():
        for i, listing in enumerate(listings):
            await market.create_listing(seller, listing, quantity=4 + i, production_days=2 + i)
    # Orders race for the same scarce listings, concurrently; an edit and a restock run meanwhile.
    placements = [
        market.place_command(f"race-{n}", seller, [(listings[n % 3], 1), (listings[(n + 1) % 3], 1)])
        for n, (seller, listings) in enumerate(list(sellers.items()) * 6)
    ]
    await asyncio.gather(*(market.send(order) for order in placements))
    await publisher.send(INVENTORY_COMMANDS, "item-0-0", _update("seller-0", "item-0-0", quantity=9))
    answers = await tap.wait_for((events.OrderAccepted, events.OrderRejected), count=len(placements), timeout=90)
    accepted = [a for a in answers if isinstance(a, events.OrderAccepted)]
    assert accepted and len(accepted) < len(placements)  # some won the stock, some did not
    for order in accepted[::3]:  # some ship on time; the rest are penalised, then cancelled and restocked
        await market.send(market.confirm_command(order.order_id, order.seller_id))
    cancelled = {c.order_id for c in await tap.wait_for(events.OrderCancelled, count=len(accepted) - len(accepted[::3]), timeout=120)}
    # Every restore, not the first: a listing's last state record is inventory's, and `published` below
    # only sees outboxes, so it would pass before inventory had read the last cancellation.
    await tap.wait_for(events.StockRestored, lambda e: e.order_id in cancelled, count=len(cancelled), timeout=120)
    await published(service_databases, tap)

    listings, orders = await _read_state_topics(infra, topic_prefix)
    inventory = await asyncpg.connect(service_databases["inventory"])
    orders_db = await asyncpg.connect(service_databases["orders"])
    try:
        rows = await inventory.fetch("select listing_id, seller_id, quantity, production_days, version from listings")
        assert {r["listing_id"]: (r["seller_id"], r["quantity"], r["production_days"], r["quantity"] == 0, r["version"]) for r in rows} == {
            key: (s.seller_id, s.quantity, s.production_days, s.out_of_stock, s.version) for key, s in listings.items()
        }
        rows = await orders_db.fetch(
            "select storefront_id, order_id, status, ship_by_date, late_penalty, confirmed_at, tracking_id, version from orders"
        )
        assert {order_key(r["storefront_id"], r["order_id"]): _order_row(r) for r in rows} == {
            key: (s.status, s.ship_by_date, s.late_penalty, s.shipment.confirmed_at if s.shipment else None, s.shipment.tracking_id if s.shipment else None, s.version)
            for key, s in orders.items()
        }
        assert {r["status"] for r in rows} >= {"rejected", "shipped", "cancelled"}
    finally:
        await inventory.close()
        await orders_db.close()


def _update(seller: str, listing: str, *, quantity: int) -> commands.UpdateListing:
    return commands.UpdateListing(command_id=uuid.uuid4(), seller_id=seller, listing_id=listing, quantity=quantity)


def _order_row(r: asyncpg.Record) -> tuple[object, ...]:
    return (r["status"], r["ship_by_date"], r["late_penalty"], r["confirmed_at"], r["tracking_id"], r["version"])


async def _read_state_topics(infra: Infra, prefix: str) -> tuple[dict[str, ListingStateRecord], dict[str, OrderStateRecord]]:
    """A fresh reader, from the beginning: the last record of each key wins."""
    async with Tap(infra.kafka_bootstrap_servers, prefix, topics=(LISTINGS_STATE, ORDERS_STATE)) as reader:
        await reader.caught_up()
        latest: dict[tuple[str, str | None], object] = {}
        for topic, key, message in reader.seen:
            latest[(topic, key)] = message
    listings = {key: m for (topic, key), m in latest.items() if topic == LISTINGS_STATE.name and isinstance(m, ListingStateRecord) and key}
    orders = {key: m for (topic, key), m in latest.items() if topic == ORDERS_STATE.name and isinstance(m, OrderStateRecord) and key}
    return listings, orders
