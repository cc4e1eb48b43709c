"""A batch's write-back sent as one statement: every table's write and the outbox's, each a
data-modifying CTE of the same statement, so a batch pays one round trip for its writes.

At light load a batch holds one or two records and its cost is its round trips: each one is a socket
write and a wake-up of the database backend, a third of the orders service's CPU at 100 orders/s
(docs/benchmarks.md). The writes of one batch touch different rows or different tables (the rows
they change were read and locked by the batch's load), so running them as parts of one statement,
in no particular order, changes nothing but the number of round trips.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

_PARAMETER = re.compile(r"\$(\d+)")


@dataclass(frozen=True)
class Write:
    """One statement of a write-back, with its own parameters $1, $2, ...

    `expect_rows`: the statement returns rows (`returning 1`, or it is a query) and must return exactly
    this many, or the batch is retried (StaleWrite): an upsert guarded by the versions its batch read
    returns fewer when another transaction changed a row in between. A query must be counted: in a
    CTE nobody reads, only data-modifying statements run."""

    sql: str
    args: tuple[object, ...]
    expect_rows: int | None = None


class StaleWrite(Exception):
    """A write-back found rows other than those its batch read: a concurrent transaction changed them.
    Transient (shared/messaging/failures.py): the batch runs again and reads them anew."""


def combined(writes: Sequence[Write]) -> tuple[str, list[object]]:
    """The writes as one statement and its arguments. It returns one row: the row count of each write
    that expects one, in order (an empty array when none does)."""
    shape = tuple((write.sql, len(write.args), write.expect_rows is not None) for write in writes)
    return _statement(shape), [arg for write in writes for arg in write.args]


# The services' statements are constants, so a handful of shapes recur batch after batch: each is put
# together (parameters renumbered by a regular expression) once, not on every batch.
@functools.lru_cache(maxsize=256)
def _statement(shape: tuple[tuple[str, int, bool], ...]) -> str:
    parts, counted, offset = [], [], 0
    for n, (sql, arity, counts) in enumerate(shape):
        parts.append(f"w{n} as ({_renumbered(sql, offset)})")
        offset += arity
        if counts:
            counted.append(f"(select count(*) from w{n})")
    return f"with {', '.join(parts)} select array[{', '.join(counted)}]::bigint[]"


def _renumbered(sql: str, offset: int) -> str:
    # The services' SQL has no `$` outside parameters (no dollar quoting, no `$` in literals).
    return _PARAMETER.sub(lambda m: f"${int(m.group(1)) + offset}", sql)


async def execute(conn: asyncpg.Connection, writes: Sequence[Write]) -> None:
    """Run every write in one round trip; raise StaleWrite if one returned other than the rows it expects."""
    if not writes:
        return
    if len(writes) == 1 and writes[0].expect_rows is None:
        await conn.execute(writes[0].sql, *writes[0].args)
        return
    sql, args = combined(writes)
    counts = await conn.fetchval(sql, *args)
    checked = [w for w in writes if w.expect_rows is not None]
    for write, count in zip(checked, counts, strict=True):
        if count != write.expect_rows:
            raise StaleWrite(f"'{' '.join(write.sql.split()[:3])} ...' wrote {count} rows, not the {write.expect_rows} its batch read")
