"""Fixtures shared by every test layer. Real-service fixtures live in tests/integration and tests/e2e."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from shared.contracts.topics import SERVICES
from shared.messaging.admin import ensure_topics
from tests.support.databases import create_database, drop_database
from tests.support.infra import Infra, real_services


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    problem = None
    try:
        with real_services() as found:
            yield found
    except RuntimeError as exc:
        problem = str(exc)
    if problem:  # outside the except block, so the failure is one line, not a chained traceback
        pytest.fail(problem, pytrace=False)


def new_run_id() -> str:
    return uuid.uuid4().hex[:10]


async def topics_of_their_own(infra: Infra, run_id: str) -> str:
    """A topic prefix for one test (or module), its topics created before anything reads them."""
    prefix = f"test-{run_id}."
    await ensure_topics(infra.kafka_bootstrap_servers, prefix=prefix)
    return prefix


@contextlib.asynccontextmanager
async def databases_of_their_own(infra: Infra, run_id: str) -> AsyncIterator[dict[str, str]]:
    """A fresh database for each service, dropped afterwards."""
    names = {service: f"{service}_{run_id}" for service in SERVICES}
    urls = {service: await create_database(infra.postgres_url, name) for service, name in names.items()}
    try:
        yield urls
    finally:
        for name in names.values():
            await drop_database(infra.postgres_url, name)


@pytest.fixture
def run_id() -> str:
    return new_run_id()


@pytest.fixture
async def topic_prefix(infra: Infra, run_id: str) -> str:
    return await topics_of_their_own(infra, run_id)


@pytest.fixture
async def service_databases(infra: Infra, run_id: str) -> AsyncIterator[dict[str, str]]:
    async with databases_of_their_own(infra, run_id) as urls:
        yield urls
