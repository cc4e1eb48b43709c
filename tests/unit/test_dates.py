"""R7, T1, T2: order date, ship-by and confirm-by dates and the instants they end, over real zone rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.orders.dates import end_of_day, fix_deadlines, local_date

pytestmark = pytest.mark.unit

ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
zones = st.sampled_from(ZONES).map(ZoneInfo)
instants = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC))
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 1, 1))


@given(day=days, zone=zones)
def test_T2_end_of_day_is_the_first_instant_of_the_next_local_day(day: date, zone: ZoneInfo) -> None:
    end = end_of_day(day, zone)
    assert end.tzinfo is UTC
    assert end.astimezone(zone).date() == day + timedelta(days=1)
    assert (end - timedelta(microseconds=1)).astimezone(zone).date() == day


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/Berlin", date(2026, 3, 29), 23),  # spring forward
        ("Europe/Berlin", date(2026, 10, 25), 25),  # fall back
        ("America/New_York", date(2026, 3, 8), 23),
        ("America/Sao_Paulo", date(2018, 11, 4), 23),  # midnight itself was skipped
        ("America/Havana", date(2023, 11, 5), 25),  # midnight happened twice
    ],
)
def test_T2_dst_days_are_23_or_25_hours_long(zone: str, day: date, hours: int) -> None:
    tz = ZoneInfo(zone)
    assert end_of_day(day, tz) - end_of_day(day - timedelta(days=1), tz) == timedelta(hours=hours)


@given(placed_at=instants, zone=zones, production_days=st.integers(1, 30))
def test_R7_ship_by_and_confirm_by_dates_follow_the_order_date(placed_at: datetime, zone: ZoneInfo, production_days: int) -> None:
    fixed = fix_deadlines(placed_at, production_days, zone)
    assert fixed.order_date == placed_at.astimezone(zone).date()
    assert fixed.ship_by_date == fixed.order_date + timedelta(days=production_days)
    assert fixed.confirm_by_date == fixed.order_date + timedelta(days=30)
    assert fixed.ship_by_deadline == end_of_day(fixed.ship_by_date, zone)
    assert fixed.confirm_by_deadline == end_of_day(fixed.confirm_by_date, zone)
    assert placed_at < fixed.ship_by_deadline <= fixed.confirm_by_deadline
    # R13's premise: the two deadlines coincide exactly when production takes 30 days.
    assert (fixed.ship_by_deadline == fixed.confirm_by_deadline) == (production_days == 30)


def test_T1_the_order_date_is_the_date_in_the_marketplace_zone() -> None:
    late_evening_in_new_york = datetime(2026, 1, 15, 3, 30, tzinfo=UTC)  # 22:30 on the 14th there
    assert local_date(late_evening_in_new_york, ZoneInfo("America/New_York")) == date(2026, 1, 14)
    assert local_date(late_evening_in_new_york, ZoneInfo("UTC")) == date(2026, 1, 15)


def test_T1_a_timestamp_without_an_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        local_date(datetime(2026, 1, 15, 3, 30), ZoneInfo("UTC"))


@pytest.mark.parametrize("production_days", [0, 31])
def test_R7_production_time_outside_1_to_30_days_is_refused(production_days: int) -> None:
    with pytest.raises(ValueError):
        fix_deadlines(datetime(2026, 1, 1, tzinfo=UTC), production_days, ZoneInfo("UTC"))
