"""The unit of work of one consuming transaction: the rows a batch of messages needs, read once,
changed in memory by the handlers in record order, written back once, with what it emits.

Each service subclasses it: `load` reads and locks every row the batch touches with one statement per
table (always in the same order of tables and of keys, so concurrent batches cannot deadlock), the
handlers decide with the pure domain and change the loaded state, and `writes` says how to write the
changes back, one statement per table. Everything emitted goes to the outbox in one statement, in the
order the handlers emitted it (M4: per key, the order of processing); the writes and the outbox's go
to the database together, as one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.clock import Clock
from shared.contracts.envelope import Message
from shared.contracts.topics import Topic
from shared.storage.writes import Write
from shared.tracing import current_traceparent


@dataclass(frozen=True)
class Outgoing:
    topic: Topic
    key: str
    message: Message
    partition: int | None = None  # None: the partition the key hashes to
    traceparent: str | None = None  # the trace context it continues (shared/tracing.py)


@dataclass(frozen=True)
class Delivery:
    """Where a record was read: the few handlers that need it (R15 watermarks) ask for it."""

    partition: int


class UnitOfWork:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.now: datetime = clock.now()  # the instant this work happens at; stamps what it emits (T3)
        self.outgoing: list[Outgoing] = []

    def emit(self, topic: Topic, key: str, message: Message, *, partition: int | None = None) -> None:
        """Queue a message for the outbox, with the trace context of the record being handled."""
        self.outgoing.append(Outgoing(topic, key, message, partition, current_traceparent()))

    async def load(self, conn: asyncpg.Connection, messages: Sequence[Message]) -> None:
        """Read and lock the rows these messages need."""

    def writes(self) -> list[Write]:
        """The statements that write back what the handlers changed. The consumer sends them and the
        outbox's in one round trip (shared/storage/writes.py), so they emit what they publish (state
        records) here, before it runs."""
        return []

    async def save(self, conn: asyncpg.Connection) -> None:
        """Writes that cannot be one statement (`executemany`), run before `writes`."""
