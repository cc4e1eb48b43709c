"""Running one service process: database, migrations, topics, subscribers, the outbox relay and the
service's background jobs, started in that order and stopped in reverse.

Each service describes itself with a `Service` (its name, settings, clock, migrations, dispatch
tables, unit of work and background jobs, built once in its app.py); everything else about running
on Kafka and PostgreSQL is the same for all of them and lives here.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shared import tracing
from shared.clock import Clock
from shared.contracts.topics import consumer_group, topics_read_by, topics_written_by
from shared.http import HttpServer, HttpUnavailable, asgi_app
from shared.logs import configure, get_logger
from shared.messaging.admin import BrokerUnavailable, TopicsUnavailable, ensure_topics, retention_ms
from shared.messaging.broker import GRACEFUL_STOP_SECONDS, make_broker
from shared.messaging.consumer import Pipeline
from shared.messaging.dispatch import Routes, wiring_problems
from shared.messaging.failures import Backoff, RateLimitedLog, Stopping, is_transient
from shared.messaging.intake import Intake
from shared.messaging.offsets import OffsetCommitter
from shared.messaging.polling import answer_at_once
from shared.messaging.producer import Producer
from shared.messaging.relay import OutboxRelay
from shared.messaging.work import UnitOfWork
from shared.metrics import CONSUMER_LAG, OUTBOX_BACKLOG, OUTBOX_OLDEST_SECONDS, PRUNED
from shared.settings import ServiceSettings
from shared.storage.database import DatabaseUnavailable, answers, create_pool, describe
from shared.storage.migrate import MigrationError, migrate
from shared.storage.retention import SHARED_TABLES, prune

log = get_logger()


@dataclass(frozen=True)
class Resources:
    """What a running service hands its background jobs."""

    pool: asyncpg.Pool
    producer: Producer
    stopping: asyncio.Event  # set when the service begins to stop


BackgroundJob = Callable[[Resources], Awaitable[None]]
# Sets the service's own gauges from its database when /metrics is scraped (shared/metrics.py).
Gauges = Callable[[asyncpg.Connection], Awaitable[None]]


class WiringError(RuntimeError):
    """The service's dispatch tables disagree with the topic registry: it must not start."""


class RetentionTooShort(RuntimeError):
    """Bookkeeping would be pruned while the records it guards against can still be redelivered."""


@dataclass(frozen=True)
class Service:
    name: str
    settings: ServiceSettings
    clock: Clock  # the one clock of the process (T3)
    migrations: Path
    routes: tuple[Routes, ...]
    work: Callable[[Clock], UnitOfWork]  # a fresh unit of work for each consuming transaction
    background: tuple[BackgroundJob, ...] = ()
    gauges: Gauges | None = None
    # Its own bookkeeping tables pruned like the inbox (table -> the column saying when a row was written).
    bookkeeping: dict[str, str] = field(default_factory=dict)

    def app(self) -> FastStream:
        """The FastStream application of this service; raises WiringError before touching anything."""
        return self._assemble()[0]

    def _assemble(self) -> tuple[FastStream, _Running]:
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
        return app, running

    async def serve(self) -> None:
        """Run until SIGTERM or SIGINT, with the HTTP surface (health, metrics) up from the first moment."""
        app, running = self._assemble()
        http = HttpServer(asgi_app(running.readiness, running.refresh_gauges), self.settings.http_host, self.settings.http_port)
        running.http_port = http.port
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await http.start()
        try:
            starting = asyncio.create_task(app.start())
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if starting.done():
                starting.result()  # a start-up error ends the process here, with its one line
                await stopping
            else:
                starting.cancel()  # asked to stop while still starting (waiting for the database, say)
                with contextlib.suppress(asyncio.CancelledError):
                    await starting
        finally:
            with contextlib.suppress(Exception):
                await app.stop()
            await http.stop()


