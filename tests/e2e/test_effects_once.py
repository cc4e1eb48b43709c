"""M2 end to end: Kafka delivers at least once, and redelivery, replays and restarts never double or
lose an effect. A full scenario runs; then every message on every topic is delivered twice more,
and every consumer group is replayed from offset 0. The databases end identical, and no service
emits an event it had not emitted before."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from devtools.actors import Marketplace
from devtools.kafka_io import Publisher, Tap, groups_caught_up, groups_of, rewind_groups
from devtools.launcher import ServiceProcess
from shared.clock import ScaledClock
from shared.contracts import events
from shared.contracts.envelope import Command
from shared.contracts.topics import DEAD_LETTERS, SERVICES, topics_read_by
from tests.support.infra import Infra
from tests.support.settle import accelerated, clock_env, published

pytestmark = pytest.mark.e2e

SPEED = 1_000_000  # 30 simulated days in under 3 real seconds

# What each service's state is, without the columns that only say when a row was last touched.
STATE = {
    "inventory": [
        "select listing_id, seller_id, quantity, production_days from listings order by 1",
        "select * from reservations order by order_key, listing_id",
    ],
    "orders": ["select * from orders order by storefront_id, order_id"],
    "deadlines": ["select storefront_id, order_id, kind, due_at, status, fired_at from deadlines order by 1, 2, 3"],
}
BOOKKEEPING = ["select count(*) from inbox", "select count(*) from handled_commands"]


@pytest.fixture
def clock() -> ScaledClock:
    return accelerated(datetime(2026, 7, 1, tzinfo=UTC), SPEED)


@pytest.fixture
def service_env(clock: ScaledClock) -> dict[str, str]:
    return clock_env(clock)


async def state(urls: dict[str, str]) -> dict[str, list[list[dict[str, object]]]]:
    result = {}
    for service, queries in STATE.items():
        conn = await asyncpg.connect(urls[service])
        try:
            result[service] = [[dict(r) for r in await conn.fetch(q)] for q in queries + BOOKKEEPING]
        finally:
            await conn.close()
    return result


async def quiet(infra: Infra, urls: dict[str, str], tap: Tap, groups: dict[str, tuple[str, int]]) -> None:
    """Barrier: every consumer has read everything, and everything that caused is published and read.
    Twice, because consuming the last events can emit more (watermarks aside, nothing loops)."""
    for _ in range(2):
        await published(urls, tap)
        await groups_caught_up(infra.kafka_bootstrap_servers, groups)


def effects(tap: Tap) -> set[object]:
    """The ids of every event a service emitted, watermarks aside (they are emitted all the time)."""
    return {m.event_id for _, _, m in tap.seen if not isinstance(m, (Command, events.OrdersWatermark))}


async def test_M2_redelivering_everything_twice_and_replaying_every_topic_changes_nothing(
    infra: Infra,
    services: dict[str, ServiceProcess],
    publisher: Publisher,
    tap: Tap,
    clock: ScaledClock,
    service_databases: dict[str, str],
    topic_prefix: str,
) -> None:
    market = Marketplace(publisher, tap, clock)
    await market.create_listing("maker", "lamp", 20, 30)
    await market.create_listing("maker", "rug", 20, 1)
    await market.update_listing("maker", "rug", quantity=15)
    for i in range(6):
        await market.place(f"order-{i}", "maker", [("lamp", 1), ("rug", 1)])
    await market.confirm("order-0", "maker")  # on time
    await market.confirm("order-1", "someone-else")  # refused, dead-lettered
    await market.place("order-0", "maker", [("lamp", 1)])  # duplicate order id
    await tap.wait_for(events.OrderCancelled, count=5, timeout=60)  # the five never confirmed
    await tap.wait_for(events.StockRestored, count=5)
    groups = groups_of(topic_prefix, [(s, t) for s in SERVICES for t in topics_read_by(s)])
    await quiet(infra, service_databases, tap, groups)
    before, emitted = await state(service_databases), effects(tap)
    assert len(emitted) > 40  # a real history: listings, orders, reservations, deadlines, cancellations

    # 1. Every record of every topic (dead letters aside: they are outputs), twice more.
    for record in [r for r in tap.records if not r.topic.endswith(DEAD_LETTERS.name)]:
        for _ in range(2):
            await publisher.send_raw_record(record)
    # 2. Replay: every consumer group starts again from offset 0.
    for service in services.values():
        service.stop()
    await rewind_groups(infra.kafka_bootstrap_servers, groups)
    for service in services.values():
        service.start()
    for service in services.values():
        await service.wait_started()
    await quiet(infra, service_databases, tap, groups)

    assert await state(service_databases) == before
    assert effects(tap) == emitted

