"""Inventory's use cases: one function per message it reads. Each decides with the domain,
persists with storage and queues its answer in the outbox, all in the caller's transaction."""

from __future__ import annotations

import asyncpg

from services.inventory import domain, storage
from shared.contracts import commands, events
from shared.contracts.envelope import Message
from shared.contracts.reasons import Refusal
from shared.contracts.topics import INVENTORY_EVENTS, order_key
from shared.logs import get_logger
from shared.messaging.consumer import Delivery
from shared.storage import outbox

log = get_logger()


async def create_listing(conn: asyncpg.Connection, command: commands.CreateListing) -> Refusal | None:
    existing = (await storage.lock_listings(conn, [command.listing_id])).get(command.listing_id)
    decision = domain.create_listing(existing, command)
    if isinstance(decision, Refusal):
        return decision
    await storage.insert_listing(conn, decision)
    await outbox.add(conn, INVENTORY_EVENTS, decision.listing_id, events.ListingCreated(command_id=command.command_id, **_state(decision)))
    log.info("listing.created", quantity=decision.quantity, production_days=decision.production_days)
    return None


async def update_listing(conn: asyncpg.Connection, command: commands.UpdateListing) -> Refusal | None:
    existing = (await storage.lock_listings(conn, [command.listing_id])).get(command.listing_id)
    decision = domain.update_listing(existing, command)
    if isinstance(decision, Refusal):
        return decision
    await storage.save_listings(conn, [decision])
    await outbox.add(conn, INVENTORY_EVENTS, decision.listing_id, events.ListingUpdated(command_id=command.command_id, **_state(decision)))
    log.info("listing.updated", quantity=decision.quantity, production_days=decision.production_days)
    return None


async def reserve_stock(conn: asyncpg.Connection, placed: events.OrderPlaced) -> None:
    key = order_key(placed.storefront_id, placed.order_id)
    ids = {"storefront_id": placed.storefront_id, "order_id": placed.order_id, "seller_id": placed.seller_id}
    if not await storage.decide_once(conn, key):
        log.warning("stock.order_already_decided")  # the same order placed again under a new event id
        return
    listings = await storage.lock_listings(conn, (line.listing_id for line in placed.lines))
    decision = domain.reserve(placed.seller_id, placed.lines, listings)
    if isinstance(decision, Refusal):
        failed = events.StockReservationFailed(reason=decision.reason, message=decision.message, listing_id=decision.listing_id, **ids)
        await outbox.add(conn, INVENTORY_EVENTS, key, failed)
        log.info("stock.reservation_failed", reason=decision.reason.value, listing_id=decision.listing_id)
        return
    await storage.save_listings(conn, decision.listings)
    await storage.record_reservation(conn, key, decision.lines)
    reserved = [events.ReservedLine(listing_id=i, quantity=q, production_days=d) for i, q, d in decision.lines]
    await outbox.add(conn, INVENTORY_EVENTS, key, events.StockReserved(lines=reserved, **ids))
    log.info("stock.reserved", lines=len(reserved))


async def restore_stock(conn: asyncpg.Connection, cancelled: events.OrderCancelled) -> None:
    key = order_key(cancelled.storefront_id, cancelled.order_id)
    lines = await storage.take_unrestored_reservation(conn, key)
    if not lines:
        return  # nothing was reserved, or it was already given back
    listings = await storage.lock_listings(conn, (listing_id for listing_id, _ in lines))
    await storage.save_listings(conn, domain.restore(lines, listings))
    restored = events.StockRestored(
        storefront_id=cancelled.storefront_id,
        order_id=cancelled.order_id,
        seller_id=cancelled.seller_id,
        lines=[commands.OrderLine(listing_id=i, quantity=q) for i, q in lines],
    )
    await outbox.add(conn, INVENTORY_EVENTS, key, restored)
    log.info("stock.restored", lines=len(lines))


async def on_inventory_command(conn: asyncpg.Connection, message: Message, _: Delivery) -> Refusal | None:
    if isinstance(message, commands.CreateListing):
        return await create_listing(conn, message)
    if isinstance(message, commands.UpdateListing):
        return await update_listing(conn, message)
    return None


async def on_order_event(conn: asyncpg.Connection, message: Message, _: Delivery) -> None:
    if isinstance(message, events.OrderPlaced):
        await reserve_stock(conn, message)
    elif isinstance(message, events.OrderCancelled):
        await restore_stock(conn, message)
    # Other order events are not inventory's business.


def _state(listing: domain.Listing) -> dict[str, object]:
    return {
        "seller_id": listing.seller_id,
        "listing_id": listing.listing_id,
        "quantity": listing.quantity,
        "production_days": listing.production_days,
    }
