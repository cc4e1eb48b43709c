"""Running one service process: database, migrations, topics, subscribers, the outbox relay and the
service's background jobs, started in that order and stopped in reverse.

Each service describes itself with a `Service` (its name, settings, clock, migrations, dispatch
tables, unit of work and background jobs, built once in its app.py); everything else about running
on Kafka and PostgreSQL is the same for all of them and lives here.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shared.clock import Clock
from shared.contracts.topics import consumer_group, topics_read_by, topics_written_by
from shared.logs import configure, get_logger
from shared.messaging.admin import BrokerUnavailable, TopicsUnavailable, ensure_topics
from shared.messaging.broker import make_broker
from shared.messaging.consumer import Pipeline
from shared.messaging.dispatch import Routes, wiring_problems
from shared.messaging.failures import Backoff
from shared.messaging.producer import Producer
from shared.messaging.relay import OutboxRelay
from shared.messaging.work import UnitOfWork
from shared.settings import ServiceSettings
from shared.storage.database import DatabaseUnavailable, create_pool, describe
from shared.storage.migrate import MigrationError, migrate

log = get_logger()


@dataclass(frozen=True)
class Resources:
    """What a running service hands its background jobs."""

    pool: asyncpg.Pool
    producer: Producer
    stopping: asyncio.Event  # set when the service begins to stop


BackgroundJob = Callable[[Resources], Awaitable[None]]


class WiringError(RuntimeError):
    """The service's dispatch tables disagree with the topic registry: it must not start."""


@dataclass(frozen=True)
class Service:
    name: str
    settings: ServiceSettings
    clock: Clock  # the one clock of the process (T3)
    migrations: Path
    routes: tuple[Routes, ...]
    work: Callable[[Clock], UnitOfWork]  # a fresh unit of work for each consuming transaction
    background: tuple[BackgroundJob, ...] = ()

    def app(self) -> FastStream:
        """The FastStream application of this service; raises WiringError before touching anything."""
        problems = wiring_problems(self.name, self.routes)
        if problems:
            raise WiringError("; ".join(problems))
        running = _Running(self)
        broker = make_broker(self.settings.kafka_bootstrap_servers, self.name, self.settings)
        for routes in self.routes:
            _subscribe(broker, self, routes, running)
        app = FastStream(broker)
        app.on_startup(running.open_storage)
        app.after_startup(running.start_background)
        app.on_shutdown(running.stop_background)
        app.after_shutdown(running.close_storage)
        return app


class _Running:
    """The parts of a service that exist only while it runs."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.stopping = asyncio.Event()
        self.pool: asyncpg.Pool | None = None
        self.producer: Producer | None = None
        self.pipelines: dict[str, Pipeline] = {}
        self.tasks: list[asyncio.Task[Any]] = []

    async def open_storage(self) -> None:
        settings = self.service.settings
        self.pool = await create_pool(settings.database_url, timeout=settings.startup_timeout_seconds)
        async with self.pool.acquire() as conn:
            applied = await migrate(conn, self.service.name, self.service.migrations)
        log.info("service.migrated", database=describe(settings.database_url), applied=applied)
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            prefix=settings.topic_prefix,
            replication_factor=settings.topic_replication_factor,
            # Only its own: on a secured cluster the service may see no others (docs/operations.md).
            topics=tuple(dict.fromkeys(topics_read_by(self.service.name) + topics_written_by(self.service.name))),
            timeout=settings.startup_timeout_seconds,
            security=settings,
        )
        backoff = Backoff(max_seconds=settings.retry_max_seconds)
        for routes in self.service.routes:
            self.pipelines[routes.topic.name] = Pipeline(
                self.service.name,
                routes,
                self.pool,
                lambda: self.service.work(self.service.clock),
                stopping=self.stopping,
                attempts=settings.processing_attempts,
                backoff=backoff,
            )

    async def start_background(self) -> None:
        assert self.pool is not None
        self.producer = Producer(self.service.settings, f"{self.service.name}-relay")
        await self.producer.start()
        relay = OutboxRelay(self.pool, self.producer.send, poll_seconds=self.service.settings.outbox_poll_seconds)
        self.tasks.append(asyncio.create_task(_supervised("outbox_relay", relay.run)))
        resources = Resources(self.pool, self.producer, self.stopping)
        for job in self.service.background:
            self.tasks.append(asyncio.create_task(_supervised(job.__name__, lambda job=job: job(resources))))
        log.info("service.started", kafka=self.service.settings.kafka_bootstrap_servers, zone=self.service.settings.marketplace_timezone)

    async def stop_background(self) -> None:
        # First, so that consumers retrying a failure give up now instead of at the broker's timeout.
        self.stopping.set()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.producer is not None:
            await self.producer.stop()

    async def close_storage(self) -> None:
        if self.pool is not None:
            try:
                await asyncio.wait_for(self.pool.close(), 5)
            except TimeoutError:
                self.pool.terminate()  # a connection stuck on an unreachable server
        log.info("service.stopped")

    async def handle(self, topic: str, records: Sequence[ConsumerRecord]) -> None:
        await self.pipelines[topic].handle(records)


def _subscribe(broker: KafkaBroker, service: Service, routes: Routes, running: _Running) -> None:
    settings = service.settings
    name = routes.topic.name

    async def handle(body: list[bytes], message: KafkaMessage) -> None:
        # The records themselves (bytes, headers, partition, offset), in the order they were read.
        await running.handle(name, message.raw_message)

    broker.subscriber(
        settings.topic_prefix + name,
        group_id=consumer_group(service.name, routes.topic, settings.topic_prefix),
        group_instance_id=settings.kafka_group_instance_id,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_session_timeout_ms // 3,
        auto_offset_reset="earliest",  # a new group must not skip what was published before it joined
        batch=True,  # records are applied a batch per transaction (shared/messaging/consumer.py)
        max_records=settings.consume_batch_size,
        ack_policy=AckPolicy.NACK_ON_ERROR,  # commit after success; a stopped batch is not committed
        title=f"{service.name}:{name}",
    )(handle)


async def _supervised(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Keep a background loop alive: log a crash and start it again after a pause."""
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("service.background_crashed", task=name)
            await asyncio.sleep(1.0)


def main(build: Callable[[], Service]) -> None:
    """Run a service until SIGINT/SIGTERM; configuration and connection problems end in one line."""
    service = build()
    configure(service.name, service.settings.log_level)
    try:
        asyncio.run(service.app().run())
    except (DatabaseUnavailable, BrokerUnavailable, TopicsUnavailable, MigrationError, WiringError) as exc:
        sys.exit(f"{service.name}: {exc}")
    except KeyboardInterrupt:
        pass
