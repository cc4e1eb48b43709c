"""Order decisions, free of I/O: statuses (R10), acceptance (R7), confirmation (R8, R9, R12), cancellation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from services.orders.dates import Deadlines, fix_deadlines, local_date
from shared.contracts.commands import ConfirmShipment
from shared.contracts.reasons import Refusal, RejectionReason


class Status(StrEnum):
    PENDING = "pending"
    REJECTED = "rejected"
    UNSHIPPED = "unshipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


# R10: the only moves an order makes.
TRANSITIONS: frozenset[tuple[Status, Status]] = frozenset(
    {
        (Status.PENDING, Status.REJECTED),
        (Status.PENDING, Status.UNSHIPPED),
        (Status.UNSHIPPED, Status.SHIPPED),
        (Status.UNSHIPPED, Status.CANCELLED),
    }
)


class IllegalTransition(ValueError):
    pass


def move(current: Status, target: Status) -> Status:
    if (current, target) not in TRANSITIONS:
        raise IllegalTransition(f"an order cannot go from {current} to {target}")
    return target


@dataclass(frozen=True)
class Shipment:
    """The accepted shipment confirmation (R8)."""

    command_id: UUID
    confirmed_at: datetime
    ship_date: date
    shipping_method: str
    carrier: str
    tracking_id: str
    tracking_valid: bool | None  # S5: None when the carrier's formats are unknown
    memo: str | None
    late: bool  # confirmed after the end of the ship-by date


@dataclass(frozen=True)
class Rejection:
    reason: RejectionReason
    rule: str | None
    message: str


@dataclass(frozen=True)
class Order:
    storefront_id: str
    order_id: str
    seller_id: str
    command_id: UUID  # the PlaceOrder that created it
    placed_at: datetime
    status: Status
    lines: tuple[tuple[str, int], ...] = ()  # (listing id, quantity)
    deadlines: Deadlines | None = None  # fixed at acceptance (R7)
    shipment: Shipment | None = None
    rejection: Rejection | None = None
    late_penalty: bool = False  # a mark, not a status (R10)
    cancellation_reason: str | None = None


@dataclass(frozen=True)
class AlreadyPlaced:
    """The same PlaceOrder again (same command id): already answered, a no-op."""


def place(existing: Order | None, new: Order) -> Order | AlreadyPlaced | Refusal:
    """R5: an order id is unique per storefront; re-sending the same command changes nothing."""
    if existing is None:
        return new
    if existing.command_id == new.command_id:
        return AlreadyPlaced()
    return Refusal(
        RejectionReason.DUPLICATE_ORDER,
        f"storefront {new.storefront_id} already placed order {new.order_id} with another command",
    )


def accept(order: Order, production_days: list[int], zone: ZoneInfo) -> Order:
    """R7: the ship-by date uses the largest production time among the reserved lines."""
    return replace(
        order,
        status=move(order.status, Status.UNSHIPPED),
        deadlines=fix_deadlines(order.placed_at, max(production_days), zone),
    )


def reject(order: Order, rejection: Rejection) -> Order:
    return replace(order, status=move(order.status, Status.REJECTED), rejection=rejection)


@dataclass(frozen=True)
class Confirmation:
    order: Order

    @property
    def late(self) -> bool:
        assert self.order.shipment is not None
        return self.order.shipment.late


@dataclass(frozen=True)
class AlreadyConfirmed:
    """The same confirmation again (same command id): a no-op (R9)."""


def confirm(
    order: Order | None, command: ConfirmShipment, now: datetime, zone: ZoneInfo, tracking_valid: bool | None = None
) -> Confirmation | AlreadyConfirmed | Refusal:
    """R8, R9, R12: whether a seller's shipment confirmation is accepted at `now`. S5: an invalid
    tracking id does not block it; the shipment is marked with `tracking_valid`."""
    if order is None:
        return Refusal(RejectionReason.UNKNOWN_ORDER, f"order {command.order_id} does not exist")
    if order.seller_id != command.seller_id:
        return Refusal(RejectionReason.FORBIDDEN, f"order {command.order_id} belongs to another seller")
    if order.status is Status.SHIPPED:
        if order.shipment is not None and order.shipment.command_id == command.command_id:
            return AlreadyConfirmed()
        return Refusal(RejectionReason.ALREADY_SHIPPED, f"order {command.order_id} is already confirmed as shipped")
    if order.status is Status.CANCELLED:
        return Refusal(RejectionReason.ORDER_CANCELLED, f"order {command.order_id} was cancelled; the seller is not paid")
    if order.status is not Status.UNSHIPPED or order.deadlines is None:
        return Refusal(RejectionReason.ORDER_NOT_ACCEPTED, f"order {command.order_id} is {order.status}, not accepted")
    # R8/R12: after the confirm-by date nothing is accepted, even before the cancellation arrives.
    if now >= order.deadlines.confirm_by_deadline:
        return Refusal(
            RejectionReason.CONFIRMATION_WINDOW_CLOSED,
            f"the confirm-by date {order.deadlines.confirm_by_date} has passed",
        )
    today = local_date(now, zone)
    if not order.deadlines.order_date <= command.ship_date <= today:
        return Refusal(
            RejectionReason.SHIP_DATE_OUT_OF_RANGE,
            f"ship date {command.ship_date} must be between the order date {order.deadlines.order_date} and today {today}",
        )
    shipment = Shipment(
        command_id=command.command_id,
        confirmed_at=now,
        ship_date=command.ship_date,
        shipping_method=command.shipping_method,
        carrier=command.carrier,
        tracking_id=command.tracking_id,
        tracking_valid=tracking_valid,
        memo=command.memo,
        late=now >= order.deadlines.ship_by_deadline,
    )
    return Confirmation(replace(order, status=move(order.status, Status.SHIPPED), shipment=shipment))


def cancel(order: Order, reason: str) -> Order | None:
    """R12: cancel an unshipped order; None when there is nothing to cancel (shipped, already cancelled)."""
    if order.status is not Status.UNSHIPPED:
        return None
    return replace(order, status=move(order.status, Status.CANCELLED), cancellation_reason=reason)


def mark_late(order: Order) -> Order | None:
    """R11: the late-shipment penalty is a mark on the order, set once; None when it already carries it."""
    if order.late_penalty:
        return None
    return replace(order, late_penalty=True)