class _Running:
    """The parts of a service that exist only while it runs."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.stopping = asyncio.Event()
        self.pool: asyncpg.Pool | None = None
        self.producer: Producer | None = None
        self.pipelines: dict[str, Pipeline] = {}
        self.tasks: dict[str, asyncio.Task[Any]] = {}
        self.subscribers: dict[str, Any] = {}  # topic -> FastStream subscriber (its consumer: lag)
        self.intakes: dict[str, Intake] = {}  # topic -> records read, waiting for its worker; their offsets
        self.assigned: dict[str, bool] = {r.topic.name: False for r in service.routes}  # joined its group
        self.started = False
        self.http_port: int | None = None

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
        await self._check_retention()
        backoff = Backoff(max_seconds=settings.retry_max_seconds)
        for routes in self.service.routes:
            topic = routes.topic.name
            self.intakes[topic] = Intake(
                lambda records, topic=topic: self.handle(topic, records), OffsetCommitter(topic),
                batch_size=settings.consume_batch_size, stopping=self.stopping, backoff=backoff,
            )
            self.tasks[f"worker {topic}"] = asyncio.create_task(_supervised(f"worker {topic}", self.intakes[topic].run, self.stopping))
            self.pipelines[routes.topic.name] = Pipeline(
                self.service.name,
                routes,
                self.pool,
                lambda: self.service.work(self.service.clock),
                stopping=self.stopping,
                attempts=settings.processing_attempts,
                backoff=backoff,
            )

    async def _check_retention(self) -> None:
        settings = self.service.settings
        names = [settings.topic_prefix + t.name for t in topics_read_by(self.service.name)]
        kept = await retention_ms(settings.kafka_bootstrap_servers, names, timeout=settings.startup_timeout_seconds, security=settings)
        longest = max(kept.items(), key=lambda item: item[1] if item[1] >= 0 else float("inf"))
        if longest[1] < 0 or timedelta(milliseconds=longest[1]) >= settings.bookkeeping_retention:
            kept_for = "forever" if longest[1] < 0 else f"for {timedelta(milliseconds=longest[1])}"
            raise RetentionTooShort(
                f"BOOKKEEPING_RETENTION ({settings.bookkeeping_retention}) must exceed the retention of the topics it reads: "
                f"{longest[0]} keeps records {kept_for}, and a record redelivered after its inbox row was pruned would apply twice"
            )

    async def _prune(self) -> None:
        """Prune bookkeeping in the background: the inbox, answered commands and the service's own tables."""
        settings = self.service.settings
        assert self.pool is not None
        while True:
            deleted = await prune(self.pool, SHARED_TABLES | self.service.bookkeeping, settings.bookkeeping_retention, settings.retention_batch_size)
            for table, count in deleted.items():
                PRUNED.labels(self.service.name, table).inc(count)
            if any(deleted.values()):
                log.info("retention.pruned", **deleted)
            await asyncio.sleep(settings.retention_interval_seconds)

    async def start_background(self) -> None:
        assert self.pool is not None
        self.producer = Producer(self.service.settings, f"{self.service.name}-relay")
        await self.producer.start()
        relay = OutboxRelay(self.pool, self.producer.send_many, service=self.service.name, poll_seconds=self.service.settings.outbox_poll_seconds)
        self.tasks["outbox_relay"] = asyncio.create_task(_supervised("outbox_relay", relay.run, self.stopping))
        self.tasks["retention"] = asyncio.create_task(_supervised("retention", self._prune, self.stopping))
        resources = Resources(self.pool, self.producer, self.stopping)
        for job in self.service.background:
            self.tasks[job.__name__] = asyncio.create_task(_supervised(job.__name__, lambda job=job: job(resources), self.stopping))
        self.started = True
        # What start-up built (modules, models, schemas) lives as long as the process: kept out of the
        # collector's way, a full collection no longer stalls the loop for 50-120 ms (docs/benchmarks.md).
        gc.freeze()
        settings = self.service.settings
        http = f"{settings.http_host}:{self.http_port}" if self.http_port is not None else None
        log.info("service.started", kafka=settings.kafka_bootstrap_servers, zone=settings.marketplace_timezone, http=http)

    async def stop_background(self) -> None:
        # First, so that consumers retrying a failure give up now instead of at the broker's timeout.
        self.stopping.set()
        await self._stop_consuming()
        for task in self.tasks.values():
            task.cancel()
        for task in self.tasks.values():
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
        self._record_lag(topic, records)

    async def _stop_consuming(self) -> None:
        """No new batch starts; one being applied may finish (a retrying one gives up at once: `stopping`),
        then the applied offsets are committed, a few seconds at most (OffsetCommitter.flush)."""
        with contextlib.suppress(TimeoutError):  # then it is cancelled, rolled back and read again after a restart
            await asyncio.wait_for(asyncio.gather(*(i.close() for i in self.intakes.values())), GRACEFUL_STOP_SECONDS)
        await asyncio.gather(*(i.offsets.flush() for i in self.intakes.values()))  # what is not committed is read again (M2)

    def _record_lag(self, topic: str, records: Sequence[ConsumerRecord]) -> None:
        consumer = getattr(self.subscribers.get(topic), "consumer", None)
        if consumer is None:
            return
        last: dict[int, int] = {}
        for record in records:
            last[record.partition] = record.offset
        for partition, offset in last.items():
            with contextlib.suppress(Exception):  # not assigned any more (a rebalance): no figure
                highwater = consumer.highwater(TopicPartition(records[0].topic, partition))
                if highwater is not None:
                    CONSUMER_LAG.labels(self.service.name, topic, str(partition)).set(max(highwater - offset - 1, 0))

    # -- health and metrics

    async def readiness(self) -> tuple[bool, dict[str, str]]:
        """Ready: started (database migrated, topics there), the database and Kafka answer, every consumer
        joined its group, and the relay and the background loops run."""
        checks = {"started": "ok" if self.started else "starting"}
        checks["database"] = "ok" if self.pool is not None and await answers(self.pool, timeout=2) else "not answering"
        checks["kafka"] = "ok" if self.producer is not None and await self.producer.reachable() else "not answering"
        for topic, joined in self.assigned.items():
            checks[f"consumer {topic}"] = "ok" if joined else "not in its group yet"
        for name, task in self.tasks.items():
            checks[name] = "ok" if not task.done() else "stopped"
        return all(v == "ok" for v in checks.values()), checks

    async def refresh_gauges(self) -> None:
        if self.pool is None:
            return
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow("select count(*) as rows, extract(epoch from now() - min(created_at)) as oldest from outbox")
            OUTBOX_BACKLOG.labels(self.service.name).set(row["rows"])
            OUTBOX_OLDEST_SECONDS.labels(self.service.name).set(float(row["oldest"] or 0))
            if self.service.gauges is not None:
                await self.service.gauges(conn)


