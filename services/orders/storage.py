"""Orders' SQL. Every function runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import orjson

from services.orders.dates import Deadlines
from services.orders.domain import Order, Status
from shared.contracts.commands import ConfirmShipment, OrderLine


def _order(row: asyncpg.Record) -> Order:
    deadlines = None
    if row["order_date"] is not None:
        deadlines = Deadlines(
            row["order_date"], row["ship_by_date"], row["confirm_by_date"], row["ship_by_deadline"], row["confirm_by_deadline"]
        )
    return Order(
        storefront_id=row["storefront_id"],
        order_id=row["order_id"],
        seller_id=row["seller_id"],
        command_id=row["command_id"],
        placed_at=row["placed_at"],
        status=Status(row["status"]),
        deadlines=deadlines,
        confirmation_command_id=row["confirmation_command_id"],
        shipped_late=row["shipped_late"],
        late_penalty=row["late_penalty"],
    )


async def lock_order(conn: asyncpg.Connection, storefront_id: str, order_id: str) -> Order | None:
    row = await conn.fetchrow(
        "select * from orders where storefront_id = $1 and order_id = $2 for update", storefront_id, order_id
    )
    return _order(row) if row else None


async def order_lines(conn: asyncpg.Connection, storefront_id: str, order_id: str) -> list[OrderLine]:
    raw = await conn.fetchval("select lines from orders where storefront_id = $1 and order_id = $2", storefront_id, order_id)
    return [OrderLine.model_validate(line) for line in orjson.loads(raw)]


async def insert_order(conn: asyncpg.Connection, order: Order, lines: Sequence[OrderLine]) -> None:
    await conn.execute(
        """insert into orders (storefront_id, order_id, seller_id, command_id, placed_at, lines, status)
           values ($1, $2, $3, $4, $5, $6::jsonb, $7)""",
        order.storefront_id,
        order.order_id,
        order.seller_id,
        order.command_id,
        order.placed_at,
        orjson.dumps([line.model_dump() for line in lines]).decode(),
        order.status.value,
    )


async def save_decision(conn: asyncpg.Connection, order: Order) -> None:
    """Persist an acceptance or rejection: the status and, when accepted, the dates fixed now (R7)."""
    d = order.deadlines
    await conn.execute(
        """update orders set status = $3, order_date = $4, ship_by_date = $5, confirm_by_date = $6,
                  ship_by_deadline = $7, confirm_by_deadline = $8, updated_at = now()
           where storefront_id = $1 and order_id = $2""",
        order.storefront_id,
        order.order_id,
        order.status.value,
        d.order_date if d else None,
        d.ship_by_date if d else None,
        d.confirm_by_date if d else None,
        d.ship_by_deadline if d else None,
        d.confirm_by_deadline if d else None,
    )


async def save_shipment(conn: asyncpg.Connection, order: Order, command: ConfirmShipment, confirmed_at: object) -> None:
    await conn.execute(
        """update orders set status = $3, confirmation_command_id = $4, confirmed_at = $5, ship_date = $6,
                  shipping_method = $7, carrier = $8, tracking_id = $9, memo = $10, shipped_late = $11, updated_at = now()
           where storefront_id = $1 and order_id = $2""",
        order.storefront_id,
        order.order_id,
        order.status.value,
        command.command_id,
        confirmed_at,
        command.ship_date,
        command.shipping_method,
        command.carrier,
        command.tracking_id,
        command.memo,
        order.shipped_late,
    )


async def save_status(conn: asyncpg.Connection, order: Order) -> None:
    await conn.execute(
        "update orders set status = $3, late_penalty = $4, updated_at = now() where storefront_id = $1 and order_id = $2",
        order.storefront_id,
        order.order_id,
        order.status.value,
        order.late_penalty,
    )
