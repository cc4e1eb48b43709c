"""R11-R13, R15, S4: which timers an order gets, which a confirmation or cancellation voids, what each says.
When a timer may fire is SQL (storage.claim_due), tested against PostgreSQL in tests/integration/test_deadlines.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.deadlines import domain
from services.orders.dates import fix_deadlines
from shared.contracts.events import CancellationIssued, DeadlineApproaching, LateShipmentPenalty, OrderAccepted

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
    ship_by, confirm_by = domain.timers_for(accepted(3))
    due = ship_by.deadline
    assert domain.voided_by(due - MS, ship_by)
    assert not domain.voided_by(due, ship_by)  # at the deadline is too late (T2: "before the end")
    late = domain.on_confirmation([ship_by, confirm_by], due + MS)
    assert [t.kind for t in late.voided] == ["confirm_by"] and late.fired_too_early == []
    on_time = domain.on_confirmation([ship_by, confirm_by], due - MS)
    assert [(t.kind, t.status) for t in on_time.voided] == [("ship_by", "void"), ("confirm_by", "void")]


def test_R15_a_deadline_fired_before_a_confirmation_that_beat_it_is_reported() -> None:
    ship_by, confirm_by = domain.timers_for(accepted(3))
    outcome = domain.on_confirmation([replace(ship_by, status="fired"), confirm_by], ship_by.deadline - MS)
    assert [t.kind for t in outcome.fired_too_early] == ["ship_by"]
    assert [t.kind for t in outcome.voided] == ["confirm_by"]


def test_R12_a_cancellation_voids_whatever_is_still_pending() -> None:
    ship_by, confirm_by = domain.timers_for(accepted(3))
    voided = domain.on_cancellation([replace(ship_by, status="fired"), confirm_by])
    assert [(t.kind, t.status) for t in voided] == [("confirm_by", "void")]


@given(production_days=st.integers(1, 30), lead_hours=st.integers(1, 24 * 40))
def test_S4_each_deadline_gets_one_warning_its_lead_time_before_it(production_days: int, lead_hours: int) -> None:
    lead = timedelta(hours=lead_hours)
    timers = domain.timers_for(accepted(production_days), lead)
    deadlines = [t for t in timers if not t.kind.endswith("_warning")]
    warnings = [t for t in timers if t.kind.endswith("_warning")]
    assert [w.kind for w in warnings] == [f"{d.kind}_warning" for d in deadlines]
    assert all(w.due_at == w.deadline - lead and w.deadline_kind == d.kind for w, d in zip(warnings, deadlines, strict=True))


def test_S4_a_confirmation_before_the_deadline_voids_its_warning_too() -> None:
    timers = domain.timers_for(accepted(3), timedelta(hours=12))
    warning = next(t for t in timers if t.kind == "ship_by_warning")
    assert domain.voided_by(warning.deadline - MS, warning)  # confirmed after the warning was due, before the deadline
    fired = domain.on_confirmation([replace(warning, status="fired")], warning.deadline - MS)
    assert fired.fired_too_early == []  # a warning that went out before the confirmation is no violation


def test_S4_a_warning_says_which_deadline_approaches() -> None:
    warning = next(t for t in domain.timers_for(accepted(3), timedelta(hours=6)) if t.kind == "confirm_by_warning")
    event = domain.event_for(warning)
    assert isinstance(event, DeadlineApproaching)
    assert event.deadline_kind == "confirm_by" and event.lead_seconds == 6 * 3600 and event.due_date == date(2026, 5, 31)


def test_R11_R12_a_fired_timer_says_what_happened_with_a_stable_event_id() -> None:
    penalty_timer, cancel_timer = domain.timers_for(accepted(3))
    penalty = domain.event_for(penalty_timer)
    assert isinstance(penalty, LateShipmentPenalty) and penalty.ship_by_date == date(2026, 5, 4)
    assert domain.event_for(penalty_timer).event_id == penalty.event_id  # fired twice = the same event
    cancellation = domain.event_for(cancel_timer)
    assert isinstance(cancellation, CancellationIssued) and cancellation.seller_paid is False
    assert cancellation.event_id != penalty.event_id and "not paid" in cancellation.reason


def test_S4_a_warning_is_never_due_before_the_earliest_instant_a_message_can_carry() -> None:
    early = accepted(3, placed_at=datetime(1970, 1, 1, 1, tzinfo=UTC))
    warnings = {t.kind: t for t in domain.timers_for(early, timedelta(days=20)) if t.kind.endswith("_warning")}
    assert warnings["ship_by_warning"].due_at == domain.EPOCH  # 20 days before 4 January 1970
    assert warnings["confirm_by_warning"].due_at == datetime(1970, 1, 12, tzinfo=UTC)
    assert all(domain.event_for(w).occurred_at >= domain.EPOCH for w in warnings.values())


def test_a_timer_whose_event_cannot_be_built_is_set_aside_and_the_others_fire() -> None:
    from services.deadlines.timers import _events

    good, _ = domain.timers_for(accepted(3))
    broken = replace(good, order_id="bad", due_at=datetime(1960, 1, 1, tzinfo=UTC))  # no message can carry 1960
    fired, failed = _events([(broken, None), (good, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")])
    assert [t.order_id for t, _, _ in fired] == ["o1"] and failed == [broken]
