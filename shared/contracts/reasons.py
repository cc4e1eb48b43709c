"""Machine-readable reasons a command or an order is rejected, and the rule each one enforces."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RejectionReason(StrEnum):
    # Order placement (R5, R6).
    UNKNOWN_LISTING = "unknown_listing"
    OUT_OF_STOCK = "out_of_stock"
    INSUFFICIENT_QUANTITY = "insufficient_quantity"
    WRONG_SELLER = "wrong_seller"
    INVALID = "invalid"
    DUPLICATE_ORDER = "duplicate_order"
    # Listings (R1).
    LISTING_EXISTS = "listing_exists"
    # Shipment confirmation (R8, R9, R12).
    FORBIDDEN = "forbidden"
    UNKNOWN_ORDER = "unknown_order"
    ORDER_NOT_ACCEPTED = "order_not_accepted"
    ALREADY_SHIPPED = "already_shipped"
    ORDER_CANCELLED = "order_cancelled"
    CONFIRMATION_WINDOW_CLOSED = "confirmation_window_closed"
    SHIP_DATE_OUT_OF_RANGE = "ship_date_out_of_range"

    @property
    def rule(self) -> str:
        """The rule (in the rule book) a rejection for this reason enforces."""
        return _RULES[self]


_RULES = {
    RejectionReason.UNKNOWN_LISTING: "R6",
    RejectionReason.OUT_OF_STOCK: "R2",
    RejectionReason.INSUFFICIENT_QUANTITY: "R3",
    RejectionReason.WRONG_SELLER: "R5",
    RejectionReason.INVALID: "M3",
    RejectionReason.DUPLICATE_ORDER: "R5",
    RejectionReason.LISTING_EXISTS: "R1",
    RejectionReason.FORBIDDEN: "R8",
    RejectionReason.UNKNOWN_ORDER: "R8",
    RejectionReason.ORDER_NOT_ACCEPTED: "R8",
    RejectionReason.ALREADY_SHIPPED: "R9",
    RejectionReason.ORDER_CANCELLED: "R12",
    RejectionReason.CONFIRMATION_WINDOW_CLOSED: "R8",
    RejectionReason.SHIP_DATE_OUT_OF_RANGE: "R8",
}


@dataclass(frozen=True)
class Refusal:
    """A decision not to do what a message asked, with the reason, the rule and words for a person."""

    reason: RejectionReason
    message: str
    rule_override: str | None = None  # when the reason's usual rule is not the one broken
    listing_id: str | None = None

    @property
    def rule(self) -> str:
        return self.rule_override or self.reason.rule
