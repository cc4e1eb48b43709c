"""Deadlines' use cases: what the service does with each message about an order."""

from __future__ import annotations

import asyncpg

from services.deadlines import domain, storage
from shared.contracts import events
from shared.contracts.envelope import Message
from shared.logs import get_logger
from shared.messaging.consumer import Delivery

log = get_logger()


async def store_timers(conn: asyncpg.Connection, accepted: events.OrderAccepted, delivery: Delivery) -> None:
    timers = domain.timers_for(accepted)
    for timer in timers:
        # The partition this order's events travel on: its watermark gates the timer (R15).
        await storage.add_timer(conn, timer, delivery.partition)
    await storage.notify(conn)
    log.info("deadlines.stored", timers={t.kind: t.due_at.isoformat() for t in timers})


async def void_for_confirmation(conn: asyncpg.Connection, confirmed: events.ShipmentConfirmed) -> None:
    # R15: only the deadlines the confirmation beat; a late confirmation leaves the ship-by penalty.
    voided = await storage.void_timers(conn, confirmed.storefront_id, confirmed.order_id, due_after=confirmed.confirmed_at)
    broken = await storage.fired_before(conn, confirmed.storefront_id, confirmed.order_id, confirmed.confirmed_at)
    if broken:
        log.error("deadlines.fired_despite_earlier_confirmation", kinds=broken, confirmed_at=confirmed.confirmed_at.isoformat())
    log.info("deadlines.voided", kinds=voided, late=confirmed.late)


async def void_for_cancellation(conn: asyncpg.Connection, cancelled: events.OrderCancelled) -> None:
    await storage.void_timers(conn, cancelled.storefront_id, cancelled.order_id, due_after=None)


async def advance_watermark(conn: asyncpg.Connection, mark: events.OrdersWatermark, delivery: Delivery) -> None:
    # The partition it was read from is the one it speaks for.
    await storage.advance_watermark(conn, delivery.partition, mark.as_of)
    await storage.notify(conn)


async def on_order_event(conn: asyncpg.Connection, message: Message, delivery: Delivery) -> None:
    if isinstance(message, events.OrderAccepted):
        await store_timers(conn, message, delivery)
    elif isinstance(message, events.ShipmentConfirmed):
        await void_for_confirmation(conn, message)
    elif isinstance(message, events.OrderCancelled):
        await void_for_cancellation(conn, message)
    elif isinstance(message, events.OrdersWatermark):
        await advance_watermark(conn, message, delivery)
