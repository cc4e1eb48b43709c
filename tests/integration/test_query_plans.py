"""The services' lookups stay on their indexes while a table grows faster than its statistics follow
(shared/storage/database.py SESSION_SETTINGS), on a real PostgreSQL."""

from __future__ import annotations

import json

from tests.integration.conftest import MakePool


def _keys(first: int, count: int) -> str:
    """A text[] literal of `count` order keys."""
    return "'{" + ",".join(f"shop-1/order-{n:06d}" for n in range(first, first + count)) + "}'"


def _scans(plan: object) -> list[str]:
    """Every node type in an EXPLAIN (FORMAT JSON) plan."""
    if isinstance(plan, dict):
        return [plan.get("Node Type", ""), *(node for child in plan.values() for node in _scans(child))]
    if isinstance(plan, list):
        return [node for child in plan for node in _scans(child)]
    return []


async def test_a_lookup_planned_while_its_table_was_tiny_uses_the_index_once_the_table_has_grown(migrated_pool: MakePool) -> None:
    pool = await migrated_pool("inventory")
    async with pool.acquire() as conn:
        # What autovacuum does to a fresh table soon after it starts filling: statistics of 50 rows.
        await conn.execute("insert into decided_orders (order_key) select 'shop-1/order-' || lpad(n::text, 6, '0') from generate_series(1, 50) n")
        await conn.execute("analyze decided_orders")
        # A prepared statement, run often enough for PostgreSQL to settle on a plan (asyncpg prepares them all).
        await conn.execute("prepare decided(text[]) as select order_key from decided_orders where order_key = any($1::text[])")
        for _ in range(10):
            await conn.fetch(f"execute decided({_keys(1, 100)})")
        await conn.execute("insert into decided_orders (order_key) select 'shop-1/order-' || lpad(n::text, 6, '0') from generate_series(51, 20000) n")

        plan = json.loads(await conn.fetchval(f"explain (format json) execute decided({_keys(10_001, 100)})"))
        await conn.execute("deallocate decided")

    assert "Seq Scan" not in _scans(plan), plan
