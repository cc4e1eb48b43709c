"""Deadlines: firing N due deadlines, exactly once, against a raw SKIP LOCKED claim loop; and lateness.

Firing: the deadlines service runs alone on a fresh database holding N timers, all past due but
held back by their orders watermark (R15: none stored yet). The benchmark then stores watermarks
ahead of every timer and wakes the service (NOTIFY), and reads deadlines.events until N events
arrived. fired/s = N / (watermarks stored -> last event read): claim, publish (acks=all), mark fired.
Exactly once: N records, N distinct event ids, N timers marked fired, nothing left in the outbox.

Raw claim: the same N rows in a database of the same schema, claimed by a bare loop (one statement
per batch of TIMER_BATCH_SIZE: SELECT ... FOR UPDATE SKIP LOCKED, mark fired) with no events.
This is the speed of PostgreSQL alone; the service is reported as a ratio of it, size by size.

Lateness: timers come due at a steady rate for a while, beside a backlog of timers due in 30 days
(the largest size above: a live table); watermarks arrive on every partition as the orders service
writes them with its default settings: when a deadline passes, at least 20 ms apart, and every
WATERMARK_INTERVAL_SECONDS otherwise (the benchmark writes them itself, so only the deadlines service
is measured); lateness = when the event is read from Kafka - when it was due.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.harness import Servers, Sizes, percentiles_ms
from devtools.loadgen import producer
from devtools.system import PrivateSystem, database_names, fresh_databases, new_run_id
from services.orders.app import OrdersSettings
from services.orders.watermarks import MIN_SPACING_SECONDS
from shared.contracts.codec import encode
from shared.contracts.events import OrdersWatermark
from shared.contracts.topics import DEADLINES_EVENTS, ORDERS_EVENTS
from shared.storage.migrate import migrate

BATCH = 500  # TIMER_BATCH_SIZE's default: the service and the raw loop claim the same batches
MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "deadlines" / "migrations"
COLUMNS = ["storefront_id", "order_id", "seller_id", "kind", "due_date", "deadline", "due_at", "orders_partition"]
RAW_CLAIM = """
    with due as (
        select storefront_id, order_id, kind from deadlines
        where status = 'pending' and due_at <= $1 order by due_at limit $2 for update skip locked)
    update deadlines d set status = 'fired', fired_at = $1 from due
    where d.storefront_id = due.storefront_id and d.order_id = due.order_id and d.kind = due.kind"""


def timer_rows(count: int, due_at: Callable[[int], datetime], storefront: str = "shop-1") -> list[tuple[Any, ...]]:
    """`count` timers of distinct orders, ship-by and confirm-by alike, spread over the partitions."""
    return [
        (storefront, f"d{i:08d}", f"s{i % 1000:04d}", ("ship_by", "confirm_by")[i % 2], (at := due_at(i)).date(), at, at, i % ORDERS_EVENTS.partitions)
        for i in range(count)
    ]


class _Events:
    """Reads deadlines.events from the start: how many records, how many distinct event ids, and when."""

    def __init__(self, bootstrap: str, topic: str, on_record: Callable[[bytes], None] | None = None) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, max_partition_fetch_bytes=8 << 20)
        self._topic = topic
        self._on_record = on_record
        self.records = 0
        self.event_ids: set[bytes] = set()

    async def __aenter__(self) -> _Events:
        await self._consumer.start()
        partitions = [TopicPartition(self._topic, p) for p in range(DEADLINES_EVENTS.partitions)]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def read_until(self, count: int, deadline: float) -> None:
        while self.records < count and time.monotonic() < deadline:
            for records in (await self._consumer.getmany(timeout_ms=100, max_records=20_000)).values():
                self.records += len(records)
                for record in records:
                    self.event_ids.add(next(v for k, v in record.headers if k == "event_id"))
                    if self._on_record:
                        self._on_record(record.value)


async def fire(servers: Servers, size: int, cap: float) -> dict[str, Any]:
    async with PrivateSystem(servers, label="bench", services=("deadlines",), env={"TIMER_BATCH_SIZE": str(BATCH)}) as system:
        conn = await asyncpg.connect(system.databases["deadlines"])
        try:
            now = datetime.now(UTC)
            await conn.copy_records_to_table("deadlines", records=timer_rows(size, lambda i: now - timedelta(milliseconds=size - i)), columns=COLUMNS)
            async with _Events(servers.kafka_bootstrap_servers, system.prefix + DEADLINES_EVENTS.name) as events:
                start = time.monotonic()
                async with conn.transaction():
                    await conn.executemany(
                        "insert into watermarks (orders_partition, as_of) values ($1, $2)",
                        [(p, now + timedelta(days=1)) for p in range(ORDERS_EVENTS.partitions)],
                    )
                    await conn.execute("select pg_notify('deadlines', '')")
                await events.read_until(size, start + cap)
                seconds = time.monotonic() - start
                await events.read_until(size + 1, time.monotonic() + 1.0)  # a duplicate would show up now
            fired = await conn.fetchval("select count(*) from deadlines where status = 'fired'")
            unpublished = await conn.fetchval("select count(*) from outbox")
        finally:
            await conn.close()
    complete = events.records >= size
    return {
        "size": size,
        "seconds": round(seconds, 2),
        "complete": complete,
        "fired_per_s": round(len(events.event_ids) / seconds),
        "records": events.records,
        "duplicates": events.records - len(events.event_ids),
        "timers_fired": fired,
        "outbox_left": unpublished,
        # Capped, some fired timers are still on their way: only the absence of duplicates is known.
        "exactly_once": events.records == len(events.event_ids) == fired and unpublished == 0 if complete else None,
    }


async def raw_claim(servers: Servers, size: int) -> dict[str, Any]:
    async with fresh_databases(servers.postgres_url, database_names("bench_raw", new_run_id(), ["deadlines"])) as urls:
        conn = await asyncpg.connect(urls["deadlines"])
        try:
            await migrate(conn, "deadlines", MIGRATIONS)
            now = datetime.now(UTC)
            await conn.copy_records_to_table("deadlines", records=timer_rows(size, lambda i: now - timedelta(milliseconds=size - i)), columns=COLUMNS)
            await conn.execute("analyze deadlines")  # as autovacuum would have by now in a live database
            start, claimed = time.monotonic(), 0
            while True:
                done = int((await conn.execute(RAW_CLAIM, now, BATCH)).split()[-1])
                if not done:
                    break
                claimed += done
            seconds = time.monotonic() - start
        finally:
            await conn.close()
    return {"size": size, "claimed": claimed, "seconds": round(seconds, 2), "claimed_per_s": round(claimed / seconds)}


async def lateness(servers: Servers, rate: float, seconds: float, cap: float, *, backlog: int) -> dict[str, Any]:
    """Lateness of `rate` expiries a second for `seconds`, with `backlog` more timers pending that are
    due only in 30 days: the table a live system has, which the timer loop's queries must not scan."""
    count = int(rate * seconds)
    late: list[float] = []

    def measure(value: bytes) -> None:
        late.append(time.time() - datetime.fromisoformat(orjson.loads(value)["deadline"]).timestamp())

    async with PrivateSystem(servers, label="bench", services=("deadlines",)) as system:
        conn = await asyncpg.connect(system.databases["deadlines"])
        later = datetime.now(UTC) + timedelta(days=30)
        pending = timer_rows(backlog, lambda i: later + timedelta(milliseconds=i), storefront="shop-2")
        await conn.copy_records_to_table("deadlines", records=pending, columns=COLUMNS)
        await conn.execute("analyze deadlines")
        first_due = datetime.now(UTC) + timedelta(seconds=2)
        due = [first_due + timedelta(seconds=i / rate) for i in range(count)]
        watermarks = asyncio.create_task(_write_watermarks(servers.kafka_bootstrap_servers, system.prefix, due))
        try:
            await conn.copy_records_to_table("deadlines", records=timer_rows(count, lambda i: due[i]), columns=COLUMNS)
            await conn.execute("select pg_notify('deadlines', '')")
            async with _Events(servers.kafka_bootstrap_servers, system.prefix + DEADLINES_EVENTS.name, measure) as events:
                await events.read_until(count, time.monotonic() + 2 + seconds + cap)
        finally:
            watermarks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watermarks
            await conn.close()
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "pending_backlog": backlog,
        "fired": events.records,
        "complete": events.records >= count,
        "lateness_ms": percentiles_ms(late),
    }


