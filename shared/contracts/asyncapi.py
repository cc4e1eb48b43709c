"""The AsyncAPI 3 document of the whole system, built from the topic registry and the models' schemas.

Written for a team that has only this document and a Kafka client: one channel per topic (its key,
partitions and cleanup policy in Kafka bindings), one message per type (its key, its JSON Schema,
its correlation id), and one `receive` operation per command whose `reply` names the topic and the
message types that answer it (S2). `make schemas` writes it; CI parses it with @asyncapi/parser.

It is built here rather than by FastStream's generator, which names channels after handlers,
documents a correlation header these services do not use, and has no place for replies and keys
(docs/adr/0009-contracts-package-asyncapi-and-pacts.md).
"""

from __future__ import annotations

from typing import Any

from .envelope import Command, Message
from .published import message_type, schema_name
from .topics import ALL_TOPICS, ANSWERS, PROCESSES, Topic, consumer_group

ASYNCAPI_VERSION = "3.1.0"
CONTRACT_VERSION = "1.1.0"  # of the document: schema versions are per message
KAFKA_BINDING = "0.5.0"
# The address the local stack (scripts/stack.py) listens on; a deployment documents its own.
LOCAL_BOOTSTRAP = "127.0.0.1:19092"

DESCRIPTION = """\
Order fulfilment for a handmade-goods marketplace, on Apache Kafka. Storefronts and sellers send
commands; the inventory, orders and deadlines services answer each command exactly once and publish
what they decide, and the latest state of every listing and order on compacted state topics.

* Every message is a JSON object (UTF-8); its `type` names it and selects its schema (one JSON
  Schema per type and `schema_version`, 2020-12 dialect, in the channel's messages below).
* Keys: each message's Kafka binding says what its record key is; everything about one order is
  keyed `storefront_id/order_id`, everything about a listing by its `listing_id`.
* Commands carry a `command_id` (a UUID the sender makes). The operation that receives a command
  names, in its `reply`, the topic and the message types that answer it; every answer carries the
  command's `command_id` and `command_type`. A command sent again with the same `command_id` is
  neither applied nor answered again.
* Topic names may be given a prefix per deployment (the services' TOPIC_PREFIX setting).
"""


def _schemas_and_refs(messages: list[type[Message]]) -> tuple[dict[str, Any], dict[str, str]]:
    """Every model's schema under components/schemas, nested definitions shared by name."""
    schemas: dict[str, Any] = {}
    payload_refs: dict[str, str] = {}
    for message in messages:
        schema = message.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            if schemas.setdefault(name, definition) != definition:
                raise ValueError(f"two different schemas are both called {name}")
        name = message.__name__
        schemas[name] = {**schema, "x-schema": schema_name(message)}
        payload_refs[message_type(message)] = f"#/components/schemas/{name}"
    return schemas, payload_refs


def _key_schema(topic: Topic, message: type[Message]) -> dict[str, Any]:
    key = topic.key_of(message)
    schema: dict[str, Any] = {"type": "string", "description": key.description}
    if key.pattern:
        schema["pattern"] = key.pattern
    if key.fields:  # how a client builds the key from the message: these fields' values joined with "/"
        schema["x-key-fields"] = list(key.fields)
    return schema


def _message(topic: Topic, message: type[Message], payload_ref: str) -> dict[str, Any]:
    doc = (message.__doc__ or "").strip()
    entry: dict[str, Any] = {
        "name": message_type(message),
        "title": message.__name__,
        "summary": doc.split("\n\n")[0].replace("\n", " "),
        "contentType": "application/json",
        "payload": {"$ref": payload_ref},
        "bindings": {"kafka": {"key": _key_schema(topic, message), "bindingVersion": KAFKA_BINDING}},
    }
    if "command_id" in message.model_fields:
        entry["correlationId"] = {"$ref": "#/components/correlationIds/command_id"}
    return entry


def _message_id(topic: Topic, message: type[Message]) -> str:
    # A message type can travel on two topics (command.rejected) with different keys: one entry each.
    shared = sum(message in t.messages for t in ALL_TOPICS) > 1
    return f"{topic.name}.{message_type(message)}" if shared else message_type(message)


def _channel(topic: Topic) -> dict[str, Any]:
    return {
        "address": topic.name,
        "title": topic.name,
        "description": f"{topic.description} Written by {topic.written_by}. Key: {topic.key}.",
        "messages": {message_type(m): {"$ref": f"#/components/messages/{_message_id(topic, m)}"} for m in topic.messages},
        "bindings": {
            "kafka": {
                "topic": topic.name,
                "partitions": topic.partitions,
                "topicConfiguration": {"cleanup.policy": [topic.cleanup_policy]},
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _ref(topic: Topic, message: type[Message] | None = None) -> dict[str, str]:
    path = f"#/channels/{topic.name}"
    return {"$ref": f"{path}/messages/{message_type(message)}" if message else path}


def _operations() -> dict[str, Any]:
    operations: dict[str, Any] = {}
    answered = {a.command: a for a in ANSWERS}
    for topic in ALL_TOPICS:
        commands = [m for m in topic.messages if issubclass(m, Command)]
        for command in commands:
            answers = answered[command]
            operations[f"receive.{message_type(command)}"] = {
                "action": "receive",
                "title": f"{', '.join(topic.read_by)} takes {message_type(command)}",
                "summary": f"Sent by {topic.written_by}; answered on {answers.topic.name} by "
                + " or ".join(message_type(m) for m in answers.messages)
                + ", correlated by command_id.",
                "channel": _ref(topic),
                "messages": [_ref(topic, command)],
                "reply": {"channel": _ref(answers.topic), "messages": [_ref(answers.topic, m) for m in answers.messages]},
            }
        if not commands:
            operations[f"send.{topic.name}"] = {
                "action": "send",
                "title": f"{topic.written_by} publishes {topic.name}",
                "channel": _ref(topic),
                "messages": [_ref(topic, m) for m in topic.messages],
            }
        for service in topic.read_by:
            if commands:
                continue  # the command operations above
            operations[f"{service}.reads.{topic.name}"] = {
                "action": "receive",
                "title": f"{service} reads {topic.name}",
                "channel": _ref(topic),
                "messages": [_ref(topic, m) for m in topic.messages],
                "bindings": {"kafka": {"groupId": {"type": "string", "const": consumer_group(service, topic)}, "bindingVersion": KAFKA_BINDING}},
            }
    return operations


def document() -> dict[str, Any]:
    """The AsyncAPI document, as published in asyncapi.json and docs/asyncapi.json."""
    messages = list(dict.fromkeys(m for t in ALL_TOPICS for m in t.messages))
    schemas, payload_refs = _schemas_and_refs(messages)
    components_messages = {
        _message_id(topic, m): _message(topic, m, payload_refs[message_type(m)]) for topic in ALL_TOPICS for m in topic.messages
    }
    assert set(PROCESSES) >= {s for t in ALL_TOPICS for s in t.read_by}
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {"title": "Handmade fulfilment", "version": CONTRACT_VERSION, "description": DESCRIPTION},
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": LOCAL_BOOTSTRAP,
                "protocol": "kafka",
                "description": "The local stack of `make run` and `make test` (scripts/stack.py), PLAINTEXT.",
            }
        },
        "channels": {t.name: _channel(t) for t in ALL_TOPICS},
        "operations": _operations(),
        "components": {
            "messages": components_messages,
            "schemas": schemas,
            "correlationIds": {
                "command_id": {
                    "description": "The id of the command a message is about: a command's own id, and on every answer the id of the command it answers.",
                    "location": "$message.payload#/command_id",
                }
            },
        },
    }
