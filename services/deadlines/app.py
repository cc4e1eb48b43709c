"""The deadlines service process: its settings and what it reads."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from pydantic import Field

from services.deadlines import usecases
from services.deadlines.timers import TimerLoop
from shared.contracts.topics import ORDERS_EVENTS
from shared.runtime import Service, Subscription
from shared.settings import ServiceSettings, local_database_url


class DeadlinesSettings(ServiceSettings):
    database_url: str = local_database_url("deadlines")
    # Timers fired per transaction, and the longest sleep between looks when nothing wakes the loop.
    timer_batch_size: int = Field(default=500, ge=1, le=10_000)
    timer_max_sleep_seconds: float = Field(default=30.0, gt=0)


def build(settings: DeadlinesSettings | None = None) -> Service:
    settings = settings or DeadlinesSettings()
    clock = settings.clock()

    async def timers(pool: asyncpg.Pool) -> None:
        loop = TimerLoop(pool, clock, batch_size=settings.timer_batch_size, max_sleep_seconds=settings.timer_max_sleep_seconds)
        await loop.run()

    return Service(
        name="deadlines",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        subscriptions=[Subscription(ORDERS_EVENTS, usecases.on_order_event)],
        background=[timers],
    )
