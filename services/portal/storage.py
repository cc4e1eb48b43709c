"""The portal's SQL: the read model's writes (from records) and its reads (always for one seller: S3).

Every read takes the signed-in seller's id and filters by it, so another seller's order or listing is
simply not found, whatever id a URL or form names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg

from shared.clock import Clock
from shared.contracts import events, state
from shared.contracts.envelope import Command, Message
from shared.messaging.work import UnitOfWork

Status = Literal["unshipped", "shipped", "cancelled", "rejected", "pending"]
View = Literal["all", "at_risk", "late"]

# --- writes: the projection's unit of work ------------------------------------------------------


class PortalWork(UnitOfWork):
    """What a batch of records adds to the read model. Nothing needs loading: each statement keeps
    only a newer version (state records) or the first copy (warnings, answers), so a replayed or
    stale record changes nothing (S1, M2)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.orders: dict[tuple[str, str], state.OrderStateRecord] = {}
        self.listings: dict[str, state.ListingStateRecord] = {}
        self.warnings: list[events.DeadlineApproaching] = []
        self.answers: list[Message] = []

    def keep_order(self, record: state.OrderStateRecord) -> None:
        key = (record.storefront_id, record.order_id)
        if key not in self.orders or self.orders[key].version < record.version:
            self.orders[key] = record

    def keep_listing(self, record: state.ListingStateRecord) -> None:
        if record.listing_id not in self.listings or self.listings[record.listing_id].version < record.version:
            self.listings[record.listing_id] = record

    async def save(self, conn: asyncpg.Connection) -> None:
        # Sorted keys: two batches never lock the same rows in opposite orders.
        if self.orders:
            await conn.executemany(_SAVE_ORDER, [_order_values(self.orders[k]) for k in sorted(self.orders)])
        if self.listings:
            await conn.executemany(_SAVE_LISTING, [_listing_values(self.listings[k]) for k in sorted(self.listings)])
        if self.warnings:
            await conn.executemany(_SAVE_WARNING, [_warning_values(w) for w in self.warnings])
        answers = [a for a in self.answers if getattr(a, "command_id", None) is not None]  # an unidentified sender: no key
        if answers:
            await conn.executemany(_SAVE_ANSWER, [_answer_values(a) for a in answers])


_SAVE_ORDER = """insert into orders as o (storefront_id, order_id, seller_id, status, placed_at, lines, timezone, order_date,
        ship_by_date, confirm_by_date, ship_by_deadline, confirm_by_deadline, late_penalty, rejection_reason,
        rejection_rule, rejection_message, confirmation_command_id, confirmed_at, ship_date, shipping_method, carrier,
        tracking_id, tracking_valid, memo, shipped_late, cancellation_reason, version, sort_at)
    values ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
        $22, $23, $24, $25, $26, $27, coalesce($11::timestamptz, $5::timestamptz))
    on conflict (storefront_id, order_id) do update set
        seller_id = excluded.seller_id, status = excluded.status, placed_at = excluded.placed_at,
        lines = excluded.lines, timezone = excluded.timezone, order_date = excluded.order_date,
        ship_by_date = excluded.ship_by_date, confirm_by_date = excluded.confirm_by_date,
        ship_by_deadline = excluded.ship_by_deadline, confirm_by_deadline = excluded.confirm_by_deadline,
        late_penalty = excluded.late_penalty, rejection_reason = excluded.rejection_reason,
        rejection_rule = excluded.rejection_rule, rejection_message = excluded.rejection_message,
        confirmation_command_id = excluded.confirmation_command_id, confirmed_at = excluded.confirmed_at,
        ship_date = excluded.ship_date, shipping_method = excluded.shipping_method, carrier = excluded.carrier,
        tracking_id = excluded.tracking_id, tracking_valid = excluded.tracking_valid, memo = excluded.memo,
        shipped_late = excluded.shipped_late, cancellation_reason = excluded.cancellation_reason,
        version = excluded.version, sort_at = excluded.sort_at
    where o.version < excluded.version"""


def _order_values(record: state.OrderStateRecord) -> tuple[Any, ...]:
    shipment, rejection = record.shipment, record.rejection
    return (
        record.storefront_id,
        record.order_id,
        record.seller_id,
        record.status,
        record.placed_at,
        json.dumps([line.model_dump() for line in record.lines]),
        record.timezone,
        record.order_date,
        record.ship_by_date,
        record.confirm_by_date,
        record.ship_by_deadline,
        record.confirm_by_deadline,
        record.late_penalty,
        rejection.reason.value if rejection else None,
        rejection.rule if rejection else None,
        rejection.message if rejection else None,
        shipment.command_id if shipment else None,
        shipment.confirmed_at if shipment else None,
        shipment.ship_date if shipment else None,
        shipment.shipping_method if shipment else None,
        shipment.carrier if shipment else None,
        shipment.tracking_id if shipment else None,
        shipment.tracking_valid if shipment else None,
        shipment.memo if shipment else None,
        shipment.late if shipment else None,
        record.cancellation_reason,
        record.version,
    )


