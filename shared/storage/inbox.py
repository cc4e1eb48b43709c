"""The inbox: which messages and commands a service has handled, so redelivery and re-sending change nothing (M2, R9, M5)."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def claim_many(conn: asyncpg.Connection, entries: list[tuple[UUID, str, str]]) -> set[UUID]:
    """Record many (event id, topic, type) at once; returns the ids that were new."""
    if not entries:
        return set()
    rows = await conn.fetch(
        """insert into inbox (event_id, topic, message_type)
           select * from unnest($1::uuid[], $2::text[], $3::text[])
           on conflict (event_id) do nothing returning event_id""",
        [e[0] for e in entries],
        [e[1] for e in entries],
        [e[2] for e in entries],
    )
    return {row["event_id"] for row in rows}


async def claim_command(conn: asyncpg.Connection, command_id: UUID, command_type: str) -> bool:
    """Record `command_id` as answered in the caller's transaction; False if it already was."""
    inserted = await conn.fetchval(
        """insert into handled_commands (command_id, command_type) values ($1, $2)
           on conflict (command_id) do nothing returning true""",
        command_id,
        command_type.replace("\x00", "\ufffd")[:64],  # may come from a malformed message
    )
    return bool(inserted)
