"""Orders' SQL, as the unit of work of one consuming transaction: the orders a batch is about, read
and locked with one statement, changed in memory by the use cases, written back with one statement
(shared/messaging/work.py), each change published as the order's state record (S1)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import orjson

from services.orders import messages
from services.orders.dates import Deadlines
from services.orders.domain import Order, Rejection, Shipment, Status
from shared.clock import Clock
from shared.contracts import commands, events
from shared.contracts.envelope import Message
from shared.contracts.reasons import RejectionReason
from shared.contracts.topics import ORDERS_STATE, order_key
from shared.messaging.work import UnitOfWork
from shared.storage.writes import Write

# Confirmations hold it shared, watermarks exclusively (R15: services/orders/watermarks.py).
CONFIRMATIONS_LOCK = 7_362_001


def _deadline(name: str) -> Callable[[Order], Any]:
    return lambda o: getattr(o.deadlines, name) if o.deadlines else None


def _shipped(name: str) -> Callable[[Order], Any]:
    return lambda o: getattr(o.shipment, name) if o.shipment else None


def _rejected(name: str) -> Callable[[Order], Any]:
    return lambda o: (o.rejection.reason.value if name == "reason" else getattr(o.rejection, name)) if o.rejection else None


# Every column of an order row: its SQL type and how it is read off the domain object. The one upsert
# below is generated from this list, so a new column is added in one place.
COLUMNS: tuple[tuple[str, str, Callable[[Order], Any]], ...] = (
    ("storefront_id", "text", lambda o: o.storefront_id),
    ("order_id", "text", lambda o: o.order_id),
    ("seller_id", "text", lambda o: o.seller_id),
    ("command_id", "uuid", lambda o: o.command_id),
    ("placed_at", "timestamptz", lambda o: o.placed_at),
    ("lines", "jsonb", lambda o: orjson.dumps([{"listing_id": i, "quantity": q} for i, q in o.lines]).decode()),
    ("status", "text", lambda o: o.status.value),
    ("order_date", "date", _deadline("order_date")),
    ("ship_by_date", "date", _deadline("ship_by_date")),
    ("confirm_by_date", "date", _deadline("confirm_by_date")),
    ("ship_by_deadline", "timestamptz", _deadline("ship_by_deadline")),
    ("confirm_by_deadline", "timestamptz", _deadline("confirm_by_deadline")),
    ("confirmation_command_id", "uuid", _shipped("command_id")),
    ("confirmed_at", "timestamptz", _shipped("confirmed_at")),
    ("ship_date", "date", _shipped("ship_date")),
    ("shipping_method", "text", _shipped("shipping_method")),
    ("carrier", "text", _shipped("carrier")),
    ("tracking_id", "text", _shipped("tracking_id")),
    ("tracking_valid", "boolean", _shipped("tracking_valid")),
    ("memo", "text", _shipped("memo")),
    ("shipped_late", "boolean", lambda o: bool(o.shipment and o.shipment.late)),
    ("late_penalty", "boolean", lambda o: o.late_penalty),
    ("rejection_reason", "text", _rejected("reason")),
    ("rejection_rule", "text", _rejected("rule")),
    ("rejection_message", "text", _rejected("message")),
    ("cancellation_reason", "text", lambda o: o.cancellation_reason),
)
_NAMES = [name for name, _, _ in COLUMNS]
# The rows go as one array of `order_row` (migration 0003): COLUMNS in order, then the version. Each
# row gets the version after the one its batch read (1 if new), and only over that one: a row another
# transaction wrote meanwhile is left alone, returns nothing, and the batch runs again.
_UPSERT = f"""
    insert into orders ({", ".join(_NAMES)}, version)
    select * from unnest($1::order_row[])
    on conflict (storefront_id, order_id) do update set
        {", ".join(f"{name} = excluded.{name}" for name in _NAMES[2:])}, version = excluded.version, updated_at = now()
        where orders.version = excluded.version - 1
    returning 1"""


def _order(row: asyncpg.Record) -> Order:
    deadlines = None
    if row["order_date"] is not None:
        deadlines = Deadlines(row["order_date"], row["ship_by_date"], row["confirm_by_date"], row["ship_by_deadline"], row["confirm_by_deadline"])
    shipment = None
    if row["confirmation_command_id"] is not None:
        shipment = Shipment(
            row["confirmation_command_id"],
            row["confirmed_at"],
            row["ship_date"],
            row["shipping_method"],
            row["carrier"],
            row["tracking_id"],
            row["tracking_valid"],
            row["memo"],
            row["shipped_late"],
        )
    rejection = None
    if row["rejection_reason"] is not None:
        rejection = Rejection(RejectionReason(row["rejection_reason"]), row["rejection_rule"], row["rejection_message"])
    return Order(
        storefront_id=row["storefront_id"],
        order_id=row["order_id"],
        seller_id=row["seller_id"],
        command_id=row["command_id"],
        placed_at=row["placed_at"],
        status=Status(row["status"]),
        lines=tuple((line["listing_id"], line["quantity"]) for line in orjson.loads(row["lines"])),
        deadlines=deadlines,
        shipment=shipment,
        rejection=rejection,
        late_penalty=row["late_penalty"],
        cancellation_reason=row["cancellation_reason"],
    )


# What the orders service reads names its order by storefront and order id.
_ABOUT_ONE_ORDER = (commands.PlaceOrder, commands.ConfirmShipment, events.OrderEvent)


class OrdersWork(UnitOfWork):
    def __init__(self, clock: Clock, zone: ZoneInfo) -> None:
        super().__init__(clock)
        self.zone = zone
        self.orders: dict[str, Order] = {}
        self._versions: dict[str, int] = {}  # order key -> its version as loaded
        self._changed: dict[str, None] = {}

    async def load(self, conn: asyncpg.Connection, batch: Sequence[Message]) -> None:
        if any(isinstance(m, commands.ConfirmShipment) for m in batch):
            # R15: held shared until commit, so a watermark (taken exclusively) is never written while a
            # confirmation stamped before it is uncommitted; "now" is read after it (services/orders/watermarks.py).
            await conn.execute("select pg_advisory_xact_lock_shared($1)", CONFIRMATIONS_LOCK)
            self.now = self.clock.now()
        keys = sorted({(m.storefront_id, m.order_id) for m in batch if isinstance(m, _ABOUT_ONE_ORDER)})
        if not keys:
            return
        # Rows locked in key order: two batches never wait on each other in a cycle.
        rows = await conn.fetch(
            """select o.* from orders o join unnest($1::text[], $2::text[]) as k(storefront_id, order_id)
                 using (storefront_id, order_id)
               order by o.storefront_id, o.order_id for update of o""",
            [k[0] for k in keys],
            [k[1] for k in keys],
        )
        self.orders = {order_key(r["storefront_id"], r["order_id"]): _order(r) for r in rows}
        self._versions = {order_key(r["storefront_id"], r["order_id"]): r["version"] for r in rows}

    def get(self, storefront_id: str, order_id: str) -> Order | None:
        return self.orders.get(order_key(storefront_id, order_id))

    def put(self, order: Order) -> None:
        key = order_key(order.storefront_id, order.order_id)
        self.orders[key] = order
        self._changed.setdefault(key)

    def writes(self) -> list[Write]:
        """Every changed order in one statement, and its state record with the version it gets (S1)."""
        if not self._changed:
            return []
        changed = [self.orders[key] for key in self._changed]
        versions = [self._versions.get(key, 0) + 1 for key in self._changed]
        for key, order, version in zip(self._changed, changed, versions, strict=True):
            self.emit(ORDERS_STATE, key, messages.order_state(order, version, self.zone, self.now))
        rows = [(*(get(o) for _, _, get in COLUMNS), version) for o, version in zip(changed, versions, strict=True)]
        return [Write(_UPSERT, (rows,), expect_rows=len(changed))]


async def next_deadline(conn: asyncpg.Connection, after: datetime) -> datetime | None:
    """The earliest ship-by or confirm-by deadline of an unshipped order after `after` (R15 watermarks)."""
    return await conn.fetchval(
        # Each the first entry of its index (see services/deadlines/storage.py next_wake: not min()).
        """select least(
               (select ship_by_deadline from orders where status = 'unshipped' and ship_by_deadline > $1
                 order by ship_by_deadline limit 1),
               (select confirm_by_deadline from orders where status = 'unshipped' and confirm_by_deadline > $1
                 order by confirm_by_deadline limit 1))""",
        after,
    )