_SAVE_LISTING = """insert into listings as l (listing_id, seller_id, quantity, production_days, out_of_stock, version)
    values ($1, $2, $3, $4, $5, $6)
    on conflict (listing_id) do update set seller_id = excluded.seller_id, quantity = excluded.quantity,
        production_days = excluded.production_days, out_of_stock = excluded.out_of_stock, version = excluded.version
    where l.version < excluded.version"""


def _listing_values(record: state.ListingStateRecord) -> tuple[Any, ...]:
    return (record.listing_id, record.seller_id, record.quantity, record.production_days, record.out_of_stock, record.version)


_SAVE_WARNING = """insert into warnings (storefront_id, order_id, deadline_kind, seller_id, deadline, due_date, lead_seconds, warned_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8)
    on conflict do nothing"""


def _warning_values(w: events.DeadlineApproaching) -> tuple[Any, ...]:
    return (w.storefront_id, w.order_id, w.deadline_kind, w.seller_id, w.deadline, w.due_date, w.lead_seconds, w.occurred_at)


_SAVE_ANSWER = """insert into answers (command_id, command_type, answer_type, seller_id, storefront_id, order_id, listing_id,
        reason, rule, message, late, tracking_valid, answered_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
    on conflict do nothing"""


def _answer_values(answer: Message) -> tuple[Any, ...]:
    reason = getattr(answer, "reason", None)
    return (
        answer.command_id,  # type: ignore[attr-defined]
        getattr(answer, "command_type", None),
        answer.type,
        getattr(answer, "seller_id", None),
        getattr(answer, "storefront_id", None),
        getattr(answer, "order_id", None),
        getattr(answer, "listing_id", None),
        reason.value if reason is not None else None,
        getattr(answer, "rule", None),
        getattr(answer, "message", None),
        getattr(answer, "late", None),
        getattr(answer, "tracking_valid", None),
        answer.occurred_at,
    )


# --- commands the portal sends -------------------------------------------------------------------


async def record_command(conn: asyncpg.Connection, seller_id: str, command: Command, summary: dict[str, Any]) -> bool:
    """Remember a command this portal queued; False when its id was used before (a re-submitted form)."""
    inserted = await conn.fetchval(
        """insert into sent_commands (command_id, seller_id, command_type, storefront_id, order_id, listing_id, summary, sent_at)
           values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)
           on conflict do nothing
           returning true""",
        command.command_id,
        seller_id,
        command.type,
        getattr(command, "storefront_id", None),
        getattr(command, "order_id", None),
        getattr(command, "listing_id", None),
        json.dumps(summary, default=str),
        command.occurred_at,
    )
    return bool(inserted)


_COMMAND_COLUMNS = """c.command_id, c.command_type, c.storefront_id, c.order_id, c.listing_id, c.summary, c.sent_at,
    a.answer_type, a.reason, a.rule, a.message, a.late, a.tracking_valid, a.answered_at"""


