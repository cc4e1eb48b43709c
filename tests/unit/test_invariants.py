"""The fault harness's invariant checker catches each way a run can go wrong (it judges M2, R3,
R11-R15 in the fault run, so it must be able to fail)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from devtools.invariants import Timer, check
from shared.contracts import commands, events
from shared.contracts.commands import OrderLine

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 1, tzinfo=UTC)
IDS = {"storefront_id": "shop", "order_id": "o1", "seller_id": "s"}


def history(confirmed_at: datetime | None) -> tuple[list, list]:  # type: ignore[type-arg]
    """One listing, one accepted order, shipped at `confirmed_at` or never, with the right deadline events."""
    listing = commands.CreateListing(command_id=uuid.uuid4(), seller_id="s", listing_id="l", quantity=5, production_days=3)
    place = commands.PlaceOrder(command_id=uuid.uuid4(), placed_at=T0, lines=[OrderLine(listing_id="l", quantity=2)], **IDS)
    ship_by, confirm_by = T0 + timedelta(days=4), T0 + timedelta(days=31)
    topics = [
        events.ListingCreated(command_id=listing.command_id, seller_id="s", listing_id="l", quantity=5, production_days=3),
        events.StockReserved(lines=[events.ReservedLine(listing_id="l", quantity=2, production_days=3)], **IDS),
        events.OrderAccepted(
            command_id=place.command_id, placed_at=T0, timezone="UTC", order_date=T0.date(), ship_by_date=ship_by.date(),
            confirm_by_date=confirm_by.date(), ship_by_deadline=ship_by, confirm_by_deadline=confirm_by, **IDS,
        ),
    ]
    sent = [listing, place]
    if confirmed_at is not None:
        confirm = commands.ConfirmShipment(
            command_id=uuid.uuid4(), ship_date=T0.date(), shipping_method="m", carrier="c", tracking_id="t", **IDS
        )
        sent.append(confirm)
        topics.append(
            events.ShipmentConfirmed(
                command_id=confirm.command_id, confirmed_at=confirmed_at, ship_date=T0.date(), shipping_method="m",
                carrier="c", tracking_id="t", late=confirmed_at >= ship_by, **IDS,
            )
        )
    if confirmed_at is None or confirmed_at >= ship_by:
        topics.append(events.LateShipmentPenalty(deadline=ship_by, ship_by_date=ship_by.date(), reason="late", **IDS))
    if confirmed_at is None:
        topics += [
            events.CancellationIssued(deadline=confirm_by, confirm_by_date=confirm_by.date(), reason="30 days", **IDS),
            events.OrderCancelled(reason="30 days", lines=[OrderLine(listing_id="l", quantity=2)], **IDS),
            events.StockRestored(lines=[OrderLine(listing_id="l", quantity=2)], **IDS),
        ]
    return sent, topics


def test_a_clean_never_shipped_history_holds_every_invariant() -> None:
    sent, topics = history(None)
    report = check(sent, 0, topics + topics[:2], {"l": 5}, [Timer("shop/o1", "ship_by", T0, T0)])
    assert report.ok, report.problems
    assert report.counts["republished_records"] == 2 and report.counts["cancellations"] == 1


def test_a_late_shipment_demands_a_penalty_and_no_cancellation() -> None:
    sent, topics = history(T0 + timedelta(days=5))
    assert check(sent, 0, topics, {"l": 3}, []).ok


@pytest.mark.parametrize(
    ("break_it", "invariant"),
    [
        (lambda s, t: t.append(events.LateShipmentPenalty(deadline=T0, ship_by_date=T0.date(), reason="x", **IDS)), "duplicated_effects"),
        (lambda s, t: t.remove(next(m for m in t if isinstance(m, events.StockRestored))), "lost_effects"),
        (lambda s, t: t.remove(next(m for m in t if isinstance(m, events.CancellationIssued))), "cancellations_wrong"),
        (lambda s, t: t.remove(next(m for m in t if isinstance(m, events.LateShipmentPenalty))), "penalties_wrong"),
        (lambda s, t: s.append(commands.CreateListing(command_id=uuid.uuid4(), seller_id="s", listing_id="m", quantity=1, production_days=1)), "lost_effects"),
    ],
    ids=["doubled penalty", "stock not restored", "cancellation missing", "penalty missing", "command unanswered"],
)
def test_each_broken_invariant_is_reported(break_it, invariant: str) -> None:  # type: ignore[no-untyped-def]
    sent, topics = history(None)
    break_it(sent, topics)
    report = check(sent, 0, topics, {"l": 5, "m": 1}, [])
    assert report.problems[invariant], report.problems


def test_early_fires_wrong_stock_and_unaccounted_poison_are_reported() -> None:
    sent, topics = history(None)
    report = check(sent, 2, topics, {"l": 4}, [Timer("shop/o1", "ship_by", T0, T0 - timedelta(seconds=1))])
    assert report.problems["fired_early"] and report.problems["stock_wrong"] and report.problems["dead_letters_wrong"]
