"""What the portal says about an order and an answer (services/portal/views.py, commands.py, reads.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.orders.dates import fix_deadlines
from services.portal import commands, reads, storage, views

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def order(status: str = "unshipped", placed: datetime = NOW - timedelta(days=1), production: int = 3) -> dict:  # type: ignore[type-arg]
    d = fix_deadlines(placed, production, ZoneInfo("Europe/Berlin"))
    return {
        "status": status, "placed_at": placed, "timezone": "Europe/Berlin", "order_date": d.order_date,
        "ship_by_date": d.ship_by_date, "confirm_by_date": d.confirm_by_date,
        "ship_by_deadline": d.ship_by_deadline, "confirm_by_deadline": d.confirm_by_deadline,
    }  # fmt: skip


def warning(kind: str, deadline: datetime) -> dict:  # type: ignore[type-arg]
    return {"deadline_kind": kind, "deadline": deadline}


def test_S4_an_order_is_at_risk_while_a_warned_deadline_is_ahead_and_late_once_ship_by_passed() -> None:
    o = order()
    assert views.flags(o, [], NOW) == views.Flags(False, False, ())
    warned = [warning("ship_by", o["ship_by_deadline"])]
    assert views.flags(o, warned, NOW).at_risk
    after = o["ship_by_deadline"] + timedelta(seconds=1)
    assert views.flags(o, warned, after) == views.Flags(True, False, ())
    assert views.flags(o, [*warned, warning("confirm_by", o["confirm_by_deadline"])], after) == views.Flags(True, True, ("confirm_by",))
    assert views.flags(order("shipped"), warned, NOW) == views.Flags(False, False, ())


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(days=2, hours=3, minutes=5), "2 d 3 h left"),
        (timedelta(hours=5, minutes=7), "5 h 7 min left"),
        (timedelta(minutes=3), "3 min left"),
        (timedelta(seconds=10), "less than a minute left"),
        (timedelta(0), "passed less than a minute ago"),
        (-timedelta(days=1, hours=1), "passed 1 d 1 h ago"),
    ],
)
def test_time_left_in_words(delta: timedelta, words: str) -> None:
    assert views.time_left(NOW + delta, NOW) == words


def test_the_dates_are_explained_in_the_marketplace_zone() -> None:
    o = order(placed=datetime(2026, 3, 28, 23, 30, tzinfo=UTC), production=4)  # 00:30 on the 29th in Berlin
    text = "\n".join(views.explain_dates(o, ZoneInfo("Europe/Berlin")))
    assert "order date is 2026-03-29 in the marketplace time zone Europe/Berlin" in text
    assert "2026-04-02 = order date + 4 days" in text and "2026-04-28 = order date + 30 days" in text
    assert "(2026-04-03 00:00 CEST)" in text  # the deadline at local midnight, after the change to summer time
    assert views.explain_dates({**o, "order_date": None}, ZoneInfo("UTC"))[0].startswith("This order has no ship-by")


def answer_row(kind: str | None, **fields: object) -> dict:  # type: ignore[type-arg]
    return {"answer_type": kind, "reason": None, "rule": None, "message": None, "late": None, "tracking_valid": None, **fields}


def test_answers_in_words() -> None:
    assert views.answer(answer_row(None)).state == "pending"
    assert views.answer(answer_row("shipment.confirmed", late=False, tracking_valid=True)).title == "Confirmed"
    late = views.answer(answer_row("shipment.confirmed", late=True, tracking_valid=False))
    assert late.state == "confirmed_late" and any("valid-tracking rate" in d for d in late.details)
    refused = views.answer(answer_row("command.rejected", reason="order_cancelled", rule="R12", message="order x was cancelled"))
    assert refused.state == "refused" and "not paid" in refused.details[0] and "R12" in refused.details[1]
    assert views.answer(answer_row("listing.updated")).title == "Listing updated"


def test_S3_a_confirmation_takes_the_seller_from_the_session_and_reports_every_bad_field() -> None:
    built = commands.confirmation(
        "seller-a", "shop-1", "o-1", uuid.uuid4(),
        {"ship_date": "2026-03-20", "shipping_method": "Standard", "carrier": "UPS", "tracking_id": "1Z", "memo": "", "seller_id": "seller-b"}, at=NOW,
    )  # fmt: skip
    assert not isinstance(built, commands.Invalid) and built.seller_id == "seller-a" and built.memo is None and built.occurred_at == NOW
    bad = commands.confirmation("seller-a", "shop-1", "o-1", uuid.uuid4(), {"ship_date": "soon", "carrier": "", "tracking_id": "x" * 101, "memo": "\x00"}, at=NOW)
    assert isinstance(bad, commands.Invalid)
    assert set(bad.problems) == {"ship_date", "shipping_method", "carrier", "tracking_id", "memo"}
    assert isinstance(commands.listing_update("seller-a", "mug", uuid.uuid4(), {"quantity": "", "production_days": ""}, at=NOW), commands.Invalid)
    edit = commands.listing_update("seller-a", "mug", uuid.uuid4(), {"quantity": "0", "production_days": ""}, at=NOW)
    assert not isinstance(edit, commands.Invalid) and (edit.quantity, edit.production_days) == (0, None)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 1, 1), timezones=st.just(UTC)), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,20}", fullmatch=True))
def test_a_cursor_comes_back_as_it_went_out(at: datetime, order_id: str) -> None:
    cursor = storage.Cursor(at, "shop-1", order_id)
    assert reads.decode_cursor(reads.encode_cursor(cursor)) == cursor


@given(st.text(max_size=100))
def test_any_other_cursor_is_bad_input(text: str) -> None:
    try:
        reads.decode_cursor(text)
    except reads.BadInput:
        pass

