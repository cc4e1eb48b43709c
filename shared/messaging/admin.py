"""Creating the registry's topics, idempotently. Used by services at start-up and by compose."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from shared.contracts.topics import ALL_TOPICS, Topic


class BrokerUnavailable(RuntimeError):
    pass


async def ensure_topics(
    bootstrap_servers: str,
    *,
    prefix: str = "",
    replication_factor: int = 1,
    topics: tuple[Topic, ...] = ALL_TOPICS,
    attempts: int = 30,
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="topic-admin")
    for attempt in range(attempts):
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            await asyncio.sleep(min(0.2 * (attempt + 1), 2.0))
    else:
        raise BrokerUnavailable(
            f"Kafka at {bootstrap_servers} did not answer; is the broker running? (`make stack-up` starts it)"
        )
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name=prefix + t.name, num_partitions=t.partitions, replication_factor=replication_factor)
            for t in topics
            if prefix + t.name not in existing
        ]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another service created them first
    finally:
        await admin.close()


def main() -> None:
    """`python -m shared.messaging.admin`: create the topics, configured like the services."""
    from shared.settings import ServiceSettings

    settings = ServiceSettings()
    try:
        asyncio.run(
            ensure_topics(
                settings.kafka_bootstrap_servers,
                prefix=settings.topic_prefix,
                replication_factor=settings.topic_replication_factor,
            )
        )
    except BrokerUnavailable as exc:
        raise SystemExit(f"topics: {exc}") from None
    print("topics ready:", ", ".join(settings.topic_prefix + t.name for t in ALL_TOPICS))


if __name__ == "__main__":
    main()
