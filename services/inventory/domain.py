"""Inventory decisions, free of I/O: listing edits (R1, R2, R4) and all-or-nothing reservations (R3, R6)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from shared.contracts.commands import CreateListing, OrderLine, UpdateListing
from shared.contracts.reasons import Refusal, RejectionReason


@dataclass(frozen=True)
class Listing:
    listing_id: str
    seller_id: str
    quantity: int  # units the seller can make within the production time; 0 = out of stock (R2)
    production_days: int


@dataclass(frozen=True)
class Reservation:
    """The listings after taking every line's units, and what each line took."""

    listings: tuple[Listing, ...]
    lines: tuple[tuple[str, int, int], ...]  # (listing id, quantity, production days at reservation)


@dataclass(frozen=True)
class LineFailure:
    listing_id: str
    reason: RejectionReason
    message: str


@dataclass(frozen=True)
class Unreservable:
    """Why an order cannot be reserved: every failing listing, in the order's line order (R6)."""

    failures: tuple[LineFailure, ...]

    @property
    def first(self) -> LineFailure:
        return self.failures[0]

    @property
    def rule(self) -> str:
        return self.first.reason.rule


def create_listing(existing: Listing | None, command: CreateListing) -> Listing | Refusal:
    if existing is not None:
        if existing.seller_id != command.seller_id:
            return Refusal(RejectionReason.FORBIDDEN, f"listing {command.listing_id} belongs to another seller", "R1", command.listing_id)
        return Refusal(RejectionReason.LISTING_EXISTS, f"listing {command.listing_id} already exists; update it instead", listing_id=command.listing_id)
    return Listing(command.listing_id, command.seller_id, command.quantity, command.production_days)


def update_listing(existing: Listing | None, command: UpdateListing) -> Listing | Refusal:
    if existing is None:
        return Refusal(RejectionReason.UNKNOWN_LISTING, f"listing {command.listing_id} does not exist", listing_id=command.listing_id)
    if existing.seller_id != command.seller_id:
        return Refusal(RejectionReason.FORBIDDEN, f"listing {command.listing_id} belongs to another seller", "R1", command.listing_id)
    # R4: a new production time only affects orders reserved after this edit.
    return replace(
        existing,
        quantity=existing.quantity if command.quantity is None else command.quantity,
        production_days=existing.production_days if command.production_days is None else command.production_days,
    )


def reserve(seller_id: str, lines: Iterable[OrderLine], listings: Mapping[str, Listing]) -> Reservation | Unreservable:
    """Take every line's units or none (R6); a quantity never goes below zero (R3)."""
    wanted: Counter[str] = Counter()
    for line in lines:
        wanted[line.listing_id] += line.quantity  # the same listing on two lines needs both
    failures = tuple(f for i, q in wanted.items() if (f := _line_failure(seller_id, i, q, listings.get(i))) is not None)
    if failures:
        return Unreservable(failures)
    return Reservation(
        listings=tuple(replace(listings[i], quantity=listings[i].quantity - q) for i, q in wanted.items()),
        lines=tuple((i, q, listings[i].production_days) for i, q in wanted.items()),
    )


def _line_failure(seller_id: str, listing_id: str, quantity: int, listing: Listing | None) -> LineFailure | None:
    if listing is None:
        return LineFailure(listing_id, RejectionReason.UNKNOWN_LISTING, f"listing {listing_id} does not exist")
    if listing.seller_id != seller_id:
        return LineFailure(listing_id, RejectionReason.WRONG_SELLER, f"listing {listing_id} is not sold by {seller_id}")
    if listing.quantity == 0:
        return LineFailure(listing_id, RejectionReason.OUT_OF_STOCK, f"listing {listing_id} is out of stock")
    if listing.quantity < quantity:
        return LineFailure(
            listing_id, RejectionReason.INSUFFICIENT_QUANTITY, f"listing {listing_id} has {listing.quantity} left, the order needs {quantity}"
        )
    return None


def restore(lines: Iterable[tuple[str, int]], listings: Mapping[str, Listing]) -> tuple[Listing, ...]:
    """Give a cancelled order's units back (R14). Capacity is capped at the listing maximum."""
    back: Counter[str] = Counter()
    for listing_id, quantity in lines:
        back[listing_id] += quantity
    return tuple(
        replace(listings[i], quantity=min(listings[i].quantity + q, 100_000)) for i, q in back.items() if i in listings
    )
