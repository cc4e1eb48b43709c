"""Pruning the bookkeeping that only guards against redelivery (the inbox, answered commands, decided
orders) once no record it guards against can come back: older than BOOKKEEPING_RETENTION, which must
exceed the retention of every topic the service reads (checked at start-up, shared/runtime.py).

Deletes run in bounded batches (one statement each, a short transaction) so pruning a large backlog
never holds locks for long or competes with consuming for more than a moment at a time.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg

# table -> the column saying when the row was written. Services add their own (inventory: decided_orders).
SHARED_TABLES = {"inbox": "processed_at", "handled_commands": "handled_at"}


async def prune(pool: asyncpg.Pool, tables: dict[str, str], older_than: timedelta, batch_size: int) -> dict[str, int]:
    """Delete rows older than `older_than`, `batch_size` at a time, until none is left; rows deleted per table."""
    deleted = {}
    for table, column in tables.items():
        deleted[table] = 0
        while True:
            async with pool.acquire() as conn:
                status = await conn.execute(
                    f"""delete from {table} where ctid = any(array(
                            select ctid from {table} where {column} < now() - $1::interval limit $2))""",
                    older_than,
                    batch_size,
                )
            count = int(status.split()[-1])
            deleted[table] += count
            if count < batch_size:
                break
    return deleted