async def command(conn: asyncpg.Connection, seller_id: str, command_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""select {_COMMAND_COLUMNS} from sent_commands c left join answers a using (command_id)
            where c.seller_id = $1 and c.command_id = $2""",
        seller_id,
        command_id,
    )


async def commands_about(
    conn: asyncpg.Connection, seller_id: str, *, order: tuple[str, str] | None = None, listing_id: str | None = None, limit: int = 20
) -> list[asyncpg.Record]:
    if order is not None:
        where, args = "c.storefront_id = $2 and c.order_id = $3", [order[0], order[1]]
    else:
        where, args = "c.listing_id = $2", [listing_id]
    return await conn.fetch(
        f"""select {_COMMAND_COLUMNS} from sent_commands c left join answers a using (command_id)
            where c.seller_id = $1 and {where} order by c.sent_at desc limit {int(limit)}""",
        seller_id,
        *args,
    )


# --- reads: Manage Orders --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where a page of orders ends: the last row's sort key (keyset paging, no OFFSET)."""

    sort_at: datetime
    storefront_id: str
    order_id: str


_ORDER_COLUMNS = "o.*"


async def order_page(
    conn: asyncpg.Connection,
    seller_id: str,
    status: Status,
    *,
    view: View = "all",
    descending: bool = False,
    after: Cursor | None = None,
    limit: int = 50,
    now: datetime,
    order_id: str | None = None,
) -> list[asyncpg.Record]:
    """One page of the seller's orders of one status, in ship-by order, after `after`; `limit + 1` rows
    are asked for so the caller knows whether another page follows."""
    direction, compare = ("desc", "<") if descending else ("asc", ">")
    conditions = ["o.seller_id = $1", "o.status = $2"]
    args: list[Any] = [seller_id, status]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if view == "late":  # the ship-by deadline has passed; sort_at is that deadline for accepted orders
        conditions.append(f"o.sort_at <= {arg(now)}")
    elif view == "at_risk":
        conditions.append(
            f"""exists (select 1 from warnings w where w.storefront_id = o.storefront_id and w.order_id = o.order_id
                and w.seller_id = o.seller_id and w.deadline > {arg(now)})"""
        )
    if order_id is not None:
        conditions.append(f"o.order_id = {arg(order_id)}")
    if after is not None:
        conditions.append(
            f"(o.sort_at, o.storefront_id, o.order_id) {compare} ({arg(after.sort_at)}, {arg(after.storefront_id)}, {arg(after.order_id)})"
        )
    return await conn.fetch(
        f"""select {_ORDER_COLUMNS} from orders o where {" and ".join(conditions)}
            order by o.sort_at {direction}, o.storefront_id {direction}, o.order_id {direction}
            limit {arg(limit + 1)}""",
        *args,
    )


async def status_counts(conn: asyncpg.Connection, seller_id: str) -> dict[str, int]:
    rows = await conn.fetch("select status, orders from order_counts where seller_id = $1 and orders > 0", seller_id)
    return {row["status"]: row["orders"] for row in rows}


async def at_risk_count(conn: asyncpg.Connection, seller_id: str, now: datetime) -> int:
    return await conn.fetchval(
        """select count(distinct (w.storefront_id, w.order_id)) from warnings w
           join orders o on o.storefront_id = w.storefront_id and o.order_id = w.order_id and o.seller_id = w.seller_id
           where w.seller_id = $1 and w.deadline > $2 and o.status = 'unshipped'""",
        seller_id,
        now,
    )


async def order(conn: asyncpg.Connection, seller_id: str, storefront_id: str, order_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"select {_ORDER_COLUMNS} from orders o where o.seller_id = $1 and o.storefront_id = $2 and o.order_id = $3",
        seller_id,
        storefront_id,
        order_id,
    )


async def warnings_for(conn: asyncpg.Connection, seller_id: str, keys: list[tuple[str, str]]) -> dict[tuple[str, str], list[asyncpg.Record]]:
    if not keys:
        return {}
    rows = await conn.fetch(
        """select w.* from warnings w join unnest($2::text[], $3::text[]) as k(storefront_id, order_id)
               on w.storefront_id = k.storefront_id and w.order_id = k.order_id
           where w.seller_id = $1 order by w.deadline""",
        seller_id,
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    found: dict[tuple[str, str], list[asyncpg.Record]] = {}
    for row in rows:
        found.setdefault((row["storefront_id"], row["order_id"]), []).append(row)
    return found


# --- reads: inventory and performance --------------------------------------------------------------


async def listing_page(conn: asyncpg.Connection, seller_id: str, *, after: str | None = None, limit: int = 100) -> list[asyncpg.Record]:
    return await conn.fetch(
        """select * from listings where seller_id = $1 and ($2::text is null or listing_id > $2)
           order by listing_id limit $3""",
        seller_id,
        after,
        limit + 1,
    )


async def listing(conn: asyncpg.Connection, seller_id: str, listing_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from listings where seller_id = $1 and listing_id = $2", seller_id, listing_id)


async def metric_facts(conn: asyncpg.Connection, seller_id: str, since: datetime, until: datetime) -> list[asyncpg.Record]:
    """The seller's accepted orders with a deciding instant (ship-by, confirm-by, confirmation) between
    `since` and `until`: all that a metrics window can hold, and few of a busy seller's orders, whose
    deadlines mostly lie ahead. metrics.py decides what each window counts."""
    return await conn.fetch(
        """select ship_by_deadline, confirm_by_deadline, confirmed_at, tracking_valid, status from orders
           where seller_id = $1 and (ship_by_deadline between $2 and $3 or confirm_by_deadline between $2 and $3
                                     or confirmed_at between $2 and $3)""",
        seller_id,
        since,
        until,
    )
