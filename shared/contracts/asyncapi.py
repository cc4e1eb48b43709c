"""The AsyncAPI document of the whole system, built from the topic registry and the models.

`faststream docs gen shared.contracts.asyncapi:app` (or `make schemas`) writes it. The services'
real subscribers take raw bytes (they decode per record, M3), so the documented payloads come
from here: one channel per topic, the union of its messages, and who publishes and reads it.
"""

from typing import Annotated, Any, Union

from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import Field

from shared.contracts.topics import ALL_TOPICS, Topic, consumer_group
from shared.settings import LOCAL_KAFKA


def payload_of(topic: Topic) -> Any:
    if len(topic.messages) == 1:
        return topic.messages[0]
    return Annotated[Union[topic.messages], Field(discriminator="type")]


def _describe(topic: Topic) -> str:
    return f"{topic.description} Key: {topic.key}. Partitions: {topic.partitions}. cleanup.policy: {topic.cleanup_policy}."


def _document_consumer(broker: KafkaBroker, topic: Topic, service: str) -> None:
    async def handle(message: Any) -> None:  # documentation only: never consumes
        raise NotImplementedError

    handle.__annotations__["message"] = payload_of(topic)
    broker.subscriber(
        topic.name,
        group_id=consumer_group(service, topic),
        title=f"{service} reads {topic.name}",
        description=_describe(topic),
    )(handle)


def build_broker() -> KafkaBroker:
    broker = KafkaBroker(LOCAL_KAFKA, description="Order fulfilment for a handmade-goods marketplace")
    for topic in ALL_TOPICS:
        broker.publisher(
            topic.name,
            schema=payload_of(topic),
            title=f"{topic.written_by} publish to {topic.name}",
            description=_describe(topic),
        )
        for service in topic.read_by:
            _document_consumer(broker, topic, service)
    return broker


broker = build_broker()
specification = AsyncAPI(broker, title="Handmade fulfilment", version="1.0.0")
app = FastStream(broker, specification=specification)
