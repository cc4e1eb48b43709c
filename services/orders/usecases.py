"""Orders' use cases: one function per message it reads, each in the caller's transaction."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

import asyncpg

from services.orders import domain, storage
from services.orders.watermarks import CONFIRMATIONS_LOCK
from shared.clock import Clock
from shared.contracts import commands, events
from shared.contracts.envelope import Message
from shared.contracts.reasons import Refusal
from shared.contracts.topics import ORDERS_EVENTS, order_key
from shared.logs import get_logger
from shared.messaging.consumer import Delivery
from shared.storage import outbox

log = get_logger()


class OrderUseCases:
    def __init__(self, clock: Clock, zone: ZoneInfo) -> None:
        self.clock = clock
        self.zone = zone

    async def place_order(self, conn: asyncpg.Connection, command: commands.PlaceOrder) -> Refusal | None:
        new = domain.Order(
            storefront_id=command.storefront_id,
            order_id=command.order_id,
            seller_id=command.seller_id,
            command_id=command.command_id,
            placed_at=command.placed_at,
            status=domain.Status.PENDING,
        )
        existing = await storage.lock_order(conn, command.storefront_id, command.order_id)
        decision = domain.place(existing, new)
        if isinstance(decision, domain.AlreadyPlaced):
            log.info("order.already_placed")
            return None
        if isinstance(decision, Refusal):
            return decision
        await storage.insert_order(conn, decision, command.lines)
        placed = events.OrderPlaced(
            command_id=command.command_id,
            placed_at=command.placed_at,
            lines=command.lines,
            **_ids(decision),
        )
        await outbox.add(conn, ORDERS_EVENTS, _key(decision), placed)
        log.info("order.placed", lines=len(command.lines))
        return None

    async def on_stock_reserved(self, conn: asyncpg.Connection, reserved: events.StockReserved) -> None:
        order = await self._pending(conn, reserved)
        if order is None:
            return
        accepted = domain.accept(order, [line.production_days for line in reserved.lines], self.zone)
        await storage.save_decision(conn, accepted)
        d = accepted.deadlines
        assert d is not None  # accept() always fixes them
        event = events.OrderAccepted(
            command_id=accepted.command_id,
            placed_at=accepted.placed_at,
            timezone=self.zone.key,
            order_date=d.order_date,
            ship_by_date=d.ship_by_date,
            confirm_by_date=d.confirm_by_date,
            ship_by_deadline=d.ship_by_deadline,
            confirm_by_deadline=d.confirm_by_deadline,
            **_ids(accepted),
        )
        await outbox.add(conn, ORDERS_EVENTS, _key(accepted), event)
        log.info("order.accepted", ship_by_date=str(d.ship_by_date), confirm_by_date=str(d.confirm_by_date))

    async def on_stock_reservation_failed(self, conn: asyncpg.Connection, failed: events.StockReservationFailed) -> None:
        order = await self._pending(conn, failed)
        if order is None:
            return
        rejected = domain.reject(order)
        await storage.save_decision(conn, rejected)
        event = events.OrderRejected(command_id=rejected.command_id, reason=failed.reason, message=failed.message, **_ids(rejected))
        await outbox.add(conn, ORDERS_EVENTS, _key(rejected), event)
        log.info("order.rejected", reason=failed.reason.value)

    async def confirm_shipment(self, conn: asyncpg.Connection, command: commands.ConfirmShipment) -> Refusal | None:
        # R15: held shared until commit, so a watermark (taken exclusively) is never written while a
        # confirmation stamped before it is still uncommitted.
        await conn.execute("select pg_advisory_xact_lock_shared($1)", CONFIRMATIONS_LOCK)
        order = await storage.lock_order(conn, command.storefront_id, command.order_id)
        now = self.clock.now()
        decision = domain.confirm(order, command, now, self.zone)
        if isinstance(decision, domain.AlreadyConfirmed):
            log.info("shipment.already_confirmed")
            return None
        if isinstance(decision, Refusal):
            return decision
        shipped = decision.order
        await storage.save_shipment(conn, shipped, command, now)
        event = events.ShipmentConfirmed(
            command_id=command.command_id,
            confirmed_at=now,
            ship_date=command.ship_date,
            shipping_method=command.shipping_method,
            carrier=command.carrier,
            tracking_id=command.tracking_id,
            memo=command.memo,
            late=decision.late,
            **_ids(shipped),
        )
        await outbox.add(conn, ORDERS_EVENTS, _key(shipped), event)
        log.info("shipment.confirmed", late=decision.late)
        return None

    async def on_late_penalty(self, conn: asyncpg.Connection, penalty: events.LateShipmentPenalty) -> None:
        order = await storage.lock_order(conn, penalty.storefront_id, penalty.order_id)
        if order is None or order.late_penalty:
            return
        await storage.save_status(conn, replace(order, late_penalty=True))
        log.info("order.late_penalty_marked")

    async def on_cancellation(self, conn: asyncpg.Connection, issued: events.CancellationIssued) -> None:
        order = await storage.lock_order(conn, issued.storefront_id, issued.order_id)
        cancelled = domain.cancel(order) if order else None
        if cancelled is None:
            log.info("order.cancellation_ignored", status=order.status.value if order else None)
            return
        await storage.save_status(conn, cancelled)
        lines = await storage.order_lines(conn, cancelled.storefront_id, cancelled.order_id)
        event = events.OrderCancelled(reason=issued.reason, lines=lines, **_ids(cancelled))
        await outbox.add(conn, ORDERS_EVENTS, _key(cancelled), event)
        log.info("order.cancelled", reason=issued.reason)

    async def on_order_command(self, conn: asyncpg.Connection, message: Message, _: Delivery) -> Refusal | None:
        if isinstance(message, commands.PlaceOrder):
            return await self.place_order(conn, message)
        if isinstance(message, commands.ConfirmShipment):
            return await self.confirm_shipment(conn, message)
        return None

    async def on_inventory_event(self, conn: asyncpg.Connection, message: Message, _: Delivery) -> None:
        if isinstance(message, events.StockReserved):
            await self.on_stock_reserved(conn, message)
        elif isinstance(message, events.StockReservationFailed):
            await self.on_stock_reservation_failed(conn, message)
        # Listing events and stock restorations are inventory's own business.

    async def on_deadline_event(self, conn: asyncpg.Connection, message: Message, _: Delivery) -> None:
        if isinstance(message, events.LateShipmentPenalty):
            await self.on_late_penalty(conn, message)
        elif isinstance(message, events.CancellationIssued):
            await self.on_cancellation(conn, message)

    async def _pending(self, conn: asyncpg.Connection, event: events.OrderEvent) -> domain.Order | None:
        """The order a reservation outcome is about, if it still awaits one (a replay finds it decided)."""
        order = await storage.lock_order(conn, event.storefront_id, event.order_id)
        if order is None or order.status is not domain.Status.PENDING:
            log.info("order.outcome_ignored", status=order.status.value if order else None)
            return None
        return order


def _ids(order: domain.Order) -> dict[str, str]:
    return {"storefront_id": order.storefront_id, "order_id": order.order_id, "seller_id": order.seller_id}


def _key(order: domain.Order) -> str:
    return order_key(order.storefront_id, order.order_id)


