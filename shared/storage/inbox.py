"""The inbox: which event ids a service has applied, so redelivery changes nothing (M2)."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def claim(conn: asyncpg.Connection, event_id: UUID, topic: str, message_type: str) -> bool:
    """Record `event_id` as applied in the caller's transaction; False if it already was."""
    inserted = await conn.fetchval(
        """insert into inbox (event_id, topic, message_type) values ($1, $2, $3)
           on conflict (event_id) do nothing returning true""",
        event_id,
        topic,
        message_type,
    )
    return bool(inserted)
