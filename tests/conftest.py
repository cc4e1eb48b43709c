"""Fixtures shared by every test layer. Real-service fixtures live in tests/integration and tests/e2e;
what they start comes from the private-system harness (devtools/system.py)."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Iterator

import pytest

from devtools.system import database_names, fresh_databases, fresh_topics, new_run_id
from tests.support.infra import Infra, real_services


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM (a CI runner giving up, `kill`) ends the run like Ctrl-C: fixtures are torn down, so the
    services stop and the databases go, instead of pytest dying where it stands."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


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


@pytest.fixture
def run_id() -> str:
    return new_run_id()


@pytest.fixture
async def topic_prefix(infra: Infra, run_id: str) -> AsyncIterator[str]:
    """A topic prefix for one test, its topics created before anything reads them, deleted after."""
    async with fresh_topics(infra.kafka_bootstrap_servers, f"test-{run_id}.") as prefix:
        yield prefix


@pytest.fixture
async def service_databases(infra: Infra, run_id: str) -> AsyncIterator[dict[str, str]]:
    """A fresh database for each service, dropped afterwards."""
    async with fresh_databases(infra.postgres_url, database_names("test", run_id)) as urls:
        yield urls
