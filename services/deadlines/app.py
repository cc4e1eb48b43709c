"""The deadlines service process: its settings and what it reads."""

from __future__ import annotations

from pathlib import Path

from services.deadlines import usecases
from shared.contracts.topics import ORDERS_EVENTS
from shared.runtime import Service, Subscription
from shared.settings import ServiceSettings, local_database_url


class DeadlinesSettings(ServiceSettings):
    database_url: str = local_database_url("deadlines")


def build(settings: DeadlinesSettings | None = None) -> Service:
    return Service(
        name="deadlines",
        settings=settings or DeadlinesSettings(),
        migrations=Path(__file__).parent / "migrations",
        subscriptions=[Subscription(ORDERS_EVENTS, usecases.on_order_event)],
    )
