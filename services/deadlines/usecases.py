"""Deadlines' use cases: one function per message type it handles (its dispatch table is in app.py).
None does I/O itself (services/deadlines/storage.py loads and saves the batch)."""

from __future__ import annotations

from datetime import timedelta

from services.deadlines import domain
from services.deadlines.storage import DeadlinesWork
from shared.contracts import events
from shared.logs import get_logger
from shared.messaging.work import Delivery

log = get_logger()


def store_timers(work: DeadlinesWork, accepted: events.OrderAccepted, delivery: Delivery, warning_lead: timedelta) -> None:
    # The partition this order's events travel on: its watermark gates the timers (R15).
    stored = work.store(domain.timers_for(accepted, warning_lead), delivery.partition)
    log.info("deadlines.stored", timers={t.kind: t.due_at.isoformat() for t in stored})


def void_for_confirmation(work: DeadlinesWork, confirmed: events.ShipmentConfirmed) -> None:
    # R15: only the deadlines the confirmation beat; a late confirmation leaves the ship-by penalty.
    outcome = domain.on_confirmation(work.timers_of(confirmed.storefront_id, confirmed.order_id), confirmed.confirmed_at)
    work.update(outcome.voided)
    if outcome.fired_too_early:
        log.error(
            "deadlines.fired_despite_earlier_confirmation",
            kinds=[t.kind for t in outcome.fired_too_early],
            confirmed_at=confirmed.confirmed_at.isoformat(),
        )
    log.info("deadlines.voided", kinds=[t.kind for t in outcome.voided], late=confirmed.late)


def void_for_cancellation(work: DeadlinesWork, cancelled: events.OrderCancelled) -> None:
    work.update(domain.on_cancellation(work.timers_of(cancelled.storefront_id, cancelled.order_id)))


def advance_watermark(work: DeadlinesWork, mark: events.OrdersWatermark, delivery: Delivery) -> None:
    # The partition it was read from is the one it speaks for.
    work.advance_watermark(delivery.partition, mark.as_of)
