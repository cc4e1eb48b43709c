"""State records: the latest state of each listing and order, on compacted topics keyed by its id (S1).

A reader that consumes such a topic from the beginning and keeps the last record per key ends with
exactly the owning service's state. Records of one key are written through the service's outbox in
commit order; `version` counts the changes of that aggregate, so a reader can also tell a stale copy.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from .commands import OrderLine, ProductionDays, Quantity
from .envelope import PARTS, Message
from .fields import Boolean, CalendarDate, Count, EntityId, UtcInstant, Uuid
from .reasons import RejectionReason


class ListingStateRecord(Message):
    """A listing as the inventory service holds it now; quantity 0 is out of stock (R2)."""

    type: Literal["listing.state"] = "listing.state"
    seller_id: EntityId
    listing_id: EntityId
    quantity: Quantity
    production_days: ProductionDays
    out_of_stock: Boolean
    version: Count


class Rejection(BaseModel):
    model_config = PARTS

    reason: RejectionReason
    rule: str | None
    message: str


class Shipment(BaseModel):
    """The accepted shipment confirmation (R8)."""

    model_config = PARTS

    command_id: Uuid
    confirmed_at: UtcInstant
    ship_date: CalendarDate
    shipping_method: str
    carrier: str
    tracking_id: str
    tracking_valid: Boolean | None
    memo: str | None
    late: Boolean


class OrderStateRecord(Message):
    """An order as the orders service holds it now (R10 status, R7 dates, late mark, shipment)."""

    type: Literal["order.state"] = "order.state"
    storefront_id: EntityId
    order_id: EntityId
    seller_id: EntityId
    command_id: Uuid  # the PlaceOrder that created it
    status: Literal["pending", "rejected", "unshipped", "shipped", "cancelled"]
    placed_at: UtcInstant
    lines: list[OrderLine]
    # Fixed at acceptance (R7); None while pending or when rejected.
    timezone: str | None = None
    order_date: CalendarDate | None = None
    ship_by_date: CalendarDate | None = None
    confirm_by_date: CalendarDate | None = None
    ship_by_deadline: UtcInstant | None = None
    confirm_by_deadline: UtcInstant | None = None
    late_penalty: Boolean = False  # a mark, not a status (R10)
    rejection: Rejection | None = None
    shipment: Shipment | None = None
    cancellation_reason: str | None = None
    version: Count
