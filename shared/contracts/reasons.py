"""Machine-readable reasons a command or an order is rejected (R6, R8, R9, R12, M3)."""

from enum import StrEnum


class RejectionReason(StrEnum):
    # Order placement (R6).
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
