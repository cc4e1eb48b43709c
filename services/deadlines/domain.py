"""Deadline decisions, free of I/O: which timers an accepted order gets, when one is voided by a
confirmation, when one may fire, and what it says when it does (R11-R13, R15)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from uuid import NAMESPACE_URL, uuid5

from shared.contracts.events import CancellationIssued, LateShipmentPenalty, OrderAccepted

Kind = Literal["ship_by", "confirm_by"]


@dataclass(frozen=True)
class Timer:
    storefront_id: str
    order_id: str
    seller_id: str
    kind: Kind
    due_date: date
    due_at: datetime


def timers_for(accepted: OrderAccepted) -> list[Timer]:
    """R11, R12: a penalty timer at the end of the ship-by date, a cancellation timer at the end of the
    confirm-by date. R13: when both end at the same instant, only the cancellation exists."""
    ids = (accepted.storefront_id, accepted.order_id, accepted.seller_id)
    cancel = Timer(*ids, "confirm_by", accepted.confirm_by_date, accepted.confirm_by_deadline)
    if accepted.ship_by_deadline >= accepted.confirm_by_deadline:
        return [cancel]
    return [Timer(*ids, "ship_by", accepted.ship_by_date, accepted.ship_by_deadline), cancel]


def voided_by(confirmed_at: datetime, due_at: datetime) -> bool:
    """R15: a confirmation accepted before a deadline voids it, however late it arrives here."""
    return confirmed_at < due_at


def may_fire(due_at: datetime, now: datetime, watermark: datetime | None) -> bool:
    """A deadline fires once it has passed and the orders watermark of its partition has passed it too:
    by then every confirmation accepted before it has been applied here (R15)."""
    return due_at <= now and watermark is not None and due_at <= watermark


def event_for(timer: Timer) -> LateShipmentPenalty | CancellationIssued:
    """The event a fired timer emits. Its id derives from the order and kind: one timer, one event id."""
    ids = {
        "event_id": uuid5(NAMESPACE_URL, f"deadline:{timer.storefront_id}/{timer.order_id}:{timer.kind}"),
        "storefront_id": timer.storefront_id,
        "order_id": timer.order_id,
        "seller_id": timer.seller_id,
    }
    if timer.kind == "ship_by":
        return LateShipmentPenalty(
            deadline=timer.due_at,
            ship_by_date=timer.due_date,
            reason=f"shipment not confirmed by the end of the ship-by date {timer.due_date}",
            **ids,
        )
    return CancellationIssued(
        deadline=timer.due_at,
        confirm_by_date=timer.due_date,
        reason=f"shipment not confirmed within 30 days of the order date (by {timer.due_date}); the seller is not paid",
        **ids,
    )
