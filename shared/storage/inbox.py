"""The inbox: which messages and commands a service has handled, so redelivery and re-sending change
nothing (M2, R9, M5). Runs in the caller's transaction."""

from __future__ import annotations

from uuid import UUID

import asyncpg

# One statement records both, so a batch pays one round trip for its inbox. The union reads the
# messages first, so in practice their rows are written first, as with the two statements it replaced.
# Each kind goes as one array of rows (`inbox_entry`, `handled_command`: shared migration 0008).
_CLAIM = """
    with messages as (
        insert into inbox (event_id, topic, message_type)
        select * from unnest($1::inbox_entry[])
        on conflict (event_id) do nothing returning event_id),
    commands as (
        insert into handled_commands (command_id, command_type)
        select * from unnest($2::handled_command[])
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
        messages,
        # The type may come from a malformed message: text columns refuse NUL.
        [(command_id, command_type.replace("\x00", "\ufffd")[:64]) for command_id, command_type in commands],
    )
    seen: tuple[set[UUID], set[UUID]] = (set(), set())
    for row in rows:
        seen[row["command"]].add(row["id"])
    return seen
