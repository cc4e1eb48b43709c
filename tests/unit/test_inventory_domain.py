"""R1-R4, R6, R14: listing edits and all-or-nothing reservations, decided without I/O."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.inventory import domain
from services.inventory.domain import Listing, Reservation, Unreservable
from shared.contracts.commands import CreateListing, OrderLine, UpdateListing
from shared.contracts.reasons import RejectionReason

pytestmark = pytest.mark.unit


def create(quantity: int = 5, production_days: int = 3, seller: str = "s1", listing: str = "l1") -> CreateListing:
    return CreateListing(command_id=uuid.uuid4(), seller_id=seller, listing_id=listing, quantity=quantity, production_days=production_days)


@pytest.mark.parametrize(("quantity", "production_days"), [(-1, 3), (100_001, 3), (5, 0), (5, 31)])
def test_R1_listing_fields_out_of_range_are_refused(quantity: int, production_days: int) -> None:
    with pytest.raises(ValidationError):
        create(quantity, production_days)


def test_R1_listing_fields_at_their_limits_are_accepted() -> None:
    assert domain.create_listing(None, create(0, 1)) == Listing("l1", "s1", 0, 1)
    assert domain.create_listing(None, create(100_000, 30)) == Listing("l1", "s1", 100_000, 30)


def test_R1_an_update_must_change_something() -> None:
    with pytest.raises(ValidationError, match="must set"):
        UpdateListing(command_id=uuid.uuid4(), seller_id="s1", listing_id="l1")


def test_creating_an_existing_listing_is_rejected() -> None:
    existing = Listing("l1", "s1", 5, 3)
    assert domain.create_listing(existing, create()).reason is RejectionReason.LISTING_EXISTS
    assert domain.create_listing(existing, create(seller="s2")).reason is RejectionReason.FORBIDDEN


def test_R4_edits_change_only_what_they_name() -> None:
    existing = Listing("l1", "s1", 5, 3)
    edit = UpdateListing(command_id=uuid.uuid4(), seller_id="s1", listing_id="l1", production_days=10)
    assert domain.update_listing(existing, edit) == Listing("l1", "s1", 5, 10)
    foreign = UpdateListing(command_id=uuid.uuid4(), seller_id="s2", listing_id="l1", quantity=1)
    assert domain.update_listing(existing, foreign).reason is RejectionReason.FORBIDDEN
    assert domain.update_listing(None, edit).reason is RejectionReason.UNKNOWN_LISTING


def lines(*pairs: tuple[str, int]) -> list[OrderLine]:
    return [OrderLine(listing_id=i, quantity=q) for i, q in pairs]


def test_R2_out_of_stock_listing_takes_no_order() -> None:
    result = domain.reserve("s1", lines(("l1", 1)), {"l1": Listing("l1", "s1", 0, 3)})
    assert isinstance(result, Unreservable) and result.first.reason is RejectionReason.OUT_OF_STOCK and result.rule == "R2"


@pytest.mark.parametrize(
    ("listings", "reason"),
    [
        ({}, RejectionReason.UNKNOWN_LISTING),
        ({"l1": Listing("l1", "other", 9, 3)}, RejectionReason.WRONG_SELLER),
        ({"l1": Listing("l1", "s1", 1, 3)}, RejectionReason.INSUFFICIENT_QUANTITY),
    ],
)
def test_R6_an_order_that_cannot_be_reserved_names_why(listings: dict[str, Listing], reason: RejectionReason) -> None:
    result = domain.reserve("s1", lines(("l1", 2)), listings)
    assert isinstance(result, Unreservable) and result.first.reason is reason and result.first.listing_id == "l1"


def test_R6_the_same_listing_on_two_lines_needs_both_quantities() -> None:
    result = domain.reserve("s1", lines(("l1", 2), ("l1", 2)), {"l1": Listing("l1", "s1", 3, 3)})
    assert isinstance(result, Unreservable) and result.first.reason is RejectionReason.INSUFFICIENT_QUANTITY


def test_R6_a_rejection_names_every_line_that_failed_and_why() -> None:
    listings = {"ok": Listing("ok", "s1", 9, 3), "empty": Listing("empty", "s1", 0, 3), "theirs": Listing("theirs", "s2", 9, 3)}
    result = domain.reserve("s1", lines(("empty", 1), ("ok", 1), ("theirs", 1), ("gone", 1)), listings)
    assert isinstance(result, Unreservable)
    assert [(f.listing_id, f.reason) for f in result.failures] == [
        ("empty", RejectionReason.OUT_OF_STOCK),
        ("theirs", RejectionReason.WRONG_SELLER),
        ("gone", RejectionReason.UNKNOWN_LISTING),
    ]


stock = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d"]),
    st.tuples(st.sampled_from(["s1", "s2"]), st.integers(0, 20), st.integers(1, 30)),
    max_size=4,
)
order_lines = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d", "e"]), st.integers(1, 25)), min_size=1, max_size=6)


@given(stock=stock, wanted=order_lines)
def test_R3_R6_reservation_takes_every_unit_or_none_and_never_goes_negative(
    stock: dict[str, tuple[str, int, int]], wanted: list[tuple[str, int]]
) -> None:
    listings = {i: Listing(i, s, q, d) for i, (s, q, d) in stock.items()}
    result = domain.reserve("s1", lines(*wanted), listings)
    need: dict[str, int] = {}
    for listing_id, quantity in wanted:
        need[listing_id] = need.get(listing_id, 0) + quantity
    feasible = all(
        i in listings and listings[i].seller_id == "s1" and listings[i].quantity >= q for i, q in need.items()
    )
    assert isinstance(result, Reservation) == feasible
    if isinstance(result, Reservation):
        after = {item.listing_id: item.quantity for item in result.listings}
        assert after == {i: listings[i].quantity - q for i, q in need.items()}
        assert all(q >= 0 for q in after.values())
        assert {(i, q, listings[i].production_days) for i, q, _ in result.lines} == set(result.lines)


def test_R14_restoring_returns_the_units() -> None:
    restored = domain.restore([("l1", 2), ("l1", 1)], {"l1": Listing("l1", "s1", 4, 3)})
    assert restored == (Listing("l1", "s1", 7, 3),)