class _Membership(ConsumerRebalanceListener):
    """Tells readiness whether a consumer holds its place in its group."""

    def __init__(self, running: _Running, topic: str) -> None:
        self._running, self._topic = running, topic

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self._running.assigned[self._topic] = False
        await self._running.intakes[self._topic].revoked(revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._running.assigned[self._topic] = True  # possibly none, when a group has more members than partitions


def _subscribe(broker: KafkaBroker, service: Service, routes: Routes, running: _Running) -> None:
    settings = service.settings
    name = routes.topic.name

    async def handle() -> None:
        # The records themselves (bytes, headers, partition, offset), in the order they were read. The
        # message is read from FastStream's context rather than asked for as a parameter: FastStream
        # resolves a context parameter in a worker thread, a thread hand-off for every poll (7% of the
        # orders service's CPU at 100 orders/s, when every poll brings one record). No parameter for
        # the body either: FastStream would validate it as one on every poll, and it is in the records.
        message: KafkaMessage = broker.context.get_local("message")
        await running.intakes[name].put(message.consumer, message.raw_message)  # applied by its worker

    subscriber = broker.subscriber(
        settings.topic_prefix + name,
        group_id=consumer_group(service.name, routes.topic, settings.topic_prefix),
        group_instance_id=settings.kafka_group_instance_id,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_session_timeout_ms // 3,
        auto_offset_reset="earliest",  # a new group must not skip what was published before it joined
        batch=True,  # records are applied a batch per transaction (shared/messaging/consumer.py)
        max_records=settings.consume_batch_size,
        batch_timeout_ms=settings.consume_poll_ms,  # see ServiceSettings.consume_poll_ms
        ack_policy=AckPolicy.MANUAL,  # the intake's worker applies, then notes offsets to commit (intake.py)
        listener=_Membership(running, name),
        title=f"{service.name}:{name}",
    )
    answer_at_once(subscriber)  # no pause after a poll that found nothing (shared/messaging/polling.py)
    subscriber(handle)
    running.subscribers[name] = subscriber


async def _supervised(name: str, run: Callable[[], Awaitable[None]], stopping: asyncio.Event) -> None:
    """Keep a background loop alive: a transient failure (the database or broker away) is retried with
    backoff and a rate-limited line, anything else is logged with its traceback and restarted."""
    backoff, quiet = Backoff(max_seconds=5.0), RateLimitedLog()
    attempt = 0
    while True:
        try:
            await run()
            return
        except Exception as exc:
            task = asyncio.current_task()
            if stopping.is_set() or (task is not None and task.cancelling()):
                raise asyncio.CancelledError from exc  # stopping: never swallow the cancellation
            attempt += 1
            if is_transient(exc):
                quiet.warning("service.background_retrying", task=name, error=repr(exc)[:300])
            else:
                log.exception("service.background_crashed", task=name)
            try:
                await backoff.wait(attempt, stopping)
            except Stopping:
                return


def main(build: Callable[[], Service]) -> None:
    """Run a service until SIGINT/SIGTERM; configuration and connection problems end in one line."""
    service = build()
    configure(service.name, service.settings.log_level)
    tracing.configure(service.name, service.settings.traces_file)
    try:
        asyncio.run(service.serve())
    except (DatabaseUnavailable, BrokerUnavailable, TopicsUnavailable, MigrationError, WiringError, RetentionTooShort, HttpUnavailable) as exc:
        sys.exit(f"{service.name}: {exc}")
    except KeyboardInterrupt:
        pass
    finally:
        tracing.shutdown()
