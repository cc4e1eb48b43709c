"""Orders' use cases: one function per message type it handles (its dispatch table is in app.py).
Each decides with the domain, changes the batch's unit of work and emits what it decided; none does
I/O itself (services/orders/storage.py loads and saves the batch)."""

from __future__ import annotations

from services.orders import domain, messages
from services.orders.storage import OrdersWork
from shared.contracts import commands, events
from shared.contracts.reasons import Refusal
from shared.contracts.topics import ORDERS_EVENTS, order_key
from shared.logs import get_logger

log = get_logger()


def place_order(work: OrdersWork, command: commands.PlaceOrder) -> Refusal | None:
    new = domain.Order(
        storefront_id=command.storefront_id,
        order_id=command.order_id,
        seller_id=command.seller_id,
        command_id=command.command_id,
        placed_at=command.placed_at,
        status=domain.Status.PENDING,
        lines=tuple((line.listing_id, line.quantity) for line in command.lines),
    )
    decision = domain.place(work.get(command.storefront_id, command.order_id), new)
    if isinstance(decision, domain.AlreadyPlaced):
        log.info("order.already_placed")
        return None
    if isinstance(decision, Refusal):
        return decision
    work.put(decision)
    work.emit(ORDERS_EVENTS, _key(decision), messages.order_placed(decision, work.now))
    log.info("order.placed", lines=len(command.lines))
    return None


def accept(work: OrdersWork, reserved: events.StockReserved) -> None:
    order = _pending(work, reserved)
    if order is None:
        return
    accepted = domain.accept(order, [line.production_days for line in reserved.lines], work.zone)
    work.put(accepted)
    work.emit(ORDERS_EVENTS, _key(accepted), messages.order_accepted(accepted, work.zone, work.now))
    log.info("order.accepted", ship_by_date=str(accepted.deadlines.ship_by_date) if accepted.deadlines else None)


def reject(work: OrdersWork, failed: events.StockReservationFailed) -> None:
    order = _pending(work, failed)
    if order is None:
        return
    rejected = domain.reject(order, domain.Rejection(failed.reason, failed.rule or failed.reason.rule, failed.message))
    work.put(rejected)
    work.emit(ORDERS_EVENTS, _key(rejected), messages.order_rejected(rejected, failed, work.now))
    log.info("order.rejected", reason=failed.reason.value)


def confirm_shipment(work: OrdersWork, command: commands.ConfirmShipment) -> Refusal | None:
    decision = domain.confirm(work.get(command.storefront_id, command.order_id), command, work.now, work.zone)
    if isinstance(decision, domain.AlreadyConfirmed):
        log.info("shipment.already_confirmed")
        return None
    if isinstance(decision, Refusal):
        return decision
    work.put(decision.order)
    work.emit(ORDERS_EVENTS, _key(decision.order), messages.shipment_confirmed(decision.order, work.now))
    log.info("shipment.confirmed", late=decision.late)
    return None


def mark_late(work: OrdersWork, penalty: events.LateShipmentPenalty) -> None:
    order = work.get(penalty.storefront_id, penalty.order_id)
    marked = domain.mark_late(order) if order else None
    if marked is not None:
        work.put(marked)
        log.info("order.late_penalty_marked")


def cancel(work: OrdersWork, issued: events.CancellationIssued) -> None:
    order = work.get(issued.storefront_id, issued.order_id)
    cancelled = domain.cancel(order, issued.reason) if order else None
    if cancelled is None:
        log.info("order.cancellation_ignored", status=order.status.value if order else None)
        return
    work.put(cancelled)
    work.emit(ORDERS_EVENTS, _key(cancelled), messages.order_cancelled(cancelled, work.now))
    log.info("order.cancelled", reason=issued.reason)


def _pending(work: OrdersWork, event: events.OrderEvent) -> domain.Order | None:
    """The order a reservation outcome is about, if it still awaits one (a replay finds it decided)."""
    order = work.get(event.storefront_id, event.order_id)
    if order is None or order.status is not domain.Status.PENDING:
        log.info("order.outcome_ignored", status=order.status.value if order else None)
        return None
    return order


def _key(order: domain.Order) -> str:
    return order_key(order.storefront_id, order.order_id)
