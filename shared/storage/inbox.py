"""The inbox: which messages and commands a service has handled, so redelivery and re-sending change
nothing (M2, R9, M5). Every function runs in the caller's transaction."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def claim_messages(conn: asyncpg.Connection, entries: list[tuple[UUID, str, str]]) -> set[UUID]:
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


async def claim_commands(conn: asyncpg.Connection, entries: list[tuple[UUID, str]]) -> set[UUID]:
    """Record many (command id, command type) as answered; returns the ids not answered before."""
    if not entries:
        return set()
    rows = await conn.fetch(
        """insert into handled_commands (command_id, command_type)
           select * from unnest($1::uuid[], $2::text[])
           on conflict (command_id) do nothing returning command_id""",
        [e[0] for e in entries],
        # The type may come from a malformed message: text columns refuse NUL.
        [e[1].replace("\x00", "\ufffd")[:64] for e in entries],
    )
    return {row["command_id"] for row in rows}
