"""R5, R8-R10, R12: order statuses, placement, confirmation and cancellation, decided without I/O."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import product
from zoneinfo import ZoneInfo

import pytest

from services.orders import domain
from services.orders.domain import AlreadyConfirmed, Confirmation, IllegalTransition, Order, Status
from shared.contracts.commands import ConfirmShipment
from shared.contracts.reasons import Refusal, RejectionReason

pytestmark = pytest.mark.unit

UTC_ZONE = ZoneInfo("UTC")
PLACED = datetime(2026, 5, 1, 12, tzinfo=UTC)


def pending(**changes: object) -> Order:
    order = Order("shop", "o1", "s1", uuid.uuid4(), PLACED, Status.PENDING)
    return replace(order, **changes)


def accepted(production_days: int = 3) -> Order:
    return domain.accept(pending(), [production_days], UTC_ZONE)


def confirmation(ship_date: date = date(2026, 5, 2), seller: str = "s1", command_id: uuid.UUID | None = None) -> ConfirmShipment:
    return ConfirmShipment(
        command_id=command_id or uuid.uuid4(),
        storefront_id="shop",
        order_id="o1",
        seller_id=seller,
        ship_date=ship_date,
        shipping_method="standard",
        carrier="UPS",
        tracking_id="1Z999",
    )


ALLOWED = {
    (Status.PENDING, Status.REJECTED),
    (Status.PENDING, Status.UNSHIPPED),
    (Status.UNSHIPPED, Status.SHIPPED),
    (Status.UNSHIPPED, Status.CANCELLED),
}


@pytest.mark.parametrize(("current", "target"), list(product(Status, Status)))
def test_R10_an_order_moves_only_along_the_allowed_transitions(current: Status, target: Status) -> None:
    if (current, target) in ALLOWED:
        assert domain.move(current, target) is target
    else:
        with pytest.raises(IllegalTransition):
            domain.move(current, target)


def test_R5_placing_the_same_command_twice_is_a_no_op_and_another_command_is_a_duplicate() -> None:
    first = pending()
    assert domain.place(None, first) == first
    assert isinstance(domain.place(first, first), domain.AlreadyPlaced)
    other = domain.place(first, replace(first, command_id=uuid.uuid4()))
    assert isinstance(other, Refusal) and other.reason is RejectionReason.DUPLICATE_ORDER


def test_R7_acceptance_uses_the_largest_production_time() -> None:
    order = domain.accept(pending(), [2, 9, 4], UTC_ZONE)
    assert order.status is Status.UNSHIPPED
    assert order.deadlines is not None and order.deadlines.ship_by_date == date(2026, 5, 10)


def test_R8_confirmation_before_the_ship_by_deadline_is_on_time() -> None:
    result = domain.confirm(accepted(), confirmation(), datetime(2026, 5, 4, 23, 59, tzinfo=UTC), UTC_ZONE)
    assert isinstance(result, Confirmation) and not result.late
    assert result.order.status is Status.SHIPPED


def test_R8_confirmation_after_the_ship_by_date_is_recorded_late() -> None:
    result = domain.confirm(accepted(), confirmation(), datetime(2026, 5, 5, tzinfo=UTC), UTC_ZONE)
    assert isinstance(result, Confirmation) and result.late and result.order.shipment is not None and result.order.shipment.late


@pytest.mark.parametrize("ship_date", [date(2026, 4, 30), date(2026, 5, 4)])
def test_R8_ship_date_must_lie_between_the_order_date_and_today(ship_date: date) -> None:
    result = domain.confirm(accepted(), confirmation(ship_date), datetime(2026, 5, 3, 10, tzinfo=UTC), UTC_ZONE)
    assert isinstance(result, Refusal) and result.reason is RejectionReason.SHIP_DATE_OUT_OF_RANGE


def test_R8_only_the_owning_seller_may_confirm() -> None:
    result = domain.confirm(accepted(), confirmation(seller="s2"), PLACED + timedelta(days=1), UTC_ZONE)
    assert isinstance(result, Refusal) and result.reason is RejectionReason.FORBIDDEN


def test_R8_confirmation_window_closes_at_the_end_of_the_confirm_by_date() -> None:
    order = accepted()
    assert order.deadlines is not None
    end = order.deadlines.confirm_by_deadline
    just_before = domain.confirm(order, confirmation(), end - timedelta(microseconds=1), UTC_ZONE)
    assert isinstance(just_before, Confirmation) and just_before.late
    at_end = domain.confirm(order, confirmation(), end, UTC_ZONE)
    assert isinstance(at_end, Refusal) and at_end.reason is RejectionReason.CONFIRMATION_WINDOW_CLOSED


def test_R9_the_same_confirmation_again_is_a_no_op_and_another_is_already_shipped() -> None:
    command = confirmation()
    now = PLACED + timedelta(days=1)
    first = domain.confirm(accepted(), command, now, UTC_ZONE)
    assert isinstance(first, Confirmation)
    assert isinstance(domain.confirm(first.order, command, now, UTC_ZONE), AlreadyConfirmed)
    again = domain.confirm(first.order, confirmation(), now, UTC_ZONE)
    assert isinstance(again, Refusal) and again.reason is RejectionReason.ALREADY_SHIPPED


def test_R12_a_cancelled_order_rejects_confirmation() -> None:
    cancelled = domain.cancel(accepted(), "not confirmed in 30 days")
    assert cancelled is not None and cancelled.status is Status.CANCELLED
    result = domain.confirm(cancelled, confirmation(), PLACED + timedelta(days=1), UTC_ZONE)
    assert isinstance(result, Refusal) and result.reason is RejectionReason.ORDER_CANCELLED


def test_R12_only_an_unshipped_order_can_be_cancelled() -> None:
    shipped = domain.confirm(accepted(), confirmation(), PLACED + timedelta(days=1), UTC_ZONE)
    assert isinstance(shipped, Confirmation)
    assert domain.cancel(shipped.order, "late") is None
    assert domain.cancel(pending(), "late") is None


def test_R11_the_late_penalty_is_a_mark_set_once_and_not_a_status() -> None:
    marked = domain.mark_late(accepted())
    assert marked is not None and marked.late_penalty and marked.status is Status.UNSHIPPED
    assert domain.mark_late(marked) is None


def test_S5_an_invalid_tracking_id_does_not_block_the_confirmation_and_is_marked() -> None:
    result = domain.confirm(accepted(), confirmation(), PLACED + timedelta(days=1), UTC_ZONE, tracking_valid=False)
    assert isinstance(result, Confirmation) and result.order.shipment is not None
    assert result.order.shipment.tracking_valid is False and result.order.status is Status.SHIPPED
