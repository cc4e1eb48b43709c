"""S6: a seller's performance figures, from the facts of their orders. Pure: no I/O.

Definitions (RULES.md S6), made exact here:
- A window of N days ending now is the N marketplace dates that end with today. An order is counted by
  the marketplace date of the deadline that decides it. Deadlines end at local midnight, so a ship-by
  deadline lies at the start of the day after the ship-by date: the one whose date is today passed at
  midnight. Only deadlines that have passed count (a deadline still ahead decides nothing yet).
- Late-shipment rate (10 and 30 days): orders whose ship-by deadline fell in the window and whose
  shipment was not confirmed before it / orders whose ship-by deadline fell in the window. Target: under 4%.
- Cancellation rate (7 days): orders cancelled by the 30-day rule whose confirm-by deadline fell in the
  window / orders whose confirm-by deadline fell in the window. Target: under 2.5%.
- Valid-tracking rate (30 days): confirmations made in the window (by the marketplace date of their
  acceptance) whose tracking id matched its carrier's format / confirmations in the window whose
  tracking was checked (an unchecked one, from before S5, is neither valid nor invalid). Target: above 95%.
- A window with no orders has no rate: None, not 0%.

Everything is a function of the facts, `now` and the zone, so replaying the same events rebuilds the
same figures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Literal
from zoneinfo import ZoneInfo

from services.orders.dates import local_date


@dataclass(frozen=True)
class OrderFacts:
    """What the metrics need to know about one accepted order."""

    ship_by_deadline: datetime
    confirm_by_deadline: datetime
    confirmed_at: datetime | None = None  # when the orders service accepted the shipment confirmation
    tracking_valid: bool | None = None  # S5; None: not checked
    cancelled: bool = False  # by the 30-day rule (R12), the only way an accepted order is cancelled


@dataclass(frozen=True)
class Target:
    direction: Literal["below", "above"]
    value: Fraction

    def met_by(self, rate: Fraction) -> bool:
        return rate < self.value if self.direction == "below" else rate > self.value


@dataclass(frozen=True)
class Rate:
    key: str
    title: str
    days: int
    numerator: int
    denominator: int
    target: Target
    counts: str  # what the numerator and denominator count, in words

    @property
    def value(self) -> Fraction | None:
        """None when the window holds no orders (S6: no rate, not 0%)."""
        return Fraction(self.numerator, self.denominator) if self.denominator else None

    @property
    def meets_target(self) -> bool | None:
        value = self.value
        return None if value is None else self.target.met_by(value)


LATE_SHIPMENT_TARGET = Target("below", Fraction(4, 100))
CANCELLATION_TARGET = Target("below", Fraction(25, 1000))
VALID_TRACKING_TARGET = Target("above", Fraction(95, 100))
LONGEST_WINDOW_DAYS = 30


def window_dates(now: datetime, zone: ZoneInfo, days: int) -> tuple[date, date]:
    """The first and last marketplace date of the window of `days` days ending now."""
    if days < 1:
        raise ValueError("a window has at least one day")
    today = local_date(now, zone)
    return today - timedelta(days=days - 1), today


def window_start(now: datetime, zone: ZoneInfo, days: int) -> datetime:
    """The first instant of the window's first date in the zone (zoneinfo resolves a midnight that a
    daylight-saving change skips to the first instant that exists that day)."""
    first, _ = window_dates(now, zone, days)
    return datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)


def in_window(instant: datetime, now: datetime, zone: ZoneInfo, days: int) -> bool:
    """Whether `instant` has passed and its marketplace date lies in the window."""
    first, last = window_dates(now, zone, days)
    return instant <= now and first <= local_date(instant, zone) <= last


def earliest_instant(now: datetime, zone: ZoneInfo) -> datetime:
    """The first instant any window can hold: a reader may fetch only facts with an instant between it and now."""
    return window_start(now, zone, LONGEST_WINDOW_DAYS)


def _within(now: datetime, zone: ZoneInfo, days: int) -> Callable[[datetime], bool]:
    """`in_window` for many instants: the same test as two comparisons of instants (an instant's date is
    on or after the first date exactly when the instant is at or after that date's first instant)."""
    start = window_start(now, zone, days)
    return lambda instant: start <= instant <= now


def _count(facts: Iterable[OrderFacts], counted: Callable[[OrderFacts], bool], bad: Callable[[OrderFacts], bool]) -> tuple[int, int]:
    numerator = denominator = 0
    for fact in facts:
        if counted(fact):
            denominator += 1
            numerator += bad(fact)
    return numerator, denominator


def late_shipment_rate(facts: Iterable[OrderFacts], now: datetime, zone: ZoneInfo, days: int) -> Rate:
    within = _within(now, zone, days)
    late, due = _count(
        facts,
        lambda f: within(f.ship_by_deadline),
        lambda f: f.confirmed_at is None or f.confirmed_at >= f.ship_by_deadline,
    )
    return Rate(
        f"late_shipment_{days}d",
        f"Late-shipment rate, {days} days",
        days,
        late,
        due,
        LATE_SHIPMENT_TARGET,
        "orders not confirmed before their ship-by deadline / orders whose ship-by deadline passed",
    )


def cancellation_rate(facts: Iterable[OrderFacts], now: datetime, zone: ZoneInfo, days: int = 7) -> Rate:
    within = _within(now, zone, days)
    cancelled, due = _count(facts, lambda f: within(f.confirm_by_deadline), lambda f: f.cancelled)
    return Rate(
        f"cancellation_{days}d",
        f"Cancellation rate, {days} days",
        days,
        cancelled,
        due,
        CANCELLATION_TARGET,
        "orders cancelled by the 30-day rule / orders whose confirm-by deadline passed",
    )


def valid_tracking_rate(facts: Iterable[OrderFacts], now: datetime, zone: ZoneInfo, days: int = 30) -> Rate:
    within = _within(now, zone, days)
    valid, checked = _count(
        facts,
        lambda f: f.confirmed_at is not None and f.tracking_valid is not None and within(f.confirmed_at),
        lambda f: bool(f.tracking_valid),
    )
    return Rate(
        f"valid_tracking_{days}d",
        f"Valid-tracking rate, {days} days",
        days,
        valid,
        checked,
        VALID_TRACKING_TARGET,
        "confirmations with a valid tracking id / confirmations",
    )


def seller_metrics(facts: Iterable[OrderFacts], now: datetime, zone: ZoneInfo) -> list[Rate]:
    """The four figures of the performance page, in the order sellers know them."""
    every = list(facts)
    return [
        late_shipment_rate(every, now, zone, 10),
        late_shipment_rate(every, now, zone, 30),
        cancellation_rate(every, now, zone, 7),
        valid_tracking_rate(every, now, zone, 30),
    ]
