"""Wiring one service process: database, migrations, topics, subscribers and the outbox relay.

Each service hands this its name, settings, migrations folder and what to apply for each topic
it reads; everything else about running on Kafka and PostgreSQL is the same for all three.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from shared.clock import use_clock
from shared.contracts.topics import MAX_MESSAGE_BYTES, Topic, topics_read_by, topics_written_by
from shared.logs import configure, get_logger
from shared.messaging.admin import BrokerUnavailable, TopicsUnavailable, ensure_topics
from shared.messaging.broker import make_broker
from shared.messaging.consumer import Answers, Apply, Pipeline
from shared.messaging.relay import OutboxRelay
from shared.messaging.security import aiokafka_options
from shared.settings import ServiceSettings
from shared.storage.database import DatabaseUnavailable, create_pool, describe
from shared.storage.migrate import MigrationError, migrate

log = get_logger()


@dataclass(frozen=True)
class Subscription:
    topic: Topic
    apply: Apply
    answers: Answers | None = None


@dataclass
class Service:
    name: str
    settings: ServiceSettings
    migrations: Path
    subscriptions: list[Subscription]
    background: list[Callable[[asyncpg.Pool], Awaitable[None]]] = field(default_factory=list)

    def app(self) -> FastStream:
        use_clock(self.settings.clock())
        broker = make_broker(self.settings.kafka_bootstrap_servers, self.name, self.settings)
        prefix = self.settings.topic_prefix
        pipelines: dict[str, Pipeline] = {}
        tasks: list[asyncio.Task[Any]] = []
        producers: list[AIOKafkaProducer] = []
        pool_box: list[asyncpg.Pool] = []

        # Subscribers are declared now; their pipelines need the pool, so they are bound at start-up.
        for sub in self.subscriptions:
            self._subscribe(broker, sub.topic, pipelines, prefix)

        app = FastStream(broker)

        @app.on_startup
        async def start_storage() -> None:
            pool = await create_pool(self.settings.database_url, timeout=self.settings.startup_timeout_seconds)
            pool_box.append(pool)
            async with pool.acquire() as conn:
                applied = await migrate(conn, self.name, self.migrations)
            log.info("service.migrated", database=describe(self.settings.database_url), applied=applied)
            await ensure_topics(
                self.settings.kafka_bootstrap_servers,
                prefix=self.settings.topic_prefix,
                replication_factor=self.settings.topic_replication_factor,
                # Only its own: on a secured cluster the service may see no others (docs/operations.md).
                topics=tuple(dict.fromkeys(topics_read_by(self.name) + topics_written_by(self.name))),
                timeout=self.settings.startup_timeout_seconds,
                security=self.settings,
            )
            for sub in self.subscriptions:
                pipelines[sub.topic.name] = Pipeline(self.name, sub.topic, pool, sub.apply, sub.answers)

        @app.after_startup
        async def start_background() -> None:
            pool = pool_box[0]
            # The relay publishes with a plain aiokafka producer: the outbox rows are already bytes, and
            # FastStream's per-message publishing path cost more than the send itself (bench/, profile).
            producer = AIOKafkaProducer(
                bootstrap_servers=self.settings.kafka_bootstrap_servers,
                client_id=f"{self.name}-relay",
                acks="all",
                enable_idempotence=True,  # retries neither duplicate nor reorder within a partition
                linger_ms=2,
                max_request_size=MAX_MESSAGE_BYTES,  # a dead letter wraps a whole record
                **aiokafka_options(self.settings),
            )
            await producer.start()
            producers.append(producer)

            async def enqueue(topic: str, key: bytes, payload: bytes, headers: dict[str, str], partition: int | None) -> Any:
                encoded = [(name, value.encode()) for name, value in headers.items()]
                return await producer.send(prefix + topic, payload, key=key, partition=partition, headers=encoded)

            relay = OutboxRelay(pool, enqueue, poll_seconds=self.settings.outbox_poll_seconds)
            tasks.append(asyncio.create_task(_supervised("outbox_relay", relay.run)))
            for job in self.background:
                tasks.append(asyncio.create_task(_supervised(job.__name__, lambda job=job: job(pool))))
            log.info("service.started", kafka=self.settings.kafka_bootstrap_servers, zone=self.settings.marketplace_timezone)

        @app.on_shutdown
        async def stop_background() -> None:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for producer in producers:
                await producer.stop()

        @app.after_shutdown
        async def close_storage() -> None:
            for pool in pool_box:
                await pool.close()
            log.info("service.stopped")

        return app

    def _subscribe(self, broker: KafkaBroker, topic: Topic, pipelines: dict[str, Pipeline], prefix: str) -> None:
        async def handle(body: list[bytes], message: KafkaMessage) -> None:
            # The records themselves (bytes, topic, partition, offset), in the order they were read.
            await pipelines[topic.name].handle(message.raw_message)

        broker.subscriber(
            prefix + topic.name,
            group_id=f"{prefix}{self.name}.{topic.name}",  # one group per service and subscription
            group_instance_id=self.settings.kafka_group_instance_id,
            session_timeout_ms=self.settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.settings.kafka_session_timeout_ms // 3,
            auto_offset_reset="earliest",  # a new group must not skip what was published before it joined
            batch=True,  # records are applied a batch per transaction (shared/messaging/consumer.py)
            max_records=self.settings.consume_batch_size,
            ack_policy=AckPolicy.NACK_ON_ERROR,  # commit after success; retry (never skip) on failure
            title=f"{self.name}:{topic.name}",
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


def configuration_error(exc: ValidationError) -> str:
    """One line naming each bad environment variable."""
    problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
    return f"configuration error: {problems}"


def main(build: Callable[[], Service]) -> None:
    """Run a service until SIGINT/SIGTERM; configuration and connection problems end in one line."""
    try:
        service = build()
    except ValidationError as exc:
        sys.exit(configuration_error(exc))
    configure(service.name, service.settings.log_level)
    try:
        asyncio.run(service.app().run())
    except (DatabaseUnavailable, BrokerUnavailable, TopicsUnavailable, MigrationError) as exc:
        sys.exit(f"{service.name}: {exc}")
    except KeyboardInterrupt:
        pass
