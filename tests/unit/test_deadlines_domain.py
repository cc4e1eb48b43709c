"""R11-R13, R15: which timers an order gets, when a confirmation voids one, when one may fire."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.deadlines import domain
from services.orders.dates import fix_deadlines
from shared.contracts.events import CancellationIssued, LateShipmentPenalty, OrderAccepted

pytestmark = pytest.mark.unit

MS = timedelta(milliseconds=1)


def accepted(production_days: int, placed_at: datetime = datetime(2026, 5, 1, 12, tzinfo=UTC)) -> OrderAccepted:
    d = fix_deadlines(placed_at, production_days, ZoneInfo("UTC"))
    return OrderAccepted(
        storefront_id="shop",
        order_id="o1",
        seller_id="s1",
        command_id="00000000-0000-0000-0000-000000000001",
        placed_at=placed_at,
        timezone="UTC",
        order_date=d.order_date,
        ship_by_date=d.ship_by_date,
        confirm_by_date=d.confirm_by_date,
        ship_by_deadline=d.ship_by_deadline,
        confirm_by_deadline=d.confirm_by_deadline,
    )


@given(st.integers(1, 29))
def test_R11_R12_an_order_gets_a_penalty_timer_and_a_cancellation_timer(production_days: int) -> None:
    timers = domain.timers_for(accepted(production_days))
    assert [t.kind for t in timers] == ["ship_by", "confirm_by"]
    assert timers[0].due_date == date(2026, 5, 1) + timedelta(days=production_days)
    assert timers[1].due_at == datetime(2026, 6, 1, tzinfo=UTC)


def test_R13_when_both_deadlines_coincide_only_the_cancellation_timer_exists() -> None:
    assert [t.kind for t in domain.timers_for(accepted(30))] == ["confirm_by"]


def test_R15_a_confirmation_voids_only_the_deadlines_it_beat() -> None:
    due = datetime(2026, 5, 5, tzinfo=UTC)
    assert domain.voided_by(due - MS, due)
    assert not domain.voided_by(due, due)  # at the deadline is too late (T2: "before the end")
    assert not domain.voided_by(due + MS, due)


@given(
    due=st.datetimes(timezones=st.just(UTC)),
    now_after=st.timedeltas(min_value=-timedelta(days=2), max_value=timedelta(days=2)),
    mark_after=st.none() | st.timedeltas(min_value=-timedelta(days=2), max_value=timedelta(days=2)),
)
def test_R15_a_deadline_fires_only_once_both_the_clock_and_the_watermark_passed_it(
    due: datetime, now_after: timedelta, mark_after: timedelta | None
) -> None:
    try:
        now, watermark = due + now_after, None if mark_after is None else due + mark_after
    except OverflowError:
        return
    expected = now_after >= timedelta(0) and mark_after is not None and mark_after >= timedelta(0)
    assert domain.may_fire(due, now, watermark) == expected


def test_R11_R12_a_fired_timer_says_what_happened_with_a_stable_event_id() -> None:
    penalty_timer, cancel_timer = domain.timers_for(accepted(3))
    penalty = domain.event_for(penalty_timer)
    assert isinstance(penalty, LateShipmentPenalty) and penalty.ship_by_date == date(2026, 5, 4)
    assert domain.event_for(penalty_timer).event_id == penalty.event_id  # fired twice = the same event
    cancellation = domain.event_for(cancel_timer)
    assert isinstance(cancellation, CancellationIssued) and cancellation.seller_paid is False
    assert cancellation.event_id != penalty.event_id and "not paid" in cancellation.reason
