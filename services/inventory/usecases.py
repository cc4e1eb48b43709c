"""Inventory's use cases: one function per message type it handles (its dispatch table is in app.py).
Each decides with the domain, changes the batch's unit of work and emits what it decided; none does
I/O itself (services/inventory/storage.py loads and saves the batch)."""

from __future__ import annotations

from collections.abc import Callable

from services.inventory import domain, messages
from services.inventory.storage import InventoryWork
from shared.contracts import commands, events
from shared.contracts.reasons import Refusal
from shared.contracts.topics import INVENTORY_EVENTS, order_key
from shared.logs import get_logger

log = get_logger()


def create_listing(work: InventoryWork, command: commands.CreateListing) -> Refusal | None:
    decision = domain.create_listing(work.listings.get(command.listing_id), command)
    return _listing_decided(work, decision, lambda listing: messages.listing_created(listing, command, work.now))


def update_listing(work: InventoryWork, command: commands.UpdateListing) -> Refusal | None:
    decision = domain.update_listing(work.listings.get(command.listing_id), command)
    return _listing_decided(work, decision, lambda listing: messages.listing_updated(listing, command, work.now))


def _listing_decided(work: InventoryWork, decision: domain.Listing | Refusal, answer: Callable[[domain.Listing], events.ListingChange]) -> Refusal | None:
    if isinstance(decision, Refusal):
        return decision
    work.put(decision)
    applied = answer(decision)
    work.emit(INVENTORY_EVENTS, decision.listing_id, applied)
    log.info(applied.type, quantity=decision.quantity, production_days=decision.production_days)
    return None


def reserve_stock(work: InventoryWork, placed: events.OrderPlaced) -> None:
    key = order_key(placed.storefront_id, placed.order_id)
    if not work.decide_once(key):
        log.warning("stock.order_already_decided")  # the same order placed again under a new event id
        return
    decision = domain.reserve(placed.seller_id, placed.lines, work.listings)
    if isinstance(decision, domain.Unreservable):
        work.emit(INVENTORY_EVENTS, key, messages.reservation_failed(placed, decision, work.now))
        log.info("stock.reservation_failed", reason=decision.first.reason.value, listing_id=decision.first.listing_id)
        return
    for listing in decision.listings:
        work.put(listing)
    work.reserve(key, decision.lines)
    work.emit(INVENTORY_EVENTS, key, messages.stock_reserved(placed, decision, work.now))
    log.info("stock.reserved", lines=len(decision.lines))


def restore_stock(work: InventoryWork, cancelled: events.OrderCancelled) -> None:
    key = order_key(cancelled.storefront_id, cancelled.order_id)
    lines = work.take_unrestored(key)
    if not lines:
        return  # nothing was reserved, or it was already given back
    for listing in domain.restore(lines, work.listings):
        work.put(listing)
    work.emit(INVENTORY_EVENTS, key, messages.stock_restored(cancelled, lines, work.now))
    log.info("stock.restored", lines=len(lines))
