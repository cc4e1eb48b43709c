"""`fulfil order STOREFRONT/ORDER`: one order's story across the three services.

The timeline is read from the topics, not the databases: the messages are what the services told
each other, each stamped with its `occurred_at` on the services' clock, and they include what the
databases do not keep (refused commands, warnings, dead letters). Every message about an order is
keyed by the order key (M4), so only one partition of each topic needs reading: the one the
producers' default partitioner (murmur2) gives that key. That partition is read from its oldest
record, so the cost grows with what the topics retain. Beside it, the orders and deadlines databases
(read-only) give the order's state now and the timers still to come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from aiokafka import ConsumerRecord

from ops.databases import database
from ops.deadletters import letter_of
from ops.errors import OpsError
from ops.kafka import KafkaReader, partition_of
from ops.output import Output, instant
from ops.parsing import OrderKey
from ops.settings import OpsSettings
from shared.contracts import commands, events
from shared.contracts.codec import DecodeError, decode
from shared.contracts.envelope import Message
from shared.contracts.topics import DEAD_LETTERS, DEADLINES_EVENTS, INVENTORY_EVENTS, ORDERS_COMMANDS, ORDERS_EVENTS, Topic

# Where an order's messages travel, in the order ties are broken (a command before what answers it).
TOPICS = (ORDERS_COMMANDS, ORDERS_EVENTS, INVENTORY_EVENTS, DEADLINES_EVENTS)


@dataclass(frozen=True)
class Entry:
    occurred_at: datetime  # on the sender's clock (a deadline's event occurs at the deadline)
    published_at: datetime  # the record's Kafka timestamp: the order entries are listed in
    topic: str
    partition: int
    offset: int
    type: str
    summary: str
    message: dict[str, Any] | None = None

    def sort_key(self) -> tuple[datetime, int, int]:
        rank = [t.name for t in TOPICS].index(self.topic) if self.topic in [t.name for t in TOPICS] else len(TOPICS)
        return self.published_at, rank, self.offset


def _lines(lines: list[Any]) -> str:
    return ", ".join(f"{line.listing_id} x{line.quantity}" for line in lines)


def describe(message: Message) -> str:
    """One line saying what a message about an order means."""
    match message:
        case commands.PlaceOrder():
            return f"storefront places it for seller {message.seller_id}, placed {instant(message.placed_at)}: {_lines(message.lines)}"
        case events.OrderPlaced():
            return f"orders received it (pending): {_lines(message.lines)}"
        case events.StockReserved():
            return "inventory reserved " + ", ".join(f"{line.listing_id} x{line.quantity} (made in {line.production_days}d)" for line in message.lines)
        case events.StockReservationFailed():
            failed = message.failed_lines or []
            lines = "; ".join(f"{line.listing_id}: {line.reason.value}" for line in failed) or f"{message.listing_id}: {message.reason.value}"
            return f"inventory refused the reservation ({lines})"
        case events.OrderAccepted():
            return f"accepted: order date {message.order_date}, ship by {message.ship_by_date}, confirm by {message.confirm_by_date} ({message.timezone})"
        case events.OrderRejected():
            return f"rejected {message.reason.value} ({message.rule or '-'}): {message.message}"
        case events.DeadlineApproaching():
            return f"warning: the {message.deadline_kind.replace('_', '-')} deadline ends {instant(message.deadline)}"
        case commands.ConfirmShipment():
            return f"seller {message.seller_id} confirms shipment: shipped {message.ship_date} by {message.carrier} ({message.shipping_method}), tracking {message.tracking_id}"
        case events.ShipmentConfirmed():
            tracking = {True: "valid", False: "invalid", None: "not checked"}[message.tracking_valid]
            return f"shipment confirmed at {instant(message.confirmed_at)}: {'late' if message.late else 'on time'}, tracking {tracking}"
        case events.CommandRejected():
            return f"{message.command_type or 'command'} {message.command_id} refused {message.reason.value} ({message.rule or '-'}): {message.message}"
        case events.LateShipmentPenalty():
            return f"late-shipment penalty: the ship-by date {message.ship_by_date} ended unconfirmed"
        case events.CancellationIssued():
            return f"cancellation issued: the confirm-by date {message.confirm_by_date} ended unconfirmed; seller not paid"
        case events.OrderCancelled():
            return f"cancelled ({message.reason}); seller not paid"
        case events.StockRestored():
            return f"inventory restored {_lines(message.lines)}"
    return message.type


async def read_entries(reader: KafkaReader, key: OrderKey) -> list[Entry]:
    """Every record keyed by the order on its partition of each topic, and its dead letters (a dead
    letter is keyed like the record it holds), in publication order."""
    wanted = str(key).encode()
    topics = {reader.prefix + topic.name: topic for topic in TOPICS}
    partitions = [(topic.name, partition_of(str(key), len(reader.partitions(topic.name)))) for topic in TOPICS if reader.partitions(topic.name)]
    partitions += [(DEAD_LETTERS.name, p) for p in reader.partitions(DEAD_LETTERS.name)]
    entries = []
    async for record in reader.read(partitions):
        if record.key != wanted:
            continue
        topic = topics.get(record.topic)
        entry = _entry(record, topic) if topic is not None else _dead_letter_entry(record, reader.prefix)
        if entry is not None:
            entries.append(entry)
    return sorted(entries, key=Entry.sort_key)


def _entry(record: ConsumerRecord, topic: Topic) -> Entry:
    published = datetime.fromtimestamp(record.timestamp / 1000, UTC)
    replayed = dict(record.headers or ()).get("replay_of")  # set by `fulfil deadletters replay`
    mark = f"(replay of dead letter {replayed.decode(errors='replace')[:8]}) " if replayed else ""
    try:
        message = decode(topic, record.value or b"")
    except DecodeError as error:
        return Entry(published, published, topic.name, record.partition, record.offset, "unreadable", f"{mark}{error.kind}: {error.detail}")
    return Entry(message.occurred_at, published, topic.name, record.partition, record.offset, message.type, mark + describe(message), message.model_dump(mode="json"))


def _dead_letter_entry(record: ConsumerRecord, prefix: str) -> Entry | None:
    letter = letter_of(record)
    if letter is None:
        return None
    body = letter.letter
    source = f"{body.source_topic.removeprefix(prefix)}@{body.partition}:{body.offset}"
    summary = f"{body.service} set aside {source} ({body.error_kind}): {body.error[:200]} [dead letter {letter.id[:8]}]"
    return Entry(body.occurred_at, datetime.fromtimestamp(record.timestamp / 1000, UTC), DEAD_LETTERS.name, record.partition, record.offset, body.type, summary)


async def read_state(settings: OpsSettings, key: OrderKey) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[str]]:
    """The order's row in the orders database, its timers in the deadlines database, and what could not be read."""
    row: asyncpg.Record | None = None
    timers: list[asyncpg.Record] = []
    problems = []
    try:
        async with database(settings, "orders") as conn:
            row = await conn.fetchrow("select * from orders where storefront_id = $1 and order_id = $2", key.storefront_id, key.order_id)
    except OpsError as exc:
        problems.append(str(exc))
    try:
        async with database(settings, "deadlines") as conn:
            timers = await conn.fetch(
                "select kind, due_at, status, fired_at from deadlines where storefront_id = $1 and order_id = $2 order by due_at, kind",
                key.storefront_id,
                key.order_id,
            )
    except OpsError as exc:
        problems.append(str(exc))
    state = None
    if row is not None:
        columns = dict(row.items())
        state = {name: value for name, value in columns.items() if name not in ("storefront_id", "order_id")} | {"lines": orjson.loads(columns["lines"])}
    return state, [dict(t) for t in timers], problems


