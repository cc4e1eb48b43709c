"""S6 as the demo computes it: windows of marketplace dates ending today, each order counted on the date
of the deadline that decides it, only once that deadline passed; no orders, no rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devtools.demo.rates import (
    OrderFacts,
    cancellation_rate,
    late_shipment_rate,
    seller_rates,
    still_counted,
    valid_tracking_rate,
    window_start,
)

pytestmark = pytest.mark.unit

UTC_ZONE = ZoneInfo("UTC")
NOW = datetime(2026, 3, 20, 15, tzinfo=UTC)  # 20 March: a 10-day window holds 11 to 20 March


def order(ship_by: datetime, *, confirmed: datetime | None = None, confirm_by: datetime | None = None, cancelled: bool = False, valid: bool | None = None) -> OrderFacts:  # fmt: skip
    return OrderFacts("seller-a", ship_by, confirm_by or ship_by + timedelta(days=20), confirmed, valid, cancelled)


def day(d: int, hour: int = 0) -> datetime:
    return datetime(2026, 3, d, hour, tzinfo=UTC)


def test_S6_a_window_with_no_orders_has_no_rate() -> None:
    rates = seller_rates([], NOW, UTC_ZONE)
    assert rates.late_10d.value is None and rates.late_10d.meets_target is None
    assert rates.cancelled_7d.value is None and rates.valid_tracking_30d.value is None


def test_S6_late_shipment_rate_counts_orders_whose_ship_by_deadline_fell_in_the_window() -> None:
    facts = [
        order(day(11), confirmed=day(11) - timedelta(microseconds=1)),  # first date of the window, confirmed just before
        order(day(12), confirmed=day(12)),  # confirmed at the deadline: late (R11)
        order(day(15)),  # never confirmed: late
        order(day(10, 23), confirmed=day(12)),  # 10 March: outside the 10-day window, inside the 30-day one
        order(day(21)),  # deadline still ahead: decides nothing yet
        order(day(20, 16)),  # today, but after now
    ]
    ten = late_shipment_rate(facts, NOW, UTC_ZONE, 10)
    assert (ten.numerator, ten.denominator) == (2, 3) and ten.meets_target is False
    thirty = late_shipment_rate(facts, NOW, UTC_ZONE, 30)
    assert (thirty.numerator, thirty.denominator) == (3, 4)


def test_S6_the_window_is_made_of_marketplace_dates() -> None:
    zone = ZoneInfo("America/New_York")  # UTC-4 in late March
    # 11 March 02:00 UTC is still 10 March in New York: outside a 10-day window there, inside one in UTC.
    facts = [order(day(11, 2))]
    assert late_shipment_rate(facts, NOW, zone, 10).denominator == 0
    assert late_shipment_rate(facts, NOW, UTC_ZONE, 10).denominator == 1
    assert window_start(NOW, zone, 10) == datetime(2026, 3, 11, 4, tzinfo=UTC)


def test_S6_cancellation_rate_over_seven_days_by_the_confirm_by_deadline() -> None:
    facts = [
        order(day(1), confirm_by=day(14), cancelled=True),  # 14 March: first date of the window
        order(day(1), confirm_by=day(18), confirmed=day(2)),
        order(day(1), confirm_by=day(19), confirmed=day(2)),
        order(day(1), confirm_by=day(13), cancelled=True),  # 13 March: outside
    ]
    rate = cancellation_rate(facts, NOW, UTC_ZONE)
    assert (rate.numerator, rate.denominator) == (1, 3) and rate.meets_target is False
    assert cancellation_rate(facts[1:3], NOW, UTC_ZONE).meets_target is True  # 0% < 2.5%


def test_S6_valid_tracking_rate_over_confirmations_that_were_checked() -> None:
    facts = [
        order(day(25), confirmed=day(18), valid=True),
        order(day(25), confirmed=day(18), valid=False),
        order(day(25), confirmed=day(19), valid=None),  # not checked (before S5): neither
        order(day(25), confirmed=day(18)),
    ]
    rate = valid_tracking_rate(facts, NOW, UTC_ZONE)
    assert (rate.numerator, rate.denominator) == (1, 2) and rate.value == 0.5 and rate.meets_target is False


def test_facts_are_kept_while_a_window_may_hold_them() -> None:
    recent = order(day(1), confirm_by=day(19))
    old = order(day(1) - timedelta(days=60), confirm_by=day(1) - timedelta(days=40))
    assert still_counted(recent, NOW, UTC_ZONE) and not still_counted(old, NOW, UTC_ZONE)
