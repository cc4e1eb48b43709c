from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devtools.kafka_io import Publisher, Tap
from devtools.launcher import ServiceProcess
from tests.conftest import SERVICES
from tests.support.infra import Infra


@pytest.fixture
async def services(
    infra: Infra, topic_prefix: str, service_databases: dict[str, str], tmp_path: Path
) -> AsyncIterator[dict[str, ServiceProcess]]:
    """The three services, each its own process with its own database, on this test's topics."""
    running = {
        name: ServiceProcess(
            name,
            {
                "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
                "DATABASE_URL": service_databases[name],
                "TOPIC_PREFIX": topic_prefix,
                "OUTBOX_POLL_SECONDS": "0.5",
                "LOG_LEVEL": "INFO",
            },
            tmp_path / f"{name}.log",
        )
        for name in SERVICES
    }
    for process in running.values():
        process.start()
    try:
        for process in running.values():
            await process.wait_started()
        yield running
    finally:
        for process in running.values():
            process.stop()


@pytest.fixture
async def tap(infra: Infra, topic_prefix: str) -> AsyncIterator[Tap]:
    async with Tap(infra.kafka_bootstrap_servers, topic_prefix) as collected:
        yield collected


@pytest.fixture
async def publisher(infra: Infra, topic_prefix: str) -> AsyncIterator[Publisher]:
    async with Publisher(infra.kafka_bootstrap_servers, topic_prefix) as sender:
        yield sender
