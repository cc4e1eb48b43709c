"""The inbox: which messages and commands a service has handled, so redelivery and re-sending change nothing (M2, R9, M5)."""

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


async def claim_command(conn: asyncpg.Connection, command_id: UUID, command_type: str) -> bool:
    """Record `command_id` as answered in the caller's transaction; False if it already was."""
    inserted = await conn.fetchval(
        """insert into handled_commands (command_id, command_type) values ($1, $2)
           on conflict (command_id) do nothing returning true""",
        command_id,
        command_type,
    )
    return bool(inserted)
