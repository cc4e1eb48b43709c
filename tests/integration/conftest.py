from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from devtools.system import create_database, drop_database
from services.inventory.app import InventorySettings, build
from shared.contracts.envelope import Message
from shared.messaging.consumer import write_back
from shared.messaging.work import UnitOfWork
from shared.storage.database import create_pool
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
        pool = await create_pool(url, max_size=12)  # as the services make theirs
        async with pool.acquire() as conn:
            await migrate(conn, service, REPO / "services" / service / "migrations")
        made.append((name, pool))
        return pool

    yield make
    for name, pool in made:
        await pool.close()
        await drop_database(infra.postgres_url, name)


async def apply_in_one_transaction(pool: asyncpg.Pool, work: UnitOfWork, handle: Callable[[Any, Any], object], messages: Sequence[Message]) -> None:
    """What the consuming pipeline does with a batch, minus Kafka and the inbox: load, handle, write back."""
    async with pool.acquire() as conn, conn.transaction():
        await work.load(conn, messages)
        for message in messages:
            handle(work, message)
        await write_back(conn, work)


def inventory_settings(infra: Infra, topic_prefix: str, database_url: str, **changes: Any) -> InventorySettings:
    """The inventory service's settings for a test: this run's Kafka, topics and database, a quick relay."""
    return InventorySettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers, database_url=database_url, topic_prefix=topic_prefix, outbox_poll_seconds=0.2,
        **changes,
    )


@contextlib.asynccontextmanager
async def inventory_running(settings: InventorySettings) -> AsyncIterator[None]:
    """The inventory service running in this process while the block runs."""
    app = build(settings).app()
    await app.start()
    try:
        yield
    finally:
        await app.stop()
