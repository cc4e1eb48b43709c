"""S6: seller metrics over windows ending now, counted by the marketplace date of the deciding deadline."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.orders.dates import end_of_day
from services.portal.metrics import (
    OrderFacts,
    cancellation_rate,
    earliest_instant,
    in_window,
    late_shipment_rate,
    seller_metrics,
    valid_tracking_rate,
    window_dates,
    window_start,
)

pytestmark = pytest.mark.unit

UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 20, 15, 30, tzinfo=UTC)  # today = 2026-03-20


def order(ship_by: date, zone: ZoneInfo = UTC_ZONE, **facts: object) -> OrderFacts:
    """An order whose ship-by date is `ship_by` and confirm-by date 10 days later, ending at local midnight."""
    return OrderFacts(end_of_day(ship_by, zone), end_of_day(ship_by + timedelta(days=10), zone), **facts)  # type: ignore[arg-type]


def test_S6_a_window_with_no_orders_has_no_rate() -> None:
    for rate in seller_metrics([], NOW, UTC_ZONE):
        assert rate.denominator == 0
        assert rate.value is None
        assert rate.meets_target is None


def test_S6_the_window_is_the_last_n_marketplace_dates_ending_today() -> None:
    assert window_dates(NOW, UTC_ZONE, 10) == (date(2026, 3, 11), date(2026, 3, 20))
    # 23:30 UTC on the 20th is already the 21st in Berlin.
    assert window_dates(datetime(2026, 3, 20, 23, 30, tzinfo=UTC), BERLIN, 1) == (date(2026, 3, 21), date(2026, 3, 21))


def test_S6_an_order_counts_by_the_date_its_ship_by_deadline_falls_on() -> None:
    # Ship-by 2026-03-19 ends at midnight starting the 20th: its deadline fell today.
    today = order(date(2026, 3, 19))
    first_day = order(date(2026, 3, 10))  # deadline on the 11th: the window's first day
    before = order(date(2026, 3, 9))  # deadline on the 10th: outside a 10-day window
    ahead = order(date(2026, 3, 20))  # deadline tonight: has not passed, decides nothing yet
    rate = late_shipment_rate([today, first_day, before, ahead], NOW, UTC_ZONE, 10)
    assert (rate.numerator, rate.denominator) == (2, 2)
    assert late_shipment_rate([before], NOW, UTC_ZONE, 30).denominator == 1


def test_S6_late_means_not_confirmed_before_the_ship_by_deadline() -> None:
    deadline = end_of_day(date(2026, 3, 15), UTC_ZONE)
    just_in_time = order(date(2026, 3, 15), confirmed_at=deadline - timedelta(microseconds=1))
    at_deadline = order(date(2026, 3, 15), confirmed_at=deadline)
    never = order(date(2026, 3, 15))
    cancelled = order(date(2026, 3, 15), cancelled=True)
    rate = late_shipment_rate([just_in_time, at_deadline, never, cancelled], NOW, UTC_ZONE, 10)
    assert (rate.numerator, rate.denominator) == (3, 4)
    assert rate.value == Fraction(3, 4)
    assert rate.meets_target is False


def test_S6_windows_follow_the_zone_across_a_daylight_saving_change() -> None:
    # Berlin moves to summer time on 2026-03-29: that day is 23 hours long.
    now = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # 10:00 in Berlin on the 30th
    at_start = order(date(2026, 3, 20), BERLIN)  # deadline at 00:00 on the 21st, Berlin: first day of 10
    outside = order(date(2026, 3, 19), BERLIN)
    over_the_change = order(date(2026, 3, 29), BERLIN)  # deadline at 00:00 on the 30th (22:00 UTC on the 29th)
    rate = late_shipment_rate([at_start, outside, over_the_change], now, BERLIN, 10)
    assert rate.denominator == 2
    assert in_window(end_of_day(date(2026, 3, 29), BERLIN), now, BERLIN, 1)


def test_S6_cancellation_rate_counts_by_the_confirm_by_deadline() -> None:
    # Confirm-by dates 2026-03-13 .. 2026-03-20 (ship-by 10 days earlier); the 7-day window holds deadlines
    # on the 14th .. 20th, i.e. confirm-by dates 13 .. 19.
    orders = [order(date(2026, 3, d - 10), cancelled=d == 15) for d in range(13, 21)]
    rate = cancellation_rate(orders, NOW, UTC_ZONE)
    assert (rate.numerator, rate.denominator) == (1, 7)
    assert rate.meets_target is False


def test_S6_valid_tracking_counts_checked_confirmations_of_the_last_30_days() -> None:
    at = NOW - timedelta(days=3)
    orders = [
        order(date(2026, 3, 1), confirmed_at=at, tracking_valid=True),
        order(date(2026, 3, 1), confirmed_at=at, tracking_valid=False),
        order(date(2026, 3, 1), confirmed_at=at, tracking_valid=None),  # not checked: not counted
        order(date(2026, 1, 1), confirmed_at=NOW - timedelta(days=40), tracking_valid=False),  # too old
        order(date(2026, 3, 1)),  # not confirmed
    ]
    rate = valid_tracking_rate(orders, NOW, UTC_ZONE)
    assert (rate.numerator, rate.denominator) == (1, 2)
    assert rate.meets_target is False


@pytest.mark.parametrize(
    ("late", "due", "meets"),
    [(0, 1, True), (4, 100, False), (399, 10_000, True), (1, 25, False)],
)
def test_S6_late_shipment_target_is_under_4_percent(late: int, due: int, meets: bool) -> None:
    deadline_day = date(2026, 3, 15)
    orders = [order(deadline_day) for _ in range(late)] + [
        order(deadline_day, confirmed_at=NOW - timedelta(days=30)) for _ in range(due - late)
    ]
    assert late_shipment_rate(orders, NOW, UTC_ZONE, 10).meets_target is meets


def test_S6_targets_of_cancellation_and_valid_tracking() -> None:
    confirm = NOW - timedelta(days=1)
    valid_95 = [order(date(2026, 3, 1), confirmed_at=confirm, tracking_valid=i < 95) for i in range(100)]
    valid_96 = [order(date(2026, 3, 1), confirmed_at=confirm, tracking_valid=i < 96) for i in range(100)]
    assert valid_tracking_rate(valid_95, NOW, UTC_ZONE).meets_target is False  # above 95% is the target
    assert valid_tracking_rate(valid_96, NOW, UTC_ZONE).meets_target is True
    cancelled_2_5 = [order(date(2026, 3, 8), cancelled=i < 1) for i in range(40)]  # 1/40 = 2.5%
    assert cancellation_rate(cancelled_2_5, NOW, UTC_ZONE).meets_target is False


def test_S6_earliest_instant_starts_the_longest_window() -> None:
    assert earliest_instant(NOW, UTC_ZONE) == datetime(2026, 2, 19, tzinfo=UTC)
    assert earliest_instant(NOW, BERLIN) == datetime(2026, 2, 18, 23, tzinfo=UTC)


# --- properties ---------------------------------------------------------------------------------

ZONES = st.sampled_from([UTC_ZONE, BERLIN, ZoneInfo("America/New_York"), ZoneInfo("Pacific/Chatham"), ZoneInfo("Asia/Kolkata")])


@st.composite
def orders_around(draw: st.DrawFn, zone: ZoneInfo, today: date) -> tuple[date, OrderFacts]:
    ship_by = today + timedelta(days=draw(st.integers(-45, 5)))
    ship_deadline = end_of_day(ship_by, zone)
    confirmed = draw(st.none() | st.integers(-3 * 86400, 3 * 86400).map(lambda s: ship_deadline + timedelta(seconds=s)))
    fact = OrderFacts(
        ship_by_deadline=ship_deadline,
        confirm_by_deadline=end_of_day(ship_by + timedelta(days=draw(st.integers(0, 29))), zone),
        confirmed_at=confirmed,
        tracking_valid=draw(st.none() | st.booleans()) if confirmed else None,
        cancelled=confirmed is None and draw(st.booleans()),
    )
    return ship_by, fact


@given(data=st.data(), zone=ZONES, seconds=st.integers(0, 86_399), days=st.sampled_from([1, 7, 10, 30]))
def test_S6_late_shipment_rate_equals_its_definition_by_ship_by_dates(data: st.DataObject, zone: ZoneInfo, seconds: int, days: int) -> None:
    """Oracle: a ship-by deadline ends the ship-by date, so it falls on the next day; the window of N days
    ending today holds the orders whose ship-by date is one of the N days before today."""
    today = date(2026, 10, 25)  # a DST change in Europe
    now = end_of_day(today - timedelta(days=1), zone) + timedelta(seconds=seconds)
    if now.astimezone(zone).date() != today:
        now = end_of_day(today - timedelta(days=1), zone)
    pairs = data.draw(st.lists(orders_around(zone, today), max_size=30))
    rate = late_shipment_rate([f for _, f in pairs], now, zone, days)
    expected = [f for d, f in pairs if today - timedelta(days=days) <= d <= today - timedelta(days=1)]
    assert rate.denominator == len(expected)
    assert rate.numerator == sum(f.confirmed_at is None or f.confirmed_at >= f.ship_by_deadline for f in expected)


@given(data=st.data(), zone=ZONES)
def test_S6_figures_do_not_depend_on_the_order_facts_arrive_in(data: st.DataObject, zone: ZoneInfo) -> None:
    today = date(2026, 3, 20)
    now = end_of_day(today, zone) - timedelta(hours=1)
    facts = [f for _, f in data.draw(st.lists(orders_around(zone, today), max_size=25))]
    shuffled = data.draw(st.permutations(facts))
    first, second = seller_metrics(facts, now, zone), seller_metrics(shuffled, now, zone)
    assert first == second
    for rate in first:
        assert 0 <= rate.numerator <= rate.denominator
        assert (rate.value is None) == (rate.denominator == 0)


@given(data=st.data(), zone=ZONES)
def test_S6_facts_with_no_instant_between_the_earliest_instant_and_now_change_nothing(data: st.DataObject, zone: ZoneInfo) -> None:
    today = date(2026, 3, 20)
    now = end_of_day(today, zone) - timedelta(hours=2)
    facts = [f for _, f in data.draw(st.lists(orders_around(zone, today), max_size=25))]
    since = earliest_instant(now, zone)
    kept = [f for f in facts if any(i is not None and since <= i <= now for i in (f.ship_by_deadline, f.confirm_by_deadline, f.confirmed_at))]
    assert seller_metrics(kept, now, zone) == seller_metrics(facts, now, zone)


@given(zone=ZONES, minutes=st.integers(-3 * 24 * 60, 3 * 24 * 60), days=st.sampled_from([1, 7, 10, 30]), at=st.integers(0, 400 * 24 * 60))
def test_S6_windows_by_instant_are_windows_by_marketplace_date(zone: ZoneInfo, minutes: int, days: int, at: int) -> None:
    """The instant comparison the rates use is the date rule of S6, across every zone's DST changes."""
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=at)
    instant = window_start(now, zone, days) + timedelta(minutes=minutes)
    by_date = in_window(instant, now, zone, days)
    start = window_start(now, zone, days)
    assert by_date == (start <= instant <= now)
