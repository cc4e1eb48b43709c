"""Fuzzing every consumer with malformed messages (rule M3): `python -m devtools.fuzz --per-consumer N --seed S`.

A run creates fresh databases and its own topic prefix, starts the three services as processes,
and seeds a small world (listings and accepted orders), so that mutated messages which happen to
stay valid reach the use cases and the SQL behind them, not only the decoder. Then, on every topic
some service consumes, it publishes N malformed records (raw bytes, with and without keys, spread
over every partition), and after them one valid sentinel per partition. It checks that:

- every service process is still alive, and no service logged a traceback;
- every sentinel was applied (its event id is in each consumer's inbox): no partition is blocked;
- the codec raised nothing but DecodeError on any record;
- every record the codec refuses is on `deadletters` with its original key and bytes, once per
  consuming service, and, on a command topic, its command id (when it has a readable one: the
  sender can be identified) was answered;
- every record that is valid by chance (a mutation can keep a message valid) was applied or
  refused like any valid message: its event id is in the consumer's inbox. Those are counted, not failed.

How messages are generated, and why this way: the malformed records are drawn from hypothesis
strategies (structure-aware mutations of well-formed messages, byte-level damage, non-JSON,
non-objects, deep nesting, huge payloads, extreme numbers and dates, unknown types, SQL-looking and
NUL-bearing text). They are drawn by running a `@given` collector in the generate phase only, with
`@seed`: the same seed and size give the same records on the same code (hypothesis also draws
constants it finds in the project's modules, so changing the code can change them), without the
non-determinism and the warnings of `.example()`, and without a shrinking phase we have no use for.
The cost is a few milliseconds a record, paid before the services start, topics drawn in parallel.
Services run on a clock fixed at FUZZ_EPOCH (T3), so dates in the generated messages mean the same
thing on every run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, get_args

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from devtools.kafka_io import Publisher, Tap, groups_caught_up, groups_of
from devtools.launcher import run_stoppable
from devtools.system import (
    Servers,
    accelerated,
    clock_env,
    database_names,
    fresh_databases,
    fresh_topics,
    new_run_id,
    running,
    service_processes,
    unpublished,
)
from services.deadlines import app as deadlines_app
from services.inventory import app as inventory_app
from services.orders import app as orders_app
from shared.contracts import commands, events
from shared.contracts.codec import DecodeError, decode
from shared.contracts.envelope import Message
from shared.contracts.reasons import RejectionReason
from shared.contracts.topics import (
    ALL_TOPICS,
    DEAD_LETTERS,
    INVENTORY_COMMANDS,
    INVENTORY_EVENTS,
    ORDERS_COMMANDS,
    ORDERS_EVENTS,
    Topic,
    consumer_group,
    order_key,
)

FUZZ_EPOCH = datetime(2026, 1, 10, 12, tzinfo=UTC)  # "now" for the services during a run
MAX_BYTES = 900_000  # under Kafka's default 1 MB record limit, key and headers included
HUGE_SIZES = (1_000, 10_000, 100_000, 400_000, 880_000)
SELLER = "fuzz-seller"
STOREFRONT = "fuzz"
WORLD_LISTINGS = tuple(f"fuzz-l-{i}" for i in range(3))
WORLD_ORDERS = tuple(f"o-{i}" for i in range(6))


# --- who consumes what ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Consumer:
    service: str
    topic: Topic
    answers: Topic | None  # where it answers refused commands, if the topic carries commands
    ignored: frozenset[type] = frozenset()  # message types it drops unread, on purpose

    @property
    def name(self) -> str:
        return f"{self.service} <- {self.topic.name}"


def consumers() -> list[Consumer]:
    """Every (service, topic) subscription, read from the services' own wiring so none is forgotten."""
    found = []
    for service, module in (("inventory", inventory_app), ("orders", orders_app), ("deadlines", deadlines_app)):
        for routes in module.build().routes:
            found.append(Consumer(service, routes.topic, routes.answers_on, routes.ignored))
    return found


def consumed_topics(of: list[Consumer]) -> list[Topic]:
    return [t for t in ALL_TOPICS if any(c.topic == t for c in of)]


# --- strategies ----------------------------------------------------------------------------------

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ids = st.sampled_from(WORLD_LISTINGS + WORLD_ORDERS + (STOREFRONT, SELLER)) | st.tuples(
    st.sampled_from(ALNUM), st.text(alphabet=ALNUM + "._:-", max_size=15)
).map("".join)
instants = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2026, 3, 1), timezones=st.just(UTC)).map(datetime.isoformat)
days = st.just(FUZZ_EPOCH.date()) | st.dates(date(2025, 12, 1), date(2026, 3, 1))
texts = st.text(min_size=1, max_size=40)

