"""Writing events to the outbox, inside the caller's transaction (M2). Invariants: docs/architecture.md."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from shared.contracts.codec import encode
from shared.messaging.work import Outgoing
from shared.storage import writes
from shared.storage.writes import Write

# A trigger (migration 0004) notifies this channel at commit: it wakes the relay without polling.
NOTIFY_CHANNEL = "outbox"

# In the given order: the identity ids that fix the relay's order are given in insertion order. The rows
# go as one array of `outbox_entry` (shared migration 0007), in its field order.
_QUEUE = """insert into outbox (event_id, topic, key, message_type, payload, partition, traceparent)
    select event_id, topic, key, message_type, payload, partition, traceparent
    from unnest($1::outbox_entry[]) with ordinality
         as e(event_id, topic, key, message_type, payload, partition, traceparent, position)
    order by position
    on conflict (event_id) do nothing"""


async def add(conn: asyncpg.Connection, rows: Sequence[Outgoing]) -> None:
    """Queue messages for publication when the caller's transaction commits, in the given order."""
    await writes.execute(conn, queued(rows))


def queued(rows: Sequence[Outgoing]) -> list[Write]:
    """The statement that queues these messages (none for no messages), to run alone or with a batch's
    other writes (shared/storage/writes.py).

    One statement for any number of rows and topics. An event id already queued is skipped, so a
    deterministic id makes a retried write harmless.
    """
    if not rows:
        return []
    for row in rows:
        if type(row.message) not in row.topic.messages:
            raise ValueError(f"{row.message.type} does not travel on {row.topic.name}")
    entries = [
        (row.message.event_id, row.topic.name, _printable(row.key), row.message.type, encode(row.message), row.partition, row.traceparent)
        for row in rows
    ]
    return [Write(_QUEUE, (entries,))]


def _printable(text: str) -> str:
    """Keys may come from outside (a dead letter keeps its record's key): text columns refuse NUL."""
    return text.replace("\x00", "\ufffd")
