"""How fast Manage Orders pages for one seller with 100,000 orders (keyset paging on an index).

    python scripts/stack.py exec -- .venv/bin/python -m bench.portal_paging [--orders 100000] [--repeat 50]

Fills a fresh portal database (created through POSTGRES_URL, dropped after) with one seller's orders
(80% unshipped, the rest shipped, cancelled and rejected; 1% of the unshipped warned), plus other
sellers' orders, then times what each page asks the database (reads.py, the code the pages and the API
run, without HTML): the first page, a page 1,000 pages deep by its cursor, the at-risk and late views,
an order found by id, and the performance figures. Prints the median and 95th percentile in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from services.orders.dates import fix_deadlines
from services.portal import reads, storage
from shared.storage.database import SESSION_SETTINGS
from shared.storage.migrate import migrate

SELLER = "seller-big"
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
ZONE = ZoneInfo("UTC")
MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "portal" / "migrations"
COLUMNS = (
    "storefront_id", "order_id", "seller_id", "status", "placed_at", "lines", "timezone", "order_date", "ship_by_date",
    "confirm_by_date", "ship_by_deadline", "confirm_by_deadline", "late_penalty", "confirmed_at", "tracking_valid", "version", "sort_at",
)  # fmt: skip


def rows(seller: str, count: int, rng: random.Random) -> list[tuple[Any, ...]]:
    made = []
    for i in range(count):
        placed = NOW - timedelta(seconds=rng.randint(0, 40 * 86400))
        d = fix_deadlines(placed, rng.choice((1, 2, 3, 5, 7, 14, 30)), ZONE)
        status = rng.choices(("unshipped", "shipped", "cancelled", "rejected"), (80, 15, 3, 2))[0]
        accepted = status != "rejected"
        confirmed = d.ship_by_deadline - timedelta(hours=rng.randint(-24, 48)) if status == "shipped" else None
        made.append(
            (
                f"shop-{seller}", f"o{i:06d}", seller, status, placed, json.dumps([{"listing_id": "mug", "quantity": 1}]), "UTC",
                d.order_date if accepted else None, d.ship_by_date if accepted else None, d.confirm_by_date if accepted else None,
                d.ship_by_deadline if accepted else None, d.confirm_by_deadline if accepted else None, False,
                confirmed, rng.random() < 0.95 if confirmed else None, 1, d.ship_by_deadline if accepted else placed,
            )
        )  # fmt: skip
    return made


async def timed(repeat: int, call: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    await call()  # warm the cache and the statement
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 2), "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2)}


async def run(args: argparse.Namespace) -> None:
    admin_url = os.environ.get("POSTGRES_URL", "postgresql://fulfil:fulfil@127.0.0.1:15432/postgres")
    name = f"portal_bench_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'create database "{name}"')
    try:
        # With the session settings the portal's own connections carry (shared/storage/database.py).
        conn = await asyncpg.connect(admin_url.rsplit("/", 1)[0] + f"/{name}", server_settings=SESSION_SETTINGS)
        try:
            await migrate(conn, "portal", MIGRATIONS)
            rng = random.Random(7)
            started = time.perf_counter()
            await conn.copy_records_to_table("orders", records=rows(SELLER, args.orders, rng), columns=COLUMNS)
            for other in range(5):
                await conn.copy_records_to_table("orders", records=rows(f"seller-{other}", args.orders // 10, rng), columns=COLUMNS)
            await conn.execute(
                """insert into warnings (storefront_id, order_id, deadline_kind, seller_id, deadline, due_date, lead_seconds, warned_at)
                   select storefront_id, order_id, 'ship_by', seller_id, ship_by_deadline, ship_by_date, 86400, $2
                   from orders where seller_id = $1 and status = 'unshipped' and ship_by_deadline > $2 and random() < 0.01""",
                SELLER,
                NOW,
            )
            await conn.execute("analyze")
            print(f"filled {args.orders:,} orders of {SELLER} (+{args.orders // 2:,} of others) in {time.perf_counter() - started:.1f}s")

            async def page(**kwargs: Any) -> reads.OrdersPage:
                options = {"status": "unshipped", "view": "all", "sort": "ship_by", "cursor": None, "limit": 50, "now": NOW, **kwargs}
                return await reads.orders_page(conn, SELLER, **options)

            cursor = None
            for _ in range(1000):  # walk 1,000 pages deep to time a deep page by its cursor
                cursor = (await page(cursor=cursor)).next_cursor
            first = await page()
            unshipped = first.counts.get("unshipped", 0)
            keys = [(o.storefront_id, o.order_id) for o in first.items]
            results = {
                "first_page": await timed(args.repeat, page),
                "page_1000_by_cursor": await timed(args.repeat, lambda: page(cursor=cursor)),
                "latest_first": await timed(args.repeat, lambda: page(sort="-ship_by")),
                "at_risk_view": await timed(args.repeat, lambda: page(view="at_risk")),
                "late_view": await timed(args.repeat, lambda: page(view="late")),
                "find_by_order_id": await timed(args.repeat, lambda: page(order_id="o050000")),
                "performance": await timed(args.repeat, lambda: reads.performance(conn, SELLER, NOW, ZONE)),
                "of_which_page_query": await timed(args.repeat, lambda: storage.order_page(conn, SELLER, "unshipped", now=NOW, limit=50)),
                "of_which_tab_counts": await timed(args.repeat, lambda: storage.status_counts(conn, SELLER)),
                "of_which_warnings": await timed(args.repeat, lambda: storage.warnings_for(conn, SELLER, keys)),
                "of_which_at_risk_count": await timed(args.repeat, lambda: storage.at_risk_count(conn, SELLER, NOW)),
            }
        finally:
            await conn.close()
    finally:
        await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.close()
    print(f"{unshipped:,} unshipped orders; 50 a page; each figure over {args.repeat} runs (the page's database work, counts included)")
    for key, figures in results.items():
        print(f"  {key:<22} median {figures['median_ms']:>7.2f} ms   p95 {figures['p95_ms']:>7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
