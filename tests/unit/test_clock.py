"""T3: one configurable clock; shifted and accelerated clocks agree across processes given the same anchors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import ScaledClock, SystemClock, make_clock
from shared.settings import ServiceSettings

pytestmark = pytest.mark.unit


def test_T3_no_configuration_means_the_system_clock() -> None:
    assert isinstance(make_clock(None, None, 1.0), SystemClock)
    assert isinstance(ServiceSettings().clock(), SystemClock)


def test_T3_a_shifted_accelerated_clock_runs_from_its_anchor_at_its_speed() -> None:
    real_anchor = datetime.now(UTC) - timedelta(seconds=10)
    clock = ScaledClock(real_anchor, datetime(2030, 1, 1, tzinfo=UTC), speed=3600)
    now = clock.now()
    # 10+ real seconds at 3600x is 10+ simulated hours (bounded above generously, not a timing test).
    assert datetime(2030, 1, 1, 10, tzinfo=UTC) <= now < datetime(2030, 1, 2, tzinfo=UTC)
    # An hour of simulated time passes in a real second.
    assert 0.9 < clock.real_seconds_until(clock.now() + timedelta(hours=1)) <= 1.0


def test_T3_settings_build_the_clock_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOCK_REAL_ANCHOR", "2026-01-01T00:00:00Z")
    monkeypatch.setenv("CLOCK_SIMULATED_ANCHOR", "2040-06-01T00:00:00+00:00")
    monkeypatch.setenv("CLOCK_SPEED", "2")
    clock = ServiceSettings().clock()
    assert isinstance(clock, ScaledClock)
    assert clock.simulated_anchor == datetime(2040, 6, 1, tzinfo=UTC) and clock.speed == 2


@pytest.mark.parametrize("speed", [0, -1])
def test_T3_speed_must_be_positive(speed: float) -> None:
    with pytest.raises(ValueError):
        ScaledClock(datetime.now(UTC), datetime.now(UTC), speed)


def test_T3_events_are_stamped_by_the_process_clock() -> None:
    from shared import clock as process
    from shared.contracts.events import OrdersWatermark

    simulated = ScaledClock(datetime.now(UTC), datetime(2031, 5, 1, tzinfo=UTC), speed=1)
    process.use_clock(simulated)
    try:
        stamped = OrdersWatermark(partition=0, as_of=datetime(2031, 5, 1, tzinfo=UTC)).occurred_at
    finally:
        process.use_clock(SystemClock())
    assert datetime(2031, 5, 1, tzinfo=UTC) <= stamped < datetime(2031, 5, 2, tzinfo=UTC)
