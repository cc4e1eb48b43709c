"""Sleeping until PostgreSQL says there is work (NOTIFY), or a timeout passes: notifications can be lost."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import asyncpg

from shared.waiting import set_within

# Notices heard while not sleeping are kept to be judged by the next sleep; past this many, the next
# sleep just returns (a backlog of changes is work anyway).
_MOST_KEPT = 1000


def _every(payload: str) -> bool:
    return True


class Wakeup:
    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._event = asyncio.Event()
        self._heard: set[str] = set()  # payloads since the last sleep began
        self._wanted: Callable[[str], bool] | None = None  # while sleeping: which payloads end the sleep

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

    async def sleep(self, seconds: float, wanted: Callable[[str], bool] = _every) -> None:
        """Return after `seconds`, or earlier if a notification that `wanted` accepts (by its payload)
        came since the last sleep began, or comes now."""
        heard, self._heard = self._heard, set()
        if len(heard) >= _MOST_KEPT or any(wanted(payload) for payload in heard):
            return
        self._event.clear()
        self._wanted = wanted
        try:
            await set_within(self._event, seconds)
        finally:
            self._wanted = None

    def _notified(self, _conn: object, _pid: object, _channel: object, payload: str) -> None:
        if self._wanted is None:  # busy: the next sleep judges it against what it then knows
            if len(self._heard) < _MOST_KEPT:
                self._heard.add(payload)
        elif self._wanted(payload):
            self._event.set()
