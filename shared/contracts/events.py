"""Events the three services publish. Each names the command it answers where there is one (M5)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from .commands import OrderLine, ProductionDays, Quantity
from .envelope import PARTS, Message
from .fields import AlwaysFalse, Boolean, CalendarDate, Count, EntityId, UtcInstant, Uuid
from .reasons import RejectionReason


class CommandRejected(Message):
    """The answer to a command that changed nothing, with a reason a program and a person can read."""

    type: Literal["command.rejected"] = "command.rejected"
    command_id: Uuid | None  # None when the sender could not be identified
    command_type: str | None = None
    reason: RejectionReason
    rule: str | None = None  # the rule the command broke, e.g. "R8"
    message: str
    seller_id: str | None = None
    storefront_id: str | None = None
    order_id: str | None = None
    listing_id: str | None = None


# --- inventory.events -------------------------------------------------------------------------


class ListingChange(Message):
    seller_id: EntityId
    listing_id: EntityId
    quantity: Quantity
    production_days: ProductionDays
    command_id: Uuid


class ListingCreated(ListingChange):
    """The answer to an applied CreateListing (M5)."""

    type: Literal["listing.created"] = "listing.created"
    command_type: Literal["listing.create"] = "listing.create"


class ListingUpdated(ListingChange):
    """The answer to an applied UpdateListing (M5)."""

    type: Literal["listing.updated"] = "listing.updated"
    command_type: Literal["listing.update"] = "listing.update"


class ReservedLine(BaseModel):
    model_config = PARTS

    listing_id: EntityId
    quantity: Count
    # The listing's production time when the units were reserved: it fixes the ship-by date (R7).
    production_days: ProductionDays


class OrderEvent(Message):
    storefront_id: EntityId
    order_id: EntityId
    seller_id: EntityId


class FailedLine(BaseModel):
    """One order line that could not be reserved, and why (R6)."""

    model_config = PARTS

    listing_id: str
    reason: RejectionReason
    message: str


class StockReserved(OrderEvent):
    """Every line of the order was reserved, atomically (R3, R6)."""

    type: Literal["stock.reserved"] = "stock.reserved"
    lines: list[ReservedLine]


class StockReservationFailed(OrderEvent):
    """At least one line could not be reserved; nothing was (R6)."""

    type: Literal["stock.reservation_failed"] = "stock.reservation_failed"
    reason: RejectionReason  # the first failing line's
    message: str
    listing_id: str | None = None  # the first failing line's
    rule: str | None = None
    failed_lines: list[FailedLine] = Field(default_factory=list)  # every line that could not be reserved


class StockRestored(OrderEvent):
    """A cancelled order's units went back to their listings (R14)."""

    type: Literal["stock.restored"] = "stock.restored"
    lines: list[OrderLine]


# --- orders.events ----------------------------------------------------------------------------


class OrderPlaced(OrderEvent):
    """The order was received and is pending a reservation (R10: pending). Not an answer: the
    storefront's answer is `order.accepted` or `order.rejected` (or `command.rejected`)."""

    type: Literal["order.placed"] = "order.placed"
    command_id: Uuid
    placed_at: UtcInstant
    lines: list[OrderLine]


class OrderAccepted(OrderEvent):
    """The answer to an accepted PlaceOrder, with the dates fixed at acceptance (R7)."""

    type: Literal["order.accepted"] = "order.accepted"
    command_id: Uuid
    command_type: Literal["order.place"] = "order.place"
    placed_at: UtcInstant
    timezone: str
    order_date: CalendarDate
    ship_by_date: CalendarDate
    confirm_by_date: CalendarDate
    # The instants the dates end in the marketplace zone (T2): the deadlines service's timers.
    ship_by_deadline: UtcInstant
    confirm_by_deadline: UtcInstant


class OrderRejected(OrderEvent):
    """The answer to a rejected PlaceOrder (R6)."""

    type: Literal["order.rejected"] = "order.rejected"
    command_id: Uuid
    command_type: Literal["order.place"] = "order.place"
    reason: RejectionReason  # the first failing line's
    message: str
    rule: str | None = None  # the rule the order broke, e.g. "R2"
    listing_id: str | None = None  # the first failing line's
    failed_lines: list[FailedLine] = Field(default_factory=list)  # every line that could not be reserved, and why


class ShipmentConfirmed(OrderEvent):
    """The answer to an accepted ConfirmShipment (R8)."""

    type: Literal["shipment.confirmed"] = "shipment.confirmed"
    command_id: Uuid
    command_type: Literal["shipment.confirm"] = "shipment.confirm"
    confirmed_at: UtcInstant
    ship_date: CalendarDate
    shipping_method: str
    carrier: str
    tracking_id: str
    memo: str | None = None
    late: Boolean
    # S5: whether the tracking id matches one of the carrier's published formats. An invalid one does
    # not block the confirmation; it counts against the seller's valid-tracking rate. None: not checked.
    tracking_valid: Boolean | None = None


class OrderCancelled(OrderEvent):
    """The order was cancelled because shipment was not confirmed in time (R12)."""

    type: Literal["order.cancelled"] = "order.cancelled"
    reason: str
    seller_paid: AlwaysFalse = False
    lines: list[OrderLine]


# --- deadlines.events -------------------------------------------------------------------------


class LateShipmentPenalty(OrderEvent):
    """The ship-by date ended without a confirmed shipment (R11)."""

    type: Literal["penalty.late_shipment"] = "penalty.late_shipment"
    deadline: UtcInstant
    ship_by_date: CalendarDate
    reason: str


class CancellationIssued(OrderEvent):
    """The confirm-by date ended without a confirmed shipment: cancel, seller not paid (R12)."""

    type: Literal["order.cancellation_issued"] = "order.cancellation_issued"
    deadline: UtcInstant
    confirm_by_date: CalendarDate
    reason: str
    seller_paid: AlwaysFalse = False


class DeadlineApproaching(OrderEvent):
    """S4: an accepted order's deadline ends within the configured lead time and nothing voided it yet.
    A warning only: it never changes the order."""

    type: Literal["deadline.approaching"] = "deadline.approaching"
    deadline_kind: Literal["ship_by", "confirm_by"]
    deadline: UtcInstant
    due_date: CalendarDate
    lead_seconds: Count  # how long before the deadline the warning is due


class OrdersWatermark(Message):
    """Every shipment confirmation the orders service accepted before `as_of` precedes this record
    on its partition. The deadlines service fires a deadline only once its partition's watermark
    has passed it, so processing order can never turn an on-time confirmation into a penalty (R15)."""

    type: Literal["orders.watermark"] = "orders.watermark"
    partition: Count
    as_of: UtcInstant
    needs_inbox: ClassVar[bool] = False  # applying it twice is harmless: watermarks only move forward


# --- deadletters ------------------------------------------------------------------------------


class DeadLetter(Message):
    """A message a consumer could not use, kept with its original bytes and the error (M3)."""

    type: Literal["dead_letter"] = "dead_letter"
    service: str
    source_topic: str
    partition: Count
    offset: Count
    key_base64: str | None
    value_base64: str
    error_kind: str
    error: str
