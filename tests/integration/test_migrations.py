"""Versioned migrations against a real PostgreSQL: applied once, concurrently safe, edits refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from devtools.system import create_database, drop_database
from shared.storage.migrate import SHARED_MIGRATIONS, Migration, MigrationError, apply, load, migrate
from tests.support.infra import Infra

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def empty_db(infra: Infra, run_id: str):  # type: ignore[no-untyped-def]
    name = f"mig_{run_id}"
    url = await create_database(infra.postgres_url, name)
    yield url
    await drop_database(infra.postgres_url, name)


@pytest.mark.parametrize("service", ["inventory", "orders", "deadlines"])
async def test_every_service_migrates_from_empty_and_a_second_run_applies_nothing(empty_db: str, service: str) -> None:
    conn = await asyncpg.connect(empty_db)
    try:
        folder = REPO / "services" / service / "migrations"
        first = await migrate(conn, service, folder)
        assert first[0] == "shared/0001_outbox_inbox.sql" and len(first) >= 2
        assert await migrate(conn, service, folder) == []
        tables = {r["tablename"] for r in await conn.fetch("select tablename from pg_tables where schemaname = 'public'")}
        assert {"outbox", "inbox", "schema_migrations"} <= tables
    finally:
        await conn.close()


async def test_concurrent_migrators_apply_each_migration_once(empty_db: str) -> None:
    folder = REPO / "services" / "orders" / "migrations"
    conns = [await asyncpg.connect(empty_db) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(c, "orders", folder) for c in conns))
        applied = sorted(name for result in results for name in result)
        every = sorted(f"{m.component}/{m.name}" for m in load("shared", SHARED_MIGRATIONS) + load("orders", folder))
        assert applied == every  # each exactly once, whichever connection applied it
    finally:
        for conn in conns:
            await conn.close()


async def test_an_applied_migration_that_changed_is_refused(empty_db: str) -> None:
    conn = await asyncpg.connect(empty_db)
    try:
        original = Migration("demo", 1, "0001_demo.sql", "create table demo (id int);")
        await apply(conn, [original])
        edited = Migration("demo", 1, "0001_demo.sql", "create table demo (id bigint);")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await apply(conn, [edited])
    finally:
        await conn.close()


def test_migration_files_are_numbered_without_gaps(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("select 1;")
    (tmp_path / "0003_c.sql").write_text("select 1;")
    with pytest.raises(MigrationError, match="without gaps"):
        load("x", tmp_path)
