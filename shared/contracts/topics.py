"""The topic registry: every topic, what keys it, how many partitions, and the messages on it.

Services, topic creation, the compose file check and the schema generator all read this table,
so a topic exists in exactly one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from . import commands, events, state
from .envelope import Message
from .fields import ID_PATTERN, ORDER_KEY_PATTERN


@dataclass(frozen=True)
class Key:
    """What a record's Kafka key is (M4), in words and as a rule a client can check."""

    description: str
    fields: tuple[str, ...] = ()  # the message's fields whose values, joined with "/", are the key
    pattern: str | None = None  # the JSON Schema pattern of every key (None: any text)

    def expected(self, payload: Mapping[str, Any]) -> str | None:
        """The key a record carrying this payload must have; None when the payload does not tell."""
        values = [payload.get(name) for name in self.fields]
        if not values or not all(isinstance(v, str) for v in values):
            return None
        return "/".join(values)  # type: ignore[arg-type]


ORDER_KEY = Key("order key: storefront_id/order_id", ("storefront_id", "order_id"), ORDER_KEY_PATTERN)
LISTING_KEY = Key("listing id", ("listing_id",), ID_PATTERN)
# A refused command's answer has the command's key; a command whose ids could not be read has its command id.
ANSWER_KEY = Key("the refused command's key (listing id, or storefront_id/order_id); its command_id when those were unreadable")
WATERMARK_KEY = Key("watermark/<partition>: each watermark is written to the partition it names", (), r"^watermark/[0-9]+$(?!\n)")
ORIGINAL_KEY = Key("the original record's key")

# The services, each a process with a database of its own.
SERVICES: tuple[str, ...] = ("inventory", "orders", "deadlines")
# The seller portal (services/portal/) runs like a service (its own database, consumer groups, dead
# letters) and sends sellers' commands, as a seller gateway does.
PORTAL = "portal"
PROCESSES: tuple[str, ...] = (*SERVICES, PORTAL)  # every process that consumes through shared/runtime.py
# The clients outside the services that talk to Kafka, each as a principal of its own (docs/operations.md).
CLIENTS: tuple[str, ...] = ("storefront", "seller-gateway")


@dataclass(frozen=True)
class Topic:
    name: str
    key: str  # what the record key is, in words (M4: messages about one order share a key)
    partitions: int
    messages: tuple[type[Message], ...]
    description: str
    written_by: str  # who publishes to it, in words (a service name, or outside senders)
    read_by: tuple[str, ...]  # the services that consume it, each in a consumer group of its own
    # Who may publish to it and which outside clients may read it, by Kafka principal (SERVICES and
    # CLIENTS): the ACLs are derived from these (shared/messaging/acls.py).
    writers: tuple[str, ...]
    outside_readers: tuple[str, ...] = ()
    # Larger than the broker's default (1 MB) where a message wraps another one: a dead letter holds
    # a whole record, base64-encoded, and its error.
    max_message_bytes: int | None = None
    # A state topic keeps the latest record of each key (cleanup.policy=compact) instead of a time window.
    compacted: bool = False
    keys: Key = ORDER_KEY  # the key rule of its messages; exceptions are in _KEYS
    # How long records are kept (retention.ms) on a topic that is not compacted: a week, like Kafka's
    # default, written down so that the services' bookkeeping retention can be checked against it.
    retention_ms: int = 7 * 24 * 3600 * 1000

    @property
    def cleanup_policy(self) -> str:
        return "compact" if self.compacted else "delete"

    def configs(self) -> dict[str, str]:
        """The topic-level settings it is created with."""
        configs = {"cleanup.policy": self.cleanup_policy}
        if not self.compacted:
            configs["retention.ms"] = str(self.retention_ms)
        if self.max_message_bytes:
            configs["max.message.bytes"] = str(self.max_message_bytes)
        return configs

    def adapter(self) -> TypeAdapter[Any]:
        return _adapter(self)

    def key_of(self, message: type[Message]) -> Key:
        """The key rule of one message type on this topic."""
        return _KEYS.get((self.name, message.model_fields["type"].default), self.keys)


