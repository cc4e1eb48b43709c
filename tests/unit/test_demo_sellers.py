"""The demo's simulated sellers: what each does with an accepted order, when it restocks, what it types."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devtools.demo.sellers import LATE_BY, LOW_STOCK, RESTOCK_TO, ROUTINES, Behaviour, Sellers, plan, restock_to, routine
from devtools.demo.tracking_ids import ups_check_digit, ups_tracking_id
from shared.contracts.events import OrderAccepted
from shared.contracts.state import ListingStateRecord

pytestmark = pytest.mark.unit

ZONE = ZoneInfo("UTC")
SEEN = datetime(2026, 3, 2, 10, tzinfo=UTC)
SHIP_BY = datetime(2026, 3, 5, tzinfo=UTC)  # end of 4 March
CONFIRM_BY = datetime(2026, 4, 2, tzinfo=UTC)  # end of 1 April


def accepted(order: str, seller: str = "seller-a", ship_by: datetime = SHIP_BY, confirm_by: datetime = CONFIRM_BY) -> OrderAccepted:
    return OrderAccepted(
        storefront_id="shop-1", order_id=order, seller_id=seller, command_id=uuid.uuid4(), placed_at=SEEN, timezone="UTC",
        order_date=SEEN.date(), ship_by_date=ship_by.date() - timedelta(days=1), confirm_by_date=confirm_by.date() - timedelta(days=1),
        ship_by_deadline=ship_by, confirm_by_deadline=confirm_by,
    )  # fmt: skip


def listing_state(quantity: int, version: int, listing: str = "mug-a") -> ListingStateRecord:
    return ListingStateRecord(
        seller_id="seller-a", listing_id=listing, quantity=quantity, production_days=3, out_of_stock=quantity == 0, version=version
    )


def test_a_routine_cycles_over_a_sellers_accepted_orders() -> None:
    made = routine("test", 4, late=(1,), never=(3,))
    assert [made.behaviour(n) for n in range(8)] == [Behaviour.ON_TIME, Behaviour.LATE, Behaviour.ON_TIME, Behaviour.NEVER] * 2


def test_the_punctual_seller_meets_the_late_shipment_target_and_the_others_show_every_behaviour() -> None:
    punctual, careless, overwhelmed = ROUTINES
    assert Counter(punctual.steps)[Behaviour.LATE] / len(punctual.steps) < 0.04  # S6 target
    assert set(careless.steps) | set(overwhelmed.steps) == set(Behaviour)
    # The first few orders of the overwhelmed seller already show a never-confirmed and a late one.
    assert {Behaviour.NEVER, Behaviour.LATE} <= set(overwhelmed.steps[:3])


def test_on_time_sellers_confirm_part_of_the_way_to_the_ship_by_deadline() -> None:
    made = plan(Behaviour.ON_TIME, SEEN, SHIP_BY, CONFIRM_BY)
    assert made is not None and SEEN < made.at < SHIP_BY and made.tracking_valid
    invalid = plan(Behaviour.INVALID_TRACKING, SEEN, SHIP_BY, CONFIRM_BY)
    assert invalid is not None and invalid.at == made.at and not invalid.tracking_valid


def test_an_acceptance_seen_after_its_deadline_is_confirmed_at_once() -> None:
    made = plan(Behaviour.ON_TIME, SHIP_BY + timedelta(hours=1), SHIP_BY, CONFIRM_BY)
    assert made is not None and made.at == SHIP_BY + timedelta(hours=1)


def test_late_sellers_confirm_just_after_the_ship_by_date_ended_and_before_the_cancellation() -> None:
    made = plan(Behaviour.LATE, SEEN, SHIP_BY, CONFIRM_BY)
    assert made is not None and made.at == SHIP_BY + LATE_BY and made.behaviour is Behaviour.LATE


def test_R13_a_late_seller_whose_deadlines_coincide_confirms_on_time_rather_than_too_late() -> None:
    made = plan(Behaviour.LATE, SEEN, CONFIRM_BY, CONFIRM_BY)
    assert made is not None and made.behaviour is Behaviour.ON_TIME and made.at < CONFIRM_BY


def test_a_seller_who_never_confirms_plans_nothing() -> None:
    assert plan(Behaviour.NEVER, SEEN, SHIP_BY, CONFIRM_BY) is None


def test_confirmations_go_out_when_due_shipped_that_day_with_ups_tracking_ids() -> None:
    desk = Sellers({"seller-a": routine("test", 3, invalid_tracking=(1,), never=(2,))}, ZONE)
    assert desk.accepted(accepted("o1"), SEEN) is Behaviour.ON_TIME
    assert desk.accepted(accepted("o1"), SEEN) is None  # the same acceptance read twice: planned once
    assert desk.accepted(accepted("o2"), SEEN) is Behaviour.INVALID_TRACKING
    assert desk.accepted(accepted("o3"), SEEN) is Behaviour.NEVER
    assert desk.waiting() == 2
    assert desk.due(SEEN) == []
    later = SHIP_BY - timedelta(hours=1)
    sent = desk.due(later)
    assert [c.order_id for c in sent] == ["o1", "o2"] and desk.waiting() == 0
    assert {c.ship_date for c in sent} == {date(2026, 3, 4)} and {c.carrier for c in sent} == {"UPS"}
    valid, invalid = (c.tracking_id for c in sent)
    assert int(valid[-1]) == ups_check_digit(valid[2:-1])
    assert int(invalid[-1]) != ups_check_digit(invalid[2:-1])


def test_a_listing_that_runs_low_is_restocked_once_until_the_restock_shows() -> None:
    desk = Sellers({"seller-a": ROUTINES[0]}, ZONE)
    assert desk.listing(listing_state(LOW_STOCK + 1, 1)) is None
    restock = desk.listing(listing_state(LOW_STOCK, 2))
    assert restock is not None and restock.quantity == RESTOCK_TO and restock.listing_id == "mug-a"
    assert desk.listing(listing_state(0, 3)) is None  # already on its way
    assert desk.listing(listing_state(2, 2)) is None  # an old copy
    assert desk.listing(listing_state(RESTOCK_TO, 4)) is None  # it landed
    again = desk.listing(listing_state(1, 5))
    assert again is not None
    desk.refused(again.command_id)
    assert desk.listing(listing_state(1, 6)) is not None  # refused: the next low reading tries again


def test_restocking_thresholds() -> None:
    assert restock_to(0) == RESTOCK_TO and restock_to(LOW_STOCK) == RESTOCK_TO and restock_to(LOW_STOCK + 1) is None


def test_ups_check_digits_match_published_examples() -> None:
    assert ups_check_digit("999AA1012345678") == 4  # 1Z999AA10123456784, UPS's documentation sample
    assert ups_check_digit("WX0692YP4063626") == 9  # 1ZWX0692YP40636269
    good, bad = ups_tracking_id("HMS001", 42), ups_tracking_id("HMS001", 42, valid=False)
    assert good[:-1] == bad[:-1] and good != bad and len(good) == 18 and good.startswith("1Z")
    with pytest.raises(ValueError):
        ups_tracking_id("short", 1)
