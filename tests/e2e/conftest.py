from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devtools.kafka_io import Publisher, Tap
from devtools.launcher import ServiceProcess, running
from shared.contracts.topics import SERVICES
from tests.support.infra import Infra


@pytest.fixture
def service_env() -> dict[str, str]:
    """Extra environment for every service; a test module overrides it (clock, zone)."""
    return {}


def service_processes(
    infra: Infra, topic_prefix: str, databases: dict[str, str], logs: Path, env: dict[str, str]
) -> list[ServiceProcess]:
    """The three services, each its own process with its own database, on the given topics."""
    common = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "TOPIC_PREFIX": topic_prefix,
        "OUTBOX_POLL_SECONDS": "0.5",
        "WATERMARK_INTERVAL_SECONDS": "0.2",
        "LOG_LEVEL": "INFO",
    }
    return [ServiceProcess(name, {**common, "DATABASE_URL": databases[name], **env}, logs / f"{name}.log") for name in SERVICES]


@pytest.fixture
async def services(
    infra: Infra, topic_prefix: str, service_databases: dict[str, str], tmp_path: Path, service_env: dict[str, str]
) -> AsyncIterator[dict[str, ServiceProcess]]:
    async with running(service_processes(infra, topic_prefix, service_databases, tmp_path, service_env)) as started:
        yield started


@pytest.fixture
async def tap(infra: Infra, topic_prefix: str) -> AsyncIterator[Tap]:
    async with Tap(infra.kafka_bootstrap_servers, topic_prefix) as collected:
        yield collected


@pytest.fixture
async def publisher(infra: Infra, topic_prefix: str) -> AsyncIterator[Publisher]:
    async with Publisher(infra.kafka_bootstrap_servers, topic_prefix) as sender:
        yield sender
