"""Check messages against the contract and name each bad field: a JSON or JSON-lines file, or a topic.

    fulfilment-contracts validate orders.jsonl                  # any message type the contract knows
    fulfilment-contracts validate --topic orders.commands sent.json
    fulfilment-contracts validate --topic orders.events --bootstrap-servers 127.0.0.1:19092

A file holds one JSON object, a JSON array of objects, or one object per line. Reading a topic takes
every record from the beginning up to the end it had when the check started, and also checks each
record's key (M4). Each problem is one line, `where: type: field: what is wrong`; the exit status is 1
when any message is bad. The verdict is the services' own decoder's: the same models the services
read with, which agree with the published JSON Schemas (tests/contract).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .codec import DecodeError, decode
from .topics import ALL_TOPICS, Topic

LOCAL_BOOTSTRAP = "127.0.0.1:19092"
TOPICS = {t.name: t for t in ALL_TOPICS}


@dataclass(frozen=True)
class Record:
    where: str  # "file:line" or "topic/partition@offset"
    value: bytes
    key: bytes | None = None
    keyed: bool = False  # whether the key is to be checked (records read from a topic)


def problems(record: Record, topic: Topic | None) -> list[str]:
    """What is wrong with one record, one line per bad field; empty when it is valid."""
    payload = _json_object(record.value)
    kind = payload.get("type") if payload else None
    if topic is None:  # any topic: the one that carries this type
        topic = next((t for t in ALL_TOPICS if any(m.model_fields["type"].default == kind for m in t.messages)), None)
        if topic is None and payload is not None:
            return [f"{record.where}: {kind!r}: type: not a message type of the contract"]
        topic = topic or ALL_TOPICS[0]  # not a JSON object: decoding says so
    try:
        message = decode(topic, record.value)
    except DecodeError as error:
        label = kind if isinstance(kind, str) else "(no type)"
        return [f"{record.where}: {label}: {field}: {what}" for field, what in error.fields]
    if not record.keyed:
        return []
    return [f"{record.where}: {message.type}: (key): {what}" for what in key_problems(topic, type(message), record.key, payload or {})]


def key_problems(topic: Topic, message: type, key: bytes | None, payload: dict[str, Any]) -> list[str]:
    rule = topic.key_of(message)
    if key is None:
        return [f"a record has no key; it must be the {rule.description}"]
    text = key.decode(errors="replace")
    if rule.pattern and not re.search(rule.pattern, text):
        return [f"key {text!r} is not a {rule.description}"]
    expected = rule.expected(payload)
    if expected is not None and text != expected:
        return [f"key {text!r} should be {expected!r} ({rule.description})"]
    return []


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def file_records(path: Path) -> Iterator[Record]:
    data = path.read_bytes()
    try:
        whole = json.loads(data)
    except ValueError:
        whole = None
    if isinstance(whole, list):
        for index, item in enumerate(whole):
            yield Record(f"{path}[{index}]", json.dumps(item).encode())
    elif whole is not None:
        yield Record(str(path), data)
    else:  # JSON lines; blank lines are allowed
        for number, line in enumerate(data.splitlines(), start=1):
            if line.strip():
                yield Record(f"{path}:{number}", line)


def _security() -> dict[str, Any]:
    """The services' own KAFKA_* security settings (README), for a secured cluster."""
    protocol = os.environ.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.endswith("SSL"):
        import ssl

        options["ssl_context"] = ssl.create_default_context(cafile=os.environ.get("KAFKA_SSL_CAFILE"))
    if protocol.startswith("SASL"):
        options["sasl_mechanism"] = os.environ.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
        options["sasl_plain_username"] = os.environ.get("KAFKA_SASL_USERNAME")
        options["sasl_plain_password"] = os.environ.get("KAFKA_SASL_PASSWORD")
    return options


async def topic_records(name: str, bootstrap: str, timeout: float) -> list[Record]:
    """Every record of a topic, from the beginning up to its end when the check started."""
    try:
        from aiokafka import AIOKafkaConsumer, TopicPartition
        from aiokafka.admin import AIOKafkaAdminClient
    except ImportError:
        raise SystemExit("validate: reading a topic needs aiokafka: pip install 'handmade-fulfilment-contracts[kafka]'") from None
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=int(timeout * 1000), **_security())
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000), **_security())
    try:
        await asyncio.wait_for(asyncio.gather(consumer.start(), admin.start()), timeout)
        [described] = await admin.describe_topics([name])
    except Exception as exc:  # aiokafka raises several kinds; the user needs one line
        await asyncio.gather(consumer.stop(), admin.close())
        raise SystemExit(f"validate: Kafka at {bootstrap} did not answer ({type(exc).__name__}); is the broker running there?") from None
    await admin.close()
    try:
        numbers = [p["partition"] for p in described.get("partitions", [])]
        if described.get("error_code") or not numbers:
            raise SystemExit(f"validate: there is no topic {name!r} at {bootstrap}")
        assigned = [TopicPartition(name, p) for p in sorted(numbers)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        records: list[Record] = []
        remaining = {tp for tp in assigned if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=int(timeout * 1000))
            if not batch:
                raise SystemExit(f"validate: no records arrived from {name} within {timeout}s")
            for tp, items in batch.items():
                for item in items:
                    if item.offset < ends[tp]:
                        records.append(Record(f"{name}/{tp.partition}@{item.offset}", item.value or b"", item.key, keyed=True))
                if items and items[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return records
    finally:
        await consumer.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fulfilment-contracts validate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, help="JSON or JSON-lines files (none: read --topic from Kafka)")
    parser.add_argument("--topic", choices=sorted(TOPICS), help="the topic the messages are for (required to read from Kafka)")
    parser.add_argument("--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", LOCAL_BOOTSTRAP))
    parser.add_argument("--topic-prefix", default=os.environ.get("TOPIC_PREFIX", ""), help="the deployment's topic prefix")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for Kafka")
    args = parser.parse_args(argv)
    topic = TOPICS[args.topic] if args.topic else None
    if args.files:
        missing = [str(f) for f in args.files if not f.is_file()]
        if missing:
            parser.error(f"no such file: {', '.join(missing)}")
        records = [r for f in args.files for r in file_records(f)]
    elif topic:
        records = asyncio.run(topic_records(args.topic_prefix + topic.name, args.bootstrap_servers, args.timeout))
    else:
        parser.error("give files to check, or --topic to read one from Kafka")
    bad = 0
    for record in records:
        found = problems(record, topic)
        bad += bool(found)
        for line in found:
            print(line)
    print(f"{len(records)} messages, {bad} invalid", file=sys.stderr)
    return 1 if bad else 0
