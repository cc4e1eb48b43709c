from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devtools.kafka_io import Publisher, Tap
from devtools.launcher import ServiceProcess
from devtools.system import SHORT_INTERVALS, running, service_processes
from tests.support.infra import Infra


@pytest.fixture
def service_env() -> dict[str, str]:
    """Extra environment for every service; a test module overrides it (clock, zone)."""
    return {}


@pytest.fixture
async def services(
    infra: Infra, topic_prefix: str, service_databases: dict[str, str], tmp_path: Path, service_env: dict[str, str]
) -> AsyncIterator[dict[str, ServiceProcess]]:
    """The three services, each its own process with its own database, on the test's topics."""
    processes = service_processes(infra.kafka_bootstrap_servers, topic_prefix, service_databases, tmp_path, env={**SHORT_INTERVALS, **service_env})
    async with running(processes) as started:
        yield started


@pytest.fixture
async def tap(infra: Infra, topic_prefix: str) -> AsyncIterator[Tap]:
    async with Tap(infra.kafka_bootstrap_servers, topic_prefix) as collected:
        yield collected


@pytest.fixture
async def publisher(infra: Infra, topic_prefix: str) -> AsyncIterator[Publisher]:
    async with Publisher(infra.kafka_bootstrap_servers, topic_prefix) as sender:
        yield sender
