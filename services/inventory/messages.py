"""Every message the inventory service emits, built from its domain objects: the answers to listing
commands (M5), the outcome of each order's reservation, restorations, and listing state records (S1)."""

from __future__ import annotations

from datetime import datetime

from services.inventory.domain import Listing, Reservation, Unreservable
from shared.contracts import commands, events
from shared.contracts.state import ListingStateRecord


def listing_created(listing: Listing, command: commands.CreateListing, now: datetime) -> events.ListingCreated:
    return events.ListingCreated(occurred_at=now, command_id=command.command_id, **_fields(listing))


def listing_updated(listing: Listing, command: commands.UpdateListing, now: datetime) -> events.ListingUpdated:
    return events.ListingUpdated(occurred_at=now, command_id=command.command_id, **_fields(listing))


def stock_reserved(placed: events.OrderPlaced, reservation: Reservation, now: datetime) -> events.StockReserved:
    lines = [events.ReservedLine(listing_id=i, quantity=q, production_days=d) for i, q, d in reservation.lines]
    return events.StockReserved(occurred_at=now, lines=lines, **_order(placed))


def reservation_failed(placed: events.OrderPlaced, refused: Unreservable, now: datetime) -> events.StockReservationFailed:
    first = refused.first
    return events.StockReservationFailed(
        occurred_at=now,
        reason=first.reason,
        message=first.message,
        listing_id=first.listing_id,
        rule=refused.rule,
        failed_lines=[events.FailedLine(listing_id=f.listing_id, reason=f.reason, message=f.message) for f in refused.failures],
        **_order(placed),
    )


def stock_restored(cancelled: events.OrderCancelled, lines: list[tuple[str, int]], now: datetime) -> events.StockRestored:
    return events.StockRestored(occurred_at=now, lines=[commands.OrderLine(listing_id=i, quantity=q) for i, q in lines], **_order(cancelled))


def listing_state(listing: Listing, version: int, now: datetime) -> ListingStateRecord:
    return ListingStateRecord(occurred_at=now, out_of_stock=listing.quantity == 0, version=version, **_fields(listing))


def _fields(listing: Listing) -> dict[str, object]:
    return dict(vars(listing))  # the domain's listing has the contract's field names


def _order(event: events.OrderEvent) -> dict[str, str]:
    return {"storefront_id": event.storefront_id, "order_id": event.order_id, "seller_id": event.seller_id}
