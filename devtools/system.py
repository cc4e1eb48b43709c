"""A private system: fresh databases, a fresh topic prefix and the services as processes on them.

The one place where tests (tests/conftest.py, tests/e2e/conftest.py), tools (loadgen, fuzz, faults)
and benchmarks start, observe and stop the system they run against, so many runs can share one
Kafka cluster and one PostgreSQL server without seeing each other. Starting Kafka and PostgreSQL
themselves is scripts/stack.py's job; one service process is devtools/launcher.py's.

    async with PrivateSystem(Servers.from_env(), label="loadgen", clock=clock) as system:
        system.prefix, system.databases["orders"], system["deadlines"].kill(), ...

The pieces are usable alone: `fresh_databases`, `fresh_topics`, `service_processes` + `running`
(tests create databases and topics in fixtures of their own and start the services on them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import UnknownTopicOrPartitionError

from devtools.launcher import ServiceProcess, stop_all
from shared.clock import ScaledClock
from shared.contracts.topics import ALL_TOPICS, SERVICES
from shared.messaging.admin import ensure_topics
from shared.settings import LOCAL_KAFKA, local_database_url

LOCAL_ADMIN_URL = local_database_url("postgres")  # the local stack's administrative database
# Short relay polling and watermark intervals: tests and fault runs wait less for what is late by
# design. Benchmarks leave the services' defaults, which are what they measure.
SHORT_INTERVALS = {"OUTBOX_POLL_SECONDS": "0.5", "WATERMARK_INTERVAL_SECONDS": "0.2"}


@dataclass(frozen=True)
class Servers:
    """Where Kafka and PostgreSQL are."""

    kafka_bootstrap_servers: str
    postgres_url: str  # an administrative URL: runs create and drop databases of their own

    @classmethod
    def from_env(cls) -> Servers:
        """KAFKA_BOOTSTRAP_SERVERS and POSTGRES_URL (`make` sets both), else the local stack's."""
        return cls(os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or LOCAL_KAFKA, os.environ.get("POSTGRES_URL") or LOCAL_ADMIN_URL)


def new_run_id() -> str:
    return uuid.uuid4().hex[:10]


# ------------------------------------------------------------------------------------ databases


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


async def create_database(admin_url: str, name: str) -> str:
    """A new, empty database (one left over by an earlier run of the same name is dropped); its URL."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
    return with_database(admin_url, name)


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await conn.close()


def database_names(label: str, run: str, services: Iterable[str] = SERVICES) -> dict[str, str]:
    return {service: f"{label}_{service}_{run}" for service in services}


@contextlib.asynccontextmanager
async def fresh_databases(admin_url: str, names: dict[str, str]) -> AsyncIterator[dict[str, str]]:
    """A fresh database for each key of `names` (key -> database name), dropped afterwards; yields key -> URL."""
    created: dict[str, str] = {}
    try:
        for key, name in names.items():
            created[key] = await create_database(admin_url, name)
        yield created
    finally:
        for key in created:
            await drop_database(admin_url, names[key])


# Outbox rows not yet on Kafka. Watermarks are written all the time and do not count.
UNPUBLISHED = "select count(*) from outbox where message_type <> 'orders.watermark'"


async def unpublished(urls: Iterable[str]) -> int:
    """Events the services in these databases queued and have not published yet."""
    total = 0
    for url in urls:
        conn = await asyncpg.connect(url)
        try:
            total += await conn.fetchval(UNPUBLISHED)
        finally:
            await conn.close()
    return total


# ------------------------------------------------------------------------------------ topics


@contextlib.asynccontextmanager
async def fresh_topics(bootstrap_servers: str, prefix: str) -> AsyncIterator[str]:
    """The registry's topics under `prefix`, created before anything reads them and deleted afterwards."""
    try:
        await ensure_topics(bootstrap_servers, prefix=prefix)
        yield prefix
    finally:
        await delete_topics(bootstrap_servers, prefix)


