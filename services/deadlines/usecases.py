"""Deadlines' use cases: one function per message it reads, each in the caller's transaction."""

from __future__ import annotations

import asyncpg

from services.deadlines import storage
from shared.contracts import events
from shared.contracts.envelope import Message
from shared.logs import get_logger

log = get_logger()

SHIP_BY = "ship_by"
CONFIRM_BY = "confirm_by"


async def store_deadlines(conn: asyncpg.Connection, accepted: events.OrderAccepted) -> None:
    ids = {"storefront_id": accepted.storefront_id, "order_id": accepted.order_id, "seller_id": accepted.seller_id}
    await storage.add_deadline(conn, kind=SHIP_BY, due_date=accepted.ship_by_date, due_at=accepted.ship_by_deadline, **ids)
    await storage.add_deadline(conn, kind=CONFIRM_BY, due_date=accepted.confirm_by_date, due_at=accepted.confirm_by_deadline, **ids)
    log.info("deadlines.stored", ship_by=accepted.ship_by_deadline.isoformat(), confirm_by=accepted.confirm_by_deadline.isoformat())


async def on_order_event(conn: asyncpg.Connection, message: Message) -> None:
    if isinstance(message, events.OrderAccepted):
        await store_deadlines(conn, message)
