"""A seller acts only on its own listings and orders: every command type naming another seller's
listing or order is refused, says why, and changes nothing (R1, R5, R8)."""

from __future__ import annotations

import asyncpg
import pytest

from devtools.actors import Marketplace
from devtools.kafka_io import Publisher, Tap
from devtools.launcher import ServiceProcess
from shared.clock import SystemClock
from shared.contracts import events
from shared.contracts.reasons import RejectionReason
from tests.support.settle import published

pytestmark = pytest.mark.e2e


async def rows(url: str, query: str) -> list[dict[str, object]]:
    conn = await asyncpg.connect(url)
    try:
        return [dict(r) for r in await conn.fetch(query)]
    finally:
        await conn.close()


async def test_R1_R5_R8_commands_naming_another_sellers_listing_or_order_are_refused_and_change_nothing(
    services: dict[str, ServiceProcess], publisher: Publisher, tap: Tap, service_databases: dict[str, str]
) -> None:
    market = Marketplace(publisher, tap, SystemClock())
    await market.create_listing("alice", "alice-mug", 5, 3)
    await market.create_listing("mallory", "mallory-cup", 5, 3)
    accepted = await market.place("alice-order", "alice", [("alice-mug", 1)])
    assert isinstance(accepted, events.OrderAccepted)
    await published(service_databases, tap)
    listings_before = await rows(service_databases["inventory"], "select * from listings order by listing_id")
    orders_before = await rows(service_databases["orders"], "select * from orders order by order_id")

    attempts = {
        "listing.create": await market.create_listing("mallory", "alice-mug", 99, 1),
        "listing.update": await market.update_listing("mallory", "alice-mug", quantity=0),
        "order.place": await market.place("mallory-order", "mallory", [("alice-mug", 1)]),
        "shipment.confirm": await market.confirm("alice-order", "mallory"),
    }
    assert isinstance(attempts["listing.create"], events.CommandRejected)
    assert attempts["listing.create"].reason is RejectionReason.FORBIDDEN and attempts["listing.create"].rule == "R1"
    assert isinstance(attempts["listing.update"], events.CommandRejected)
    assert attempts["listing.update"].reason is RejectionReason.FORBIDDEN and attempts["listing.update"].rule == "R1"
    # A storefront, not a seller, places orders: a line of another seller's listing is `wrong_seller` (R5, R6).
    assert isinstance(attempts["order.place"], events.OrderRejected)
    assert attempts["order.place"].reason is RejectionReason.WRONG_SELLER
    assert isinstance(attempts["shipment.confirm"], events.CommandRejected)
    assert attempts["shipment.confirm"].reason is RejectionReason.FORBIDDEN and attempts["shipment.confirm"].rule == "R8"

    await published(service_databases, tap)
    assert await rows(service_databases["inventory"], "select * from listings order by listing_id") == listings_before
    orders_after = await rows(service_databases["orders"], "select * from orders where order_id = 'alice-order'")
    assert orders_after == [o for o in orders_before if o["order_id"] == "alice-order"]
    assert await rows(service_databases["inventory"], "select * from reservations where order_key like '%mallory-order'") == []
