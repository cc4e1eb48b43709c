"""The inventory service process: its settings and what it reads."""

from __future__ import annotations

from pathlib import Path

from services.inventory import usecases
from shared.contracts.topics import INVENTORY_COMMANDS, INVENTORY_EVENTS, ORDERS_EVENTS
from shared.messaging.consumer import Answers
from shared.runtime import Service, Subscription
from shared.settings import ServiceSettings, local_database_url


class InventorySettings(ServiceSettings):
    database_url: str = local_database_url("inventory")


def build(settings: InventorySettings | None = None) -> Service:
    return Service(
        name="inventory",
        settings=settings or InventorySettings(),
        migrations=Path(__file__).parent / "migrations",
        subscriptions=[
            Subscription(
                INVENTORY_COMMANDS,
                usecases.on_inventory_command,
                Answers(INVENTORY_EVENTS, key_of=lambda payload: _text(payload.get("listing_id"))),
            ),
            Subscription(ORDERS_EVENTS, usecases.on_order_event),
        ],
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
