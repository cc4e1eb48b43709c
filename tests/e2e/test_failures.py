"""Failures the pipeline must ride out, with the service as its own process: PostgreSQL going away
while records arrive loses and dead-letters nothing (M2, M3), and SIGTERM stops a service promptly
and cleanly whatever it is retrying, leaving its offsets where a restart resumes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from devtools.kafka_io import Publisher, Tap
from devtools.launcher import ServiceProcess
from shared.contracts import commands, events
from shared.contracts.topics import INVENTORY_COMMANDS
from shared.logs import event_marker
from tests.integration.test_failures import PLANTED_DEFECT
from tests.support.infra import Infra
from tests.support.private_stack import PrivateStack
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

QUICK_RETRIES = {"RETRY_MAX_SECONDS": "0.5", "OUTBOX_POLL_SECONDS": "0.2", "STARTUP_TIMEOUT_SECONDS": "30"}
GRACE_SECONDS = 15.0  # SIGTERM, then SIGKILL after this: a clean stop must come well before


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[PrivateStack]:
    server = PrivateStack(tmp_path / "stack", databases=("inventory",))
    server.up()
    try:
        yield server
    finally:
        server.down()


def inventory_process(infra: Infra, topic_prefix: str, database_url: str, logs: Path, **env: str) -> ServiceProcess:
    common = {"KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers, "TOPIC_PREFIX": topic_prefix, "DATABASE_URL": database_url}
    return ServiceProcess("inventory", {**common, **QUICK_RETRIES, **env}, logs / "inventory.log")


def create(listing: str) -> commands.CreateListing:
    return commands.CreateListing(command_id=uuid.uuid4(), seller_id="s1", listing_id=listing, quantity=3, production_days=2)


async def retrying(service: ServiceProcess) -> None:
    """Until the service says it failed and will try again (the database away, or the record failing)."""
    await eventually(lambda: _log(service), lambda text: event_marker("batch.retrying") in text or event_marker("message.failed") in text)


async def _log(service: ServiceProcess) -> str:
    return service.log()


async def test_M2_M3_records_that_arrive_while_postgres_is_down_are_all_applied_when_it_returns_and_none_dead_lettered(
    infra: Infra, topic_prefix: str, private_postgres: PrivateStack, tmp_path: Path, publisher: Publisher, tap: Tap
) -> None:
    service = inventory_process(infra, topic_prefix, private_postgres.url("inventory"), tmp_path)
    service.start()
    try:
        await service.wait_started()
        first = create("first")
        await publisher.send(INVENTORY_COMMANDS, first.listing_id, first)
        await tap.wait_for(events.ListingCreated, lambda e: e.listing_id == "first")
        private_postgres.crash()
        while_down = [create(f"while-down-{i}") for i in range(10)]
        for command in while_down:
            await publisher.send(INVENTORY_COMMANDS, command.listing_id, command)
        await retrying(service)  # the records arrived and failed: the database is gone
        private_postgres.up()
        await tap.wait_for(events.ListingCreated, count=11, timeout=90)
        assert tap.of_type(events.DeadLetter) == [] and tap.of_type(events.CommandRejected) == []
        conn = await asyncpg.connect(private_postgres.url("inventory"))
        try:
            assert await conn.fetchval("select count(*) from listings") == 11
        finally:
            await conn.close()
    finally:
        service.stop()


async def test_sigterm_stops_a_service_retrying_a_failing_record_at_once_and_a_restart_resumes_it(
    infra: Infra, topic_prefix: str, service_databases: dict[str, str], tmp_path: Path, publisher: Publisher, tap: Tap
) -> None:
    url = service_databases["inventory"]
    service = inventory_process(infra, topic_prefix, url, tmp_path, PROCESSING_ATTEMPTS="100")
    service.start()
    await service.wait_started()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(PLANTED_DEFECT)
        cursed = create("cursed")
        await publisher.send(INVENTORY_COMMANDS, "cursed", cursed)
        await retrying(service)
        assert service.stop(timeout=GRACE_SECONDS) == 0, service.log()[-3000:]  # not killed: it stopped itself
        assert event_marker("service.stopped") in service.log()
        assert await conn.fetchval("select count(*) from inbox") == 0  # nothing of the failing batch committed
        await conn.execute("drop trigger refuse_cursed on listings")  # the defect is fixed
        service.start()
        await service.wait_started()
        [created] = await tap.wait_for(events.ListingCreated, lambda e: e.listing_id == "cursed")
        assert created.command_id == cursed.command_id and tap.of_type(events.DeadLetter) == []
    finally:
        service.stop()
        await conn.close()


async def test_sigterm_stops_a_service_whose_database_is_unreachable_at_once(
    infra: Infra, topic_prefix: str, private_postgres: PrivateStack, tmp_path: Path, publisher: Publisher
) -> None:
    service = inventory_process(infra, topic_prefix, private_postgres.url("inventory"), tmp_path)
    service.start()
    try:
        await service.wait_started()
        private_postgres.crash()
        await publisher.send(INVENTORY_COMMANDS, "stuck", create("stuck"))
        await retrying(service)
        assert service.stop(timeout=GRACE_SECONDS) == 0, service.log()[-3000:]
        assert event_marker("service.stopped") in service.log()
    finally:
        service.stop()
