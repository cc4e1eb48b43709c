"""Telling a failure that will pass from one that will repeat, and waiting between attempts.

Transient: the database or the network is unavailable, restarting or overloaded, or a transaction
lost a race (serialization failure, deadlock, a write-back that found its rows changed: StaleWrite).
Retrying the same work later succeeds, so it is retried for as long as it takes and never skipped.
Everything else (a constraint or data error, a bug in our code) may be deterministic: the consumer
retries it a few times and, if it keeps failing while the database answers other work, sets the
record aside on the dead-letter topic (M3).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import asyncpg

from shared.logs import get_logger
from shared.storage.writes import StaleWrite
from shared.waiting import set_within

log = get_logger()

# SQLSTATE classes that say nothing about the statement itself: connection exception (08), transaction
# rollback: serialization failure, deadlock (40), insufficient resources (53), operator intervention:
# shutdown, cancel (57), system error (58).
_TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58")


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError, StaleWrite)):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        return str(getattr(exc, "sqlstate", "") or "").startswith(_TRANSIENT_SQLSTATE_CLASSES)
    return False


class Stopping(Exception):
    """The service is shutting down: abandon the work, commit nothing; a restart resumes it."""


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with full jitter: attempts spread out instead of hammering together."""

    first_seconds: float = 0.1
    max_seconds: float = 10.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_seconds, self.first_seconds * 2 ** min(attempt, 30)))

    async def wait(self, attempt: int, stopping: asyncio.Event) -> None:
        """Sleep before retry `attempt`; raise Stopping at once if the service is stopping."""
        if await set_within(stopping, self.delay(attempt)):
            raise Stopping


class RateLimitedLog:
    """One warning line per `every_seconds` for a repeating failure, saying how often it happened."""

    def __init__(self, every_seconds: float = 10.0) -> None:
        self._every = every_seconds
        self._last = float("-inf")
        self._suppressed = 0

    def warning(self, event: str, **fields: object) -> None:
        now = time.monotonic()
        if now - self._last < self._every:
            self._suppressed += 1
            return
        log.warning(event, repeated=self._suppressed, **fields)
        self._last, self._suppressed = now, 0
