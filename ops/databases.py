"""The services' databases, read by the CLI in read-only transactions: it never changes them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg

from ops.errors import OpsError
from ops.settings import OpsSettings
from shared.storage.database import describe


@contextlib.asynccontextmanager
async def database(settings: OpsSettings, service: str) -> AsyncIterator[asyncpg.Connection]:
    """A read-only connection to `service`'s database; failures become one line naming the database."""
    url = settings.database_url_of(service)
    try:
        conn = await asyncpg.connect(
            url,
            timeout=settings.ops_timeout_seconds,
            command_timeout=max(settings.ops_timeout_seconds, 30),
            server_settings={"default_transaction_read_only": "on", "application_name": "fulfil-ops"},
        )
    except (OSError, TimeoutError) as exc:
        raise OpsError(f"the {service} database at {describe(url)} did not answer: {str(exc) or type(exc).__name__} ({service.upper()}_DATABASE_URL)") from None
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:  # credentials, a database that does not exist
        raise OpsError(f"cannot use the {service} database at {describe(url)}: {exc} ({service.upper()}_DATABASE_URL)") from None
    try:
        yield conn
    except asyncpg.UndefinedTableError as exc:
        raise OpsError(f"the {service} database at {describe(url)} is missing a table ({exc}); has the {service} service ever started on it?") from None
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise OpsError(f"the {service} database at {describe(url)} failed: {exc}") from None
    finally:
        with contextlib.suppress(Exception):
            await conn.close()
