"""Every fulfilment outcome, end to end, on one accelerated clock (T3).

The three services run as processes on a shared simulated clock (30 simulated days pass in about
13 real seconds) in the America/New_York zone, across the 2026 DST change. One scenario runs once
for the module; each test then checks one rule against what it left on Kafka and in the databases.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from devtools.actors import Marketplace
from devtools.kafka_io import Publisher, Tap
from devtools.system import SHORT_INTERVALS, PrivateSystem
from services.orders.dates import end_of_day, local_date
from shared.contracts import events
from shared.contracts.envelope import Command, Message
from shared.contracts.reasons import RejectionReason
from shared.contracts.topics import ANSWER_TYPES, ORDERS_EVENTS, order_key
from tests.support.infra import Infra
from tests.support.settle import accelerated, published

pytestmark = pytest.mark.e2e

ZONE = ZoneInfo("America/New_York")
SPEED = 200_000  # simulated seconds per real second
SELLER, OTHER = "maker", "other-maker"


@dataclass
class Outcome:
    """What the scenario did and what the system answered."""

    tap: Tap
    answers: dict[str, Message] = field(default_factory=dict)  # step name -> the command's answer
    commands: list[Command] = field(default_factory=list)
    resent: list[Command] = field(default_factory=list)
    stock: dict[str, int] = field(default_factory=dict)
    orders: dict[str, dict[str, object]] = field(default_factory=dict)
    timers: dict[tuple[str, str], str] = field(default_factory=dict)
    inventory_url: str = ""

    def about(self, kind: type, order_id: str) -> list:  # type: ignore[type-arg]
        return self.tap.of_type(kind, lambda e: getattr(e, "order_id", None) == order_id)


async def run_scenario(market: Marketplace, outcome: Outcome) -> None:
    async def ask(step: str, command: Command, send=None) -> Message:  # type: ignore[no-untyped-def]
        outcome.commands.append(command)
        await (send or market.send)(command)
        outcome.answers[step] = await market.answer(command)
        return outcome.answers[step]

    for listing, quantity, days, seller in [
        ("mug-7d", 10, 7, SELLER),
        ("bowl-1d", 10, 1, SELLER),
        ("vase-2d", 3, 2, SELLER),
        ("quilt-30d", 5, 30, SELLER),
        ("scarf-5d", 10, 5, SELLER),
        ("soap-empty", 0, 3, SELLER),
        ("cup-other", 5, 3, OTHER),
    ]:
        await market.create_listing(seller, listing, quantity, days)

    # Shipped on time: confirmed right after acceptance, well before the end of the ship-by date.
    await ask("on-time", market.place_command("on-time", SELLER, [("mug-7d", 2)]))
    confirmation = market.confirm_command("on-time", SELLER)
    await ask("confirm on-time", confirmation)
    again = confirmation.model_copy(update={"event_id": uuid.uuid4()})  # R9: the same command re-sent
    outcome.resent.append(again)
    await market.send(again)
    await ask("confirm on-time differently", market.confirm_command("on-time", SELLER))

    await ask("late", market.place_command("late", SELLER, [("bowl-1d", 1)]))
    await ask("never", market.place_command("never", SELLER, [("vase-2d", 2)]))
    # Placed before New York's DST change of 8 March whatever the clock reads by now (a loaded machine
    # may take longer than the simulated fortnight to get here): its 30-day window crosses it (T2).
    before_dst = min(market.clock.now(), datetime(2026, 3, 1, 12, tzinfo=UTC))
    await ask("thirty", market.place_command("thirty", SELLER, [("quilt-30d", 1)], placed_at=before_dst))
    await ask("r4-before", market.place_command("r4-before", SELLER, [("scarf-5d", 1)]))
    await market.update_listing(SELLER, "scarf-5d", production_days=10)
    await ask("r4-after", market.place_command("r4-after", SELLER, [("scarf-5d", 1)]))
    await ask("out-of-stock", market.place_command("out-of-stock", SELLER, [("soap-empty", 1)]))
    await ask("wrong-seller", market.place_command("wrong-seller", SELLER, [("mug-7d", 1), ("cup-other", 1)]))
    await ask("unknown-listing", market.place_command("unknown-listing", SELLER, [("ghost", 1)]))
    await ask("duplicate", market.place_command("on-time", SELLER, [("mug-7d", 1)]))

    await ask("forbidden", market.confirm_command("r4-before", OTHER))
    ahead = market.today() + timedelta(days=3)
    await ask("ship date ahead", market.confirm_command("r4-after", SELLER, ship_date=ahead))
    await ask("unknown order", market.confirm_command("no-such-order", SELLER))

    # Shipped late: confirmed only once the ship-by date has ended and the penalty came.
    await market.tap.wait_for(events.LateShipmentPenalty, lambda e: e.order_id == "late", timeout=60)
    await ask("confirm late", market.confirm_command("late", SELLER))

    # Never shipped: penalty, then cancellation at the end of the confirm-by date, stock back,
    # and a confirmation after that is refused.
    await market.tap.wait_for(events.OrderCancelled, lambda e: e.order_id == "never", timeout=90)
    await market.tap.wait_for(events.StockRestored, lambda e: e.order_id == "never", timeout=30)
    await ask("confirm never", market.confirm_command("never", SELLER))
    # The other never-confirmed orders were placed later: their windows close later (R12).
    for order_id in ("thirty", "r4-before", "r4-after"):
        await market.tap.wait_for(events.OrderCancelled, lambda e, order_id=order_id: e.order_id == order_id, timeout=60)
    for order_id in ("never", "thirty", "r4-before", "r4-after"):  # inventory takes them back (R14)
        await market.tap.wait_for(events.StockRestored, lambda e, order_id=order_id: e.order_id == order_id, timeout=60)


async def snapshot(outcome: Outcome, urls: dict[str, str]) -> None:
    """Wait until every service's outbox is published and collected, then read the databases."""
    await published(urls, outcome.tap)
    inventory, orders, deadlines = [await asyncpg.connect(urls[s]) for s in ("inventory", "orders", "deadlines")]
    try:
        outcome.stock = dict(await inventory.fetch("select listing_id, quantity from listings"))
        outcome.orders = {r["order_id"]: dict(r) for r in await orders.fetch("select * from orders")}
        outcome.timers = {(r["order_id"], r["kind"]): r["status"] for r in await deadlines.fetch("select * from deadlines")}
    finally:
        for conn in (inventory, orders, deadlines):
            await conn.close()


