"""The deadlines service on a real broker and database (R11-R13, R15), driven by the messages the
orders service would send, on a clock the test sets. Every message about these orders travels on
partition 0 of orders.events, as one order's messages do; the test plays the orders service's part,
watermarks included."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from faststream import FastStream

from devtools.kafka_io import Publisher, Tap
from services.deadlines.app import DeadlinesSettings, build
from shared.contracts import events
from shared.contracts.topics import ORDERS_EVENTS, order_key
from tests.support.infra import Infra
from tests.support.settle import published
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

MS = timedelta(milliseconds=1)
DAY = timedelta(days=1)


@pytest.fixture
def settings(infra: Infra, topic_prefix: str, service_databases: dict[str, str]) -> DeadlinesSettings:
    # Simulated time starts at a known instant and runs at real speed.
    return DeadlinesSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=service_databases["deadlines"],
        topic_prefix=topic_prefix,
        outbox_poll_seconds=0.2,
        clock_real_anchor=datetime.now(UTC),
        clock_simulated_anchor=datetime(2026, 6, 1, 12, tzinfo=UTC),
        deadline_warning_lead=timedelta(0),  # warnings (S4) have a test of their own below
    )


@pytest.fixture
async def deadlines(settings: DeadlinesSettings) -> AsyncIterator[Callable[[], FastStream]]:
    """Start deadlines-service instances in this process: `app = start()`; all are stopped after."""
    running: list[FastStream] = []

    async def start(**changes: object) -> FastStream:
        app = build(settings.model_copy(update=changes)).app()
        await app.start()
        running.append(app)
        return app

    yield start  # type: ignore[misc]
    for app in running:
        await app.stop()


@pytest.fixture
async def io(infra: Infra, topic_prefix: str) -> AsyncIterator[tuple[Publisher, Tap]]:
    async with Publisher(infra.kafka_bootstrap_servers, topic_prefix) as publisher, Tap(infra.kafka_bootstrap_servers, topic_prefix) as tap:
        yield publisher, tap


def accepted(order_id: str, ship_by: datetime, confirm_by: datetime) -> events.OrderAccepted:
    return events.OrderAccepted(
        storefront_id="shop",
        order_id=order_id,
        seller_id="s1",
        command_id=uuid.uuid4(),
        placed_at=ship_by - 3 * DAY,
        timezone="UTC",
        order_date=(ship_by - 3 * DAY).date(),
        ship_by_date=(ship_by - DAY).date(),
        confirm_by_date=(confirm_by - DAY).date(),
        ship_by_deadline=ship_by,
        confirm_by_deadline=confirm_by,
    )


def confirmed(order_id: str, at: datetime, late: bool) -> events.ShipmentConfirmed:
    return events.ShipmentConfirmed(
        storefront_id="shop",
        order_id=order_id,
        seller_id="s1",
        command_id=uuid.uuid4(),
        confirmed_at=at,
        ship_date=at.date(),
        shipping_method="standard",
        carrier="UPS",
        tracking_id="1Z",
        late=late,
    )


async def send(publisher: Publisher, message: events.Message) -> None:
    key = order_key("shop", getattr(message, "order_id", "watermark"))
    await publisher.send(ORDERS_EVENTS, key, message, partition=0)


async def watermark(publisher: Publisher, as_of: datetime) -> None:
    await send(publisher, events.OrdersWatermark(partition=0, as_of=as_of))


async def timer_states(url: str) -> dict[tuple[str, str], str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("select order_id, kind, status from deadlines")
        return {(r["order_id"], r["kind"]): r["status"] for r in rows}
    finally:
        await conn.close()


async def settled(url: str, tap: Tap) -> None:
    """Barrier: every timer decided, every event published and collected."""
    await eventually(lambda: timer_states(url), lambda s: "pending" not in s.values())
    await published([url], tap)


def about(tap: Tap, kind: type, order_id: str) -> list:  # type: ignore[type-arg]
    return tap.of_type(kind, lambda e: e.order_id == order_id)


async def test_R11_R12_unconfirmed_order_gets_one_penalty_then_one_cancellation(
    deadlines, io: tuple[Publisher, Tap], settings: DeadlinesSettings  # type: ignore[no-untyped-def]
) -> None:
    publisher, tap = io
    await deadlines()
    now = settings.clock().now()
    await send(publisher, accepted("late", ship_by=now - 2 * DAY, confirm_by=now - DAY))
    await watermark(publisher, now)
    [penalty] = await tap.wait_for(events.LateShipmentPenalty)
    [cancellation] = await tap.wait_for(events.CancellationIssued)
    assert penalty.order_id == cancellation.order_id == "late" and penalty.deadline == now - 2 * DAY
    assert cancellation.seller_paid is False and cancellation.deadline == now - DAY
    await settled(settings.database_url, tap)
    assert len(tap.of_type(events.LateShipmentPenalty)) == len(tap.of_type(events.CancellationIssued)) == 1


async def test_R13_coinciding_deadlines_emit_only_the_cancellation(deadlines, io, settings) -> None:  # type: ignore[no-untyped-def]
    publisher, tap = io
    await deadlines()
    now = settings.clock().now()
    await send(publisher, accepted("thirty-days", ship_by=now - DAY, confirm_by=now - DAY))
    await watermark(publisher, now)
    await tap.wait_for(events.CancellationIssued)
    await settled(settings.database_url, tap)
    assert tap.of_type(events.LateShipmentPenalty) == []
    assert await timer_states(settings.database_url) == {("thirty-days", "confirm_by"): "fired"}


async def test_R15_confirmation_accepted_1ms_before_the_deadline_and_delivered_after_it_prevents_the_penalty(
    deadlines, io, settings  # type: ignore[no-untyped-def]
) -> None:
    publisher, tap = io
    await deadlines()
    now = settings.clock().now()
    due = now - DAY  # the ship-by deadline passed a simulated day ago
    for order in ("on-time", "late-by-1ms", "never"):
        await send(publisher, accepted(order, ship_by=due, confirm_by=now + 30 * DAY))
    # The confirmations reach the deadlines service only now, long after the deadline passed.
    await send(publisher, confirmed("on-time", at=due - MS, late=False))
    await send(publisher, confirmed("late-by-1ms", at=due + MS, late=True))
    await watermark(publisher, now)
    await tap.wait_for(events.LateShipmentPenalty, count=2)
    states = await eventually(lambda: timer_states(settings.database_url), lambda s: s[("never", "ship_by")] == "fired")
    assert states[("on-time", "ship_by")] == "void"
    assert states[("on-time", "confirm_by")] == states[("late-by-1ms", "confirm_by")] == "void"
    assert states[("late-by-1ms", "ship_by")] == "fired"
    await published([settings.database_url], tap)
    assert sorted(p.order_id for p in tap.of_type(events.LateShipmentPenalty)) == ["late-by-1ms", "never"]


async def test_R15_a_passed_deadline_waits_for_the_watermark_so_a_lagging_confirmation_still_counts(
    deadlines, io, settings  # type: ignore[no-untyped-def]
) -> None:
    publisher, tap = io
    await deadlines()
    now = settings.clock().now()
    due = now - DAY
    await send(publisher, accepted("lagging", ship_by=due, confirm_by=now + 30 * DAY))
    await watermark(publisher, due - MS)  # orders has not yet got past the deadline
    # The watermark was applied (the row exists) and the deadline is past, yet nothing fired.
    conn = await asyncpg.connect(settings.database_url)
    try:
        await eventually(lambda: conn.fetchval("select as_of from watermarks where orders_partition = 0"), lambda v: v == due - MS)
        await eventually(lambda: conn.fetchval("select count(*) from deadlines"), lambda n: n == 2)
    finally:
        await conn.close()
    assert (await timer_states(settings.database_url))[("lagging", "ship_by")] == "pending"
    await send(publisher, confirmed("lagging", at=due - MS, late=False))  # the lagging confirmation
    await watermark(publisher, now)
    await eventually(lambda: timer_states(settings.database_url), lambda s: s[("lagging", "ship_by")] == "void")
    await published([settings.database_url], tap)
    assert about(tap, events.LateShipmentPenalty, "lagging") == []


async def test_R15_a_deadline_that_passed_while_the_service_was_down_fires_when_it_is_back(
    deadlines, io, settings  # type: ignore[no-untyped-def]
) -> None:
    publisher, tap = io
    first = await deadlines()
    clock = settings.clock()
    due = clock.now() + timedelta(seconds=2)
    await send(publisher, accepted("while-down", ship_by=due, confirm_by=due + 30 * DAY))
    await watermark(publisher, due + DAY)
    await eventually(lambda: timer_states(settings.database_url), lambda s: len(s) == 2)
    await first.stop()
    async def now() -> datetime:
        return clock.now()

    await eventually(now, lambda t: t > due)  # the deadline passes while the service is down
    await deadlines()
    [penalty] = await tap.wait_for(events.LateShipmentPenalty)
    assert penalty.order_id == "while-down" and penalty.deadline == due


async def test_R11_R12_two_instances_never_fire_one_deadline_twice(deadlines, io, settings) -> None:  # type: ignore[no-untyped-def]
    publisher, tap = io
    instances = [await deadlines(), await deadlines()]
    now = settings.clock().now()
    orders = [f"o{i:03d}" for i in range(150)]
    for order in orders:
        await send(publisher, accepted(order, ship_by=now - 2 * DAY, confirm_by=now - DAY))
    await watermark(publisher, now)
    await tap.wait_for(events.CancellationIssued, count=len(orders))
    await settled(settings.database_url, tap)
    # "Nothing pending" holds once one instance commits; a second firing of the same timers would come
    # after it (timer events skip the outbox). Stopped, neither can publish after the count is read.
    for app in instances:
        await app.stop()
    await tap.caught_up()
    penalties, cancellations = tap.of_type(events.LateShipmentPenalty), tap.of_type(events.CancellationIssued)
    assert sorted(p.order_id for p in penalties) == orders
    assert sorted(c.order_id for c in cancellations) == orders
    assert len({e.event_id for e in penalties + cancellations}) == 2 * len(orders)


async def test_S4_one_warning_before_each_deadline_and_none_once_a_confirmation_voided_it(deadlines, io, settings) -> None:  # type: ignore[no-untyped-def]
    publisher, tap = io
    await deadlines(deadline_warning_lead=timedelta(hours=12))
    now = settings.clock().now()
    for order in ("warned", "confirmed-first"):
        # The ship-by deadline is 6 hours away: its warning (12 hours before) is due already.
        await send(publisher, accepted(order, ship_by=now + timedelta(hours=6), confirm_by=now + 20 * DAY))
    await send(publisher, confirmed("confirmed-first", at=now - MS, late=False))  # accepted before the warning fell due here
    await watermark(publisher, now)
    [warning] = await tap.wait_for(events.DeadlineApproaching)
    assert warning.order_id == "warned" and warning.deadline_kind == "ship_by" and warning.lead_seconds == 12 * 3600
    states = await eventually(lambda: timer_states(settings.database_url), lambda s: s[("warned", "ship_by_warning")] == "fired")
    assert states[("confirmed-first", "ship_by_warning")] == states[("confirmed-first", "confirm_by_warning")] == "void"
    assert states[("warned", "confirm_by_warning")] == states[("warned", "ship_by")] == "pending"  # not due yet
    # A later watermark fires nothing twice. It also makes a canary's warning due: once that is out, the
    # timer loop has acted on the watermark, so the count below is not read before it could change.
    await send(publisher, accepted("canary", ship_by=now + timedelta(hours=12) + MS, confirm_by=now + 20 * DAY))
    await watermark(publisher, now + MS)
    await tap.wait_for(events.DeadlineApproaching, lambda w: w.order_id == "canary")
    await published([settings.database_url], tap)
    assert sorted(w.order_id for w in tap.of_type(events.DeadlineApproaching)) == ["canary", "warned"]
