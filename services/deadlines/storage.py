"""Deadlines' SQL: the unit of work of one consuming transaction (timers stored, voided; watermarks
advanced), and the timer loop's claims. The invariants are in docs/architecture.md ("Timers")."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import asyncpg

from services.deadlines import notices
from services.deadlines.domain import Timer
from shared.clock import Clock
from shared.contracts import events
from shared.contracts.envelope import Message
from shared.contracts.topics import order_key
from shared.messaging.work import UnitOfWork
from shared.metrics import TIMERS_DUE, TIMERS_PENDING, WATERMARK_AGE
from shared.storage.writes import Write
from shared.tracing import current_traceparent

NOTIFY_CHANNEL = "deadlines"
_TIMER_COLUMNS = "storefront_id, order_id, seller_id, kind, due_date, deadline, due_at, status"


def _timer(row: asyncpg.Record) -> Timer:
    return Timer(row["storefront_id"], row["order_id"], row["seller_id"], row["kind"], row["due_date"], row["deadline"], row["due_at"], row["status"])


class DeadlinesWork(UnitOfWork):
    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self._timers: dict[str, list[Timer]] = {}  # order key -> its timers, as loaded or changed
        self._new: dict[tuple[str, str], tuple[int, str | None]] = {}  # (order key, kind) stored by this batch -> (partition, traceparent)
        self._changed: dict[tuple[str, str], None] = {}  # (order key, kind) of loaded timers changed
        self.watermarks: dict[int, datetime] = {}  # partition -> the latest watermark this batch read

    async def load(self, conn: asyncpg.Connection, batch: Sequence[Message]) -> None:
        about = sorted(
            {(m.storefront_id, m.order_id) for m in batch if isinstance(m, (events.ShipmentConfirmed, events.OrderCancelled))}
        )
        if not about:
            return
        rows = await conn.fetch(
            f"""select {_TIMER_COLUMNS} from deadlines d join unnest($1::text[], $2::text[]) as k(storefront_id, order_id)
                  using (storefront_id, order_id)
                order by storefront_id, order_id, kind for update of d""",
            [k[0] for k in about],
            [k[1] for k in about],
        )
        for row in rows:
            self._timers.setdefault(order_key(row["storefront_id"], row["order_id"]), []).append(_timer(row))

    # -- what the use cases change

    def timers_of(self, storefront_id: str, order_id: str) -> list[Timer]:
        return list(self._timers.get(order_key(storefront_id, order_id), []))

    def store(self, timers: list[Timer], orders_partition: int) -> list[Timer]:
        """Store an order's timers; those it already has stay as they are (timers never move: R4, R7).
        Each remembers the trace it was stored in: firing it continues that trace."""
        traceparent = current_traceparent()
        stored = []
        for timer in timers:
            key = order_key(timer.storefront_id, timer.order_id)
            known = self._timers.setdefault(key, [])
            if any(t.kind == timer.kind for t in known):
                continue
            known.append(timer)
            self._new[(key, timer.kind)] = (orders_partition, traceparent)
            stored.append(timer)
        return stored

    def update(self, timers: list[Timer]) -> None:
        for timer in timers:
            key = order_key(timer.storefront_id, timer.order_id)
            self._timers[key] = [timer if t.kind == timer.kind else t for t in self._timers[key]]
            if (key, timer.kind) not in self._new:
                self._changed[(key, timer.kind)] = None

    def advance_watermark(self, partition: int, as_of: datetime) -> None:
        self.watermarks[partition] = max(as_of, self.watermarks.get(partition, as_of))

    # -- written back

    def writes(self) -> list[Write]:
        new = self._timers_of_kind(self._new)
        statements = self._new_written(new)
        changed = self._timers_of_kind(self._changed)
        if changed:
            statements.append(
                Write(
                    """update deadlines d set status = t.status
                       from unnest($1::text[], $2::text[], $3::text[], $4::text[]) as t(storefront_id, order_id, kind, status)
                       where d.storefront_id = t.storefront_id and d.order_id = t.order_id and d.kind = t.kind and d.status = 'pending'""",
                    ([t.storefront_id for t in changed], [t.order_id for t in changed], [t.kind for t in changed], [t.status for t in changed]),
                )
            )
        if self.watermarks:
            statements.append(
                Write(
                    """insert into watermarks (orders_partition, as_of) select * from unnest($1::int[], $2::timestamptz[])
                       on conflict (orders_partition) do update set as_of = greatest(watermarks.as_of, excluded.as_of)""",
                    (list(self.watermarks), list(self.watermarks.values())),
                )
            )
        if self._new or self.watermarks:
            # Tell the timer loop at commit what changed: a new timer or watermark may change what is due
            # (notices.py). (Counted, so that it runs as part of the batch's one statement: a plain query in
            # it runs only if read.)
            earliest = min((t.due_at for t in new), default=None)
            statements.append(Write("select pg_notify($1, $2)", (NOTIFY_CHANNEL, notices.notice(earliest, bool(self.watermarks))), expect_rows=1))
        return statements

    def _timers_of_kind(self, keys: Iterable[tuple[str, str]]) -> list[Timer]:
        """The timers named by (order key, kind), as this batch left them."""
        return [t for key, kind in keys for t in self._timers[key] if t.kind == kind]

    def _new_written(self, new: list[Timer]) -> list[Write]:
        if not new:
            return []
        return [
            Write(
                # One array of `timer_row` (migration 0006): _values, then the partition and the trace context.
                f"""insert into deadlines ({_TIMER_COLUMNS}, orders_partition, traceparent)
                    select * from unnest($1::timer_row[])
                    on conflict do nothing""",
                ([(*_values(t), *self._new[(order_key(t.storefront_id, t.order_id), t.kind)]) for t in new],),
            )
        ]


def _values(timer: Timer) -> tuple[object, ...]:
    return (timer.storefront_id, timer.order_id, timer.seller_id, timer.kind, timer.due_date, timer.deadline, timer.due_at, timer.status)


async def claim_due(conn: asyncpg.Connection, now: datetime, limit: int) -> list[tuple[Timer, str | None]]:
    """Claim up to `limit` timers that may fire now, marking them fired at `now` in the caller's
    transaction (which publishes their events before it commits; rolled back, they are pending again).

    This query IS the firing rule (R11-R13, R15, S4): a pending timer fires once its instant has
    passed on the service's clock AND the orders watermark of its order's partition has passed it too
    (every confirmation accepted before it has been applied here by then). SKIP LOCKED lets several
    instances claim disjoint timers, so no timer fires twice. One statement claims and marks, as a
    bare claim loop would. Each timer comes with the trace context it was stored in."""
    rows = await conn.fetch(
        f"""with due as (
                select d.storefront_id, d.order_id, d.kind
                from deadlines d join watermarks w on w.orders_partition = d.orders_partition
                where d.status = 'pending' and d.due_at <= $1 and d.due_at <= w.as_of
                order by d.due_at
                limit $2
                for update of d skip locked)
            update deadlines d set status = 'fired', fired_at = $1 from due
            where d.storefront_id = due.storefront_id and d.order_id = due.order_id and d.kind = due.kind
            returning {", ".join("d." + c.strip() for c in _TIMER_COLUMNS.split(","))}, d.traceparent""",
        now,
        limit,
    )
    return sorted(((_timer(r), r["traceparent"]) for r in rows), key=lambda pair: pair[0].due_at)


async def mark(conn: asyncpg.Connection, timers: list[Timer], now: datetime, status: str) -> None:
    """Set claimed timers' status (`failed`: their event could not be built) at `now`."""
    await conn.execute(
        """update deadlines d set status = $5, fired_at = $4
           from unnest($1::text[], $2::text[], $3::text[]) as t(storefront_id, order_id, kind)
           where d.storefront_id = t.storefront_id and d.order_id = t.order_id and d.kind = t.kind""",
        [t.storefront_id for t in timers],
        [t.order_id for t in timers],
        [t.kind for t in timers],
        now,
        status,
    )


