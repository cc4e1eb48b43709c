"""A batch's write-back as one statement, on a real PostgreSQL: every write applied together, and an
orders write-back that finds a row changed behind its batch's back written not at all."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from services.deadlines import storage as deadlines_storage
from services.orders import storage as orders_storage
from services.orders.domain import Status
from services.orders.storage import OrdersWork
from shared.clock import SystemClock
from shared.contracts import events
from shared.messaging.failures import is_transient
from shared.storage import writes
from shared.storage.writes import StaleWrite, Write
from tests.integration.conftest import MakePool


async def test_every_write_of_a_batch_runs_in_one_statement_and_a_counted_query_runs_too(migrated_pool: MakePool) -> None:
    pool = await migrated_pool("inventory")
    async with pool.acquire() as conn:
        notified: asyncio.Queue[str] = asyncio.Queue()

        def heard(*args: object) -> None:
            notified.put_nowait(str(args[-1]))

        await conn.add_listener("writes-test", heard)
        async with pool.acquire() as other, other.transaction():
            await writes.execute(other, [
                Write("insert into listings (listing_id, seller_id, quantity, production_days) values ($1, $2, $3, $4)", ("l-1", "s-1", 3, 5)),
                Write("insert into reservations (order_key, listing_id, quantity) values ($1, $2, $3)", ("shop/o-1", "l-1", 2)),
                Write("insert into decided_orders (order_key) values ($1)", ("shop/o-1",)),
                Write("select pg_notify($1, $2)", ("writes-test", "done"), expect_rows=1),
            ])
        assert await asyncio.wait_for(notified.get(), 10) == "done"
        assert await conn.fetchval("select quantity from reservations where order_key = 'shop/o-1'") == 2
        assert await conn.fetchval("select count(*) from decided_orders") == 1
        await conn.remove_listener("writes-test", heard)


def _changed_order(work: OrdersWork, key: str) -> None:
    order = work.orders[key]
    work.put(type(order)(**{**vars(order), "status": Status.CANCELLED, "cancellation_reason": "test"}))


async def test_an_orders_write_back_over_a_row_changed_since_its_batch_read_it_writes_nothing(migrated_pool: MakePool) -> None:
    pool = await migrated_pool("orders")
    async with pool.acquire() as conn:
        await conn.execute(
            """insert into orders (storefront_id, order_id, seller_id, command_id, placed_at, lines, status, version)
               values ('shop', 'o-1', 's-1', $1, now(), '[{"listing_id": "l-1", "quantity": 1}]', 'unshipped', 4)""",
            uuid.uuid4(),
        )
    about = events.OrderCancelled(storefront_id="shop", order_id="o-1", seller_id="s-1", reason="test", lines=[])
    work = OrdersWork(SystemClock(), ZoneInfo("UTC"))
    async with pool.acquire() as conn:
        async with conn.transaction():
            await work.load(conn, [about])  # reads version 4
        await conn.execute("update orders set version = 5 where order_id = 'o-1'")  # another writer, in between
        _changed_order(work, "shop/o-1")
        with pytest.raises(StaleWrite) as raised:
            async with conn.transaction():
                await writes.execute(conn, work.writes())
        assert is_transient(raised.value)  # the batch is retried and reads the row anew, never set aside
        row = await conn.fetchrow("select status, version from orders where order_id = 'o-1'")
    assert (row["status"], row["version"]) == ("unshipped", 5)
    assert [o.message.version for o in work.outgoing] == [5]  # the state record it would have published: never queued


async def test_an_orders_write_back_gives_each_order_the_version_after_the_one_it_read(migrated_pool: MakePool) -> None:
    pool = await migrated_pool("orders")
    async with pool.acquire() as conn:
        await conn.execute(
            """insert into orders (storefront_id, order_id, seller_id, command_id, placed_at, lines, status, version)
               values ('shop', 'o-1', 's-1', $1, $2, '[]', 'unshipped', 4)""",
            uuid.uuid4(),
            datetime(2026, 1, 1, tzinfo=UTC),
        )
        work = OrdersWork(SystemClock(), ZoneInfo("UTC"))
        async with conn.transaction():
            await work.load(conn, [events.OrderCancelled(storefront_id="shop", order_id="o-1", seller_id="s-1", reason="test", lines=[])])
            _changed_order(work, "shop/o-1")
            await writes.execute(conn, work.writes())
        assert await conn.fetchval("select version from orders where order_id = 'o-1'") == 5


async def _fields(conn: asyncpg.Connection, type_name: str) -> list[tuple[str, str]]:
    """A composite type's fields and their types, in order."""
    rows = await conn.fetch(
        """select a.attname, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a join pg_type t on t.typrelid = a.attrelid
           where t.typname = $1 and a.attnum > 0 and not a.attisdropped order by a.attnum""",
        type_name,
    )
    return [(r["attname"], r["type"]) for r in rows]


async def _columns(conn: asyncpg.Connection, table: str) -> dict[str, str]:
    rows = await conn.fetch(
        "select attname, format_type(atttypid, atttypmod) as type from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped",
        table,
    )
    return {r["attname"]: r["type"] for r in rows}


async def _assert_row_type(conn: asyncpg.Connection, type_name: str, table: str, fields: list[str]) -> None:
    """The composite type lists `fields` in this order, each with its table column's type."""
    row_type = await _fields(conn, type_name)
    columns = await _columns(conn, table)
    assert [name for name, _ in row_type] == fields
    assert [kind for _, kind in row_type] == [columns[name] for name in fields]


async def test_the_row_types_of_the_write_backs_match_what_the_code_sends(migrated_pool: MakePool) -> None:
    """A batch's rows go as arrays of composite rows (migrations): their fields are positional, so each
    type must list exactly what the code puts in each tuple, in its order, with its column's type."""
    orders = await migrated_pool("orders")
    async with orders.acquire() as conn:
        await _assert_row_type(conn, "order_row", "orders", [name for name, _, _ in orders_storage.COLUMNS] + ["version"])
        await _assert_row_type(conn, "outbox_entry", "outbox", ["event_id", "topic", "key", "message_type", "payload", "partition", "traceparent"])
        await _assert_row_type(conn, "inbox_entry", "inbox", ["event_id", "topic", "message_type"])
        await _assert_row_type(conn, "handled_command", "handled_commands", ["command_id", "command_type"])
    deadlines = await migrated_pool("deadlines")
    async with deadlines.acquire() as conn:
        timer_fields = [name.strip() for name in deadlines_storage._TIMER_COLUMNS.split(",")] + ["orders_partition", "traceparent"]
        await _assert_row_type(conn, "timer_row", "deadlines", timer_fields)
