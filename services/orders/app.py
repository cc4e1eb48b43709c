"""The orders service process: its settings and what it reads."""

from __future__ import annotations

from pathlib import Path

from services.orders.usecases import OrderUseCases
from shared.contracts.topics import DEADLINES_EVENTS, INVENTORY_EVENTS, ORDERS_COMMANDS, ORDERS_EVENTS, order_key
from shared.messaging.consumer import Answers
from shared.runtime import Service, Subscription
from shared.settings import ServiceSettings, local_database_url


class OrdersSettings(ServiceSettings):
    database_url: str = local_database_url("orders")


def build(settings: OrdersSettings | None = None) -> Service:
    settings = settings or OrdersSettings()
    cases = OrderUseCases(settings.clock(), settings.zone)
    return Service(
        name="orders",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        subscriptions=[
            Subscription(ORDERS_COMMANDS, cases.on_order_command, Answers(ORDERS_EVENTS, key_of=_order_key)),
            Subscription(INVENTORY_EVENTS, cases.on_inventory_event),
            Subscription(DEADLINES_EVENTS, cases.on_deadline_event),
        ],
    )


def _order_key(payload: dict[str, object]) -> str | None:
    storefront, order = payload.get("storefront_id"), payload.get("order_id")
    if isinstance(storefront, str) and isinstance(order, str):
        return order_key(storefront, order)
    return None
