from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from devtools.system import create_database, drop_database
from shared.storage.migrate import migrate
from tests.support.infra import Infra

REPO = Path(__file__).resolve().parents[2]

MakePool = Callable[[str], Awaitable[asyncpg.Pool]]


@pytest.fixture
async def migrated_pool(infra: Infra, run_id: str) -> AsyncIterator[MakePool]:
    """Make a pool on a fresh database migrated for a service: `await migrated_pool("inventory")`."""
    made: list[tuple[str, asyncpg.Pool]] = []

    async def make(service: str) -> asyncpg.Pool:
        name = f"it_{service}_{run_id}"
        url = await create_database(infra.postgres_url, name)
        pool = await asyncpg.create_pool(url, min_size=1, max_size=12)
        async with pool.acquire() as conn:
            await migrate(conn, service, REPO / "services" / service / "migrations")
        made.append((name, pool))
        return pool

    yield make
    for name, pool in made:
        await pool.close()
        await drop_database(infra.postgres_url, name)
