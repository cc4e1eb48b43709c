"""Sleeping until PostgreSQL says there is work (NOTIFY), or a timeout passes: notifications can be lost."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg


class Wakeup:
    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._event = asyncio.Event()

    @contextlib.asynccontextmanager
    async def listening(self, pool: asyncpg.Pool) -> AsyncIterator[None]:
        """Hold one connection that listens on the channel for as long as the block runs."""
        conn = await pool.acquire()
        try:
            await conn.add_listener(self.channel, self._notified)
            yield
        finally:
            # The connection may be gone with its server; nothing to clean up then, and an error here
            # must not replace the one (or the cancellation) that ends the block.
            with contextlib.suppress(Exception):
                await conn.remove_listener(self.channel, self._notified)
            with contextlib.suppress(Exception):
                await pool.release(conn)

    async def sleep(self, seconds: float) -> None:
        """Return after `seconds`, or earlier if a notification came (since the last sleep)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        self._event.clear()

    def _notified(self, *_: object) -> None:
        self._event.set()
