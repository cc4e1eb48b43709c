"""Inventory's SQL, as the unit of work of one consuming transaction: the listings, reservations and
decided orders a batch needs, read and locked with one statement per table, changed in memory by the
use cases, written back with one statement per table (shared/messaging/work.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from services.inventory import messages
from services.inventory.domain import Listing
from shared.contracts import commands, events
from shared.contracts.envelope import Message
from shared.contracts.topics import LISTINGS_STATE, order_key
from shared.messaging.work import UnitOfWork
from shared.storage.writes import Write


@dataclass
class Reserved:
    """What one order took from each listing (R14: returned once, on cancellation)."""

    lines: list[tuple[str, int]]  # (listing id, quantity)
    stored: bool  # already in the database (False: reserved by this batch)
    restored: bool = False


@dataclass
class _Loaded:
    listings: dict[str, Listing] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)  # listing id -> version in the database
    reservations: dict[str, Reserved] = field(default_factory=dict)  # order key -> unrestored reservation
    decided: set[str] = field(default_factory=set)  # order keys whose reservation was decided


class InventoryWork(UnitOfWork):
    listings: dict[str, Listing]

    async def load(self, conn: asyncpg.Connection, batch: Sequence[Message]) -> None:
        placed = [order_key(m.storefront_id, m.order_id) for m in batch if isinstance(m, events.OrderPlaced)]
        cancelled = [order_key(m.storefront_id, m.order_id) for m in batch if isinstance(m, events.OrderCancelled)]
        wanted = {m.listing_id for m in batch if isinstance(m, (commands.CreateListing, commands.UpdateListing))}
        wanted |= {line.listing_id for m in batch if isinstance(m, events.OrderPlaced) for line in m.lines}
        self._state = _Loaded()
        # Tables in one order everywhere (reservations, listings, decided orders) and rows in key order:
        # concurrent batches never wait on each other in a cycle.
        if cancelled:
            for row in await conn.fetch(
                """select order_key, listing_id, quantity from reservations
                   where order_key = any($1::text[]) and restored_at is null order by order_key, listing_id for update""",
                sorted(set(cancelled)),
            ):
                reserved = self._state.reservations.setdefault(row["order_key"], Reserved([], stored=True))
                reserved.lines.append((row["listing_id"], row["quantity"]))
                wanted.add(row["listing_id"])
        if wanted:
            for row in await conn.fetch(
                """select listing_id, seller_id, quantity, production_days, version from listings
                   where listing_id = any($1::text[]) order by listing_id for update""",
                sorted(wanted),
            ):
                self._state.listings[row["listing_id"]] = Listing(row["listing_id"], row["seller_id"], row["quantity"], row["production_days"])
                self._state.versions[row["listing_id"]] = row["version"]
        if placed:
            rows = await conn.fetch("select order_key from decided_orders where order_key = any($1::text[])", sorted(set(placed)))
            self._state.decided = {row["order_key"] for row in rows}
        self.listings = dict(self._state.listings)
        self._changed: dict[str, None] = {}  # listing ids in order of first change
        self._newly_decided: list[str] = []

    # -- what the use cases change

    def put(self, listing: Listing) -> None:
        self.listings[listing.listing_id] = listing
        self._changed.setdefault(listing.listing_id)

    def decide_once(self, key: str) -> bool:
        """Record that this order's reservation is decided now; False if it already was."""
        if key in self._state.decided:
            return False
        self._state.decided.add(key)
        self._newly_decided.append(key)
        return True

    def reserve(self, key: str, lines: Sequence[tuple[str, int, int]]) -> None:
        self._state.reservations[key] = Reserved([(listing_id, quantity) for listing_id, quantity, _ in lines], stored=False)

    def take_unrestored(self, key: str) -> list[tuple[str, int]]:
        """Mark an order's reservation restored and return its lines; empty if restored already or absent."""
        reserved = self._state.reservations.get(key)
        if reserved is None or reserved.restored:
            return []
        reserved.restored = True
        return reserved.lines

    # -- written back

    def writes(self) -> list[Write]:
        statements = self._listings_written()
        reservations = self._state.reservations
        new = [(key, r) for key, r in reservations.items() if not r.stored]
        if new:
            statements.append(
                Write(
                    """insert into reservations (order_key, listing_id, quantity, restored_at)
                       select o, l, q, case when r then now() end from unnest($1::text[], $2::text[], $3::int[], $4::bool[]) as t(o, l, q, r)""",
                    (
                        [key for key, r in new for _ in r.lines],
                        [listing for _, r in new for listing, _ in r.lines],
                        [quantity for _, r in new for _, quantity in r.lines],
                        [r.restored for _, r in new for _ in r.lines],
                    ),
                )
            )
        restored = [key for key, r in reservations.items() if r.stored and r.restored]
        if restored:
            statements.append(Write("update reservations set restored_at = now() where order_key = any($1::text[]) and restored_at is null", (restored,)))
        if self._newly_decided:
            statements.append(Write("insert into decided_orders (order_key) select unnest($1::text[]) on conflict do nothing", (self._newly_decided,)))
        return statements

    def _listings_written(self) -> list[Write]:
        """New and changed listings in one statement, each with its next version; their state records (S1)."""
        if not self._changed:
            return []
        changed = [self.listings[i] for i in self._changed]
        versions = [self._state.versions.get(item.listing_id, 0) + 1 for item in changed]
        for item, version in zip(changed, versions, strict=True):
            self.emit(LISTINGS_STATE, item.listing_id, messages.listing_state(item, version, self.now))
        return [
            Write(
                """insert into listings (listing_id, seller_id, quantity, production_days, version)
                   select * from unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::bigint[])
                   on conflict (listing_id) do update set quantity = excluded.quantity, production_days = excluded.production_days,
                                                          version = excluded.version, updated_at = now()""",
                (
                    [item.listing_id for item in changed],
                    [item.seller_id for item in changed],
                    [item.quantity for item in changed],
                    [item.production_days for item in changed],
                    versions,
                ),
            )
        ]

