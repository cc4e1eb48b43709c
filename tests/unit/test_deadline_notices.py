"""What a batch that changed the timers tells the timer loop, and whether that wakes it
(services/deadlines/notices.py): only a timer due before the loop's planned wake, or a watermark while
due timers wait for one (R15); any payload the services did not write wakes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.deadlines.notices import notice, wakes

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
instants = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2999, 12, 30), timezones=st.just(UTC))


@given(new_due=st.none() | instants, watermarks=st.booleans(), next_due=st.none() | instants, blocked=st.booleans())
def test_a_batch_notice_wakes_the_loop_exactly_when_it_can_make_a_timer_fire_sooner(
    new_due: datetime | None, watermarks: bool, next_due: datetime | None, blocked: bool
) -> None:
    if new_due is None and not watermarks:
        return  # such a batch sends no notice (storage.DeadlinesWork.writes)
    sooner = new_due is not None and (next_due is None or new_due < next_due)
    assert wakes(notice(new_due, watermarks), next_due, blocked) == (sooner or (watermarks and blocked))


@pytest.mark.parametrize(
    ("new_due", "next_due", "wakes_it"),
    [
        (NOW + timedelta(days=3), NOW + timedelta(days=1), False),  # an order accepted now: due days after the next timer
        (NOW + timedelta(days=1), NOW + timedelta(days=1), False),  # due with the next timer: its wake claims both
        (NOW + timedelta(hours=1), NOW + timedelta(days=1), True),
        (NOW - timedelta(hours=1), NOW + timedelta(days=1), True),  # already due (the order arrived late)
        (NOW + timedelta(days=30), None, True),  # nothing pending: the loop sleeps its longest
    ],
)
def test_a_new_timer_wakes_the_loop_only_when_it_is_due_before_the_next_one(new_due: datetime, next_due: datetime | None, wakes_it: bool) -> None:
    assert wakes(notice(new_due, watermarks=False), next_due, blocked=False) is wakes_it


def test_a_watermark_wakes_the_loop_only_while_due_timers_wait_for_one() -> None:
    assert wakes(notice(None, watermarks=True), NOW, blocked=True)
    assert not wakes(notice(None, watermarks=True), NOW, blocked=False)
    assert not wakes(notice(None, watermarks=True), None, blocked=False)


@pytest.mark.parametrize("payload", ["", "   ", "recheck", "due=yesterday", "due=2026-11-29T12:00:00", "watermark due=not-a-time", "due=2026-11-29T12:00:00+00:00 flush"])
def test_a_payload_the_services_did_not_write_wakes_the_loop(payload: str) -> None:
    assert wakes(payload, NOW + timedelta(days=365), blocked=False)
