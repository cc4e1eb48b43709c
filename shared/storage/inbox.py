"""The inbox: which messages and commands a service has handled, so redelivery and re-sending change
nothing (M2, R9, M5). Runs in the caller's transaction."""

from __future__ import annotations

from uuid import UUID

import asyncpg

# One statement records both, so a batch pays one round trip for its inbox. The union reads the
# messages first, so in practice their rows are written first, as with the two statements it replaced.
_CLAIM = """
    with messages as (
        insert into inbox (event_id, topic, message_type)
        select * from unnest($1::uuid[], $2::text[], $3::text[])
        on conflict (event_id) do nothing returning event_id),
    commands as (
        insert into handled_commands (command_id, command_type)
        select * from unnest($4::uuid[], $5::text[])
        on conflict (command_id) do nothing returning command_id)
    select false as command, event_id as id from messages
    union all
    select true, command_id from commands"""


async def claim(
    conn: asyncpg.Connection, messages: list[tuple[UUID, str, str]], commands: list[tuple[UUID, str]]
) -> tuple[set[UUID], set[UUID]]:
    """Record many (event id, topic, type) as seen and (command id, command type) as answered at once;
    returns the event ids and the command ids that were new."""
    if not messages and not commands:
        return set(), set()
    rows = await conn.fetch(
        _CLAIM,
        [m[0] for m in messages],
        [m[1] for m in messages],
        [m[2] for m in messages],
        [c[0] for c in commands],
        # The type may come from a malformed message: text columns refuse NUL.
        [c[1].replace("\x00", "\ufffd")[:64] for c in commands],
    )
    seen: tuple[set[UUID], set[UUID]] = (set(), set())
    for row in rows:
        seen[row["command"]].add(row["id"])
    return seen
