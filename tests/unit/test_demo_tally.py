"""The demo's tally: what it counts from the services' messages, and when an order's story has ended."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devtools.demo.probe import figures
from devtools.demo.tally import Tally
from shared.contracts import events
from shared.contracts.commands import OrderLine
from shared.contracts.reasons import RejectionReason
from shared.contracts.state import OrderStateRecord

pytestmark = pytest.mark.unit

PLACED = datetime(2026, 3, 2, 10, tzinfo=UTC)
SHIP_BY = datetime(2026, 3, 5, tzinfo=UTC)
CONFIRM_BY = datetime(2026, 4, 2, tzinfo=UTC)
IDS = {"storefront_id": "shop-1", "seller_id": "seller-c"}


def accepted(order: str, ship_by: datetime = SHIP_BY) -> events.OrderAccepted:
    return events.OrderAccepted(
        order_id=order, command_id=uuid.uuid4(), placed_at=PLACED, timezone="UTC", order_date=PLACED.date(),
        ship_by_date=ship_by.date() - timedelta(days=1), confirm_by_date=CONFIRM_BY.date() - timedelta(days=1),
        ship_by_deadline=ship_by, confirm_by_deadline=CONFIRM_BY, **IDS,
    )  # fmt: skip


def status(order: str, value: str, version: int) -> OrderStateRecord:
    return OrderStateRecord(
        order_id=order,
        command_id=uuid.uuid4(),
        status=value,
        placed_at=PLACED,
        lines=[OrderLine(listing_id="mug-c", quantity=2)],
        version=version,
        **IDS,
    )  # type: ignore[arg-type]


def shipped(order: str, *, late: bool, valid: bool | None) -> events.ShipmentConfirmed:
    return events.ShipmentConfirmed(
        order_id=order, command_id=uuid.uuid4(), occurred_at=SHIP_BY + timedelta(hours=6 if late else -6),
        confirmed_at=SHIP_BY + timedelta(hours=6 if late else -6), ship_date=PLACED.date(),
        shipping_method="ground", carrier="UPS", tracking_id="1Z999AA10123456784", late=late, tracking_valid=valid, **IDS,
    )  # fmt: skip


def penalty(order: str) -> events.LateShipmentPenalty:
    return events.LateShipmentPenalty(
        order_id=order, occurred_at=SHIP_BY, deadline=SHIP_BY, ship_by_date=SHIP_BY.date(), reason="not confirmed", **IDS
    )


def cancelled(order: str) -> events.OrderCancelled:
    return events.OrderCancelled(
        order_id=order,
        occurred_at=CONFIRM_BY,
        reason="not confirmed within 30 days",
        lines=[OrderLine(listing_id="mug-c", quantity=2)],
        **IDS,
    )


def restored(order: str) -> events.StockRestored:
    return events.StockRestored(order_id=order, occurred_at=CONFIRM_BY, lines=[OrderLine(listing_id="mug-c", quantity=2)], **IDS)


def test_an_orders_story_is_settled_once_shipped_or_cancelled_with_its_penalty_and_restoration() -> None:
    tally = Tally({"seller-c": "overwhelmed"}, ZoneInfo("UTC"))
    tally.placed = 3
    assert tally.unsettled() > 0
    for order in ("o1", "o2"):
        tally.observe(accepted(order), 0.0)
        tally.observe(status(order, "unshipped", 2), 0.0)
    tally.observe(
        events.OrderRejected(order_id="o3", command_id=uuid.uuid4(), reason=RejectionReason.WRONG_SELLER, message="no", **IDS), 0.0
    )
    tally.observe(status("o3", "rejected", 2), 0.0)
    assert tally.unsettled() == 2  # two unshipped orders

    note = tally.observe(shipped("o1", late=True, valid=False), 1.0)
    assert note is not None and note.kind == "bad tracking"
    tally.observe(status("o1", "shipped", 3), 1.0)
    tally.observe(status("o1", "unshipped", 2), 1.0)  # an old copy read late changes nothing
    assert tally.unsettled() == 2  # o1 owes its penalty; o2 is unshipped

    assert tally.observe(penalty("o1"), 2.0) is not None
    tally.observe(penalty("o2"), 3.0)
    tally.observe(cancelled("o2"), 4.0)
    tally.observe(status("o2", "cancelled", 3), 4.0)
    assert tally.unsettled() == 1  # o2's stock is not back yet
    tally.observe(restored("o2"), 5.0)
    assert tally.unsettled() == 0

    assert dict(tally.status_counts) == {"unshipped": 0, "shipped": 1, "cancelled": 1, "rejected": 1}
    assert (tally.shipped_late, tally.penalties, tally.cancellations, tally.restorations, tally.restored_units) == (1, 2, 1, 1, 2)
    assert tally.tracking["invalid"] == 1 and tally.rejected["wrong_seller"] == 1
    seller = tally.sellers["seller-c"]
    assert (seller.accepted, seller.late, seller.invalid_tracking, seller.penalties, seller.cancelled) == (2, 1, 1, 2, 1)
    assert [n.kind for n in tally.recent] == ["bad tracking", "penalty", "penalty", "cancelled", "restored"]


def test_a_cancellation_when_both_deadlines_coincide_owes_no_penalty() -> None:
    tally = Tally({"seller-c": "overwhelmed"}, ZoneInfo("UTC"))
    tally.placed = 1
    tally.observe(accepted("o1", ship_by=CONFIRM_BY), 0.0)
    tally.observe(cancelled("o1"), 1.0)
    tally.observe(restored("o1"), 1.0)
    tally.observe(status("o1", "cancelled", 3), 1.0)
    assert tally.unsettled() == 0  # R13: only the cancellation


def test_rates_come_from_the_folded_facts() -> None:
    tally = Tally({"seller-c": "overwhelmed"}, ZoneInfo("UTC"))
    tally.observe(accepted("o1"), 0.0)
    tally.observe(accepted("o2"), 0.0)
    tally.observe(shipped("o1", late=False, valid=True), 0.0)
    rates = tally.rates(SHIP_BY + timedelta(days=1))["seller-c"]
    assert (rates.late_10d.numerator, rates.late_10d.denominator) == (1, 2)  # o2 was never confirmed
    assert rates.valid_tracking_30d.value == 1.0 and rates.cancelled_7d.value is None


def test_throughput_counts_answers_of_the_last_seconds() -> None:
    tally = Tally({}, ZoneInfo("UTC"))
    for at in (0.0, 1.0, 9.0, 10.0):
        tally.observe(accepted(f"o{at}"), at)
    assert tally.throughput(10.0) == 2 / 5


def test_the_services_figures_are_summed_from_their_metrics() -> None:
    orders = (
        'fulfil_consumer_lag{service="orders",topic="orders.commands",partition="0"} 3.0\nfulfil_outbox_backlog{service="orders"} 5.0\n'
    )
    deadlines = (
        'fulfil_consumer_lag{service="deadlines",topic="orders.events",partition="1"} 2.0\n'
        'fulfil_timers_pending{service="deadlines",kind="ship_by"} 7.0\n'
        'fulfil_timers_pending{service="deadlines",kind="confirm_by"} 9.0\n'
        'fulfil_timers_due{service="deadlines",kind="ship_by"} 1.0\n'
        "# TYPE fulfil_timers_fired counter\n"
        'fulfil_timers_fired_total{service="deadlines",kind="ship_by"} 4.0\n'
        "# TYPE fulfil_firing_lateness_seconds histogram\n"
        'fulfil_firing_lateness_seconds_sum{service="deadlines"} 2.0\n'
        'fulfil_firing_lateness_seconds_count{service="deadlines"} 4.0\n'
    )
    read = figures([orders, deadlines])
    assert (read.read, read.lag, read.backlog, read.timers_due, read.timers_fired) == (True, 5, 5, 1, 4)
    assert read.timers_pending == {"ship_by": 7, "confirm_by": 9} and read.lateness_seconds == 0.5
    assert figures([]).read is False and figures([]).lateness_seconds is None