async def show_order(settings: OpsSettings, reader: KafkaReader, out: Output, key: OrderKey) -> None:
    entries = await read_entries(reader, key)
    state, timers, problems = await read_state(settings, key)
    if not entries and state is None:
        where = "; ".join(problems) if problems else "the orders database has no such order"
        raise OpsError(f"no order {key}: nothing about it on the topics ({where})")
    if out.as_json:
        out.json({"order": str(key), "state": state, "timeline": [entry.__dict__ for entry in entries], "timers": timers, "problems": problems})
        return
    if state is not None:
        extras = ["late penalty" if state["late_penalty"] else "", "shipped late" if state["shipped_late"] else ""]
        out.line(f"order {key}: {state['status']}, seller {state['seller_id']}, placed {instant(state['placed_at'])}" + "".join(f", {e}" for e in extras if e))
    else:
        out.line(f"order {key}: not in the orders database")
    out.table(
        "timeline (in publication order; times are when each message says it happened, on the services' clock)",
        ("when", "topic", "record", "what", "details"),
        [(instant(e.occurred_at), e.topic, f"{e.partition}:{e.offset}", e.type, e.summary) for e in entries],
    )
    if timers:
        out.table("timers (deadlines database)", ("kind", "due", "status", "fired"), [(t["kind"], instant(t["due_at"]), t["status"], instant(t["fired_at"])) for t in timers])
    for problem in problems:
        out.line(f"note: {problem}")
