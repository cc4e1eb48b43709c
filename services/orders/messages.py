"""Every message the orders service emits, built from its domain objects: the answers to order and
shipment commands (M5), the events other services act on, and order state records (S1)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from services.orders import domain
from services.orders.domain import Order
from shared.contracts import events
from shared.contracts.commands import OrderLine
from shared.contracts.state import OrderStateRecord, Rejection, Shipment


def order_placed(order: Order, now: datetime) -> events.OrderPlaced:
    return events.OrderPlaced(occurred_at=now, command_id=order.command_id, placed_at=order.placed_at, lines=_lines(order), **_ids(order))


def order_accepted(order: Order, zone: ZoneInfo, now: datetime) -> events.OrderAccepted:
    assert order.deadlines is not None  # accept() always fixes them
    return events.OrderAccepted(
        occurred_at=now, command_id=order.command_id, placed_at=order.placed_at, **_dates(order, zone), **_ids(order)
    )


def order_rejected(order: Order, failed: events.StockReservationFailed, now: datetime) -> events.OrderRejected:
    return events.OrderRejected(
        occurred_at=now,
        command_id=order.command_id,
        reason=failed.reason,
        message=failed.message,
        rule=failed.rule or failed.reason.rule,
        listing_id=failed.listing_id,
        failed_lines=failed.failed_lines,
        **_ids(order),
    )


def shipment_confirmed(order: Order, now: datetime) -> events.ShipmentConfirmed:
    assert order.shipment is not None
    return events.ShipmentConfirmed(occurred_at=now, **_shipment(order.shipment), **_ids(order))


def order_cancelled(order: Order, now: datetime) -> events.OrderCancelled:
    return events.OrderCancelled(occurred_at=now, reason=order.cancellation_reason or "", lines=_lines(order), **_ids(order))


def order_state(order: Order, version: int, zone: ZoneInfo, now: datetime) -> OrderStateRecord:
    r = order.rejection
    return OrderStateRecord(
        occurred_at=now,
        command_id=order.command_id,
        status=order.status.value,
        placed_at=order.placed_at,
        lines=_lines(order),
        **(_dates(order, zone) if order.deadlines else {}),
        late_penalty=order.late_penalty,
        rejection=Rejection(reason=r.reason, rule=r.rule, message=r.message) if r else None,
        shipment=Shipment(**_shipment(order.shipment)) if order.shipment else None,
        cancellation_reason=order.cancellation_reason,
        version=version,
        **_ids(order),
    )


def _dates(order: Order, zone: ZoneInfo) -> dict[str, object]:
    """The dates fixed at acceptance (R7), and the zone they are dates in (T1)."""
    d = order.deadlines
    assert d is not None
    return {
        "timezone": zone.key,
        "order_date": d.order_date,
        "ship_by_date": d.ship_by_date,
        "confirm_by_date": d.confirm_by_date,
        "ship_by_deadline": d.ship_by_deadline,
        "confirm_by_deadline": d.confirm_by_deadline,
    }


def _shipment(shipment: domain.Shipment) -> dict[str, object]:
    return dict(vars(shipment))  # the domain's shipment has the contract's field names


def _ids(order: Order) -> dict[str, str]:
    return {"storefront_id": order.storefront_id, "order_id": order.order_id, "seller_id": order.seller_id}


def _lines(order: Order) -> list[OrderLine]:
    return [OrderLine(listing_id=i, quantity=q) for i, q in order.lines]
