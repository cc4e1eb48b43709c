"""Calendar rules, free of I/O: order date, ship-by and confirm-by dates and the instants they end (T1, T2, R7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CONFIRM_WITHIN_DAYS = 30  # R7: confirm-by date = order date + 30 days


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The calendar date of an instant in the marketplace zone (T1)."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware (T1)")
    return instant.astimezone(zone).date()


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of the next day in `zone`, in UTC: "on or before `day`" means before it (T2).

    Midnight at a DST change is handled by zoneinfo: a skipped midnight (fold=0) resolves to the
    first instant that exists on that day, a repeated one to its first occurrence.
    """
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Deadlines:
    order_date: date
    ship_by_date: date
    confirm_by_date: date
    ship_by_deadline: datetime
    confirm_by_deadline: datetime


def fix_deadlines(placed_at: datetime, production_days: int, zone: ZoneInfo) -> Deadlines:
    """R7: ship-by = order date + production days (the largest of the order's lines);
    confirm-by = order date + 30 days; both end at the end of their day in the marketplace zone."""
    if not 1 <= production_days <= 30:
        raise ValueError(f"production time must be 1-30 days, got {production_days}")
    ordered = local_date(placed_at, zone)
    ship_by = ordered + timedelta(days=production_days)
    confirm_by = ordered + timedelta(days=CONFIRM_WITHIN_DAYS)
    return Deadlines(ordered, ship_by, confirm_by, end_of_day(ship_by, zone), end_of_day(confirm_by, zone))
