"""The registry's topics on the broker: created idempotently (services at start-up, compose's topics job),
and their retention read back (the bookkeeping retention must outlast it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from shared.contracts.topics import ALL_TOPICS, Topic
from shared.messaging.security import aiokafka_options
from shared.settings import KafkaSecurity


class BrokerUnavailable(RuntimeError):
    pass


async def ensure_topics(
    bootstrap_servers: str,
    *,
    prefix: str = "",
    replication_factor: int = 1,
    topics: tuple[Topic, ...] = ALL_TOPICS,
    timeout: float = 60.0,
    security: KafkaSecurity | None = None,
) -> None:
    """Create the missing topics, waiting up to `timeout` seconds for the broker to answer."""
    async with connected_admin(bootstrap_servers, timeout=timeout, security=security) as admin:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name=prefix + t.name,
                num_partitions=t.partitions,
                replication_factor=replication_factor,
                topic_configs=t.configs(),
            )
            for t in topics
            if prefix + t.name not in existing
        ]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another service created them first


async def retention_ms(bootstrap_servers: str, names: list[str], *, timeout: float = 60.0, security: KafkaSecurity | None = None) -> dict[str, int]:
    """The broker's `retention.ms` of each named topic (-1: kept forever), as it is configured now."""
    async with connected_admin(bootstrap_servers, timeout=timeout, security=security) as admin:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name, {"retention.ms": None}) for name in names])
    found = {}
    for response in responses:
        for error_code, error_message, _, name, entries in (r[:5] for r in response.resources):
            if error_code:
                raise BrokerUnavailable(f"cannot read the configuration of topic {name}: {error_message or error_code}")
            for entry in entries:
                if entry[0] == "retention.ms":
                    found[name] = int(entry[1])
    return found


@contextlib.asynccontextmanager
async def connected_admin(bootstrap_servers: str, *, timeout: float, security: KafkaSecurity | None) -> AsyncIterator[AIOKafkaAdminClient]:
    """An admin client, once the broker answers; BrokerUnavailable after `timeout` seconds of trying."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    attempt = 0
    while True:
        attempt += 1
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap_servers,
            client_id="topic-admin",
            request_timeout_ms=10_000,
            **(aiokafka_options(security) if security else {}),
        )
        try:
            with _quiet("aiokafka"):  # one line at the end says it all; no error per retry
                await admin.start()
            break
        except KafkaConnectionError:
            await admin.close()
            if loop.time() >= give_up:
                raise BrokerUnavailable(
                    f"Kafka at {bootstrap_servers} did not answer within {timeout:g}s; is the broker running there? "
                    "(`make stack-up` starts the local one)"
                ) from None
            await asyncio.sleep(min(0.2 * attempt, 2.0))
    try:
        yield admin
    finally:
        await admin.close()


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    before = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(before)


def main() -> None:
    """`python -m shared.messaging.admin`: create the topics, configured like the services."""
    from shared.settings import ServiceSettings, load

    settings = load(ServiceSettings)
    try:
        asyncio.run(
            ensure_topics(
                settings.kafka_bootstrap_servers,
                prefix=settings.topic_prefix,
                replication_factor=settings.topic_replication_factor,
                timeout=settings.startup_timeout_seconds,
                security=settings,
            )
        )
    except BrokerUnavailable as exc:
        raise SystemExit(f"topics: {exc}") from None
    print("topics ready:", ", ".join(settings.topic_prefix + t.name for t in ALL_TOPICS))


if __name__ == "__main__":
    main()
