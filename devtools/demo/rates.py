"""S6: a seller's late-shipment, cancellation and valid-tracking rates, from the facts of its orders, as
the demo gathers them from the events. The rates themselves are the seller portal's own functions
(services/portal/metrics.py), so the dashboard and the portal can never disagree. No I/O.

The rule book's definitions (RULES.md S6):
- a window of N days ending now holds the N marketplace dates ending today (T1); an order counts on
  the date of the deadline that decides it, and only once that deadline has passed;
- late-shipment rate (10 and 30 days): orders whose ship-by deadline fell in the window and were not
  confirmed before it / orders whose ship-by deadline fell in the window (target: under 4%);
- cancellation rate (7 days): orders cancelled by the 30-day rule whose confirm-by deadline fell in
  the window / orders whose confirm-by deadline fell in the window (target: under 2.5%);
- valid-tracking rate (30 days): confirmations in the window with a valid tracking id / confirmations
  in the window whose id was checked (target: over 95%);
- a window with no orders has no rate (None), not 0%.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from services.portal.metrics import Rate, cancellation_rate, late_shipment_rate, valid_tracking_rate, window_start

__all__ = ["OrderFacts", "Rate", "SellerRates", "cancellation_rate", "late_shipment_rate", "seller_rates", "still_counted", "valid_tracking_rate"]


@dataclass
class OrderFacts:
    """What the rates need to know about one accepted order; filled in as its events arrive."""

    seller_id: str
    ship_by_deadline: datetime
    confirm_by_deadline: datetime
    confirmed_at: datetime | None = None  # when the orders service accepted the confirmation (R8)
    tracking_valid: bool | None = None  # S5; None: not checked
    cancelled: bool = False  # by the 30-day rule (R12)

    @property
    def late(self) -> bool:
        """Not confirmed before the end of the ship-by date (R11)."""
        return self.confirmed_at is None or self.confirmed_at >= self.ship_by_deadline


@dataclass(frozen=True)
class SellerRates:
    late_10d: Rate
    late_30d: Rate
    cancelled_7d: Rate
    valid_tracking_30d: Rate


def seller_rates(facts: Iterable[OrderFacts], now: datetime, zone: ZoneInfo) -> SellerRates:
    every = list(facts)
    return SellerRates(
        late_shipment_rate(every, now, zone, 10),
        late_shipment_rate(every, now, zone, 30),
        cancellation_rate(every, now, zone, 7),
        valid_tracking_rate(every, now, zone, 30),
    )


def still_counted(fact: OrderFacts, now: datetime, zone: ZoneInfo) -> bool:
    """Whether a window may still hold the order (its facts can be forgotten otherwise)."""
    start = window_start(now, zone, 30)
    return max(fact.confirm_by_deadline, fact.confirmed_at or fact.ship_by_deadline) >= start
