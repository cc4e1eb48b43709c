"""Deadline decisions, free of I/O: which timers an accepted order gets (R11-R13, S4), which of them a
confirmation or a cancellation voids (R15), and what a timer says when it fires.

When a timer may fire (its instant and its partition's watermark both passed, R15) is decided where
the timers are claimed, in SQL: services/deadlines/storage.py `claim_due`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from shared.contracts.envelope import derived_id
from shared.contracts.events import CancellationIssued, DeadlineApproaching, LateShipmentPenalty, OrderAccepted

Kind = Literal["ship_by", "confirm_by", "ship_by_warning", "confirm_by_warning"]
Status = Literal["pending", "fired", "void", "failed"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the earliest instant a message can carry (shared/contracts/envelope.py)


@dataclass(frozen=True)
class Timer:
    storefront_id: str
    order_id: str
    seller_id: str
    kind: Kind
    due_date: date  # the calendar date of the deadline, in the marketplace zone
    deadline: datetime  # the instant that date ends (T2)
    due_at: datetime  # when the timer fires: the deadline, or the lead time before it for a warning
    status: Status = "pending"

    @property
    def deadline_kind(self) -> Literal["ship_by", "confirm_by"]:
        return "ship_by" if self.kind.startswith("ship_by") else "confirm_by"


def timers_for(accepted: OrderAccepted, warning_lead: timedelta = timedelta(0)) -> list[Timer]:
    """R11, R12: a penalty timer at the end of the ship-by date, a cancellation timer at the end of the
    confirm-by date. R13: when both end at the same instant, only the cancellation exists. S4: with a
    lead time, a warning that long before each deadline that exists."""
    ids = (accepted.storefront_id, accepted.order_id, accepted.seller_id)
    cancel = Timer(*ids, "confirm_by", accepted.confirm_by_date, accepted.confirm_by_deadline, accepted.confirm_by_deadline)
    deadlines = [cancel]
    if accepted.ship_by_deadline < accepted.confirm_by_deadline:
        deadlines.insert(0, Timer(*ids, "ship_by", accepted.ship_by_date, accepted.ship_by_deadline, accepted.ship_by_deadline))
    if warning_lead <= timedelta(0):
        return deadlines
    warnings = [replace(t, kind=f"{t.kind}_warning", due_at=max(t.deadline - warning_lead, EPOCH)) for t in deadlines]  # type: ignore[arg-type]
    return deadlines + warnings


def voided_by(confirmed_at: datetime, timer: Timer) -> bool:
    """R15: a confirmation accepted before a deadline voids it (and its warning), however late it
    arrives here; one accepted at or after the deadline leaves it (R11: still late)."""
    return confirmed_at < timer.deadline


@dataclass(frozen=True)
class Voiding:
    voided: list[Timer]
    # Timers that fired although a confirmation beat their deadline: R15 says this never happens.
    fired_too_early: list[Timer]


def on_confirmation(timers: list[Timer], confirmed_at: datetime) -> Voiding:
    beaten = [t for t in timers if voided_by(confirmed_at, t)]
    return Voiding(
        voided=[replace(t, status="void") for t in beaten if t.status == "pending"],
        fired_too_early=[t for t in beaten if t.status == "fired" and not t.kind.endswith("_warning")],
    )


def on_cancellation(timers: list[Timer]) -> list[Timer]:
    """A cancelled order's pending timers will never matter again."""
    return [replace(t, status="void") for t in timers if t.status == "pending"]


def event_for(timer: Timer) -> LateShipmentPenalty | CancellationIssued | DeadlineApproaching:
    """The event a fired timer emits. Its id derives from the order and kind: one timer, one event id,
    however often it is published (a crash between publishing and committing publishes it again)."""
    ids = {
        "event_id": derived_id(f"deadline:{timer.storefront_id}/{timer.order_id}:{timer.kind}"),
        "occurred_at": timer.due_at,
        "storefront_id": timer.storefront_id,
        "order_id": timer.order_id,
        "seller_id": timer.seller_id,
    }
    if timer.kind == "ship_by":
        return LateShipmentPenalty(
            deadline=timer.deadline,
            ship_by_date=timer.due_date,
            reason=f"shipment not confirmed by the end of the ship-by date {timer.due_date}",
            **ids,
        )
    if timer.kind == "confirm_by":
        return CancellationIssued(
            deadline=timer.deadline,
            confirm_by_date=timer.due_date,
            reason=f"shipment not confirmed within 30 days of the order date (by {timer.due_date}); the seller is not paid",
            **ids,
        )
    return DeadlineApproaching(
        deadline_kind=timer.deadline_kind,
        deadline=timer.deadline,
        due_date=timer.due_date,
        lead_seconds=int((timer.deadline - timer.due_at).total_seconds()),
        **ids,
    )
