"""The orders service process: its settings, and what it does with each message type it reads."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from pydantic import Field

from services.orders import usecases
from services.orders.storage import OrdersWork
from services.orders.watermarks import emit_watermarks
from shared.contracts import commands, events
from shared.contracts.topics import DEADLINES_EVENTS, INVENTORY_EVENTS, ORDERS_COMMANDS, ORDERS_EVENTS, order_key
from shared.messaging.dispatch import Routes, on
from shared.runtime import Resources, Service
from shared.settings import ServiceSettings, load, local_database_url


class OrdersSettings(ServiceSettings):
    database_url: str = local_database_url("orders")
    http_port: int = Field(default=18082, ge=0, le=65_535)
    # Watermarks (R15) are written when a deadline passes, and at least this often (real seconds).
    watermark_interval_seconds: float = Field(default=1.0, gt=0)


ROUTES = (
    Routes(
        ORDERS_COMMANDS,
        dict([on(commands.PlaceOrder, usecases.place_order), on(commands.ConfirmShipment, usecases.confirm_shipment)]),
        answers_on=ORDERS_EVENTS,
        answer_key=lambda payload: _order_key(payload),
    ),
    Routes(
        INVENTORY_EVENTS,
        dict([on(events.StockReserved, usecases.accept), on(events.StockReservationFailed, usecases.reject)]),
        # Listings and stock restorations are inventory's own business.
        ignored=frozenset({events.ListingCreated, events.ListingUpdated, events.StockRestored, events.CommandRejected}),
    ),
    Routes(
        DEADLINES_EVENTS,
        dict([on(events.LateShipmentPenalty, usecases.mark_late), on(events.CancellationIssued, usecases.cancel)]),
        ignored=frozenset({events.DeadlineApproaching}),  # a warning never changes the order (S4)
    ),
)


def build(settings: OrdersSettings | None = None) -> Service:
    settings = settings or load(OrdersSettings)
    clock = settings.clock()

    async def watermarks(running: Resources) -> None:
        await emit_watermarks(running.pool, clock, settings.watermark_interval_seconds)

    return Service(
        name="orders",
        settings=settings,
        clock=clock,
        migrations=Path(__file__).parent / "migrations",
        routes=ROUTES,
        work=partial(OrdersWork, zone=settings.zone),
        background=(watermarks,),
    )


def _order_key(payload: dict[str, object]) -> str | None:
    storefront, order = payload.get("storefront_id"), payload.get("order_id")
    if isinstance(storefront, str) and isinstance(order, str):
        return order_key(storefront, order)
    return None