async def _write_watermarks(bootstrap: str, prefix: str, due: list[datetime]) -> None:
    """What the orders service does with its default settings (services/orders/watermarks.py): a
    watermark on every partition when the next deadline passes, at least MIN_SPACING_SECONDS apart,
    and at least every heartbeat (WATERMARK_INTERVAL_SECONDS) otherwise."""
    heartbeat = OrdersSettings.model_fields["watermark_interval_seconds"].default
    send = producer(bootstrap)
    await send.start()
    try:
        while True:
            as_of = datetime.now(UTC)
            for p in range(ORDERS_EVENTS.partitions):
                mark = OrdersWatermark(partition=p, as_of=as_of)
                await send.send(prefix + ORDERS_EVENTS.name, encode(mark), key=f"watermark/{p}".encode(), partition=p)
            later = due[bisect.bisect_right(due, as_of) :][:1]
            wait = heartbeat if not later else min(heartbeat, (later[0] - datetime.now(UTC)).total_seconds())
            await asyncio.sleep(max(wait, MIN_SPACING_SECONDS))
    finally:
        await send.stop()


async def run(sizes: Sizes, servers: Servers) -> dict[str, Any]:
    by_size = []
    for size in sizes.deadline_sizes:
        service, raw = await fire(servers, size, sizes.cap_seconds), await raw_claim(servers, size)
        by_size.append({"size": size, "service": service, "raw": raw, "ratio": round(service["fired_per_s"] / raw["claimed_per_s"], 3)})
    # Watermarks as the orders service writes them by default: when a deadline passes (R15).
    late = [await lateness(servers, sizes.lateness_rate, sizes.lateness_seconds, sizes.cap_seconds, backlog=max(sizes.deadline_sizes))]
    return {"by_size": by_size, "lateness": late}


def rows(f: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    table: list[tuple[str, str, str, bool | None]] = []
    for entry in f["by_size"]:
        s, r = entry["service"], entry["raw"]
        capped = "" if s["complete"] else f" (capped at {s['records']:,})"
        once = {True: "exactly once", False: "NOT exactly once", None: f"{s['duplicates']} duplicates"}[s["exactly_once"]]
        table.append((
            f"Deadlines fired, {entry['size']:,} due",
            f"{s['fired_per_s']:,}/s in {s['seconds']}s{capped}, {once}; raw claim {r['claimed_per_s']:,}/s: {entry['ratio']:.2f}x",
            ">= 0.5x raw claim",
            entry["ratio"] >= 0.5 and s["exactly_once"] is not False,
        ))
    for late in f["lateness"]:
        p = late["lateness_ms"]
        table.append((
            f"Firing lateness at {late['rate_per_s']:,.0f} expiries/s, {late['pending_backlog']:,} more pending, default settings",
            f"p50 {p['p50']} / p99 {p['p99']} ms" + ("" if late["complete"] else " (not all fired)"),
            "p99 <= 300 ms",
            late["complete"] and p["p99"] is not None and p["p99"] <= 300,
        ))
    return table