INVENTORY_COMMANDS = Topic(
    name="inventory.commands",
    key="listing id",
    partitions=3,
    messages=(commands.CreateListing, commands.UpdateListing),
    description="Sellers create and edit listings.",
    written_by="sellers",
    read_by=("inventory",),
    writers=("seller-gateway", PORTAL),
    keys=LISTING_KEY,
)
ORDERS_COMMANDS = Topic(
    name="orders.commands",
    key="order key (storefront id/order id)",
    partitions=3,
    messages=(commands.PlaceOrder, commands.ConfirmShipment),
    description="Storefronts place orders; sellers confirm shipments.",
    written_by="storefronts and sellers",
    read_by=("orders",),
    writers=("storefront", "seller-gateway", PORTAL),
)
INVENTORY_EVENTS = Topic(
    name="inventory.events",
    key="listing id for listing events, order key for stock movements",
    partitions=3,
    messages=(
        events.ListingCreated,
        events.ListingUpdated,
        events.StockReserved,
        events.StockReservationFailed,
        events.StockRestored,
        events.CommandRejected,
    ),
    description="What the inventory service decided.",
    written_by="inventory",
    read_by=("orders", "portal"),
    writers=("inventory",),
    outside_readers=("seller-gateway",),  # the answers to listing commands
)
ORDERS_EVENTS = Topic(
    name="orders.events",
    key="order key (storefront id/order id)",
    partitions=3,
    messages=(
        events.OrderPlaced,
        events.OrderAccepted,
        events.OrderRejected,
        events.ShipmentConfirmed,
        events.OrderCancelled,
        events.CommandRejected,
        events.OrdersWatermark,
    ),
    description="What the orders service decided.",
    written_by="orders",
    read_by=("inventory", "deadlines", "portal"),
    writers=("orders",),
    outside_readers=("storefront", "seller-gateway"),  # the answers to order and shipment commands
)
DEADLINES_EVENTS = Topic(
    name="deadlines.events",
    key="order key (storefront id/order id)",
    partitions=3,
    messages=(events.LateShipmentPenalty, events.CancellationIssued, events.DeadlineApproaching),
    description="Deadlines that passed without a confirmed shipment, and warnings before they do.",
    written_by="deadlines",
    read_by=("orders", "portal"),
    writers=("deadlines",),
)
DEAD_LETTERS = Topic(
    name="deadletters",
    key="the original record's key",
    partitions=1,
    messages=(events.DeadLetter,),
    description="Messages a consumer could not use, with their original bytes and the error.",
    written_by="every service",
    read_by=(),
    writers=PROCESSES,
    max_message_bytes=4 * 1024 * 1024,
    keys=ORIGINAL_KEY,
    retention_ms=30 * 24 * 3600 * 1000,  # operators replay from it: a month
)

LISTINGS_STATE = Topic(
    name="inventory.listings",
    key="listing id",
    partitions=3,
    messages=(state.ListingStateRecord,),
    description="The latest state of every listing (quantity, production time, out of stock), after every change.",
    written_by="inventory",
    read_by=("portal",),
    writers=("inventory",),
    outside_readers=("storefront",),
    compacted=True,
    keys=LISTING_KEY,
)
ORDERS_STATE = Topic(
    name="orders.state",
    key="order key (storefront id/order id)",
    partitions=3,
    messages=(state.OrderStateRecord,),
    description="The latest state of every order (status, dates, late mark, shipment), after every change.",
    written_by="orders",
    read_by=("portal",),
    writers=("orders",),
    outside_readers=("storefront", "seller-gateway"),
    compacted=True,
)

# Messages whose key differs from their topic's usual one.
_KEYS: dict[tuple[str, str], Key] = {
    ("inventory.events", "listing.created"): LISTING_KEY,
    ("inventory.events", "listing.updated"): LISTING_KEY,
    ("inventory.events", "command.rejected"): ANSWER_KEY,
    ("orders.events", "command.rejected"): ANSWER_KEY,
    ("orders.events", "orders.watermark"): WATERMARK_KEY,
}

ALL_TOPICS: tuple[Topic, ...] = (
    INVENTORY_COMMANDS,
    ORDERS_COMMANDS,
    INVENTORY_EVENTS,
    ORDERS_EVENTS,
    DEADLINES_EVENTS,
    LISTINGS_STATE,
    ORDERS_STATE,
    DEAD_LETTERS,
)

@dataclass(frozen=True)
class Answers:
    """Where a command's one answer (M5) is published, and which message types answer it."""

    command: type[Message]
    topic: Topic
    messages: tuple[type[Message], ...]


# Every command and its possible answers: each answer carries the command's `command_id` (S2, M5).
ANSWERS: tuple[Answers, ...] = (
    Answers(commands.CreateListing, INVENTORY_EVENTS, (events.ListingCreated, events.CommandRejected)),
    Answers(commands.UpdateListing, INVENTORY_EVENTS, (events.ListingUpdated, events.CommandRejected)),
    Answers(commands.PlaceOrder, ORDERS_EVENTS, (events.OrderAccepted, events.OrderRejected, events.CommandRejected)),
    Answers(commands.ConfirmShipment, ORDERS_EVENTS, (events.ShipmentConfirmed, events.CommandRejected)),
)
ANSWER_TYPES: tuple[type[Message], ...] = tuple(dict.fromkeys(m for a in ANSWERS for m in a.messages))


def topics_read_by(service: str) -> tuple[Topic, ...]:
    return tuple(t for t in ALL_TOPICS if service in t.read_by)


def topics_written_by(principal: str) -> tuple[Topic, ...]:
    return tuple(t for t in ALL_TOPICS if principal in t.writers)


def consumer_group(service: str, topic: Topic, prefix: str = "") -> str:
    """One consumer group per service and topic it reads: rebalances of one never stop another."""
    return f"{prefix}{service}.{topic.name}"


# What the relay may send in one record: the largest topic limit.
MAX_MESSAGE_BYTES = max(t.max_message_bytes or 1024 * 1024 for t in ALL_TOPICS)


def order_key(storefront_id: str, order_id: str) -> str:
    """The Kafka key of everything about one order (M4). Ids cannot contain '/', so it is unambiguous."""
    return f"{storefront_id}/{order_id}"


_adapters: dict[str, TypeAdapter[Any]] = {}


def _adapter(topic: Topic) -> TypeAdapter[Any]:
    if topic.name not in _adapters:
        union = topic.messages[0] if len(topic.messages) == 1 else Union[topic.messages]
        _adapters[topic.name] = TypeAdapter(Annotated[union, Field(discriminator="type")])
    return _adapters[topic.name]
