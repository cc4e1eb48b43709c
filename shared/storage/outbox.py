"""Writing events to the outbox, inside the caller's transaction (M2)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from shared.contracts.codec import encode
from shared.contracts.envelope import Message
from shared.contracts.topics import Topic

# A trigger (migration 0004) notifies this channel at commit: it wakes the relay without polling.
NOTIFY_CHANNEL = "outbox"


async def add(conn: asyncpg.Connection, topic: Topic, key: str, message: Message, *, partition: int | None = None) -> None:
    """Queue `message` for publication when the caller's transaction commits.

    An event id already queued is skipped, so a deterministic id makes a retried write harmless.
    `partition` overrides the key's partition (for messages addressed to one partition).
    """
    await add_many(conn, topic, [(key, message)], partition=partition)


async def add_many(conn: asyncpg.Connection, topic: Topic, entries: Sequence[tuple[str, Message]], *, partition: int | None = None) -> None:
    """Queue several messages in one statement, in the given order (ids follow it)."""
    for _, message in entries:
        if type(message) not in topic.messages:
            raise ValueError(f"{message.type} does not travel on {topic.name}")
    await conn.execute(
        """insert into outbox (event_id, topic, key, message_type, payload, partition)
           select event_id, $1, key, message_type, payload, $2
           from unnest($3::uuid[], $4::text[], $5::text[], $6::bytea[]) with ordinality
                as e(event_id, key, message_type, payload, position)
           order by position
           on conflict (event_id) do nothing""",
        topic.name,
        partition,
        [message.event_id for _, message in entries],
        [_printable(key) for key, _ in entries],
        [message.type for _, message in entries],
        [encode(message) for _, message in entries],
    )


def _printable(text: str) -> str:
    """Keys may come from outside (a dead letter keeps its record's key): text columns refuse NUL."""
    return text.replace("\x00", "\ufffd")