@pytest.fixture(scope="module")
async def outcome(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Outcome]:
    # Services take a few real seconds (days of simulated time) to start: orders are placed in late
    # February, so their 30-day windows cross the DST change of 8 March.
    env = {"MARKETPLACE_TIMEZONE": ZONE.key, **SHORT_INTERVALS}
    logs: Path = tmp_path_factory.mktemp("scenario")
    start = datetime(2026, 2, 12, 14, tzinfo=UTC)
    async with PrivateSystem(infra, label="test", env=env, clock=lambda: accelerated(start, SPEED), logs=logs) as system:
        clock = system.clock
        assert clock is not None
        async with Publisher(infra.kafka_bootstrap_servers, system.prefix) as publisher, Tap(infra.kafka_bootstrap_servers, system.prefix) as tap:
            result = Outcome(tap=tap, inventory_url=system.databases["inventory"])
            await run_scenario(Marketplace(publisher, tap, clock, ZONE), result)
            await snapshot(result, system.databases)
            yield result


def rejected(outcome: Outcome, step: str) -> RejectionReason:
    answer = outcome.answers[step]
    assert isinstance(answer, (events.OrderRejected, events.CommandRejected)), answer
    return answer.reason


def test_T1_T2_dates_are_marketplace_dates_and_end_at_local_midnight_across_dst(outcome: Outcome) -> None:
    for accepted in outcome.tap.of_type(events.OrderAccepted):
        assert accepted.timezone == ZONE.key
        assert accepted.order_date == local_date(accepted.placed_at, ZONE)
        assert accepted.ship_by_deadline == end_of_day(accepted.ship_by_date, ZONE)
        assert accepted.confirm_by_deadline == end_of_day(accepted.confirm_by_date, ZONE)
    # The 30-day windows cross 8 March 2026, when New York moves from UTC-5 to UTC-4.
    [thirty] = outcome.about(events.OrderAccepted, "thirty")
    assert thirty.confirm_by_deadline.astimezone(ZONE).utcoffset() == timedelta(hours=-4)
    assert thirty.placed_at.astimezone(ZONE).utcoffset() == timedelta(hours=-5)


