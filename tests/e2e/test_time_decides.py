"""R15 end to end: whether an order is late or cancelled depends only on when its confirmation was
accepted, not on which service processed what first. The deadlines service is killed (kill -9)
before the deadlines pass and comes back after both; nothing it missed is lost or wrongly decided."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devtools.actors import Marketplace
from devtools.kafka_io import Publisher, Tap
from devtools.launcher import ServiceProcess
from shared.clock import ScaledClock
from shared.contracts import events
from shared.contracts.reasons import RejectionReason
from tests.support.settle import accelerated, clock_env
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

SPEED = 200_000  # 30 simulated days in about 13 real seconds


@pytest.fixture
def clock() -> ScaledClock:
    return accelerated(datetime(2026, 9, 1, tzinfo=UTC), SPEED)


@pytest.fixture
def service_env(clock: ScaledClock) -> dict[str, str]:
    """Every service on the test's clock (T3)."""
    return clock_env(clock)


async def test_R15_R8_deadlines_missed_while_the_service_was_down_fire_by_time_not_by_arrival(
    services: dict[str, ServiceProcess], publisher: Publisher, tap: Tap, clock: ScaledClock
) -> None:
    market = Marketplace(publisher, tap, clock)
    # A fortnight to ship: about 6 real seconds at this speed, so a loaded machine still confirms on time.
    await market.create_listing("maker", "kiln-14d", 10, 14)
    on_time = await market.place("shipped-while-down", "maker", [("kiln-14d", 1)])
    never = await market.place("never-shipped", "maker", [("kiln-14d", 1)])
    assert isinstance(on_time, events.OrderAccepted) and isinstance(never, events.OrderAccepted)

    services["deadlines"].kill()  # kill -9: no shutdown, whatever it had in flight is lost
    confirmed = await market.confirm("shipped-while-down", "maker")
    assert isinstance(confirmed, events.ShipmentConfirmed) and not confirmed.late

    async def now() -> datetime:
        return clock.now()

    await eventually(now, lambda t: t > never.confirm_by_deadline, timeout=60)
    # R8: the window closed by the clock, although no cancellation has been processed yet.
    too_late = await market.confirm("never-shipped", "maker")
    assert isinstance(too_late, events.CommandRejected) and too_late.reason is RejectionReason.CONFIRMATION_WINDOW_CLOSED
    assert tap.of_type(events.LateShipmentPenalty) == tap.of_type(events.CancellationIssued) == []

    services["deadlines"].start()
    await services["deadlines"].wait_started()
    # The confirmation accepted before the deadlines reaches the restarted service after they
    # passed; the watermarks make it count. The other order gets its penalty and cancellation.
    await tap.wait_for(events.OrderCancelled, lambda e: e.order_id == "never-shipped")
    await tap.caught_up()
    assert [p.order_id for p in tap.of_type(events.LateShipmentPenalty)] == ["never-shipped"]
    assert [c.order_id for c in tap.of_type(events.CancellationIssued)] == ["never-shipped"]
    [penalty] = tap.of_type(events.LateShipmentPenalty)
    assert penalty.deadline == never.ship_by_deadline
