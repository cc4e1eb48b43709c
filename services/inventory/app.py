"""The inventory service process: its settings, and what it does with each message type it reads."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from services.inventory import usecases
from services.inventory.storage import InventoryWork
from shared.contracts import commands, events
from shared.contracts.topics import INVENTORY_COMMANDS, INVENTORY_EVENTS, ORDERS_EVENTS
from shared.messaging.dispatch import Routes, on
from shared.runtime import Service
from shared.settings import ServiceSettings, load, local_database_url


class InventorySettings(ServiceSettings):
    database_url: str = local_database_url("inventory")
    http_port: int = Field(default=18081, ge=0, le=65_535)


ROUTES = (
    Routes(
        INVENTORY_COMMANDS,
        dict([on(commands.CreateListing, usecases.create_listing), on(commands.UpdateListing, usecases.update_listing)]),
        answers_on=INVENTORY_EVENTS,
        answer_key=lambda payload: _text(payload.get("listing_id")),
    ),
    Routes(
        ORDERS_EVENTS,
        dict([on(events.OrderPlaced, usecases.reserve_stock), on(events.OrderCancelled, usecases.restore_stock)]),
        # The rest of an order's life is the orders and deadlines services' business.
        ignored=frozenset(
            {events.OrderAccepted, events.OrderRejected, events.ShipmentConfirmed, events.CommandRejected, events.OrdersWatermark}
        ),
    ),
)


def build(settings: InventorySettings | None = None) -> Service:
    settings = settings or load(InventorySettings)
    return Service(
        name="inventory",
        settings=settings,
        clock=settings.clock(),
        migrations=Path(__file__).parent / "migrations",
        routes=ROUTES,
        work=InventoryWork,
        bookkeeping={"decided_orders": "decided_at"},
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