def test_T3_thirty_simulated_days_passed_on_one_clock_shared_by_every_service(outcome: Outcome) -> None:
    [cancellation] = outcome.about(events.CancellationIssued, "never")
    [accepted] = outcome.about(events.OrderAccepted, "never")
    assert cancellation.deadline == accepted.confirm_by_deadline  # fired by the deadlines service's clock
    [confirmed] = outcome.about(events.ShipmentConfirmed, "late")
    assert confirmed.confirmed_at >= outcome.about(events.LateShipmentPenalty, "late")[0].deadline  # orders' clock agrees


def test_R2_an_out_of_stock_listing_takes_no_order(outcome: Outcome) -> None:
    assert rejected(outcome, "out-of-stock") is RejectionReason.OUT_OF_STOCK


def test_R4_a_production_time_edit_applies_only_to_later_orders(outcome: Outcome) -> None:
    [before] = outcome.about(events.OrderAccepted, "r4-before")
    [after] = outcome.about(events.OrderAccepted, "r4-after")
    assert before.ship_by_date == before.order_date + timedelta(days=5)
    assert after.ship_by_date == after.order_date + timedelta(days=10)
    assert outcome.orders["r4-before"]["ship_by_date"] == before.ship_by_date  # stored, never moved


def test_R5_R6_orders_naming_unknown_or_foreign_listings_are_rejected_and_duplicates_refused(outcome: Outcome) -> None:
    assert rejected(outcome, "wrong-seller") is RejectionReason.WRONG_SELLER
    assert rejected(outcome, "unknown-listing") is RejectionReason.UNKNOWN_LISTING
    assert rejected(outcome, "duplicate") is RejectionReason.DUPLICATE_ORDER
    assert outcome.stock["cup-other"] == 5  # the wrong-seller order reserved nothing (R6)


def test_R7_each_accepted_order_carries_its_ship_by_and_confirm_by_dates(outcome: Outcome) -> None:
    days = {"on-time": 7, "late": 1, "never": 2, "thirty": 30, "r4-before": 5, "r4-after": 10}
    for order_id, production_days in days.items():
        [accepted] = outcome.about(events.OrderAccepted, order_id)
        assert accepted.ship_by_date == accepted.order_date + timedelta(days=production_days)
        assert accepted.confirm_by_date == accepted.order_date + timedelta(days=30)


def test_R8_confirmations_on_time_late_and_refused(outcome: Outcome) -> None:
    on_time, late = outcome.answers["confirm on-time"], outcome.answers["confirm late"]
    assert isinstance(on_time, events.ShipmentConfirmed) and not on_time.late
    assert on_time.carrier == "Canada Post" and on_time.tracking_id == "TRK-on-time" and on_time.memo == "gift wrapped"
    assert isinstance(late, events.ShipmentConfirmed) and late.late
    assert rejected(outcome, "forbidden") is RejectionReason.FORBIDDEN
    assert rejected(outcome, "ship date ahead") is RejectionReason.SHIP_DATE_OUT_OF_RANGE
    assert rejected(outcome, "unknown order") is RejectionReason.UNKNOWN_ORDER
    assert outcome.orders["late"]["shipped_late"] is True and outcome.orders["on-time"]["shipped_late"] is False


