"""Retention of the bookkeeping that guards against redelivery: pruned in bounded batches once older
than BOOKKEEPING_RETENTION, never younger, and never a retention the topics outlast (M2)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from prometheus_client import REGISTRY

from devtools.kafka_io import Publisher, Tap
from services.inventory.app import build
from shared.contracts import commands, events
from shared.contracts.topics import INVENTORY_COMMANDS
from shared.runtime import RetentionTooShort
from shared.storage.retention import SHARED_TABLES, prune
from tests.integration.conftest import MakePool, inventory_running, inventory_settings
from tests.support.infra import Infra
from tests.support.settle import published
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def old_and_young_inbox_rows(pool: asyncpg.Pool, old: int, young: int) -> None:
    await pool.executemany(
        "insert into inbox (event_id, topic, message_type, processed_at) values ($1, 't', 'x', now() - $2::interval)",
        [(uuid.uuid4(), timedelta(days=30)) for _ in range(old)] + [(uuid.uuid4(), timedelta(days=1)) for _ in range(young)],
    )


async def test_M2_bookkeeping_older_than_the_retention_is_pruned_in_bounded_batches_and_younger_rows_stay(migrated_pool: MakePool) -> None:
    pool = await migrated_pool("inventory")
    await old_and_young_inbox_rows(pool, old=12, young=3)
    deleted = await prune(pool, SHARED_TABLES, older_than=timedelta(days=14), batch_size=5)
    assert deleted == {"inbox": 12, "handled_commands": 0}
    assert await pool.fetchval("select count(*) from inbox") == 3


async def test_M2_a_retention_the_topics_outlast_is_refused_at_start(infra: Infra, topic_prefix: str, service_databases: dict[str, str]) -> None:
    app = build(inventory_settings(infra, topic_prefix, service_databases["inventory"], bookkeeping_retention=timedelta(days=1))).app()
    with pytest.raises(RetentionTooShort, match=r"must exceed the retention of the topics it reads: .* keeps records for 7 days"):
        await app.start()
    await app.stop()


@pytest.fixture
async def pruning_inventory(infra: Infra, topic_prefix: str, service_databases: dict[str, str]) -> AsyncIterator[str]:
    """The inventory service in this process, pruning every 0.1 s anything older than 8 days."""
    url = service_databases["inventory"]
    async with inventory_running(inventory_settings(infra, topic_prefix, url, bookkeeping_retention=timedelta(days=8), retention_interval_seconds=0.1)):
        yield url


async def test_M2_a_replay_within_the_retention_is_still_absorbed_while_pruning_runs(
    pruning_inventory: str, infra: Infra, topic_prefix: str
) -> None:
    pool = await asyncpg.create_pool(pruning_inventory, min_size=1, max_size=2)
    try:
        await old_and_young_inbox_rows(pool, old=5, young=0)
        pruned_before = REGISTRY.get_sample_value("fulfil_pruned_rows_total", {"service": "inventory", "table": "inbox"}) or 0
        async with Publisher(infra.kafka_bootstrap_servers, topic_prefix) as publisher, Tap(infra.kafka_bootstrap_servers, topic_prefix) as tap:
            command = commands.CreateListing(command_id=uuid.uuid4(), seller_id="s1", listing_id="kept", quantity=2, production_days=3)
            await publisher.send(INVENTORY_COMMANDS, "kept", command)
            await tap.wait_for(events.ListingCreated)
            # The month-old rows go; the one just written stays, so a redelivery is still absorbed.
            await eventually(lambda: pool.fetchval("select count(*) from inbox"), lambda n: n == 1)

            # Counted once the pass over every table ends, a moment after the inbox rows are gone.
            async def pruned() -> float:
                return REGISTRY.get_sample_value("fulfil_pruned_rows_total", {"service": "inventory", "table": "inbox"}) or 0

            await eventually(pruned, lambda n: n - pruned_before >= 5)
            [record] = [r for r in tap.records if r.topic.endswith(INVENTORY_COMMANDS.name)]
            await publisher.send_raw_record(record)
            marker = commands.CreateListing(command_id=uuid.uuid4(), seller_id="s1", listing_id="marker", quantity=1, production_days=3)
            await publisher.send(INVENTORY_COMMANDS, "kept", marker)
            await tap.wait_for(events.ListingCreated, lambda e: e.listing_id == "marker")
            await published([pruning_inventory], tap)
            assert len(tap.of_type(events.ListingCreated, lambda e: e.listing_id == "kept")) == 1
            assert tap.of_type(events.CommandRejected) == []
    finally:
        await pool.close()
