"""`fulfil timers`: the deadlines service's pending timers coming due, read from its database.

"Now" is the services' clock (the same CLOCK_* settings, T3). A timer is *due* once its instant has
passed; it fires when the orders watermark of its partition has passed it too (R15), which takes about
a second when the services keep up. It is *overdue* when it was due longer ago than a threshold of
real time (`--overdue-after`, default 1 minute): real time, because on an accelerated clock a timer
fired within a real second is already simulated hours late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ops.databases import database
from ops.output import Output, instant, relative, span
from ops.settings import OpsSettings
from shared.clock import Clock

KINDS = ("ship_by", "confirm_by", "ship_by_warning", "confirm_by_warning")
DEFAULT_OVERDUE_AFTER = timedelta(minutes=1)


@dataclass(frozen=True)
class Moments:
    """The instants on the services' clock that sort timers: now, and the edge of "overdue"."""

    now: datetime
    overdue_before: datetime

    @classmethod
    def of(cls, clock: Clock, overdue_after: timedelta) -> Moments:
        real = datetime.now(UTC)
        return cls(clock.at(real), clock.at(real - overdue_after))

    def state(self, due_at: datetime) -> str:
        if due_at <= self.overdue_before:
            return "overdue"
        return "due" if due_at <= self.now else "pending"


# `failed`: a timer whose event could not be built, set aside (and logged) by the deadlines service.
BY_KIND = """
    select kind, count(*) filter (where status = 'pending') as pending,
           count(*) filter (where status = 'pending' and due_at <= $1) as due,
           count(*) filter (where status = 'pending' and due_at <= $2) as overdue,
           count(*) filter (where status = 'failed') as failed
      from deadlines where status in ('pending', 'failed') group by kind"""
FIGURES = ("pending", "due", "overdue", "failed")

DUE_WITHIN = """
    select d.storefront_id, d.order_id, d.kind, d.due_at, d.deadline, d.orders_partition, w.as_of as watermark
      from deadlines d left join watermarks w using (orders_partition)
     where d.status = 'pending' and d.due_at <= $1 and ($2::text is null or d.kind = $2)
     order by d.due_at, d.storefront_id, d.order_id, d.kind
     limit $3"""


async def counts_by_kind(settings: OpsSettings, moments: Moments) -> dict[str, dict[str, int]]:
    """kind -> pending, due, overdue and failed timers (every kind listed, zeros included)."""
    async with database(settings, "deadlines") as conn:
        rows = {r["kind"]: r for r in await conn.fetch(BY_KIND, moments.now, moments.overdue_before)}
    return {kind: {name: int(rows[kind][name]) if kind in rows else 0 for name in FIGURES} for kind in KINDS}


async def due_within(settings: OpsSettings, moments: Moments, within: timedelta, kind: str | None, limit: int) -> list[dict[str, Any]]:
    async with database(settings, "deadlines") as conn:
        rows = await conn.fetch(DUE_WITHIN, moments.now + within, kind, limit)
    return [
        {
            "order": f"{r['storefront_id']}/{r['order_id']}",
            "kind": r["kind"],
            "due_at": r["due_at"],
            "deadline": r["deadline"],
            "state": moments.state(r["due_at"]),
            "partition": r["orders_partition"],
            "watermark": r["watermark"],
        }
        for r in rows
    ]


async def show_timers(settings: OpsSettings, out: Output, *, within: timedelta, kind: str | None, limit: int, overdue_after: timedelta) -> None:
    moments = Moments.of(settings.clock(), overdue_after)
    timers = await due_within(settings, moments, within, kind, limit)
    if out.as_json:
        out.json({"now": moments.now, "due_within_seconds": within.total_seconds(), "overdue_after_seconds": overdue_after.total_seconds(), "timers": timers})
        return
    out.line(f"now {instant(moments.now)} on the services' clock; pending timers due by {instant(moments.now + within)}; overdue = due more than {span(overdue_after)} (real time) ago")
    rows = [
        (t["order"], t["kind"], instant(t["due_at"]), relative(t["due_at"], moments.now), t["state"], _waiting_for(t))
        for t in timers
    ]  # fmt: skip
    out.table(None, ("order", "kind", "due", "", "state", "watermark of its partition"), rows)
    out.line(f"{len(timers)} timers" + (f" (--limit {limit} reached)" if len(timers) == limit else ""))


def _waiting_for(timer: dict[str, Any]) -> str:
    """A due timer fires once its partition's watermark passes it (R15): say whether it has, and so
    whether the deadlines service or the orders service's watermarks are what it waits for."""
    watermark = timer["watermark"]
    if timer["state"] == "pending":
        return ""
    if watermark is None:
        return f"p{timer['partition']}: none yet"
    passed = "passed" if watermark >= timer["due_at"] else "not yet passed"
    return f"p{timer['partition']}: {instant(watermark)} ({passed})"