# Well-formed values by field name: the names are the same on every message (M1).
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "event_id": st.uuids().map(str),
    "command_id": st.uuids().map(str),
    "schema_version": st.just(1),
    **dict.fromkeys(("storefront_id", "order_id", "seller_id", "listing_id"), ids),
    **dict.fromkeys(("occurred_at", "placed_at", "as_of", "deadline", "confirmed_at", "ship_by_deadline", "confirm_by_deadline"), instants),
    **dict.fromkeys(("order_date", "ship_by_date", "confirm_by_date", "ship_date"), days.map(date.isoformat)),
    "quantity": st.integers(0, 100_000),
    "production_days": st.integers(1, 30),
    "partition": st.integers(0, 2),
    "reason": st.sampled_from([r.value for r in RejectionReason]),
    **dict.fromkeys(("message", "shipping_method", "carrier", "tracking_id", "memo", "command_type", "rule"), texts),
    "timezone": st.sampled_from(["UTC", "Europe/Berlin", "Pacific/Kiritimati"]),
    "late": st.booleans(),
    "tracking_valid": st.none() | st.booleans(),
    "seller_paid": st.just(False),
    "deadline_kind": st.sampled_from(["ship_by", "confirm_by"]),
    "due_date": days.map(date.isoformat),
    "lead_seconds": st.integers(0, 10**6),
}

