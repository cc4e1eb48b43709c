"""Connecting to a service's PostgreSQL database, with one clear line when that fails."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import asyncpg


class DatabaseUnavailable(RuntimeError):
    pass


def describe(url: str) -> str:
    """The URL without its password, safe to print."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{parts.username or ''}@{host}:{parts.port or 5432}{parts.path}"


# Sent with each new connection (no extra round trip). The services look rows up by key, a batch at a
# time, in tables that start empty and grow by thousands of rows a second; both settings keep those
# lookups on their indexes while the table statistics lag behind the table (docs/operations.md).
# - enable_seqscan off: a statement asyncpg prepared settles, after five executions, on a generic plan
#   made from the table's statistics at the time. Autovacuum analyses a table once 50 rows changed,
#   so a plan made then scans the whole table sequentially until the next analyse; inventory's
#   decided-orders lookup took 33-48 ms a batch at 20,000 rows instead of 0.2. With sequential scans
#   priced out, the generic plan uses the index, and is planned once rather than at every execution
#   (which `plan_cache_mode = force_custom_plan` did before: PostgreSQL 45-48% -> 36-40% of a core at
#   100 orders/s). A statement with no index to use still scans sequentially (pruning old inbox rows):
#   the setting only adds to the price of that path, so it never refuses a query.
# - random_page_cost: at PostgreSQL's default (4, a spinning disk) a join of 100 keys against an
#   orders table of 20,000 rows not yet analysed was planned as a hash join over a sequential scan
#   (7.6 ms) rather than 100 index probes (1.4 ms). 1.1 is the value PostgreSQL's documentation gives
#   for storage that reads at random nearly as fast as in sequence: SSDs, or data held in memory.
SESSION_SETTINGS = {"enable_seqscan": "off", "random_page_cost": "1.1"}


async def create_pool(url: str, *, timeout: float = 60.0, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A connection pool, retrying for up to `timeout` seconds so a service may start before its database."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise DatabaseUnavailable(f"DATABASE_URL must be a postgresql:// URL, got {url[:40]!r}")
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    last: Exception | None = None
    attempt = 0
    while loop.time() < give_up:
        attempt += 1
        try:
            return await asyncpg.create_pool(
                url, min_size=min_size, max_size=max_size, command_timeout=60, reset=_nothing_to_reset, server_settings=SESSION_SETTINGS
            )
        except (
            asyncpg.InvalidPasswordError,
            asyncpg.InvalidCatalogNameError,
            asyncpg.InvalidAuthorizationSpecificationError,
            asyncpg.InsufficientPrivilegeError,  # a role that may not connect to this database
        ) as exc:
            # Wrong credentials, database name or rights will not fix themselves: say so at once.
            # One line: the server's message (str() would add its DETAIL on a line of its own).
            raise DatabaseUnavailable(f"cannot use database {describe(url)}: {exc.args[0] if exc.args else exc}") from None
        except (TimeoutError, OSError, asyncpg.CannotConnectNowError) as exc:
            last = exc
            await asyncio.sleep(min(0.2 * attempt, 2.0, max(give_up - loop.time(), 0)))
    raise DatabaseUnavailable(
        f"database {describe(url)} did not answer within {timeout:g}s ({last}); "
        "is PostgreSQL running there? (`make stack-up` starts the local one)"
    )


async def _nothing_to_reset(conn: asyncpg.Connection) -> None:
    """What a connection goes back to the pool with needs no reset query: the code changes no session
    state (no SET: the settings above come with the connection; no cursors outside a transaction;
    LISTEN is removed by whoever added it, and the outbox relay's session-level advisory lock by the
    relay, which closes the connection if it cannot). asyncpg still rolls back a transaction left
    open. The default reset (`RESET ALL; UNLISTEN *; ...`) cost a round trip after every transaction."""


async def answers(pool: asyncpg.Pool, timeout: float) -> bool:
    """Whether the database runs a trivial query within `timeout` seconds now (readiness, and telling a
    record's fault from an outage)."""
    try:
        async with asyncio.timeout(timeout):
            async with pool.acquire() as conn:
                await conn.fetchval("select 1")
        return True
    except Exception:
        return False
