"""The orders service process: its settings and what it reads."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from pydantic import Field

from services.orders.usecases import OrderUseCases
from services.orders.watermarks import emit_watermarks
from shared.contracts.topics import DEADLINES_EVENTS, INVENTORY_EVENTS, ORDERS_COMMANDS, ORDERS_EVENTS, order_key
from shared.messaging.consumer import Answers
from shared.runtime import Service, Subscription
from shared.settings import ServiceSettings, local_database_url


class OrdersSettings(ServiceSettings):
    database_url: str = local_database_url("orders")
    # How often (real seconds) to publish a watermark; bounds how late a deadline fires (R15).
    watermark_interval_seconds: float = Field(default=1.0, gt=0)


def build(settings: OrdersSettings | None = None) -> Service:
    settings = settings or OrdersSettings()
    clock = settings.clock()
    cases = OrderUseCases(clock, settings.zone)

    async def watermarks(pool: asyncpg.Pool) -> None:
        await emit_watermarks(pool, clock, settings.watermark_interval_seconds)

    return Service(
        name="orders",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        subscriptions=[
            Subscription(ORDERS_COMMANDS, cases.on_order_command, Answers(ORDERS_EVENTS, key_of=_order_key)),
            Subscription(INVENTORY_EVENTS, cases.on_inventory_event),
            Subscription(DEADLINES_EVENTS, cases.on_deadline_event),
        ],
        background=[watermarks],
    )


def _order_key(payload: dict[str, object]) -> str | None:
    storefront, order = payload.get("storefront_id"), payload.get("order_id")
    if isinstance(storefront, str) and isinstance(order, str):
        return order_key(storefront, order)
    return None