EXTREME_NUMBERS = (
    -1, 2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 2**64, 10**30, 10**4000,
    1e308, -1e308, 5e-324, -0.0, 0.5, float("inf"), float("nan"),
)  # fmt: skip
EXTREME_DATES = (
    "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "9999-12-31T00:00:00Z",
    "9999-12-31", "0001-01-01", "0000-00-00", "2026-02-30", "2026-13-01T00:00:00Z", "2026-01-10T12:00:00",
    "2026-01-10T24:00:00Z", "2026-01-10T12:00:00+25:00", "1970-01-01T00:00:00Z", "-0001-01-01", "+10000-01-01",
    "2026-W02", "now", "", 1e10, 253402300800, -62135596800,
)  # fmt: skip
SQL_TEXT = (
    "'; DROP TABLE listings; --", "' OR '1'='1", "1; DELETE FROM outbox", "$$; TRUNCATE inbox; $$",
    "' UNION SELECT * FROM handled_commands --", "Robert'); DROP TABLE orders;--", "\\", "%s%n", "\x00", "memo\x00nul",
)  # fmt: skip
NASTY_KEYS = ("", "\x00", "key\x00nul", "'; DROP TABLE outbox; --", "ü/日本/🙂", "a" * 1000)

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30) | st.sampled_from(EXTREME_NUMBERS)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=8
)
keys = st.none() | st.sampled_from((*WORLD_LISTINGS, order_key(STOREFRONT, WORLD_ORDERS[0]), *NASTY_KEYS)) | st.text(max_size=40)
huge_texts = st.tuples(st.sampled_from(HUGE_SIZES), st.characters()).map(lambda t: t[1] * t[0])
huge_arrays = st.sampled_from(HUGE_SIZES).map(lambda n: [0] * (n // 2))  # "0, " is 3 bytes


ON_THE_WIRE = ("type", "event_id", "occurred_at")  # the models have defaults for them, but senders send them


def record(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """A well-formed JSON object for `model`; optional fields present or not."""
    required, optional = {}, {}
    for name, info in model.model_fields.items():
        inner = get_args(info.annotation)
        if name == "type":
            value = st.just(info.default)
        elif inner and isinstance(inner[0], type) and issubclass(inner[0], BaseModel):  # lines
            value = st.lists(record(inner[0]), min_size=1, max_size=4)
        else:
            value = FIELD_VALUES[name]
        (required if info.is_required() or name in ON_THE_WIRE else optional)[name] = value
    return st.fixed_dictionaries(required, optional=optional)


@st.composite
def template(draw: st.DrawFn, topic: Topic) -> dict[str, Any]:
    """A well-formed message for the topic, half the time about the seeded world's listings and orders."""
    message = draw(st.sampled_from(topic.messages).flatmap(record))
    if draw(st.booleans()):
        order = draw(st.sampled_from(WORLD_ORDERS))
        world = {"storefront_id": STOREFRONT, "order_id": order, "seller_id": SELLER, "listing_id": draw(st.sampled_from(WORLD_LISTINGS))}
        message.update({k: v for k, v in world.items() if k in message})
    return message


def well_formed(topic: Topic) -> st.SearchStrategy[bytes]:
    return template(topic).map(orjson.dumps)


ALL_TYPES = tuple(m.model_fields["type"].default for t in ALL_TOPICS for m in t.messages)
unknown_types = st.sampled_from(ALL_TYPES) | st.sampled_from(ALL_TYPES).map(lambda t: t.upper()) | st.text(max_size=30) | json_values


@st.composite
def mutated_fields(draw: st.DrawFn, topic: Topic) -> bytes:
    """A message with 1-3 structural defects: wrong types, missing or extra fields, huge, extreme or SQL-looking values."""
    message = draw(template(topic))
    for _ in range(draw(st.integers(1, 3))):
        target = _target(draw, message)
        name = draw(st.sampled_from(sorted(target))) if target else "type"
        op = draw(st.sampled_from(FIELD_OPS))
        if op == "missing":
            target.pop(name, None)
        elif op == "extra":
            target[draw(st.text(max_size=12))] = draw(json_values)
        elif op == "type":
            message["type"] = draw(unknown_types)
        else:
            target[name] = draw(FIELD_DEFECTS[op])
    text = json.dumps(message, allow_nan=True, ensure_ascii=draw(st.booleans()))
    return text.encode("utf-8", "surrogatepass")


FIELD_DEFECTS: dict[str, st.SearchStrategy[Any]] = {
    "wrong_type": json_values,
    "number": st.sampled_from(EXTREME_NUMBERS),
    "date": st.sampled_from(EXTREME_DATES),
    "sql": st.sampled_from(SQL_TEXT),
    "huge": huge_texts | huge_arrays,
}
# Weighted by repetition: huge values are rare, so a full run moves tens, not thousands, of megabytes.
FIELD_OPS = ("missing", "extra", "type", "wrong_type", "number", "date", "sql") * 14 + ("huge",)


def _target(draw: st.DrawFn, message: dict[str, Any]) -> dict[str, Any]:
    """The object a defect goes into: the message itself or, sometimes, one of its lines."""
    lines = [v for v in message.values() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)]
    if lines and draw(st.booleans()):
        return draw(st.sampled_from(draw(st.sampled_from(lines))))
    return message


@st.composite
def byte_damaged(draw: st.DrawFn, topic: Topic) -> bytes:
    """A well-formed message with bytes flipped, inserted or deleted."""
    data = bytearray(draw(well_formed(topic)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data)))
        op, byte = draw(st.sampled_from(("flip", "insert", "delete"))), draw(st.integers(0, 255))
        if op == "insert" or at == len(data):
            data.insert(at, byte)
        elif op == "flip":
            data[at] ^= byte or 1
        else:
            del data[at]
    return bytes(data)


@st.composite
def truncated(draw: st.DrawFn, topic: Topic) -> bytes:
    data = draw(well_formed(topic))
    return data[: draw(st.integers(0, len(data) - 1))]


@st.composite
def wrapped(draw: st.DrawFn, topic: Topic) -> bytes:
    """Junk before or after a well-formed message (a BOM, a NUL, a second document, whitespace)."""
    junk = draw(st.sampled_from((b"\xef\xbb\xbf", b"\x00", b"{}", b"\n", b" ", b"]", b"null")))
    data = draw(well_formed(topic))
    return junk + data if draw(st.booleans()) else data + junk


nested = st.tuples(st.sampled_from((b"[", b'{"a":')), st.integers(1_000, 100_000)).map(lambda t: t[0] * t[1])
not_objects = json_values.filter(lambda v: not isinstance(v, dict)).map(lambda v: json.dumps(v, allow_nan=True).encode())
BODIES: tuple[tuple[int, Callable[[Topic], st.SearchStrategy[bytes]]], ...] = (
    (8, lambda _: st.binary(max_size=2048)),
    (5, lambda _: st.text(max_size=500).map(str.encode)),
    (5, lambda _: not_objects),
    (2, lambda _: nested),
    (10, truncated),
    (12, byte_damaged),
    (4, wrapped),
    (54, mutated_fields),
)


@dataclass(frozen=True)
class Sample:
    key: str | None
    value: bytes
    partition: int = 0


@st.composite
def samples(draw: st.DrawFn, topic: Topic) -> Sample:
    weights = [w for w, _ in BODIES]
    chosen = draw(st.integers(0, sum(weights) - 1))
    for weight, body in BODIES:
        if chosen < weight:
            return Sample(draw(keys), draw(body(topic))[:MAX_BYTES])
        chosen -= weight
    raise AssertionError("unreachable: the weights cover every draw")


def generate_all(topics: list[Topic], count: int, seed_value: int) -> dict[str, list[Sample]]:
    """The records for every topic, each topic drawn in its own process: drawing costs milliseconds a record."""
    context = multiprocessing.get_context("spawn")  # the caller may run an event loop and threads: do not fork them
    pool = ProcessPoolExecutor(max_workers=min(len(topics), os.cpu_count() or 1), mp_context=context)
    try:
        drawn = {t.name: pool.submit(generate, t, count, seed_value * 100 + i) for i, t in enumerate(topics)}
        return {name: future.result() for name, future in drawn.items()}
    finally:
        pool.shutdown(cancel_futures=True)  # on Ctrl-C, do not draw the topics still queued


def generate(topic: Topic, count: int, seed_value: int) -> list[Sample]:
    """`count` malformed records for `topic`, the same for the same seed, spread evenly over its partitions."""
    drawn: list[Sample] = []

    @seed(seed_value)
    @settings(max_examples=count, phases=[Phase.generate], database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(samples(topic))
    def collect(sample: Sample) -> None:
        drawn.append(sample)

    collect()
    return [Sample(s.key, s.value, i % topic.partitions) for i, s in enumerate(drawn)]


# --- the seeded world and the sentinels ----------------------------------------------------------


def world_commands() -> tuple[list[commands.CreateListing], list[commands.PlaceOrder]]:
    """Listings and orders that exist before the fuzzing, so valid-by-chance mutations have something to act on."""
    listings = [
        commands.CreateListing(command_id=uuid.uuid4(), seller_id=SELLER, listing_id=lid, quantity=100_000, production_days=days)
        for lid, days in zip(WORLD_LISTINGS, (1, 7, 30), strict=True)
    ]
    orders = [
        commands.PlaceOrder(
            command_id=uuid.uuid4(), storefront_id=STOREFRONT, order_id=oid, seller_id=SELLER, placed_at=FUZZ_EPOCH,
            lines=[commands.OrderLine(listing_id=WORLD_LISTINGS[i % len(WORLD_LISTINGS)], quantity=1)],
        )
        for i, oid in enumerate(WORLD_ORDERS)
    ]  # fmt: skip
    return listings, orders


def sentinel(topic: Topic, partition: int) -> Message:
    """A valid message for `topic` that every consumer of it applies (and records in its inbox)."""
    ids = {"storefront_id": "sentinel", "order_id": f"{topic.name}-{partition}", "seller_id": SELLER}
    by_topic: dict[str, Callable[[], Message]] = {
        "inventory.commands": lambda: commands.CreateListing(
            command_id=uuid.uuid4(), seller_id=SELLER, listing_id=f"sentinel-{partition}", quantity=1, production_days=1
        ),
        "orders.commands": lambda: commands.PlaceOrder(
            command_id=uuid.uuid4(), placed_at=FUZZ_EPOCH, lines=[commands.OrderLine(listing_id=WORLD_LISTINGS[0], quantity=1)], **ids
        ),
        "inventory.events": lambda: events.StockReservationFailed(reason=RejectionReason.UNKNOWN_LISTING, message="sentinel", **ids),
        "orders.events": lambda: events.OrderCancelled(reason="sentinel", lines=[], **ids),
        "deadlines.events": lambda: events.LateShipmentPenalty(
            deadline=FUZZ_EPOCH, ship_by_date=FUZZ_EPOCH.date(), reason="sentinel", **ids
        ),
    }
    return by_topic[topic.name]()


# --- the run -------------------------------------------------------------------------------------


class Progress:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def __call__(self, text: str) -> None:
        print(f"[fuzz {self.elapsed():7.1f}s] {text}", file=sys.stderr, flush=True)


@dataclass
class Tally:
    consumer: Consumer
    sent: int = 0
    distinct: int = 0  # different bodies among them: hypothesis mutates earlier examples, so some repeat
    dead_lettered: int = 0  # dead letters matched to a sent record (any error kind, rule violations too)
    rejected: int = 0  # command.rejected answers the consumer wrote
    valid: int = 0  # valid by chance
    accepted: int = 0  # valid by chance and applied or refused (in the inbox)
    unaccounted: int = 0  # neither dead-lettered (invalid) nor applied (valid)
    missing_answers: int = 0  # identifiable senders (command ids) of invalid commands that got no answer
    crashed: bool = False
    blocked: list[int] = field(default_factory=list)


@dataclass
class Report:
    tallies: list[Tally]
    unexpected_letters: list[str]  # dead letters beyond one per record and consumer
    decoder_errors: dict[str, tuple[int, bytes]]  # the codec raised something other than DecodeError: count, an input
    log_tracebacks: dict[str, Counter[str]]  # service -> logged exceptions, by event
    log_notes: dict[str, Counter[str]]  # service -> other errors and warnings, dead letters aside (not failures)
    problems: list[str]  # waits that stalled
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.failures()

    def failures(self) -> list[str]:
        found = list(self.problems)
        for t in self.tallies:
            counts = (("unaccounted", t.unaccounted), ("missing answers", t.missing_answers), ("blocked partitions", len(t.blocked)))
            found += [f"{t.consumer.name}: {n} {what}" for what, n in counts if n]
            if t.crashed:
                found.append(f"{t.consumer.name}: the {t.consumer.service} process died")
        if self.unexpected_letters:
            found.append(f"{len(self.unexpected_letters)} unexpected dead letters, e.g. " + "; ".join(self.unexpected_letters[:3]))
        found += [f"decode() raised {error} on {n} records, e.g. {example[:300]!r}" for error, (n, example) in self.decoder_errors.items()]
        found += [
            f"{service} logged {n} x {event} with a traceback"
            for service, logged in self.log_tracebacks.items()
            for event, n in logged.items()
        ]
        return found

    def render(self) -> str:
        head = ("consumer", "sent", "distinct", "dead-lettered", "rejected", "valid by chance", "accepted", "unaccounted", "crashes", "blocked partitions")  # fmt: skip
        rows = [
            (t.consumer.name, t.sent, t.distinct, t.dead_lettered, t.rejected, t.valid, t.accepted, t.unaccounted, int(t.crashed), ",".join(map(str, t.blocked)) or 0)
            for t in self.tallies
        ]  # fmt: skip
        widths = [max(len(str(row[i])) for row in [head, *rows]) for i in range(len(head))]
        lines = ["  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))) for row in [head, *rows]]  # fmt: skip
        lines.append(f"({self.seconds:.0f}s)")
        lines += [f"note: {service} logged {n} x {event}" for service, logged in self.log_notes.items() for event, n in logged.items()]
        failures = self.failures()
        if failures:
            return "\n".join([*lines, "FAILED:", *(f"  {f}" for f in failures)])
        return "\n".join([*lines, "OK: 0 crashes, 0 blocked partitions, every malformed record accounted for"])


async def fuzz(
    kafka: str, databases: dict[str, str], prefix: str, logs: Path, *, per_consumer: int, seed_value: int, stall_seconds: float = 30.0
) -> Report:
    """One fuzz run against already created databases and topics; the services are started and stopped here."""
    say = Progress()
    subscribed = consumers()
    topics = consumed_topics(subscribed)
    sent = generate_all(topics, per_consumer, seed_value)
    say(f"generated {sum(map(len, sent.values()))} malformed records for {len(topics)} topics")
    env = {"OUTBOX_POLL_SECONDS": "0.5", **clock_env(accelerated(FUZZ_EPOCH, 1.0))}
    processes = service_processes(kafka, prefix, databases, logs, env=env)
    async with Publisher(kafka, prefix) as publisher, running(processes) as services:
        say("services started; seeding the world")
        await seed_world(kafka, prefix, publisher)
        for topic in topics:
            await publish(publisher, topic, sent[topic.name], say)
        sentinels: dict[tuple[str, int], Message] = {}
        for topic in topics:
            for partition in range(topic.partitions):
                sentinels[(topic.name, partition)] = sentinel(topic, partition)
                await publisher.send(topic, f"sentinel/{partition}", sentinels[(topic.name, partition)], partition=partition)
        say("published the sentinels; waiting for every consumer to reach them")
        blocked, problems = await settle(kafka, prefix, databases, subscribed, sentinels, stall_seconds, say)
        crashed = {name for name, proc in services.items() if not proc.running()}
    say("reading the dead letters and the answers")
    # Read raw, not through a Tap: a Tap decodes every record, and the fuzzed records on these topics
    # are exactly the ones a decoder may choke on.
    written = await read_topics(kafka, prefix, [DEAD_LETTERS, *(t for t in ALL_TOPICS if any(c.answers == t for c in subscribed))])
    verdicts = {t.name: [classify(t, s.value) for s in sent[t.name]] for t in topics}
    tallies, unexpected = await tally(subscribed, sent, verdicts, databases, written, blocked, crashed, prefix)
    logged = {p.name: read_log(p.log()) for p in processes}
    return Report(
        tallies=tallies,
        unexpected_letters=unexpected,
        decoder_errors=decoder_errors(sent, verdicts),
        log_tracebacks={name: tracebacks for name, (tracebacks, _) in logged.items() if tracebacks},
        log_notes={name: notes for name, (_, notes) in logged.items() if notes},
        problems=problems,
        seconds=say.elapsed(),
    )


async def seed_world(kafka: str, prefix: str, publisher: Publisher) -> None:
    listings, orders = world_commands()
    async with Tap(kafka, prefix, topics=[INVENTORY_EVENTS, ORDERS_EVENTS]) as tap:
        for command in listings:
            await publisher.send(INVENTORY_COMMANDS, command.listing_id, command)
        # Listings first: inventory reads its commands and orders' events in parallel.
        await tap.wait_for(events.ListingCreated, count=len(listings))
        for command in orders:
            await publisher.send(ORDERS_COMMANDS, order_key(command.storefront_id, command.order_id), command)
        await tap.wait_for(events.OrderAccepted, count=len(orders))


async def publish(publisher: Publisher, topic: Topic, records: list[Sample], say: Progress) -> None:
    """Send concurrently in chunks: order among malformed records does not matter, only that all precede the sentinels."""
    chunk = 200
    for start in range(0, len(records), chunk):
        batch = records[start : start + chunk]
        await asyncio.gather(*(publisher.send_raw(topic, s.key, s.value, partition=s.partition) for s in batch))
        done = start + len(batch)
        if done == len(records) or done // chunk % 10 == 0:
            say(f"published {done}/{len(records)} to {topic.name}")


async def settle(
    kafka: str,
    prefix: str,
    databases: dict[str, str],
    subscribed: list[Consumer],
    sentinels: dict[tuple[str, int], Message],
    stall_seconds: float,
    say: Progress,
) -> tuple[dict[tuple[str, str], list[int]], list[str]]:
    """Wait for the sentinels, then for the outboxes to drain and the consumers to catch up. Each wait gives up
    once nothing moved for `stall_seconds`, so a blocked partition ends the run instead of hanging it."""
    groups = groups_of(prefix, [(c.service, c.topic) for c in subscribed])
    group_of = {(c.service, c.topic.name): consumer_group(c.service, c.topic, prefix) for c in subscribed}
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:

        async def sentinels_reached() -> tuple[bool, object]:
            # Progress is that of the partitions still short of their sentinel: others move all the
            # time (watermarks), a blocked one never does.
            missing = await missing_sentinels(databases, subscribed, sentinels)
            offsets = []
            for (service, topic), partitions in missing.items():
                committed = await admin.list_consumer_group_offsets(group_of[(service, topic)])
                offsets += [
                    committed[tp].offset if tp in committed else -1 for tp in (TopicPartition(prefix + topic, p) for p in partitions)
                ]
            return not missing, offsets

        async def drained() -> tuple[bool, object]:
            pending = await unpublished(databases.values())
            return pending == 0, pending

        if not await until(sentinels_reached, stall_seconds):
            # A blocked partition keeps re-reading its batch (and re-dead-lettering it): nothing more will settle.
            return await missing_sentinels(databases, subscribed, sentinels), [
                "the consumers stopped moving before reaching every sentinel"
            ]
        say("waiting for the outboxes to drain")
        if not await until(drained, stall_seconds):
            return {}, ["an outbox stopped draining"]
        try:  # what the services answered is read by their peers too: wait for that as well
            await groups_caught_up(kafka, groups, timeout=stall_seconds * 4)
        except TimeoutError:
            return {}, ["a consumer group did not catch up with what the services wrote"]
        return {}, []
    finally:
        await admin.close()


async def until(poll: Callable[[], Awaitable[tuple[bool, object]]], stall_seconds: float, limit_seconds: float = 1800.0) -> bool:
    """Poll until done (True), or until the progress it reports has not changed for `stall_seconds` or
    `limit_seconds` have passed (False): something can keep moving without ever finishing."""
    start = last_change = time.monotonic()
    last = None
    while True:
        done, progress = await poll()
        if done:
            return True
        now = time.monotonic()
        if progress != last:
            last, last_change = progress, now
        elif now - last_change > stall_seconds or now - start > limit_seconds:
            return False
        await asyncio.sleep(0.5)


async def missing_sentinels(
    databases: dict[str, str], subscribed: list[Consumer], sentinels: dict[tuple[str, int], Message]
) -> dict[tuple[str, str], list[int]]:
    """(service, topic) -> the partitions whose sentinel that service has not applied yet."""
    missing: dict[tuple[str, str], list[int]] = {}
    for c in subscribed:
        ours = {p: m.event_id for (name, p), m in sentinels.items() if name == c.topic.name}
        applied = await _inbox(databases[c.service], list(ours.values()))
        late = [p for p, event_id in ours.items() if event_id not in applied]
        if late:
            missing[(c.service, c.topic.name)] = late
    return missing


async def _inbox(url: str, event_ids: list[uuid.UUID] | None = None) -> set[uuid.UUID]:
    conn = await asyncpg.connect(url)
    try:
        if event_ids is None:
            rows = await conn.fetch("select event_id from inbox")
        else:
            rows = await conn.fetch("select event_id from inbox where event_id = any($1::uuid[])", event_ids)
        return {r["event_id"] for r in rows}
    finally:
        await conn.close()


# --- the accounting ------------------------------------------------------------------------------


def identifiable_sender(value: bytes) -> uuid.UUID | None:
    """M3: the sender of a bad command can be identified when it is a JSON object with a readable command id."""
    try:
        payload = orjson.loads(value)
        return uuid.UUID(str(payload["command_id"])) if isinstance(payload, dict) else None
    except (orjson.JSONDecodeError, KeyError, ValueError):
        return None


def classify(topic: Topic, value: bytes) -> tuple[Message | None, str | None]:
    """The message a record is when valid, and the error when the decoder raised anything but DecodeError."""
    try:
        return decode(topic, value), None
    except DecodeError:
        return None, None
    except Exception as exc:  # the codec promises DecodeError only (M3): anything else is a bug, kept with its input
        return None, f"{type(exc).__name__}: {exc}"[:100]


Verdicts = dict[str, list[tuple[Message | None, str | None]]]  # topic -> classify() of each record sent


async def tally(
    subscribed: list[Consumer],
    sent: dict[str, list[Sample]],
    verdicts: Verdicts,
    databases: dict[str, str],
    written: dict[Topic, list[ConsumerRecord]],
    blocked: dict[tuple[str, str], list[int]],
    crashed: set[str],
    prefix: str,
) -> tuple[list[Tally], list[str]]:
    """Each consumer's tally, and the dead letters no record accounts for."""
    dead = [decode(DEAD_LETTERS, r.value) for r in written[DEAD_LETTERS]]
    letters = Counter(
        (d.service, d.source_topic.removeprefix(prefix), d.partition, d.key_base64, d.value_base64)
        for d in dead
        if isinstance(d, events.DeadLetter)
    )
    answers = {topic: _answers(topic, records) for topic, records in written.items() if topic != DEAD_LETTERS}
    tallies = []
    for c in subscribed:
        inbox = await _inbox(databases[c.service])
        t = Tally(c, crashed=c.service in crashed, blocked=blocked.get((c.service, c.topic.name), []))
        t.distinct = len({s.value for s in sent[c.topic.name]})
        senders: set[uuid.UUID] = set()
        for s, (message, _) in zip(sent[c.topic.name], verdicts[c.topic.name], strict=True):
            t.sent += 1
            letter = (c.service, c.topic.name, s.partition, _b64(s.key.encode()) if s.key is not None else None, _b64(s.value))
            found = letters[letter] > 0
            if found:
                letters[letter] -= 1
                t.dead_lettered += 1
            if message is None:
                t.unaccounted += not found
                sender = identifiable_sender(s.value)
                if c.answers and sender is not None:
                    senders.add(sender)
                continue
            t.valid += 1
            # Without an event id on the wire the decoder makes up a new one, so the inbox cannot be searched for
            # it: the sentinel behind it is what shows it was passed without blocking.
            applied = (
                message.event_id in inbox
                or not message.needs_inbox
                or "event_id" not in message.model_fields_set
                or type(message) in c.ignored  # dropped unread by design: no inbox row
            )
            t.accepted += applied
            t.unaccounted += not applied
        if c.answers:
            t.rejected, answered = answers[c.answers]
            t.missing_answers = len(senders - answered)
        tallies.append(t)
    # Left over: a record dead-lettered again (redelivered after its letter was published), or a letter
    # about a record nobody fuzzed (a service wrote something its peer cannot read).
    ours = {(c.service, c.topic.name, s.partition, s.value) for c in subscribed for s in sent[c.topic.name]}
    unexpected = []
    for (service, topic, partition, _, value), n in letters.items():
        body = base64.b64decode(value)
        unexpected += [
            f"{'again' if (service, topic, partition, body) in ours else 'unknown'}: {service} on {topic}[{partition}]: {body[:80]!r}"
        ] * n
    return tallies, unexpected


def decoder_errors(sent: dict[str, list[Sample]], verdicts: Verdicts) -> dict[str, tuple[int, bytes]]:
    """'topic: error' -> how many records raised it, and the shortest of them (a reproduction)."""
    found: dict[str, tuple[int, bytes]] = {}
    for topic, results in verdicts.items():
        for s, (_, error) in zip(sent[topic], results, strict=True):
            if error is not None:
                count, shortest = found.get(f"{topic}: {error}", (0, s.value))
                found[f"{topic}: {error}"] = (count + 1, min(shortest, s.value, key=len))
    return found


def _answers(topic: Topic, records: list[ConsumerRecord]) -> tuple[int, set[uuid.UUID]]:
    """How many command.rejected a service wrote on the topic, and every command id it answered (M5: once per
    command id, so a re-sent one is answered by the first answer, a rejection or not). Only records a service's
    relay wrote count (they carry its headers): fuzzed records on the same topic may look like answers too."""
    rejected, answered = 0, set()
    for r in records:
        if r.headers:
            message = decode(topic, r.value)
            rejected += isinstance(message, events.CommandRejected)
            if getattr(message, "command_id", None) is not None:
                answered.add(message.command_id)
    return rejected, answered


async def read_topics(kafka: str, prefix: str, topics: list[Topic]) -> dict[Topic, list[ConsumerRecord]]:
    """Every record on the topics, from the beginning to their current end, undecoded."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        owner = {prefix + t.name: t for t in topics}
        partitions = [TopicPartition(prefix + t.name, p) for t in topics for p in range(t.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: dict[Topic, list[ConsumerRecord]] = {t: [] for t in topics}
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                found[owner[tp.topic]] += [r for r in records if r.offset < ends[tp]]
        return found
    finally:
        await consumer.stop()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def read_log(log: str) -> tuple[Counter[str], Counter[str]]:
    """A service's tracebacks (failures), and its other errors and warnings (notes), by event and error.

    Dead-letter warnings are the expected outcome and not counted. An error line without a traceback is a
    service's own alarm (R15's "fired despite an earlier confirmation", say), which forged internal events
    may rightly raise: it is reported, not failed."""
    tracebacks: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:  # not a structured line: Python printed it
            if line.startswith("Traceback"):
                tracebacks["traceback"] += 1
            continue
        if not isinstance(entry, dict):
            continue
        what = f"{entry.get('event')} {str(entry.get('error', ''))[:80]}".strip()
        if "exception" in entry:
            tracebacks[what] += 1
        elif entry.get("level") in ("warning", "error", "critical") and entry.get("event") != "message.dead_lettered":
            notes[f"{entry.get('level')}: {what}"] += 1
    return tracebacks, notes


# --- the command line ----------------------------------------------------------------------------


async def main_async(args: argparse.Namespace, run_id: str, logs: Path) -> Report:
    """A run on databases and topics of its own (`fuzz-<run>.`), dropped afterwards."""
    servers = Servers.from_env()
    kafka = servers.kafka_bootstrap_servers
    try:
        async with (
            fresh_topics(kafka, f"fuzz-{run_id}.") as prefix,
            fresh_databases(servers.postgres_url, database_names("fuzz", run_id)) as databases,
        ):
            return await fuzz(
                kafka, databases, prefix, logs, per_consumer=args.per_consumer, seed_value=args.seed, stall_seconds=args.stall_seconds
            )
    finally:
        print(f"service logs: {logs}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-consumer", type=int, default=200, help="malformed records per consumed topic (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed and size give the same records (default 0)")
    parser.add_argument("--stall-seconds", type=float, default=30.0, help="give up a wait after this long without progress")
    parser.add_argument("--logs", help="folder for the services' logs (default .stack/logs/fuzz-<run>)")
    args = parser.parse_args()
    run_id = new_run_id()
    logs = Path(args.logs or Path(".stack") / "logs" / f"fuzz-{run_id}")
    logs.mkdir(parents=True, exist_ok=True)
    report = run_stoppable(main_async(args, run_id, logs))
    print(report.render())
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
