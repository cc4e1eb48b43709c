"""The deadlines service process: its settings, and what it does with each message type it reads."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path

from pydantic import Field

from services.deadlines import usecases
from services.deadlines.storage import DeadlinesWork, set_gauges
from services.deadlines.timers import TimerLoop
from shared.contracts import events
from shared.contracts.topics import ORDERS_EVENTS
from shared.messaging.dispatch import Routes, on
from shared.runtime import Resources, Service
from shared.settings import Duration, ServiceSettings, load, local_database_url


class DeadlinesSettings(ServiceSettings):
    database_url: str = local_database_url("deadlines")
    http_port: int = Field(default=18083, ge=0, le=65_535)
    # Timers fired per transaction, and the longest sleep between looks when nothing wakes the loop.
    timer_batch_size: int = Field(default=500, ge=1, le=10_000)
    timer_max_sleep_seconds: float = Field(default=30.0, gt=0)
    # S4: how long (simulated time) before each deadline a deadline.approaching warning is due; 0: none.
    deadline_warning_lead: Duration = Field(default=timedelta(hours=24), ge=timedelta(0))


def routes(settings: DeadlinesSettings) -> tuple[Routes, ...]:
    return (
        Routes(
            ORDERS_EVENTS,
            dict(
                [
                    on(events.OrderAccepted, partial(usecases.store_timers, warning_lead=settings.deadline_warning_lead), with_delivery=True),
                    on(events.ShipmentConfirmed, usecases.void_for_confirmation),
                    on(events.OrderCancelled, usecases.void_for_cancellation),
                    on(events.OrdersWatermark, usecases.advance_watermark, with_delivery=True),
                ]
            ),
            # Orders not yet accepted have no deadlines; answers to commands are the senders' business.
            ignored=frozenset({events.OrderPlaced, events.OrderRejected, events.CommandRejected}),
        ),
    )


def build(settings: DeadlinesSettings | None = None) -> Service:
    settings = settings or load(DeadlinesSettings)
    clock = settings.clock()

    async def timers(running: Resources) -> None:
        loop = TimerLoop(
            running.pool,
            running.producer,
            clock,
            stopping=running.stopping,
            batch_size=settings.timer_batch_size,
            max_sleep_seconds=settings.timer_max_sleep_seconds,
        )
        await loop.run()

    return Service(
        name="deadlines",
        settings=settings,
        clock=clock,
        migrations=Path(__file__).parent / "migrations",
        routes=routes(settings),
        work=DeadlinesWork,
        background=(timers,),
        gauges=partial(set_gauges, clock=clock),
    )