async def next_wake(conn: asyncpg.Connection, now: datetime) -> tuple[datetime | None, bool]:
    """The earliest pending timer not yet due, and whether any due timer waits for a watermark."""
    row = await conn.fetchrow(
        # `order by .. limit 1`, not min(): a plan made while the table was small aggregated every
        # pending timer (7-14 ms with 65,000 pending); this one reads one index entry whatever the size.
        """select (select due_at from deadlines where status = 'pending' and due_at > $1 order by due_at limit 1) as next_due,
                  exists (select 1 from deadlines where status = 'pending' and due_at <= $1) as blocked""",
        now,
    )
    return row["next_due"], row["blocked"]


async def set_gauges(conn: asyncpg.Connection, clock: Clock) -> None:
    """Timers pending and due by kind, and each partition's watermark age (shared/metrics.py)."""
    now = clock.now()
    rows = await conn.fetch(
        "select kind, count(*) as pending, count(*) filter (where due_at <= $1) as due from deadlines where status = 'pending' group by kind",
        now,
    )
    counts = {r["kind"]: r for r in rows}
    for kind in ("ship_by", "confirm_by", "ship_by_warning", "confirm_by_warning"):
        TIMERS_PENDING.labels("deadlines", kind).set(counts[kind]["pending"] if kind in counts else 0)
        TIMERS_DUE.labels("deadlines", kind).set(counts[kind]["due"] if kind in counts else 0)
    for row in await conn.fetch("select orders_partition, as_of from watermarks"):
        WATERMARK_AGE.labels("deadlines", str(row["orders_partition"])).set(max(-clock.real_seconds_until(row["as_of"]), 0.0))