def test_R9_a_resent_confirmation_is_a_no_op_and_another_is_already_shipped(outcome: Outcome) -> None:
    assert len(outcome.about(events.ShipmentConfirmed, "on-time")) == 1
    assert rejected(outcome, "confirm on-time differently") is RejectionReason.ALREADY_SHIPPED


def test_R10_every_order_ends_in_exactly_the_status_its_story_leads_to(outcome: Outcome) -> None:
    statuses = {order_id: row["status"] for order_id, row in outcome.orders.items()}
    assert statuses == {
        "on-time": "shipped",
        "late": "shipped",
        "never": "cancelled",
        "thirty": "cancelled",
        "r4-before": "cancelled",
        "r4-after": "cancelled",
        "out-of-stock": "rejected",
        "wrong-seller": "rejected",
        "unknown-listing": "rejected",
    }
    assert {o for o, row in outcome.orders.items() if row["late_penalty"]} == {"late", "never", "r4-before", "r4-after"}


def test_R11_one_penalty_for_each_order_not_confirmed_by_its_ship_by_date(outcome: Outcome) -> None:
    penalised = sorted(p.order_id for p in outcome.tap.of_type(events.LateShipmentPenalty))
    assert penalised == ["late", "never", "r4-after", "r4-before"]


def test_R12_one_cancellation_seller_not_paid_then_confirmation_refused(outcome: Outcome) -> None:
    cancelled = sorted(c.order_id for c in outcome.tap.of_type(events.CancellationIssued))
    assert cancelled == ["never", "r4-after", "r4-before", "thirty"]
    assert all(c.seller_paid is False for c in outcome.tap.of_type(events.CancellationIssued))
    assert rejected(outcome, "confirm never") is RejectionReason.ORDER_CANCELLED
    assert outcome.answers["confirm never"].rule == "R12"  # type: ignore[attr-defined]


def test_R13_thirty_day_production_gets_only_the_cancellation(outcome: Outcome) -> None:
    assert outcome.about(events.LateShipmentPenalty, "thirty") == []
    assert outcome.timers == {**outcome.timers, ("thirty", "confirm_by"): "fired"}
    assert ("thirty", "ship_by") not in outcome.timers


def test_R14_a_cancelled_order_returns_its_units(outcome: Outcome) -> None:
    [restored] = outcome.about(events.StockRestored, "never")
    assert [(line.listing_id, line.quantity) for line in restored.lines] == [("vase-2d", 2)]
    assert outcome.stock["vase-2d"] == 3 and outcome.stock["quilt-30d"] == 5 and outcome.stock["scarf-5d"] == 10
    assert outcome.stock["mug-7d"] == 8 and outcome.stock["bowl-1d"] == 9  # shipped orders keep theirs


def test_M1_every_message_on_every_topic_matches_its_published_contract(outcome: Outcome) -> None:
    assert outcome.tap.undecodable == []
    assert outcome.tap.of_type(events.DeadLetter) != []  # the refused commands, kept with their bytes (M3)


def test_M4_every_message_about_an_order_is_keyed_by_that_order(outcome: Outcome) -> None:
    for topic, key, message in outcome.tap.seen:
        if isinstance(message, events.OrderEvent) and topic != "deadletters":
            assert key == order_key(message.storefront_id, message.order_id), (topic, message.type)
    assert {t for t, _, m in outcome.tap.seen if isinstance(m, events.OrdersWatermark)} == {ORDERS_EVENTS.name}


def test_M5_every_command_got_exactly_one_answer(outcome: Outcome) -> None:
    for command in outcome.commands:
        answers = [m for m in outcome.tap.of_type(ANSWER_TYPES) if m.command_id == command.command_id]  # type: ignore[attr-defined]
        assert len(answers) == 1, (command.type, getattr(command, "order_id", None), answers)
    # Refusals name the rule they enforce.
    for refusal in outcome.tap.of_type(events.CommandRejected):
        assert refusal.rule == refusal.reason.rule
