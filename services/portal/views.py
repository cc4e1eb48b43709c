"""What a seller reads about an order or an answer: flags, time left, dates explained. Pure: no I/O.

The services decide; these functions only put their decisions, and the dates fixed at acceptance (R7),
into words. "Late" and "at risk" are read off the deadlines and the warnings (S4), never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.orders.dates import CONFIRM_WITHIN_DAYS
from shared.contracts.reasons import RejectionReason

KIND_WORDS = {"ship_by": "ship-by", "confirm_by": "confirm-by"}


@dataclass(frozen=True)
class Flags:
    late: bool  # unshipped and its ship-by deadline has passed: confirming now is a late shipment
    at_risk: bool  # a deadline.approaching warning (S4) for a deadline still ahead
    warned: tuple[str, ...]  # the kinds of deadline a warning came for, still ahead


def flags(order: Mapping[str, Any], warnings: Iterable[Mapping[str, Any]], now: datetime) -> Flags:
    if order["status"] != "unshipped":
        return Flags(False, False, ())
    late = order["ship_by_deadline"] is not None and now >= order["ship_by_deadline"]
    warned = tuple(w["deadline_kind"] for w in warnings if w["deadline"] > now)
    return Flags(late, bool(warned), warned)


def time_left(deadline: datetime | None, now: datetime) -> str:
    """"3 d 4 h left", "45 min left", "passed 2 d ago"."""
    if deadline is None:
        return ""
    remaining = deadline - now
    if remaining <= timedelta(0):
        return f"passed {_span(-remaining)} ago"
    return f"{_span(remaining)} left"


def _span(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{max(minutes, 1)} min" if span >= timedelta(seconds=30) else "less than a minute"


def local(instant: datetime | None, zone: ZoneInfo) -> str:
    """An instant as the marketplace's wall clock shows it, with the zone's abbreviation."""
    if instant is None:
        return ""
    shown = instant.astimezone(zone)
    return f"{shown:%Y-%m-%d %H:%M} {shown.tzname()}"


def explain_dates(order: Mapping[str, Any], zone: ZoneInfo) -> list[str]:
    """The order's dates, and what happens when each deadline passes (R7, R8, R11, R12)."""
    if order["order_date"] is None:
        return ["This order has no ship-by or confirm-by date: only accepted orders get them."]
    order_zone = order["timezone"] or zone.key
    production = (order["ship_by_date"] - order["order_date"]).days
    return [
        f"Ordered at {local(order['placed_at'], ZoneInfo(order_zone))}: the order date is {order['order_date']} "
        f"in the marketplace time zone {order_zone}.",
        f"Ship-by date {order['ship_by_date']} = order date + {production} days, the production time of its listing "
        "when it was accepted (the longest among its lines). It is fixed: a later edit of the listing does not move it.",
        f"Confirm-by date {order['confirm_by_date']} = order date + {CONFIRM_WITHIN_DAYS} days.",
        f"Each date ends at local midnight: ship by the end of {order['ship_by_date']} "
        f"({local(order['ship_by_deadline'], zone)}), confirm by the end of {order['confirm_by_date']} "
        f"({local(order['confirm_by_deadline'], zone)}).",
        "If shipment is not confirmed before the ship-by deadline, the order is marked late once (a late-shipment "
        "penalty); it can still be confirmed, as a late shipment.",
        f"If shipment is not confirmed before the confirm-by deadline, the order is cancelled ({CONFIRM_WITHIN_DAYS}-day rule), "
        "its units go back to the listing and you are not paid, even if you shipped it.",
    ]


# Words for sellers for each reason a command can be refused (the service's own message follows).
REASON_WORDS: dict[str, str] = {
    RejectionReason.FORBIDDEN: "This belongs to another seller.",
    RejectionReason.UNKNOWN_ORDER: "There is no such order.",
    RejectionReason.ORDER_NOT_ACCEPTED: "The order was not accepted (it is pending or was rejected), so it cannot ship.",
    RejectionReason.SHIP_DATE_OUT_OF_RANGE: "The ship date must lie between the order date and today.",
    RejectionReason.CONFIRMATION_WINDOW_CLOSED: "The confirm-by date has passed: the order is cancelled and you are not paid.",
    RejectionReason.ALREADY_SHIPPED: "This order was already confirmed as shipped.",
    RejectionReason.ORDER_CANCELLED: "The order was cancelled by the 30-day rule; you are not paid for it, even if you shipped it.",
    RejectionReason.INVALID: "The request was not valid.",
    RejectionReason.LISTING_EXISTS: "A listing with this id exists already.",
    RejectionReason.UNKNOWN_LISTING: "There is no such listing.",
}


@dataclass(frozen=True)
class AnswerView:
    state: str  # pending, confirmed, confirmed_late, updated, created, refused
    title: str
    details: tuple[str, ...]


def answer(command: Mapping[str, Any]) -> AnswerView:
    """The answer to a command this portal sent, or that it is still on its way (M5)."""
    kind = command["answer_type"]
    if kind is None:
        return AnswerView("pending", "Sent, waiting for the answer", ("This page refreshes itself until the answer arrives.",))
    if kind == "command.rejected":
        words = REASON_WORDS.get(command["reason"], "The request was refused.")
        return AnswerView("refused", "Refused", (words, f"{command['message']} (rule {command['rule']}, reason {command['reason']})"))
    if kind == "shipment.confirmed":
        details = []
        if command["late"]:
            details.append("The ship-by deadline had passed, so this counts as a late shipment.")
        if command["tracking_valid"] is False:
            details.append(
                "The tracking id does not match the carrier's published formats. The shipment is confirmed, "
                "but it counts against your valid-tracking rate."
            )
        elif command["tracking_valid"]:
            details.append("The tracking id matches the carrier's format.")
        return AnswerView("confirmed_late" if command["late"] else "confirmed", "Confirmed late" if command["late"] else "Confirmed", tuple(details))
    if kind == "listing.updated":
        return AnswerView("updated", "Listing updated", ())
    if kind == "listing.created":
        return AnswerView("created", "Listing created", ())
    return AnswerView("applied", "Applied", ())
