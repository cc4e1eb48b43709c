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


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10, attempts: int = 30) -> asyncpg.Pool:
    """A connection pool, retrying for a while so a service may start before its database."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise DatabaseUnavailable(f"DATABASE_URL must be a postgresql:// URL, got {url[:40]!r}")
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            return await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, command_timeout=60)
        except (asyncpg.InvalidPasswordError, asyncpg.InvalidCatalogNameError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
            raise DatabaseUnavailable(f"cannot use database {describe(url)}: {exc}") from None
        except (OSError, asyncpg.CannotConnectNowError, asyncio.TimeoutError) as exc:
            last = exc
            await asyncio.sleep(min(0.2 * (attempt + 1), 2.0))
    raise DatabaseUnavailable(
        f"database {describe(url)} did not answer ({last}); is PostgreSQL running? (`make stack-up` starts it)"
    )
