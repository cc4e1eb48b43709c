"""Writing events to the outbox, inside the caller's transaction (M2)."""

from __future__ import annotations

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
    if type(message) not in topic.messages:
        raise ValueError(f"{message.type} does not travel on {topic.name}")
    await conn.execute(
        """insert into outbox (event_id, topic, key, message_type, payload, partition)
           values ($1, $2, $3, $4, $5, $6) on conflict (event_id) do nothing""",
        message.event_id,
        topic.name,
        key,
        message.type,
        encode(message),
        partition,
    )
