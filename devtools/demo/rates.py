"""S6: a seller's late-shipment, cancellation and valid-tracking rates, from the facts of its orders. No I/O.

The rule book's definitions (RULES.md S6), as the seller portal's metrics compute them too (until the
two are made one):
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

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.orders.dates import local_date


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
class Rate:
    numerator: int
    denominator: int
    target: float
    below: bool  # the rate should stay below the target (else above it)

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def meets_target(self) -> bool | None:
        value = self.value
        return None if value is None else (value < self.target if self.below else value > self.target)


def window_start(now: datetime, zone: ZoneInfo, days: int) -> datetime:
    """The first instant of the first of the `days` marketplace dates ending today."""
    first = local_date(now, zone) - timedelta(days=days - 1)
    return datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)


def _rate(facts: Iterable[OrderFacts], when: Callable[[OrderFacts], datetime | None], counts: Callable[[OrderFacts], bool], start: datetime, now: datetime, target: float, *, below: bool = True) -> Rate:  # fmt: skip
    """Of the facts whose deciding instant (`when`) lies between `start` and now, how many `counts`."""
    decided = [f for f in facts if (instant := when(f)) is not None and start <= instant <= now]
    return Rate(sum(1 for f in decided if counts(f)), len(decided), target, below)


def late_shipment_rate(facts: Iterable[OrderFacts], now: datetime, zone: ZoneInfo, days: int) -> Rate:
    return _rate(facts, lambda f: f.ship_by_deadline, lambda f: f.late, window_start(now, zone, days), now, 0.04)


def cancellation_rate(facts: Iterable[OrderFacts], now: datetime, zone: ZoneInfo, days: int = 7) -> Rate:
    return _rate(facts, lambda f: f.confirm_by_deadline, lambda f: f.cancelled, window_start(now, zone, days), now, 0.025)


def valid_tracking_rate(facts: Iterable[OrderFacts], now: datetime, zone: ZoneInfo, days: int = 30) -> Rate:
    checked = [f for f in facts if f.tracking_valid is not None]
    start = window_start(now, zone, days)
    return _rate(checked, lambda f: f.confirmed_at, lambda f: bool(f.tracking_valid), start, now, 0.95, below=False)


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
