"""Barriers for tests against running services: wait until what they queued is on Kafka and read."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from devtools.kafka_io import Tap
from shared.clock import ScaledClock
from tests.support.waiting import eventually

# Watermarks are written all the time; everything else must have gone out.
UNPUBLISHED = "select count(*) from outbox where message_type <> 'orders.watermark'"


async def published(urls: dict[str, str] | list[str], tap: Tap) -> None:
    """Every event the services queued in their outboxes is on Kafka, and the tap has read it."""
    for url in urls.values() if isinstance(urls, dict) else urls:
        conn = await asyncpg.connect(url)
        try:
            await eventually(lambda conn=conn: conn.fetchval(UNPUBLISHED), lambda n: n == 0)
        finally:
            await conn.close()
    await tap.caught_up()


def clock_env(clock: ScaledClock) -> dict[str, str]:
    """The environment that puts a service on `clock` (T3)."""
    return {
        "CLOCK_REAL_ANCHOR": clock.real_anchor.isoformat(),
        "CLOCK_SIMULATED_ANCHOR": clock.simulated_anchor.isoformat(),
        "CLOCK_SPEED": str(clock.speed),
    }


def accelerated(simulated_start: datetime, speed: float) -> ScaledClock:
    """A clock that reads `simulated_start` now and runs `speed` times faster than real time."""
    return ScaledClock(datetime.now(UTC), simulated_start, speed)