async def delete_topics(bootstrap_servers: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_topics([prefix + t.name for t in ALL_TOPICS])
    except UnknownTopicOrPartitionError:
        pass  # never created: the run failed before
    finally:
        await admin.close()


# ------------------------------------------------------------------------------------ services


def clock_env(clock: ScaledClock) -> dict[str, str]:
    """The environment that puts a service on `clock` (T3)."""
    return {
        "CLOCK_REAL_ANCHOR": clock.real_anchor.isoformat(),
        "CLOCK_SIMULATED_ANCHOR": clock.simulated_anchor.isoformat(),
        "CLOCK_SPEED": str(clock.speed),
    }


def accelerated(simulated_start: datetime, speed: float) -> ScaledClock:
    """A clock that reads `simulated_start` now and runs `speed` times faster than real time."""
    return ScaledClock(datetime.now(UTC), simulated_start, speed)


def service_processes(
    bootstrap_servers: str,
    prefix: str,
    databases: dict[str, str],
    logs: Path,
    *,
    env: dict[str, str] | None = None,
    instances: int = 1,
    static_membership: bool = False,
    process: type[ServiceProcess] = ServiceProcess,
) -> list[ServiceProcess]:
    """`instances` processes of each service in `databases` (service -> URL), all on the topics under
    `prefix` (one consumer group per service and topic), with `env` on top. Static membership gives
    each instance a stable KAFKA_GROUP_INSTANCE_ID: a restarted one takes its partitions back at once."""
    common = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers, "TOPIC_PREFIX": prefix, **(env or {})}
    made = []
    for service, url in databases.items():
        for i in range(instances):
            own = {"DATABASE_URL": url} | ({"KAFKA_GROUP_INSTANCE_ID": f"{service}-{i}"} if static_membership else {})
            log = logs / (f"{service}.log" if instances == 1 else f"{service}-{i}.log")
            made.append(process(service, {**common, **own}, log))
    return made


@contextlib.asynccontextmanager
async def running(processes: list[ServiceProcess], *, timeout: float = 90.0) -> AsyncIterator[dict[str, ServiceProcess]]:
    """Start the processes, wait until each is ready, and stop them all afterwards, whatever happens.
    Yields service name -> its first process."""
    try:
        for each in processes:
            each.start()
        for each in processes:
            await each.wait_started(timeout)
        by_name: dict[str, ServiceProcess] = {}
        for each in processes:
            by_name.setdefault(each.name, each)
        yield by_name
    finally:
        stop_all(processes)


class PrivateSystem:
    """Fresh databases, a fresh topic prefix and the services started on them, for one run; afterwards
    the services stop and the databases and topics go. The services' logs are kept when something
    failed (or with `keep_logs`, or when the caller gave the folder), and removed otherwise: a million
    fired deadlines log hundreds of MB."""

    def __init__(
        self,
        servers: Servers,
        *,
        label: str = "system",
        services: tuple[str, ...] = SERVICES,
        instances: int = 1,
        env: dict[str, str] | None = None,
        clock: ScaledClock | Callable[[], ScaledClock] | None = None,
        static_membership: bool = False,
        logs: Path | None = None,
        keep_logs: bool = False,
        process: type[ServiceProcess] = ServiceProcess,
        start_timeout: float = 90.0,
    ) -> None:
        self.servers = servers
        self.run = new_run_id()
        self.label = label
        self.prefix = f"{label}-{self.run}."
        self.services = services
        self.logs = logs or Path(tempfile.gettempdir()) / f"fulfil-{label}-{self.run}"
        self.databases: dict[str, str] = {}  # service -> URL
        self.processes: list[ServiceProcess] = []
        self._env = env or {}
        self._clock = clock
        self.clock: ScaledClock | None = None  # the services' clock (T3), once they start
        self._instances, self._static_membership, self._process = instances, static_membership, process
        self._start_timeout = start_timeout
        self._remove_logs = logs is None and not keep_logs
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> PrivateSystem:
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            names = database_names(self.label, self.run, self.services)
            self.databases = await self._stack.enter_async_context(fresh_databases(self.servers.postgres_url, names))
            await self._stack.enter_async_context(fresh_topics(self.servers.kafka_bootstrap_servers, self.prefix))
            # A clock given as a function is made now, so the set-up above is not spent on its time.
            self.clock = self._clock() if callable(self._clock) else self._clock
            env = {**self._env, **(clock_env(self.clock) if self.clock else {})}
            self.processes = service_processes(
                self.servers.kafka_bootstrap_servers, self.prefix, self.databases, self.logs, env=env,
                instances=self._instances, static_membership=self._static_membership, process=self._process,
            )  # fmt: skip
            await self._stack.enter_async_context(running(self.processes, timeout=self._start_timeout))
        except BaseException as exc:
            await self.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            await self._stack.__aexit__(kind, exc, tb)
        finally:
            if kind is not None:
                print(f"services' logs kept in {self.logs}", file=sys.stderr)
            elif self._remove_logs:
                shutil.rmtree(self.logs, ignore_errors=True)

    def of(self, service: str) -> list[ServiceProcess]:
        """Every process of `service`."""
        return [p for p in self.processes if p.name == service]

    def __getitem__(self, service: str) -> ServiceProcess:
        """The (first) process of `service`."""
        return self.of(service)[0]
